"""Canonical schemas of the store (documented in docs/schema.md).

Readers turn every export into one of three canonical frames; the store keeps
exactly these columns (plus the internal ``_key`` / ``_hash`` / ``_batch``
columns it adds itself).  Personal data (recipient names, phones, addresses,
ID numbers) has no column here and is never stored.
"""

from __future__ import annotations

import pyarrow as pa

MESSAGES = "messages"
ORDERS = "orders"
EXCLUDED = "excluded"
ORDER_ITEMS = "order_items"
RATINGS = "ratings"
KINDS = (MESSAGES, ORDERS, EXCLUDED, ORDER_ITEMS, RATINGS)

SENDERS = ("buyer", "agent", "bot", "system")
PLATFORMS = ("pdd", "taobao", "jd", "douyin", "generic")

TS = pa.timestamp("s")  # shop-local wall-clock time, second precision, no zone

MESSAGES_SCHEMA = pa.schema(
    [
        ("shop", pa.string()),
        ("platform", pa.string()),
        ("conversation_id", pa.string()),
        ("buyer_id", pa.string()),
        ("agent_id", pa.string()),
        ("sender", pa.string()),
        ("sent_at", TS),
        ("content", pa.string()),
        ("msg_type", pa.string()),
        ("msg_id", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)

ORDERS_SCHEMA = pa.schema(
    [
        ("shop", pa.string()),
        ("platform", pa.string()),
        ("order_id", pa.string()),
        ("buyer_id", pa.string()),
        ("created_at", TS),
        ("paid_at", TS),
        ("amount", pa.float64()),
        ("status", pa.string()),
        ("status_raw", pa.string()),
        ("item_id", pa.string()),
        ("item_title", pa.string()),
        ("quantity", pa.int64()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)

EXCLUDED_SCHEMA = pa.schema(
    [
        ("shop", pa.string()),
        ("buyer_id", pa.string()),
        ("reason", pa.string()),
        ("since", TS),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)

#: one row per line of an order (one product / SKU bought): product-level analysis
ORDER_ITEMS_SCHEMA = pa.schema(
    [
        ("shop", pa.string()),
        ("platform", pa.string()),
        ("order_id", pa.string()),
        ("item_id", pa.string()),
        ("title", pa.string()),
        ("sku", pa.string()),
        ("attributes", pa.string()),
        ("package", pa.string()),
        ("quantity", pa.int64()),
        ("price", pa.float64()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)

#: one row per service rating (服务评价 / 满意度) a buyer gave an agent
RATINGS_SCHEMA = pa.schema(
    [
        ("shop", pa.string()),
        ("platform", pa.string()),
        ("agent_id", pa.string()),
        ("buyer_id", pa.string()),
        ("rated_at", TS),
        ("score", pa.int64()),  #: 1 (很不满意) … 5 (很满意)
        ("comment", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)

SCHEMAS = {MESSAGES: MESSAGES_SCHEMA, ORDERS: ORDERS_SCHEMA, EXCLUDED: EXCLUDED_SCHEMA,
           ORDER_ITEMS: ORDER_ITEMS_SCHEMA, RATINGS: RATINGS_SCHEMA}

#: columns a row cannot do without (a row missing one is rejected and reported)
REQUIRED = {
    MESSAGES: ("shop", "buyer_id", "sender", "sent_at"),
    ORDERS: ("shop", "order_id", "created_at"),
    EXCLUDED: ("shop", "buyer_id"),
    ORDER_ITEMS: ("shop", "order_id"),
    RATINGS: ("shop", "agent_id", "rated_at", "score"),
}

#: columns that identify "the same record" across overlapping exports
IDENTITY = {
    MESSAGES: ("shop", "platform", "buyer_id", "agent_id", "sender", "sent_at", "content", "msg_id"),
    ORDERS: ("shop", "platform", "order_id"),
    EXCLUDED: ("shop", "buyer_id", "reason"),
    # plus the line's occurrence among identical lines of one file (as for messages)
    ORDER_ITEMS: ("shop", "platform", "order_id", "item_id", "title", "sku", "attributes",
                  "package", "quantity", "price"),
    RATINGS: ("shop", "platform", "agent_id", "buyer_id", "rated_at", "score", "comment"),
}

#: normalised order statuses
ORDER_STATUSES = ("unpaid", "paid", "shipped", "completed", "closed", "refunded")

TIME_COLUMN = {MESSAGES: "sent_at", ORDERS: "created_at", EXCLUDED: None, ORDER_ITEMS: None,
               RATINGS: "rated_at"}


def columns(kind: str) -> list[str]:
    return SCHEMAS[kind].names
