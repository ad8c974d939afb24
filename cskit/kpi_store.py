"""What the KPI commands ask the store around a computation (not the computation itself).

Holds the shops a command covers (:func:`select_shops`, the no-data errors), the excluded
buyers (:func:`read_excluded`), each shop's data end (:func:`data_ends`: ``pending`` is
judged against it) and latest order (:func:`last_order_at`), and the check of "unknown
conversion" against the store's orders (:func:`explain_unknown`).  Many commands use these
(kpi, report, lost, qc, answers, products, agent extras).  Reading messages month by month
for the metrics is :mod:`cskit.kpi_slices`; the KPI tables are :mod:`cskit.kpi`, which
re-exports these names.
"""

from __future__ import annotations

import pandas as pd

from cskit import schema
from cskit.errors import NoDataError
from cskit.period import Period
from cskit.store import Store


def no_messages(store: Store, period: Period) -> NoDataError:
    """The error for a period without buyer messages."""
    return NoDataError("no buyer messages for {period} in {store}",
                       hint="check --since/--until/--week and --shop; `cskit ingest` first", period=period, store=store.root)


def select_shops(store: Store, shops: list[str] | None) -> list[str]:
    have = store.shops(schema.MESSAGES)
    if not have:
        raise NoDataError("{store}: the store holds no chat messages",
                          hint="run `cskit ingest FILES` first (or --store DIR)", store=store.root)
    if not shops:
        return have
    shops = list(dict.fromkeys(shops))  # a shop named twice is reported once
    missing = [s for s in shops if s not in have]
    if missing:
        raise NoDataError("shop {shop!r} has no messages in {store}",
                          hint="shops in the store: {shops}", shop=missing[0], store=store.root, shops=", ".join(have))
    return shops


def read_excluded(store: Store, shops: str | list[str]) -> pd.DataFrame:
    return store.read(schema.EXCLUDED, shops=[shops] if isinstance(shops, str) else shops)


def data_ends(store: Store, shops: list[str]) -> dict[str, pd.Timestamp | None]:
    """Per shop, the store's data end: the latest buyer, agent or robot message, order
    creation or payment.  ``pending`` is judged against it, not against the end of what a
    command happened to read (issue 12).  Reads the ``sent_at`` (and ``sender``) of each
    shop's last month of messages and the time columns of its orders."""
    import pyarrow.compute as pc

    out: dict[str, pd.Timestamp | None] = {}
    files = store.files(schema.MESSAGES, shops)
    with_orders = set(store.shops(schema.ORDERS))
    for shop in shops:
        ends = []
        mine = [f for f in files if f.shop == shop and f.month]
        if mine:
            last = max(f.month for f in mine)
            t = store.read_table(schema.MESSAGES, [f for f in mine if f.month == last],
                                 ["sent_at", "sender"], shops=[shop])
            t = t.filter(pc.is_in(t.column("sender"), value_set=pa_strings(["buyer", "agent",
                                                                              "bot"])))
            m = pc.max(t.column("sent_at")).as_py()
            if m is not None:
                ends.append(pd.Timestamp(m))
        if shop in with_orders:
            m = last_order_at(store, shop)
            if m is not None:
                ends.append(m)
        out[shop] = max(ends) if ends else None
    return out


def last_order_at(store: Store, shop: str) -> pd.Timestamp | None:
    """The shop's latest order creation or payment time in the store (None: no orders)."""
    o = store.read(schema.ORDERS, shops=[shop], columns=["created_at", "paid_at"])
    if not len(o):
        return None
    m = pd.concat([pd.to_datetime(o[c], errors="coerce") for c in ("created_at", "paid_at")]).max()
    return None if pd.isna(m) else pd.Timestamp(m)


def pa_strings(values: list[str]):
    import pyarrow as pa

    return pa.array(values, type=pa.string())


def explain_unknown(store: Store, unknown: dict[str, dict]) -> dict[str, dict]:
    """``unknown`` checked against the store's latest order of each shop (:func:`last_order_at`):
    ``no_orders`` (none in the span read) becomes ``orders_end`` when the store's orders
    stop before the period; ``orders_end`` judged on the span alone is dropped (known) when
    the store holds orders from the period's start on, beyond the span read."""
    for shop, info in list(unknown.items()):
        if info["reason"] not in ("no_orders", "orders_end") or not info.get("start"):
            continue
        if shop not in store.shops(schema.ORDERS):
            continue
        at = last_order_at(store, shop)
        if at is None:
            continue
        if at < pd.Timestamp(info["start"]):
            unknown[shop] = {"reason": "orders_end", "last": at.date().isoformat()}
        elif info["reason"] == "orders_end":
            del unknown[shop]  # the orders go on past the period's start: known
    return unknown
