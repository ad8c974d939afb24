"""Store → the `cskit products` table (docs/products.md).  Reads one shop at a time; the
figures are :func:`cskit.products.metrics.product_stats`, the lost reasons those of
`cskit lost` (:func:`cskit.text.frames.lost_frames`), joined on the lost buyer-days."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cskit import schema
from cskit.metrics.horizon import ATTRIBUTION_LEAD_DAYS
from cskit.products.link import catalogue
from cskit.products.metrics import product_stats

__all__ = ["PRODUCT_COLUMNS", "SORT_KEYS", "products_table", "previous_period"]

WINDOW_DAYS = 3
LOOKBACK_DAYS = 15
#: the machine keys of a row (CSV header / JSON keys), in order
PRODUCT_COLUMNS = ["shop", "product_id", "title", "inquiring_buyers", "paid_buyers",
                   "inquiry_conversion", "pending_buyers", "lost_buyers", "lost_reasons",
                   "paid_orders", "units", "sales", "inquiring_buyers_prev",
                   "inquiring_change", "inquiry_conversion_prev", "conversion_change",
                   "lost_reason_ids", "product"]
SORT_KEYS = ("inquiring_buyers", "paid_buyers", "inquiry_conversion", "lost_buyers", "sales",
             "paid_orders", "inquiring_change")
#: unknown when the shop's orders are unknown (coverage) / when it has no order lines
NEED_ORDERS = ("paid_buyers", "inquiry_conversion", "pending_buyers", "lost_buyers",
               "lost_reasons", "lost_reason_ids", "paid_orders", "units", "sales",
               "inquiry_conversion_prev", "conversion_change")
NEED_ITEMS = ("paid_buyers", "inquiry_conversion", "paid_orders", "units", "sales",
              "inquiry_conversion_prev", "conversion_change")
#: what the links, the conversion and `cskit lost`'s classification with the pdd5 rule read
#: (source_file/row: the same-second tie order), and the SKU column
MSG_COLUMNS = ["shop", "platform", "buyer_id", "agent_id", "sender", "sent_at", "content",
               "source_file", "source_row", "item_id"]
ITEM_COLUMNS = ["shop", "order_id", "item_id", "title", "quantity", "price"]


def previous_period(period):
    """The period of the same length just before ``period`` (the week before a week);
    None when ``period`` is open-ended."""
    from cskit.kpi import Period

    if period.since is None or period.until is None:
        return None
    n = (period.until - period.since).days + 1
    return Period(period.since - dt.timedelta(days=n), period.since - dt.timedelta(days=1))


def _reason_mix(lb: pd.DataFrame, classified: pd.DataFrame, lang: str, top: int = 3):
    """Per (shop, product): the primary reasons of its lost buyer-days, most frequent first:
    (text for people, ``id:n;…`` for machines)."""
    lost = lb[~lb["paid_any"] & ~lb["pending"]]
    if lost.empty or classified.empty:
        return pd.DataFrame(columns=["shop", "product", "lost_reasons", "lost_reason_ids"])
    c = classified[["shop", "buyer_id", "date", "primary", "primary_id"]].copy()
    c["date"] = pd.to_datetime(c["date"]).to_numpy().astype("datetime64[D]")
    m = lost[["shop", "buyer_id", "date", "product"]].merge(c, on=["shop", "buyer_id", "date"])
    n = (m.groupby(["shop", "product", "primary_id", "primary"], sort=False).size()
         .rename("n").reset_index().sort_values(["shop", "product", "n", "primary_id"],
                                                 ascending=[True, True, False, True],
                                                 kind="stable"))
    sep = "、" if lang == "zh" else ", "
    n["txt"] = n["primary"].astype(str) + " " + n["n"].astype(str)
    n["id"] = n["primary_id"].astype(str) + ":" + n["n"].astype(str)
    keys = ["shop", "product"]
    text = n.groupby(keys, sort=False).head(top).groupby(keys, sort=False)["txt"].agg(sep.join)
    ids = n.groupby(keys, sort=False)["id"].agg(";".join)
    return pd.DataFrame({"lost_reasons": text, "lost_reason_ids": ids}).reset_index()


def _read_messages(store, shop: str, since, until) -> pd.DataFrame:
    """One shop's messages from ``since`` to the end of the last window after ``until``,
    text columns as categoricals (as `cskit kpi` reads them: each distinct text once)."""
    from cskit.store import table_to_frame

    end = None if until is None else \
        pd.Timestamp(until) + pd.Timedelta(days=1 + WINDOW_DAYS + 1)
    entries = store.files(schema.MESSAGES, [shop], since, None if end is None else end.date())
    if not entries:
        return pd.DataFrame(columns=MSG_COLUMNS)
    t = store.read_table(schema.MESSAGES, entries, MSG_COLUMNS, shops=[shop],
                         start=None if since is None else pd.Timestamp(since), end=end,
                         categorical=True)
    return table_to_frame(t)


def _classify(msgs: pd.DataFrame, lb: pd.DataFrame, excluded, lex) -> pd.DataFrame:
    """`cskit lost`'s classification (:func:`cskit.text.frames.classify_lost_days`, the pdd5
    rule's service signals) of the linked lost buyer-days only: the messages of their buyers
    are classified, not the whole shop's."""
    from cskit.metrics import get_rule
    from cskit.text.frames import classify_lost_days

    lost = lb[~lb["paid_any"] & ~lb["pending"]].drop_duplicates(["shop", "buyer_id", "date"])
    lost = lost.assign(date=pd.to_datetime(lost["date"]).dt.date,
                       had_unpaid_order=lost["ordered_any"].astype(bool))
    mine = msgs["buyer_id"].isin(lost["buyer_id"].unique()).to_numpy(dtype=bool, na_value=False)
    sub = msgs[mine].reset_index(drop=True)
    cl, _ = classify_lost_days(sub, lost, excluded, lex, get_rule("pdd5"))
    return cl


def products_table(store, *, shops=None, period, lexicon=None, lang: str = "zh",
                   notes: list | None = None) -> pd.DataFrame:
    """One row per (shop, product) with inquiries or paid orders in ``period``:
    :data:`PRODUCT_COLUMNS`.  ``notes`` (a list) gets ``(shop, reason, info)`` for shops
    whose orders (``orders``) or order lines (``items``) are unknown."""
    from cskit.kpi import data_ends, explain_unknown, read_excluded, select_shops
    from cskit.metrics.coverage import shop_unknown
    from cskit.text.lexicon import LostLexicon, load_lost_lexicon

    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    prev = previous_period(period)
    first = prev.since if prev is not None else period.since
    rows = []
    for shop in select_shops(store, shops):
        since = first - dt.timedelta(days=ATTRIBUTION_LEAD_DAYS) if first else None
        msgs = _read_messages(store, shop, since, period.until)
        if msgs.empty:
            continue
        o_since = first - dt.timedelta(days=LOOKBACK_DAYS + 1) if first else None
        orders = store.read(schema.ORDERS, shops=[shop], since=o_since, until=period.until,
                            time_slack=dt.timedelta(days=WINDOW_DAYS + 1))
        items = store.read(schema.ORDER_ITEMS, shops=[shop], columns=ITEM_COLUMNS)
        cat = catalogue(items)
        as_of = data_ends(store, [shop])[shop]
        excl = read_excluded(store, shop)
        kw = dict(window_days=WINDOW_DAYS, lookback_days=LOOKBACK_DAYS, as_of=as_of,
                  excluded=excl, cat=cat)
        periods = [(period.since, period.until)] + ([] if prev is None else
                                                     [(prev.since, prev.until)])
        stats = product_stats(msgs, orders, items, periods, **kw)
        cur, lb = stats[0]
        if cur.empty:
            continue
        unknown = shop_unknown(msgs, orders, shop, period.since, period.until)
        if unknown is not None:
            unknown = explain_unknown(store, {shop: unknown}).get(shop)
        no_items = items.empty
        cur["inquiry_conversion"] = np.where(cur["inquiring_buyers"] > 0,
                                             cur["paid_buyers"] / cur["inquiring_buyers"].clip(1),
                                             np.nan)
        if prev is not None:
            p = stats[1][0]
            p = p.assign(inquiry_conversion_prev=np.where(
                p["inquiring_buyers"] > 0, p["paid_buyers"] / p["inquiring_buyers"].clip(1),
                np.nan))
            cur = cur.merge(p[["shop", "product", "inquiring_buyers", "inquiry_conversion_prev"]]
                            .rename(columns={"inquiring_buyers": "inquiring_buyers_prev"}),
                            on=["shop", "product"], how="left")
            cur["inquiring_buyers_prev"] = cur["inquiring_buyers_prev"].fillna(0).astype(np.int64)
            before = cur["inquiring_buyers_prev"].to_numpy(dtype=float)
            cur["inquiring_change"] = np.where(before > 0, cur["inquiring_buyers"] / np.where(
                before > 0, before, 1) - 1, np.nan)
            cur["conversion_change"] = cur["inquiry_conversion"] - cur["inquiry_conversion_prev"]
        else:
            for c in ("inquiring_buyers_prev", "inquiring_change", "inquiry_conversion_prev",
                      "conversion_change"):
                cur[c] = np.nan
        if unknown is None and cur["lost_buyers"].sum() > 0:
            classified = _classify(msgs, lb, excl, lex)
            cur = cur.merge(_reason_mix(lb, classified, lang), on=["shop", "product"], how="left")
        blank = NEED_ORDERS if unknown is not None else NEED_ITEMS if no_items else ()
        if unknown is not None and unknown["reason"] == "no_buyer_id" and not no_items:
            # orders without buyer ids still tell what sold: only the chat matching is unknown
            blank = tuple(c for c in blank if c not in ("paid_orders", "units", "sales"))
        for c in blank:
            cur[c] = None if c in ("lost_reasons", "lost_reason_ids") else np.nan
        if notes is not None and unknown is not None:
            notes.append((shop, "orders", unknown))
        elif notes is not None and no_items:
            notes.append((shop, "items", {}))
        titles = cat.drop_duplicates(["shop", "product"])[["shop", "product", "product_id",
                                                          "title"]]
        cur = cur.merge(titles, on=["shop", "product"], how="left")
        ids = cur["product"].astype(str)
        cur["product_id"] = cur["product_id"].where(cur["product_id"].notna(),
                                                    ids.where(~ids.str.startswith("title:"), None))
        rows.append(cur)
    if not rows:
        return pd.DataFrame(columns=PRODUCT_COLUMNS)
    out = pd.concat(rows, ignore_index=True)
    for c in PRODUCT_COLUMNS:
        if c not in out.columns:
            out[c] = None
    return out[PRODUCT_COLUMNS]


def sort_top(frame: pd.DataFrame, key: str = "inquiring_buyers", top: int | None = None
             ) -> pd.DataFrame:
    """Rows by ``key`` descending (unknown last; ties by shop and product), the first ``top``."""
    out = frame.sort_values([key, "inquiring_buyers", "shop", "product"],
                            ascending=[False, False, True, True], kind="stable",
                            na_position="last")
    return (out.head(top) if top else out).reset_index(drop=True)
