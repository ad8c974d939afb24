"""Conversion KPI rows: per-group sums of a batch, and the finished table.

:func:`_conv_partial` sums one engine state (:class:`cskit.metrics.conversion_data._Data`)
per (shop, group key) — buyer-days by the date of the buyer's messages, paid orders by
the anchor's date — into a :class:`_ConvPart`; :func:`_conv_finish` pools parts (adding;
amounts summed in input order so floats are bit-identical however batches were cut) into
the KPI table: rates, ``pending``, keys (day, ISO week, shop, agent), sorted.  ``np.bincount``
sums, no loop over rows.  Not here: what each flag means (:mod:`cskit.metrics.conversion_rules`)
nor how slices are fed (:mod:`cskit.metrics.conversion_slices`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import pooled_sums
from cskit.metrics.common import ratio as _ratio
from cskit.metrics.conversion_data import _Data
from cskit.metrics.conversion_rules import (
    _DAY,
    _FLOAT_COLS,
    _KEY_COLS,
    _MIN,
    output_columns,
)


class _ConvPart:
    """Per-group sums of one batch (combinable by adding; ``_maxf`` by max), and the paid
    orders' amounts with their input position (summed at the end in input order, so the
    float sums are bit-identical however the batches were cut)."""

    def __init__(self, sums: pd.DataFrame, amounts: pd.DataFrame):
        self.sums, self.amounts = sums, amounts


_ORDER_CATS = [("attributed_orders", "sales"), ("unattributed_orders", "unattributed_sales"),
               ("silent_orders", "silent_sales"), ("unmatched_orders", "unmatched_sales")]
_BUYER_FLAGS = ["served_buyers", "inquiry_buyers", "aftersale_buyers", "ordered_buyers",
                "paid_buyers"]


def _conv_partial(d: _Data, by: str, lo: int | None, hi: int | None, olo: int | None = None,
                  ohi: int | None = None, orders_range: bool = False) -> _ConvPart:
    """Sums per (shop, key) of the buyer-days dated in [lo, hi] and the paid orders anchored
    in [lo, hi] (or in [olo, ohi] with ``orders_range``; None = no bound)."""
    # -- buyer-days (by the date of the buyer's messages) -------------------------------------
    m = _in_range(d.bd_day, lo, hi)
    if by == "agent":
        m &= d.bd_served
    b_shop, b_key = d.bd_shop[m], _group_key(d, by, d.bd_day[m], d.bd_agent[m])

    # -- paid orders (by the anchor's date) ---------------------------------------------------
    sel, agent, cat = d.paid_orders(olo, ohi) if orders_range else d.paid_orders(lo, hi)
    aday = d.o_anchor_t[sel] // _DAY
    o_shop = d.o_shop[sel]
    o_key = _group_key(d, by, aday, np.where(agent >= 0, agent, d.unassigned))

    # -- one dense row index over both --------------------------------------------------------
    shop_u, key_u, row = _rows(np.concatenate([b_shop, o_shop]),
                               np.concatenate([b_key, o_key]))
    nr = len(shop_u)
    b_row, o_row = row[:len(b_shop)], row[len(b_shop):]

    def count(r, flag) -> np.ndarray:
        return np.bincount(r[flag], minlength=nr).astype(np.int64)

    cols: dict[str, np.ndarray] = {}
    for name, flag in (("served_buyers", d.bd_served), ("inquiry_buyers", d.bd_inquiry),
                       ("aftersale_buyers", d.bd_aftersale), ("ordered_buyers", d.bd_ordered),
                       ("paid_buyers", d.bd_paid)):
        cols[name] = count(b_row, flag[m])
    # pending: the latest first message of an inquiry per row (compared with the data end)
    maxf = np.full(nr, _MIN, dtype=np.int64)
    inq = d.bd_inquiry[m]
    np.maximum.at(maxf, b_row[inq], d.bd_f[m][inq])
    cols["_maxf"] = maxf
    for i, (n_col, _) in enumerate(_ORDER_CATS):
        cols[n_col] = count(o_row, cat == i)
    # buyers behind the sales: distinct (row, buyer, anchor date) among attributed orders
    att = cat == 0
    if att.any():
        trip = pd.DataFrame({"r": o_row[att], "g": d.o_g[sel][att], "d": aday[att]})
        cols["sales_buyers"] = count(trip["r"].to_numpy(), ~trip.duplicated().to_numpy())
    else:
        cols["sales_buyers"] = np.zeros(nr, dtype=np.int64)
    keys = {"shop": d.shop_names[shop_u], "_k": _key_values(d, by, key_u)}
    sums = pd.DataFrame({**keys, **cols})
    amounts = pd.DataFrame({"shop": keys["shop"][o_row], "_k": keys["_k"][o_row],
                            "cat": cat.astype(np.int64),
                            "amount": np.nan_to_num(d.o_amount[sel], nan=0.0),
                            "pos": d.o_pos[sel].astype(np.int64)})
    return _ConvPart(sums, amounts)


def _key_values(d: _Data, by: str, key: np.ndarray) -> np.ndarray:
    """Group keys as combinable values: day number, ISO week code, agent label or 0."""
    if by == "agent":
        return np.asarray(d.agent_names[key], dtype=object)
    return np.asarray(key, dtype=np.int64)


def _conv_finish(parts: list[_ConvPart], by: str, end_of_shop: dict, window_s: int) -> pd.DataFrame:
    """The KPI table from the partial sums; ``end_of_shop``: the data end per shop name."""
    columns = output_columns(by)
    tab = pooled_sums([p.sums for p in parts], maxima=("_maxf",))
    if tab is None:
        return _empty(columns)
    nr = len(tab)
    cols = {c: tab[c].to_numpy(np.int64) for c in tab.columns if c != "_maxf"}
    shops = tab.index.get_level_values("shop").to_numpy(object)
    end = np.array([end_of_shop.get(s, _MIN) for s in shops], dtype=np.int64)
    maxf = tab["_maxf"].to_numpy(np.int64)
    cols["pending"] = (maxf != _MIN) & (maxf + window_s > end)
    amounts = [p.amounts for p in parts if len(p.amounts)]
    totals = {s_col: np.zeros(nr) for _, s_col in _ORDER_CATS}
    if amounts:
        am = amounts[0] if len(amounts) == 1 else \
            pd.concat(amounts, ignore_index=True).sort_values("pos", kind="stable")
        row = tab.index.get_indexer(pd.MultiIndex.from_arrays([am["shop"].to_numpy(object),
                                                               am["_k"].to_numpy()]))
        cat, amt = am["cat"].to_numpy(), am["amount"].to_numpy(float)
        for i, (_, s_col) in enumerate(_ORDER_CATS):
            totals[s_col] = np.bincount(row[cat == i], weights=amt[cat == i],
                                        minlength=nr).astype(float)
    cols.update(totals)
    cols["inquiry_conversion"] = _ratio(cols["paid_buyers"], cols["inquiry_buyers"])
    cols["order_conversion"] = _ratio(cols["ordered_buyers"], cols["inquiry_buyers"])
    cols["pay_success"] = _ratio(cols["paid_buyers"], cols["ordered_buyers"])
    cols["avg_order_value"] = _ratio(cols["sales"], cols["sales_buyers"])

    key = tab.index.get_level_values("_k").to_numpy()
    keys: dict[str, np.ndarray] = {"shop": shops}
    if by == "day":
        keys["date"] = _dates(np.asarray(key, dtype=np.int64))
    elif by == "week":
        keys["week"] = np.array([f"{k // 100}-W{k % 100:02d}" for k in key], dtype=object)
    elif by == "agent":
        keys["agent_id"] = np.asarray(key, dtype=object)
    res = pd.DataFrame({**keys, **cols})[columns]
    for c in _KEY_COLS[by]:
        res[c] = res[c].astype(object)
    return res.sort_values(_KEY_COLS[by], kind="stable").reset_index(drop=True)


def _rows(shop: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (shop, key) pairs and, per input element, its pair's index."""
    if len(shop) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    kmin = int(key.min())
    span = int(key.max()) - kmin + 1
    uniq, row = np.unique(shop.astype(np.int64) * span + (key - kmin), return_inverse=True)
    return uniq // span, uniq % span + kmin, row.ravel()


def _group_key(d: _Data, by: str, day: np.ndarray, agent: np.ndarray) -> np.ndarray:
    if by == "day":
        return np.asarray(day, np.int64)
    if by == "week":
        return _iso_week_codes(day)
    if by == "agent":
        return np.asarray(agent, np.int64)
    return np.zeros(len(day), dtype=np.int64)


def _empty(columns: list[str]) -> pd.DataFrame:
    data = {}
    for c in columns:
        if c in ("shop", "date", "week", "agent_id"):
            data[c] = pd.Series([], dtype=object)
        elif c == "pending":
            data[c] = pd.Series([], dtype=bool)
        elif c in _FLOAT_COLS:
            data[c] = pd.Series([], dtype=float)
        else:
            data[c] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(data)

def _dates(days: np.ndarray) -> np.ndarray:
    """datetime.date objects for day numbers."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype(object)


def _iso_week_codes(days: np.ndarray) -> np.ndarray:
    """ISO year*100 + week for day numbers."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    iso = pd.Series(np.asarray(days, np.int64).astype("datetime64[D]")
                    .astype("datetime64[s]")).dt.isocalendar()
    return (iso["year"].to_numpy(np.int64) * 100 + iso["week"].to_numpy(np.int64))

