"""Buyer-level conversion lists: lost buyers, inquiry outcomes and the 催付 (unpaid) list.

One row per inquiry buyer-day (:func:`lost_buyers`, :func:`inquiry_outcomes`) or per unpaid
order of an inquiry buyer (:func:`unpaid_list`), read from the engine state
(:class:`cskit.metrics.conversion_data._Data`) by the rules of
:mod:`cskit.metrics.conversion_rules`.  Pure: frames in, frames out.  Not here: the KPI
table (:func:`cskit.metrics.conversion.conversion_kpis`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.common import day_number
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import ts as _ts
from cskit.metrics.conversion_data import _setup
from cskit.metrics.conversion_rules import _BUYER
from cskit.metrics.conversion_tables import _dates
from cskit.metrics.joins import _asof

UNPAID_LIST_COLUMNS = ["shop", "buyer_id", "order_id", "amount", "created_at", "agent",
                       "last_message_at", "last_message"]
LOST_BUYERS_COLUMNS = ["shop", "buyer_id", "date", "agent_id", "had_unpaid_order", "pending"]


def lost_buyers(messages: pd.DataFrame, orders: pd.DataFrame | None, since=None, until=None,
                window_days: float = 3, lookback_days: float = 15, anchor: str = "order",
                as_of=None, excluded=None) -> pd.DataFrame:
    """Inquiry buyer-days (dated in ``[since, until]``) without a paid order in the window.

    Columns: shop, buyer_id, date (``datetime.date`` of the buyer's messages),
    agent_id (the first human replier), had_unpaid_order (the buyer-day counts
    in ordered_buyers: it created an order in the window that is unpaid, closed
    or refunded), pending (the window is still open at the data end: the buyer
    may yet pay).  Sorted by shop, date, buyer_id.
    """
    lo, hi = day_number(since, "since"), day_number(until, "until")
    d = _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded)
    m = d.bd_inquiry & ~d.bd_paid & _in_range(d.bd_day, lo, hi)
    out = _buyer_day_frame(d, m, had_unpaid_order=d.bd_ordered, pending=d.bd_pending)
    return out.sort_values(["shop", "date", "buyer_id"], kind="stable").reset_index(drop=True)


def _buyer_day_frame(d, m: np.ndarray, **flags: np.ndarray) -> pd.DataFrame:
    """The buyer-days ``m`` selects of the engine state ``d``: shop, buyer_id, date,
    agent_id (object columns), then each of ``flags`` as a bool column."""
    out = pd.DataFrame({
        "shop": d.shop_names[d.bd_shop[m]],
        "buyer_id": d.buyer_names[d.bd_g[m] % d.nb],
        "date": _dates(d.bd_day[m]),
        "agent_id": d.agent_names[d.bd_agent[m]],
        **{name: flag[m].astype(bool) for name, flag in flags.items()},
    })
    for c in ("shop", "buyer_id", "date", "agent_id"):
        out[c] = out[c].astype(object)
    return out


def unpaid_list(messages: pd.DataFrame, orders: pd.DataFrame | None, since=None, until=None,
                window_days: float = 3, lookback_days: float = 15, as_of=None,
                excluded=None) -> pd.DataFrame:
    """The 催付 list: unpaid orders of inquiry buyers.

    One row per order with status ``unpaid`` (or paid only after ``as_of``) and
    no payment by the data end, created within the window of an inquiry
    buyer-day dated in ``[since, until]``.  Columns: shop, buyer_id, order_id,
    amount (the amount due), created_at, agent (last human replier at or before
    the order's creation, within the window; 未分配 if none), last_message_at and
    last_message (the buyer's latest message up to the data end, its content —
    None when messages have no ``content`` column).  Newest order first.
    """
    lo, hi = day_number(since, "since"), day_number(until, "until")
    d = _setup(messages, orders, window_days, lookback_days, "order", as_of, excluded)
    cand = np.flatnonzero(d.o_unpaid & (d.o_g >= 0))
    inq = d.bd_inquiry & _in_range(d.bd_day, lo, hi)
    hit = _asof(d.o_ct[cand], d.o_g[cand], d.bd_f[inq], d.bd_g[inq], forward=False,
                tol=d.window_s) >= 0
    sel = cand[hit]
    g, ct = d.o_g[sel], d.o_ct[sel]
    agent = d.last_human_reply(ct, g)

    # the buyer's latest message (rows are kept in input order: stable sort by time)
    b = np.flatnonzero(d.m_kind == _BUYER)
    last = (pd.DataFrame({"g": d.m_g[b], "t": d.m_t[b], "k": b})
            .sort_values("t", kind="stable").drop_duplicates("g", keep="last").set_index("g"))
    lk = last["k"].reindex(g).to_numpy(dtype=float, na_value=np.nan)
    has = ~np.isnan(lk)
    k = np.where(has, lk, 0).astype(np.int64)
    last_at = np.where(has, d.m_t[k] if len(d.m_t) else 0, 0).astype(np.int64)
    last_at = _ts(last_at)
    last_at[~has] = np.datetime64("NaT")
    if "content" in d.messages.columns and len(d.m_pos):
        content = d.messages["content"].iloc[d.m_pos[k]]
        content = content.astype(object).where(content.notna(), None).to_numpy(dtype=object)
        last_msg = np.where(has, content, None)
    else:
        last_msg = np.full(len(sel), None, dtype=object)
    order_id = d.orders["order_id"].to_numpy(dtype=object)[d.o_pos[sel]] \
        if "order_id" in d.orders.columns else np.full(len(sel), None, dtype=object)

    out = pd.DataFrame({
        "shop": d.shop_names[d.o_shop[sel]],
        "buyer_id": d.buyer_names[g % d.nb],
        "order_id": order_id,
        "amount": d.o_amount[sel].astype(float),
        "created_at": _ts(ct),
        "agent": d.agent_names[np.where(agent >= 0, agent, d.unassigned)],
        "last_message_at": last_at,
        "last_message": last_msg,
    })[UNPAID_LIST_COLUMNS]
    for c in ("shop", "buyer_id", "order_id", "agent", "last_message"):
        out[c] = out[c].astype(object)
    return out.sort_values(["created_at", "shop", "buyer_id", "order_id"],
                           ascending=[False, True, True, True], kind="stable",
                           na_position="last").reset_index(drop=True)


def inquiry_outcomes(messages: pd.DataFrame, orders: pd.DataFrame | None, since=None,
                     until=None, window_days: float = 3, lookback_days: float = 15,
                     anchor: str = "order", as_of=None, excluded=None) -> pd.DataFrame:
    """Every inquiry buyer-day (dated in ``[since, until]``) and its outcome, by the rules
    of :func:`lost_buyers`: shop, buyer_id, date, agent_id (first human replier), paid (a
    paid order in the window), pending (the window is still open at the data end).
    ``cskit answers`` reads the conversion of the buyers who received an answer from it."""
    lo, hi = day_number(since, "since"), day_number(until, "until")
    d = _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded)
    m = d.bd_inquiry & _in_range(d.bd_day, lo, hi)
    return _buyer_day_frame(d, m, paid=d.bd_paid, pending=d.bd_pending).reset_index(drop=True)
