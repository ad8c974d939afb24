"""Whether a shop's conversion can be known at all (issue 12, "unknown is not zero").

Pure functions, frames in, frames out; nothing prints.  The conversion metrics
(:mod:`cskit.metrics.conversion`) count what the orders say; when a shop's orders
cannot say anything — none of them carries a buyer id (Douyin exports), or the store
holds no order of the shop covering the period — a 0 % would be a guess.  Then the
shop's conversion and sales cells are *unknown* (NaN → table ``—``, CSV empty, JSON
null) and a note says why.  The rule is per shop (docs/metrics.md, "When conversion is
unknown"):

* ``no_buyer_id`` — the shop has orders in the attribution span (the orders the
  computation reads: from ``since − lookback − window`` to ``until + window``) but
  none of them has a buyer id: no order can be matched to a chat;
* ``no_orders`` — the span holds no order of the shop;
* ``orders_end`` — the shop's latest order (creation or payment) is before the first
  day of the period (``since``, or without ``since`` the shop's first buyer message):
  the orders stop before the chats begin.

Orders that end inside the period are not judged here (the days before their end
are known).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

__all__ = ["REASONS", "order_facts", "unknown_shops", "shop_unknown", "blank_unknown", "unknown_note",
           "KNOWN_WITHOUT_ORDERS", "KNOWN_WITHOUT_BUYER_ID", "blank_columns"]

#: why a shop's conversion is unknown, per reason code (English templates; the Chinese is
#: in cskit/data/messages.toml): ``{shop}`` and ``{last}`` are filled in
WHY_NO_BUYER_ID = "{shop}: its orders have no buyer id and cannot be matched to chats"
WHY_NO_ORDERS = "{shop}: the store holds no orders covering the period (ingest its order export first)"
WHY_ORDERS_END = "{shop}: its orders end on {last}, before the period"
REASONS = {"no_buyer_id": WHY_NO_BUYER_ID, "no_orders": WHY_NO_ORDERS, "orders_end": WHY_ORDERS_END}

#: conversion-family columns that the chats alone decide: known whatever the orders are
KNOWN_WITHOUT_ORDERS = ("served_buyers",)
#: with orders lacking a buyer id, their count and amount are still exact
KNOWN_WITHOUT_BUYER_ID = KNOWN_WITHOUT_ORDERS + ("unmatched_orders", "unmatched_sales")


def blank_columns(columns, reason: str) -> list[str]:
    """The conversion-family columns among ``columns`` that are unknown for ``reason``."""
    from cskit.metrics.registry import KPIS

    conv = {k.key for k in KPIS if k.family == "conversion"}
    keep = KNOWN_WITHOUT_BUYER_ID if reason == "no_buyer_id" else KNOWN_WITHOUT_ORDERS
    return [c for c in columns if c in conv and c not in keep]


def order_facts(orders: pd.DataFrame | None) -> pd.DataFrame:
    """Per shop of ``orders``: ``orders`` (rows with a creation time), ``with_buyer`` (of
    them, with a non-blank buyer id) and ``last_at`` (latest creation or payment time)."""
    cols = ["orders", "with_buyer", "last_at"]
    if orders is None or len(orders) == 0:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="shop"))
    created = pd.to_datetime(orders["created_at"], errors="coerce")
    ok = created.notna().to_numpy(dtype=bool)
    buyer = orders["buyer_id"].astype("string").str.strip()
    has_buyer = (buyer.notna() & (buyer != "")).to_numpy(dtype=bool, na_value=False)
    last = created
    if "paid_at" in orders.columns:
        paid = pd.to_datetime(orders["paid_at"], errors="coerce")
        last = created.where(paid.isna() | (created >= paid), paid)
    f = pd.DataFrame({"shop": orders["shop"].astype(object).to_numpy(), "ok": ok,
                      "b": ok & has_buyer, "last": last.where(ok).to_numpy()})
    g = f.groupby("shop", sort=False)
    return pd.DataFrame({"orders": g["ok"].sum().astype(int), "with_buyer": g["b"].sum().astype(int),
                         "last_at": g["last"].max()})


def unknown_shops(facts: pd.DataFrame, shops, starts: dict | None = None,
                  since: dt.date | None = None) -> dict[str, dict]:
    """``{shop: {"reason": code, "last": date or None}}`` for the ``shops`` whose
    conversion is unknown, from their :func:`order_facts`.  A shop's period starts at
    ``since``, else at ``starts[shop]`` (its first buyer message; None: no start)."""
    out: dict[str, dict] = {}
    for shop in dict.fromkeys(shops):  # shops: few; one dict entry each
        start = since if since is not None else (starts or {}).get(shop)
        if shop not in facts.index or int(facts.at[shop, "orders"]) == 0:
            out[shop] = {"reason": "no_orders", "last": None}
            if start is not None:  # for telling "none" from "they end before" (kpi.explain_unknown)
                out[shop]["start"] = pd.Timestamp(start).date().isoformat()
            continue
        last = facts.at[shop, "last_at"]
        if int(facts.at[shop, "with_buyer"]) == 0:
            out[shop] = {"reason": "no_buyer_id", "last": None}
            continue
        if start is not None and pd.notna(last) and \
                pd.Timestamp(last) < pd.Timestamp(pd.Timestamp(start).date()):
            # the span read may end before the store's orders do: kpi.explain_unknown checks
            # the store's latest order before calling the shop unknown
            out[shop] = {"reason": "orders_end", "last": pd.Timestamp(last).date().isoformat(),
                         "start": pd.Timestamp(start).date().isoformat()}
    return out


def shop_unknown(messages: pd.DataFrame, orders: pd.DataFrame | None, shop: str, since=None,
                 until=None) -> dict | None:
    """:func:`unknown_shops` for one shop from its messages and the orders read for it: the
    period starts at ``since`` or at the shop's first buyer message dated up to ``until``."""
    buyer = messages["sent_at"][(messages["sender"] == "buyer").to_numpy(dtype=bool,
                                                                        na_value=False)]
    t = pd.to_datetime(buyer, errors="coerce")
    if until is not None:
        t = t[t < pd.Timestamp(until) + pd.Timedelta(days=1)]
    start = {shop: t.min()} if t.notna().any() else {}
    return unknown_shops(order_facts(orders), [shop], start, since).get(shop)


def unknown_why(shop: str, info: dict, lang: str | None = None) -> str:
    """Why ``shop``'s conversion is unknown (:func:`unknown_shops`), in ``lang``."""
    from cskit.i18n import tr

    if info["reason"] == "no_buyer_id":
        return tr(WHY_NO_BUYER_ID, lang, shop=shop)
    if info["reason"] == "orders_end":
        return tr(WHY_ORDERS_END, lang, shop=shop, last=info.get("last") or "?")
    return tr(WHY_NO_ORDERS, lang, shop=shop)


def unknown_note(shop: str, info: dict, lang: str | None = None) -> str:
    """The one-line note for a shop of :func:`unknown_shops` (without a ``note:`` prefix)."""
    from cskit.i18n import tr

    return tr("{why}; conversion and sales left empty", lang, why=unknown_why(shop, info, lang))


def blank_unknown(frame: pd.DataFrame | None, unknown: dict[str, dict]) -> pd.DataFrame | None:
    """``frame`` with the unknown conversion cells of the ``unknown`` shops' rows set to
    NaN (count columns become float; other shops' values are unchanged)."""
    if frame is None or not unknown or frame.empty or "shop" not in frame.columns:
        return frame
    out = frame.copy()
    shop = out["shop"].astype(object)
    for reason in {i["reason"] for i in unknown.values()}:
        rows = shop.isin([s for s, i in unknown.items() if i["reason"] == reason]).to_numpy()
        if not rows.any():
            continue
        for c in blank_columns(out.columns, reason):
            col = out[c]
            if col.dtype.kind in "iub":
                col = col.astype(float) if col.dtype.kind != "b" else col.astype(object)
            out[c] = col.where(~rows, np.nan)
    return out
