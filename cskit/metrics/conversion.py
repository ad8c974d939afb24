"""Conversion and sales attribution (issue #4).

Pure functions, frames in, frames out; nothing prints.  Every shop is computed
independently (buyers are matched by ``(shop, buyer_id)``, the data end is per
shop).  Vectorised: messages and orders share one integer (shop, buyer) code;
buyer-days come from one sort; "the first human reply", "an order in the
lookback", "an order in the window" and "the last human reply before the
order" are each one as-of search (:func:`_asof`, ``np.searchsorted`` on a dense
(buyer, time-rank) key — ``pd.merge_asof(by=…)`` semantics without its fixed
cost); rows are ``np.bincount`` sums.  No Python loop runs over messages or
orders.  The rules are documented in docs/metrics.md, "Conversion and sales
attribution".

Vocabulary
----------
* **buyer-day** — (shop, buyer, calendar day) with ≥1 buyer message; ``f`` is
  the time of the buyer's first message that day.
* **served** — a human ``agent`` message to the buyer at or after ``f`` on the
  same calendar day (the first such message is the *first human reply*).
* **after-sale** — a served buyer-day with an order of the buyer (any status)
  created in ``[f − lookback, f)``; otherwise it is an **inquiry**.
* **window** of an inquiry — ``[f, f + window]``, both ends inclusive.
* **paid order** — status paid/shipped/completed, or no known status but a
  payment time; never closed or refunded; paid no later than the data end.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.errors import UsageError
from cskit.i18n import Msg
from cskit.metrics.codes import log_gids
from cskit.metrics.common import day_number, epoch_seconds, pooled_sums, seconds
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import ratio as _ratio
from cskit.metrics.common import require as _require
from cskit.metrics.common import runs as _runs
from cskit.metrics.common import ts as _ts
from cskit.metrics.registry import KPI, KPIS, column_order, register
from cskit.metrics.reply import UNASSIGNED, _exclusion_days, _sender_codes, _sort_order

__all__ = ["conversion_kpis", "unpaid_list", "lost_buyers", "output_columns", "BY_CHOICES",
           "ANCHORS", "PAID_STATUSES", "UNPAID_LIST_COLUMNS", "LOST_BUYERS_COLUMNS",
           "ConversionSlices", "inquiry_outcomes"]

BY_CHOICES = ("day", "week", "shop", "agent")
ANCHORS = ("order", "pay")
#: statuses of a paid order (an order with an empty/unknown status counts as paid when it has
#: a payment time); ``closed`` and ``refunded`` orders are never paid orders
PAID_STATUSES = ("paid", "shipped", "completed")
_NOT_PAID = ("closed", "refunded")

_DAY = 86400
_MIN = np.iinfo(np.int64).min
_BUYER, _AGENT, _BOT = 0, 1, 2
_KEY_COLS = {"day": ["shop", "date"], "week": ["shop", "week"], "shop": ["shop"],
             "agent": ["shop", "agent_id"]}

UNPAID_LIST_COLUMNS = ["shop", "buyer_id", "order_id", "amount", "created_at", "agent",
                       "last_message_at", "last_message"]
LOST_BUYERS_COLUMNS = ["shop", "buyer_id", "date", "agent_id", "had_unpaid_order", "pending"]

# ----------------------------------------------------------------------------------------
# registry
# ----------------------------------------------------------------------------------------
_KPIS = (
    KPI("served_buyers", "接待人数", "Served buyers", "count",
        "buyer-days with a human agent message at or after the buyer's first message, the same "
        "calendar day; by agent: those whose first human reply came from the agent",
        family="conversion"),
    KPI("inquiry_buyers", "询单人数", "Inquiring buyers", "count",
        "served buyer-days without an order of the buyer created in the lookback (default 15 "
        "days) before the first message; by agent: first human reply from the agent",
        family="conversion"),
    KPI("aftersale_buyers", "售后人数", "After-sale buyers", "count",
        "served buyer-days with an order of the buyer created in the lookback before the first "
        "message", family="conversion"),
    KPI("ordered_buyers", "询单→下单人数", "Inquiries that ordered", "count",
        "inquiry buyer-days with an order (any status, closed included) created within the "
        "window (default 72 h, inclusive) after the first message", family="conversion"),
    KPI("paid_buyers", "询单→付款人数", "Inquiries that paid", "count",
        "inquiry buyer-days with a paid order in the window (anchor order: created in it and "
        "paid by the data end; anchor pay: paid in it); closed/refunded orders are not paid",
        family="conversion"),
    KPI("inquiry_conversion", "询单转化率", "Inquiry conversion", "rate",
        "paid_buyers / inquiry_buyers", family="conversion"),
    KPI("order_conversion", "下单转化率", "Order conversion", "rate",
        "ordered_buyers / inquiry_buyers", family="conversion"),
    KPI("pay_success", "下单付款率", "Ordered → paid", "rate",
        "paid_buyers / ordered_buyers", family="conversion"),
    KPI("attributed_orders", "客服成交订单数", "Attributed orders", "count",
        "paid orders (by the anchor's date) with a human reply to the buyer within the window "
        "before the anchor; credited to the last such replier", family="conversion"),
    KPI("sales", "客服销售额", "Agent sales", "yuan",
        "sum of amount of the attributed orders (missing amounts count 0)", family="conversion"),
    KPI("sales_buyers", "客服成交人数", "Buyers behind sales", "count",
        "distinct (buyer, anchor date) among the attributed orders", family="conversion"),
    KPI("avg_order_value", "客单价", "Average order value", "yuan",
        "sales / sales_buyers", family="conversion"),
    KPI("unattributed_orders", "未归属订单数", "Unattributed orders", "count",
        "paid orders whose buyer chatted in the window before the anchor but got no human "
        "reply in it (robot only, or unanswered)", family="conversion"),
    KPI("unattributed_sales", "未归属销售额", "Unattributed sales", "yuan",
        "amount of the unattributed orders", family="conversion"),
    KPI("silent_orders", "静默下单数", "Silent orders", "count",
        "paid orders whose buyer sent or got no chat message in the window before the anchor",
        family="conversion"),
    KPI("silent_sales", "静默销售额", "Silent sales", "yuan",
        "amount of the silent orders", family="conversion"),
    KPI("unmatched_orders", "无买家订单数", "Orders without buyer", "count",
        "paid orders without a buyer id (PDD/Douyin exports often lack it): cannot be matched "
        "to chats", family="conversion"),
    KPI("unmatched_sales", "无买家销售额", "Sales without buyer", "yuan",
        "amount of the unmatched orders", family="conversion"),
    KPI("pending", "延迟统计", "Pending", "count",
        "True (1) while the attribution window of an inquiry in the row is still open at the "
        "data end: the row's conversion can still grow", family="conversion"),
)


def _register_all() -> None:
    prev = None
    for k in _KPIS:
        if not any(x.key == k.key for x in KPIS):  # idempotent on re-import
            register(k, after=prev)
        prev = k.key


_register_all()

_COUNT_COLS = ["served_buyers", "inquiry_buyers", "aftersale_buyers", "ordered_buyers",
               "paid_buyers", "attributed_orders", "sales_buyers", "unattributed_orders",
               "silent_orders", "unmatched_orders"]
_FLOAT_COLS = ["inquiry_conversion", "order_conversion", "pay_success", "sales",
               "avg_order_value", "unattributed_sales", "silent_sales", "unmatched_sales"]


def output_columns(by: str = "day") -> list[str]:
    """The columns :func:`conversion_kpis` returns for this grouping."""
    _check_choice(by, BY_CHOICES, Msg("grouping"))
    return _KEY_COLS[by] + column_order([k.key for k in _KPIS])


# ----------------------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------------------
def _check_choice(value, choices, what: str) -> None:
    if value not in choices:
        raise UsageError("unknown {what} {value!r}",
                         hint="one of {choices}", what=what, value=value, choices=", ".join(choices))


def _seconds_of_days(days, what: str) -> int:
    try:
        d = float(days)
    except (TypeError, ValueError):
        raise UsageError("{what} must be a number of days, not {days!r}", what=what, days=days) from None
    if not np.isfinite(d) or d < 0:
        raise UsageError("{what} must be a number of days ≥ 0, not {days!r}", what=what, days=days)
    return int(round(d * _DAY))


def _as_of_seconds(x) -> int | None:
    """``as_of`` as wall-clock seconds; a bare date means the end of that day."""
    if x is None:
        return None
    date_only = (isinstance(x, _dt.date) and not isinstance(x, _dt.datetime)) or (
        isinstance(x, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}-\d{1,2}\s*", x) is not None)
    try:
        ts = pd.Timestamp(x)
    except (ValueError, TypeError):
        raise UsageError("as_of {x!r} is not a date or time",
                         hint="write it as YYYY-MM-DD or YYYY-MM-DD HH:MM:SS", x=x) from None
    if ts is pd.NaT:
        return None
    s = epoch_seconds(ts)
    if date_only:
        s = (s // _DAY) * _DAY + _DAY - 1
    return s


def _seconds(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~cskit.metrics.common.seconds` with 0 where the time is missing."""
    v, ok = seconds(s)
    return np.where(ok, v, 0), ok


def _raw_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = missing) and distinct raw values; categoricals cost nothing."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return (s.cat.codes.to_numpy().astype(np.int64),
                np.asarray(s.cat.categories, dtype=object))
    codes, uniq = pd.factorize(s)
    return np.asarray(codes, np.int64), np.asarray(uniq, dtype=object)


def _clean(values: np.ndarray) -> bool:
    """All distinct ids are non-blank strings without surrounding whitespace (what the
    store holds), so stripping and exact comparison agree."""
    if len(values) == 0:
        return True
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return False
    # what ``astype("string").str.strip()`` (the general path) does, in arrow directly
    u = pa.array(values, type=pa.string())
    return bool(pc.all(pc.equal(pc.utf8_trim_whitespace(u), u)).as_py()) and \
        not bool(pc.any(pc.equal(u, "")).as_py())


def _clean_log(log) -> bool:
    return _clean(log.shop_names) and _clean(log.buyer_of_gid) and \
        _clean(np.asarray(log.agent_names, dtype=object))


def _joined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=object) + "\x1f" + np.asarray(b, dtype=object)


def _shared_codes(*cols: pd.Series, first: np.ndarray | None = None
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """Codes of several columns in one id space (-1 = missing or blank), and the distinct
    ids as stripped strings — as :func:`_codes` of their concatenation, without building
    it: only the distinct values are cleaned.  ``first``: clean ids that take the first
    codes (whether or not the columns hold them)."""
    raws = [_raw_codes(c) for c in cols]
    if first is not None:
        raws = [(np.zeros(0, dtype=np.int64), np.asarray(first, dtype=object))] + raws
    uniq = np.concatenate([u for _, u in raws]) if raws else np.empty(0, dtype=object)
    if len(uniq) == 0:
        return [np.full(len(c), -1, dtype=np.int64) for c, _ in raws], np.empty(0, dtype=object)
    u = pd.Series(uniq, dtype=object).astype("string").str.strip()
    head = len(raws[0][1])
    clean = (u.iloc[:head].to_numpy(dtype=object, na_value=None) == raws[0][1]).all() and \
        not (u.iloc[:head] == "").any()
    if clean and (len(raws) == 1 or len(uniq) == head):
        # the first column's distinct values are distinct, stripped, non-blank strings: they
        # are their own codes (the usual case: ids from the store)
        c2, u2 = np.arange(head, dtype=np.int64), raws[0][1]
    elif clean:  # the other columns' values: looked up among the first's, new ones after
        rest = u.iloc[head:].mask(u.iloc[head:] == "")
        r2, ru = pd.factorize(rest)
        at = pd.Index(raws[0][1]).get_indexer(np.asarray(ru, dtype=object))
        new = np.flatnonzero(at < 0)
        at[new] = head + np.arange(len(new))
        u2 = np.concatenate([raws[0][1], np.asarray(ru, dtype=object)[new]])
        c2 = np.concatenate([np.arange(head, dtype=np.int64),
                             _take(at, np.asarray(r2, np.int64), -1)])
    else:
        c2, u2 = pd.factorize(u.mask(u == ""))
        c2 = np.asarray(c2, np.int64)
    out, at = [], 0
    for codes, un in raws:
        out.append(_take(c2[at:at + len(un)], codes, -1))
        at += len(un)
    if first is not None:
        out = out[1:]
    return out, np.asarray(u2, dtype=object)


def _asof(lt: np.ndarray, lg: np.ndarray, rt: np.ndarray, rg: np.ndarray, *, forward: bool,
          tol: int | None, exact: bool = True) -> np.ndarray:
    """An as-of join (what ``pd.merge_asof(..., by=g)`` does, without its fixed cost).

    For every left row, the index of the right row with the same group code that
    is the nearest at/after (``forward``) or at/before (backward) ``lt``, at most
    ``tol`` seconds away (inclusive), or -1; ``exact=False`` excludes equal
    times.  Among right rows with equal (group, time), backward takes the last
    in input order and forward the first.  One sort and one ``searchsorted`` on a
    dense (group, time-rank) key.
    """
    n, m = len(lt), len(rt)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or m == 0:
        return out
    lt, rt = np.asarray(lt, np.int64), np.asarray(rt, np.int64)
    lg, rg = np.asarray(lg, np.int64), np.asarray(rg, np.int64)
    lk, rk = _group_time_keys(lg, lt, rg, rt)
    if m < 2 or bool((rk[1:] >= rk[:-1]).all()):  # already in order (messages are sorted)
        order, rks = np.arange(m), rk
    else:
        order = np.argsort(rk, kind="stable")
        rks = rk[order]
    if forward:
        idx = np.searchsorted(rks, lk, side="left" if exact else "right")
        ok = idx < m
    else:
        idx = np.searchsorted(rks, lk, side="right" if exact else "left") - 1
        ok = idx >= 0
    j = order[np.where(ok, idx, 0)]
    ok &= rg[j] == lg
    if tol is not None:
        ok &= np.abs(rt[j] - lt) <= tol
    out[ok] = j[ok]
    return out


def _group_time_keys(lg, lt, rg, rt) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per (group, time) that sorts as the pair, for two sides at once:
    the values themselves when they fit, else their dense ranks."""
    g = [x for x in (lg, rg) if len(x)]
    t = [x for x in (lt, rt) if len(x)]
    if not g:
        return lg.astype(np.int64), rg.astype(np.int64)
    gmin, gmax = min(int(x.min()) for x in g), max(int(x.max()) for x in g)
    tmin, tmax = min(int(x.min()) for x in t), max(int(x.max()) for x in t)
    span = tmax - tmin + 1
    if (gmax - gmin + 1) < (2 ** 62) // span:
        return (lg - gmin) * span + (lt - tmin), (rg - gmin) * span + (rt - tmin)
    n = len(lg)
    _, ginv = np.unique(np.concatenate([lg, rg]), return_inverse=True)
    _, tinv = np.unique(np.concatenate([lt, rt]), return_inverse=True)
    key = ginv.astype(np.int64).ravel() * (int(tinv.max()) + 1) + tinv.astype(np.int64).ravel()
    return key[:n], key[n:]


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] where at >= 0, else default (safe when ``values`` is empty)."""
    if len(values) == 0:
        return np.full(len(at), default, dtype=np.int64)
    return np.where(at >= 0, values[np.where(at >= 0, at, 0)], default)


def _max_into(out: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """``np.maximum.at(out, at, values)``; one ``reduceat`` when ``at`` is sorted (a log's
    messages are in shop order), which is far cheaper than ``ufunc.at`` per element."""
    n = len(at)
    if n == 0:
        return
    if n > 1 and not bool((at[1:] >= at[:-1]).all()):
        np.maximum.at(out, at, values)
        return
    starts = np.flatnonzero(np.concatenate([[True], at[1:] != at[:-1]]))
    keys = at[starts]
    out[keys] = np.maximum(out[keys], np.maximum.reduceat(values, starts))


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


# ----------------------------------------------------------------------------------------
# preparation: one shared (shop, buyer) coding for messages and orders
# ----------------------------------------------------------------------------------------
class _Data:
    """Messages and orders with shared integer codes; times in wall-clock seconds."""

    def __init__(self, messages: pd.DataFrame | None, orders: pd.DataFrame | None,
                 window_s: int, lookback_s: int, anchor: str, as_of, *, t_lo: int | None = None,
                 t_hi: int | None = None, o_mask: np.ndarray | None = None, log=None,
                 excluded: pd.DataFrame | None = None) -> None:
        """``t_lo``/``t_hi`` (epoch seconds): only messages in ``[t_lo, t_hi)`` are used;
        ``o_mask``: only these orders (a time slice, without copying the frames).

        ``log``: the reply metrics' sorted log of exactly those messages (same frame and
        time window).  When its shop, buyer and agent ids are already clean (stripped,
        non-blank strings: ids from the store), its sort and codes are reused; the
        buyer-day figures need no more (``buyer_names`` is then not available).

        ``excluded`` (shop, buyer_id, since): reported / blacklisted buyers; their buyer-days
        on excluded days are left out of every buyer count, as in the reply metrics (a
        log carries its own exclusion)."""
        if log is not None and as_of is None and _clean_log(log):
            self._from_log(log, orders, window_s, lookback_s, anchor, o_mask)
            return
        if messages is None:
            messages = pd.DataFrame(columns=["shop", "buyer_id", "sender", "sent_at"])
        if orders is None:
            orders = pd.DataFrame(columns=["shop", "buyer_id", "created_at"])
        _require(messages, ("shop", "buyer_id", "sender", "sent_at"), "messages")
        _require(orders, ("shop", "buyer_id", "created_at"), "orders")
        self.window_s, self.lookback_s, self.anchor = window_s, lookback_s, anchor
        nm, no = len(messages), len(orders)

        # -- shared codes ----------------------------------------------------------------
        codes, self.shop_names = _shared_codes(messages["shop"], orders["shop"])
        shop_all = np.concatenate(codes)
        codes, self.buyer_names = _shared_codes(messages["buyer_id"], orders["buyer_id"])
        buyer_all = np.concatenate(codes)
        nb = len(self.buyer_names) + 1
        self.nb = nb
        gid_all = np.where((shop_all >= 0) & (buyer_all >= 0), shop_all * nb + buyer_all, -1)

        # -- messages ---------------------------------------------------------------------
        snd = _sender_codes(messages["sender"])
        mt, mok = _seconds(messages["sent_at"])
        mg = gid_all[:nm]
        mkeep = (mg >= 0) & (snd >= 0) & mok
        if t_lo is not None:
            mkeep &= mt >= t_lo
        if t_hi is not None:
            mkeep &= mt < t_hi

        # -- orders, the data end per shop (or the explicit as_of), then cut after it -----
        oshop = shop_all[nm:]
        og = gid_all[nm:]
        asof = _as_of_seconds(as_of)
        mshop = shop_all[:nm]
        self._orders(orders, oshop, og, o_mask, asof, mshop[mkeep], mt[mkeep])
        if asof is not None:  # (the data end is past every kept message otherwise)
            mkeep &= mt <= asof

        mpos = np.flatnonzero(mkeep)
        # by (shop, buyer), time, then the tie order: every later search sorts by time
        # stably, so only the order of a buyer's messages in the same second matters
        mpos = mpos[_sort_order(np.zeros(len(mpos), np.int64), mg[mpos], mt[mpos], messages,
                                mpos)]
        self.messages = messages
        self.m_pos = mpos  # row positions in the input
        self.m_g = mg[mpos]
        self.m_shop = shop_all[:nm][mpos]
        self.m_t = mt[mpos]
        self.m_kind = snd[mpos]
        if "agent_id" in messages.columns:
            (ac,), an = _shared_codes(messages["agent_id"])
            ac = ac[mpos]
        else:
            an, ac = np.empty(0, dtype=object), np.full(len(mpos), -1, np.int64)
        names = np.concatenate([np.asarray(an, dtype=object), np.array([UNASSIGNED], object)])
        remap, uniq = pd.factorize(names)  # an account literally named 未分配 merges with it
        remap = np.asarray(remap, np.int64)
        self.agent_names = np.asarray(uniq, dtype=object)
        self.unassigned = int(remap[len(an)])
        self.m_agent = remap[np.where(ac >= 0, ac, len(an))]
        self.m_excl = np.zeros(len(mpos), dtype=bool)
        if excluded is not None and len(excluded) and len(mpos):
            ug, inv = np.unique(self.m_g, return_inverse=True)
            first_day = _exclusion_days(excluded, self.shop_names[ug // nb],
                                        self.buyer_names[ug % nb])
            self.m_excl = self.m_t // _DAY >= first_day[inv.ravel()]
        self._buyer_days()

    def _from_log(self, log, orders, window_s, lookback_s, anchor, o_mask) -> None:
        if orders is None:
            orders = pd.DataFrame(columns=["shop", "buyer_id", "created_at"])
        _require(orders, ("shop", "buyer_id", "created_at"), "orders")
        self.window_s, self.lookback_s, self.anchor = window_s, lookback_s, anchor
        self.messages = log.frame
        self.m_pos = log.pos
        self.m_g = log.gid
        self.m_shop = log.shop_of_gid[log.gid]
        self.m_t = log.t
        self.m_kind = log.sender
        self.m_agent = log.agent  # right for human agent messages, the only ones used
        self.m_excl = log.excl  # buyer excluded on the message's day
        self.agent_names = log.agent_names
        self.unassigned = log.unassigned
        self.buyer_names, self.nb = None, None
        # orders onto the log's shops and (shop, buyer) groups; new ones after them
        (oshop,), self.shop_names = _shared_codes(orders["shop"], first=log.shop_names)
        (obuy,), bnames = _shared_codes(orders["buyer_id"])
        og = np.full(len(orders), -1, dtype=np.int64)
        has = (oshop >= 0) & (obuy >= 0)
        if has.any():
            ngid = len(log.shop_of_gid)
            # by the buyers' category codes (cskit.metrics.codes); else by strings
            at = log_gids(log, oshop[has], bnames[obuy[has]])
            if at is None:
                gkey = _joined(self.shop_names[log.shop_of_gid], log.buyer_of_gid)
                okey = _joined(self.shop_names[oshop[has]], bnames[obuy[has]])
                at = pd.Index(gkey).get_indexer(okey)
            new = at < 0
            if new.any():
                okey = _joined(self.shop_names[oshop[has][new]], bnames[obuy[has][new]])
                extra, inv = np.unique(okey, return_inverse=True)
                at[new] = ngid + inv.ravel()
            og[has] = at
        self._orders(orders, oshop, og, o_mask, None, self.m_shop, self.m_t)
        self._buyer_days()

    def _orders(self, orders, oshop, og, o_mask, asof, m_shop, m_t) -> None:
        """Order arrays, and the data end per shop: ``asof`` (seconds), or the latest of
        the kept messages (``m_shop``/``m_t``), order creations and payments."""
        no = len(orders)
        ct, cok = _seconds(orders["created_at"])
        if "paid_at" in orders.columns:
            pt, pok = _seconds(orders["paid_at"])
        else:
            pt, pok = np.zeros(no, np.int64), np.zeros(no, bool)
        if "status" in orders.columns:
            status = orders["status"].astype("string").str.strip().str.lower() \
                .reset_index(drop=True)
        else:
            status = pd.Series([pd.NA] * no, dtype="string")
        st_paid = status.isin(PAID_STATUSES).to_numpy(dtype=bool, na_value=False)
        st_not = status.isin(_NOT_PAID).to_numpy(dtype=bool, na_value=False)
        st_unpaid = (status == "unpaid").to_numpy(dtype=bool, na_value=False)
        okeep = (oshop >= 0) & cok
        if o_mask is not None:
            okeep &= o_mask
        nshops = len(self.shop_names)
        if asof is None:
            end = np.full(max(nshops, 1), _MIN, dtype=np.int64)
            _max_into(end, m_shop, m_t)
            np.maximum.at(end, oshop[okeep], ct[okeep])
            pm = okeep & pok
            np.maximum.at(end, oshop[pm], pt[pm])
        else:
            end = np.full(max(nshops, 1), asof, dtype=np.int64)
        self.end_of_shop = end
        okeep &= ct <= self.end_of_shop[np.where(oshop >= 0, oshop, 0)]

        opos = np.flatnonzero(okeep)
        self.orders = orders
        self.o_pos = opos
        self.o_g = og[opos]  # -1: no buyer id
        self.o_shop = oshop[opos]
        self.o_ct = ct[opos]
        end_o = self.end_of_shop[self.o_shop]
        pay_t = np.where(pok[opos], pt[opos], ct[opos])  # no payment time: its creation time
        paid_rec = ~st_not[opos] & (st_paid[opos] | pok[opos])
        self.o_paid = paid_rec & (pay_t <= end_o)  # paid as of the data end
        self.o_pay_t = pay_t
        self.o_anchor_t = self.o_ct if self.anchor == "order" else pay_t
        # open and unpaid as of the data end (an order paid only after as_of is unpaid then)
        self.o_unpaid = ~st_not[opos] & (st_unpaid[opos] | paid_rec) & ~self.o_paid
        if "amount" in orders.columns:
            amt = pd.to_numeric(orders["amount"], errors="coerce").to_numpy(dtype=float,
                                                                            na_value=np.nan)
            self.o_amount = amt[opos]
        else:
            self.o_amount = np.full(len(opos), np.nan)

    # ------------------------------------------------------------------------------------
    def _buyer_days(self) -> None:
        """Per buyer-day: first message, served, first replier, after-sale, ordered, paid."""
        W, L = self.window_s, self.lookback_s
        b = np.flatnonzero(self.m_kind == _BUYER)
        bg, bt = self.m_g[b], self.m_t[b]
        bday = bt // _DAY
        # messages are sorted by buyer, then time (so by day): a buyer-day is a run
        first = b[_runs(bg, bday)]
        g, f, day = self.m_g[first], self.m_t[first], self.m_t[first] // _DAY
        self.bd_g, self.bd_f, self.bd_day = g, f, day
        self.bd_shop = self.m_shop[first]

        # the first human reply: the buyer's first human agent message *after* the first
        # buyer message in the messages' order (same-second ties as the reply metrics order
        # them), so the agent who serves a buyer-day is the one who replied (issue 12)
        n = len(self.m_t)
        nxt = np.where(self.m_kind == _AGENT, np.arange(n), n)
        nxt = np.minimum.accumulate(nxt[::-1])[::-1] if n else nxt
        at = nxt[first]
        ok = at < n
        ok[ok] = self.m_g[at[ok]] == g[ok]
        j = np.where(ok, at, -1)
        rt = _take(self.m_t, j, 0)
        # an excluded buyer-day (举报/拉黑) counts nowhere, as in the reply metrics
        served = ok & (rt // _DAY == day) & ~self.m_excl[first]
        self.bd_served = served
        self.bd_agent = np.where(served, _take(self.m_agent, j, -1), -1)
        self.bd_rt = rt  # the first human reply's time (meaningful where served)

        has_b = self.o_g >= 0
        og, oct_ = self.o_g[has_b], self.o_ct[has_b]
        before = _asof(f, g, oct_, og, forward=False, tol=L, exact=False) >= 0 if L > 0 \
            else np.zeros(len(f), bool)
        self.bd_aftersale = served & before
        self.bd_inquiry = served & ~before

        ordered = _asof(f, g, oct_, og, forward=True, tol=W) >= 0
        pm = has_b & self.o_paid
        paid = _asof(f, g, self.o_anchor_t[pm], self.o_g[pm], forward=True, tol=W) >= 0
        if self.anchor == "pay":  # a payment in the window implies an order: paid ⊆ ordered
            ordered |= paid
        self.bd_ordered = self.bd_inquiry & ordered
        self.bd_paid = self.bd_inquiry & paid
        self.bd_pending = self.bd_inquiry & (f + W > self.end_of_shop[self.bd_shop])

    # ------------------------------------------------------------------------------------
    def last_human_reply(self, t: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Agent code of the last human agent message at or before ``t`` and at most the
        window before it, -1 if none."""
        h = self.m_kind == _AGENT
        j = _asof(t, g, self.m_t[h], self.m_g[h], forward=False, tol=self.window_s)
        return _take(self.m_agent[h], j, -1)

    def paid_orders(self, lo: int | None, hi: int | None):
        """Paid orders anchored in [lo, hi]: index arrays, credited agent and category
        (0 attributed, 1 unattributed, 2 silent, 3 unmatched)."""
        sel = np.flatnonzero(self.o_paid & _in_range(self.o_anchor_t // _DAY, lo, hi))
        if len(sel) == 0:
            z = np.zeros(0, dtype=np.int64)
            return sel, z, z
        t, g = self.o_anchor_t[sel], self.o_g[sel]
        agent = self.last_human_reply(t, g)
        chat = _asof(t, g, self.m_t, self.m_g, forward=False, tol=self.window_s) >= 0
        cat = np.where(g < 0, 3, np.where(agent >= 0, 0, np.where(chat, 1, 2)))
        return sel, agent, cat


# ----------------------------------------------------------------------------------------
# public
# ----------------------------------------------------------------------------------------
def _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded=None) -> _Data:
    _check_choice(anchor, ANCHORS, Msg("attribution anchor"))
    W = _seconds_of_days(window_days, "window_days")
    L = _seconds_of_days(lookback_days, "lookback_days")
    return _Data(messages, orders, W, L, anchor, as_of, excluded=excluded)


def conversion_kpis(messages: pd.DataFrame, orders: pd.DataFrame | None, by: str = "day",
                    since=None, until=None, window_days: float = 3, lookback_days: float = 15,
                    anchor: str = "order", as_of=None, excluded=None) -> pd.DataFrame:
    """Conversion (询单转化) and sales-attribution KPIs, one row per group.

    ``by``: ``day`` (shop, date), ``week`` (shop, ISO week ``YYYY-Www``), ``shop``,
    ``agent`` (shop, agent_id).  Buyer counts are buyer-days grouped by the date
    of the buyer's messages (a week/shop row sums buyer-days; by agent, the
    agent of the buyer-day's first human reply).  Order counts and amounts are
    grouped by the date of the order's anchor (creation time with
    ``anchor="order"``, payment time with ``"pay"``); by agent, the agent who
    gets the credit, and 未分配 for unattributed, silent and unmatched orders.
    ``since``/``until`` (inclusive dates) filter both by those dates; pass
    messages from ``since − window`` and orders from ``since − lookback`` to
    ``until + window`` so that lookbacks and windows see their data.

    ``as_of`` (default: per shop, the latest message, order or payment time in
    the input) is the data end: later events are ignored, and rows with an
    inquiry whose window ends after it are ``pending``.  A bare date means the
    end of that day.  Group keys first, then KPIs in registry order, sorted by
    the keys; rates are NaN where the denominator is 0.
    """
    _check_choice(by, BY_CHOICES, Msg("grouping"))
    lo, hi = day_number(since, "since"), day_number(until, "until")
    d = _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded)
    end = dict(zip(d.shop_names, d.end_of_shop[:len(d.shop_names)].tolist()))
    return _conv_finish([_conv_partial(d, by, lo, hi)], by, end, d.window_s)


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


class ConversionSlices:
    """Conversion KPIs of one shop fed one time slice at a time (``cskit kpi`` reads the
    store one shop-month at a time), or of several small shops in one slice; :meth:`result`
    equals :func:`conversion_kpis` on all the messages at once.  Pure: frames in, frames out.

    ``orders``: all the shop's orders the whole computation would see (orders are few
    next to messages; each slice uses the ones its windows reach).  Each :meth:`add`
    owns the buyer-days dated ``lo``..``hi`` and the paid orders anchored then; it needs
    the messages from ``window`` days before ``lo`` (the last reply before an order)
    through ``hi``.  Every window is bounded, so nothing but sums crosses slices, except:
    the data end (``pending``), which is the latest time over all slices — the slices'
    message ranges together must cover what one call would get — or ``data_end`` (per
    shop) when later; and the paid orders' amounts, summed at the end in input order.
    """

    def __init__(self, orders: pd.DataFrame | None, *, bys=("day",), since=None, until=None,
                 window_days: float = 3, lookback_days: float = 15, anchor: str = "order",
                 data_end: dict | None = None, excluded: pd.DataFrame | None = None):
        for by in bys:
            _check_choice(by, BY_CHOICES, Msg("grouping"))
        _check_choice(anchor, ANCHORS, Msg("attribution anchor"))
        self.bys = tuple(bys)
        self.lo, self.hi = day_number(since, "since"), day_number(until, "until")
        self.W = _seconds_of_days(window_days, "window_days")
        self.L = _seconds_of_days(lookback_days, "lookback_days")
        self.anchor = anchor
        self.excluded = excluded  # (used where a slice's reply log is not reused)
        if orders is None:
            orders = pd.DataFrame(columns=["shop", "buyer_id", "created_at"])
        _require(orders, ("shop", "buyer_id", "created_at"), "orders")
        self.orders = orders
        ct, cok = _seconds(orders["created_at"])
        if "paid_at" in orders.columns:
            pt, pok = _seconds(orders["paid_at"])
        else:
            pt, pok = np.zeros(len(orders), np.int64), np.zeros(len(orders), bool)
        self._ct, self._cok, self._pt, self._pok = ct, cok, pt, pok
        # the orders' share of the data end (each slice adds its messages'): per shop
        # (stripped, non-blank name) the latest creation or payment of an order with a
        # creation time, as :meth:`_Data._orders` takes it
        (oshop,), names = _shared_codes(orders["shop"])
        okeep = (oshop >= 0) & cok
        end = np.full(max(len(names), 1), _MIN, dtype=np.int64)
        np.maximum.at(end, oshop[okeep], ct[okeep])
        pm = okeep & pok
        np.maximum.at(end, oshop[pm], pt[pm])
        self.end: dict = dict(zip(names, end[:len(names)].tolist()))
        # ``data_end`` (shop → time): the store's data end, past what the slices read, so
        # that ``pending`` does not depend on the range read (issue 12)
        for name, e in (data_end or {}).items():
            if e is not None and not pd.isna(e):
                self.end[name] = max(self.end.get(name, _MIN), epoch_seconds(e))
        self.parts: dict[str, list[_ConvPart]] = {by: [] for by in self.bys}
        # whether the orders can tell anything (cskit.metrics.coverage): per shop its
        # orders' facts, and the day of its first owned buyer message
        from cskit.metrics.coverage import order_facts

        self.facts = order_facts(orders)
        self.first_day: dict = {}

    def add(self, messages: pd.DataFrame, lo, hi, *, start=None, end=None, orders_from=None,
            orders_to=None, first: bool = False, last: bool = False, log=None) -> None:
        """Own the buyer-days dated ``lo``..``hi`` (clipped to since/until) and the paid
        orders anchored ``orders_from``..``orders_to`` (default ``lo``..``hi``; ``first``/
        ``last``: unbounded before/after, so orders on days without messages belong to some
        slice).  Only the rows of ``messages`` in ``[start, end)`` are used (None: no
        bound); they must reach from ``window`` days before the orders' first day to the
        end of the last (or, ``last``, as far as one call would see).  ``log``: what
        :meth:`ReplySlices.add <cskit.metrics.reply.ReplySlices.add>` returned for the
        same frame and the same ``[start, end)`` (its sort is reused)."""
        lo_d, hi_d = day_number(lo, "lo"), day_number(hi, "hi")
        olo = None if first else day_number(orders_from, "orders_from") if orders_from else lo_d
        ohi = None if last else day_number(orders_to, "orders_to") if orders_to else hi_d
        t_lo = None if start is None else epoch_seconds(start)
        t_hi = None if end is None else epoch_seconds(end)
        # orders any window of an owned buyer-day or order can reach (a day of margin)
        o_mask = np.ones(len(self.orders), dtype=bool)
        a = min(lo_d, olo if olo is not None else lo_d)
        b = max(hi_d, ohi if ohi is not None else hi_d)
        if olo is not None:
            a = (a - 1) * _DAY - self.L - self.W
            o_mask &= (self._cok & (self._ct >= a)) | (self._pok & (self._pt >= a))
        if ohi is not None:
            b = (b + 2) * _DAY + self.W
            o_mask &= (self._cok & (self._ct < b)) | (self._pok & (self._pt < b))
        d = _Data(messages, self.orders, self.W, self.L, self.anchor, None, t_lo=t_lo,
                  t_hi=t_hi, o_mask=o_mask, log=log, excluded=self.excluded)
        for name, e in zip(d.shop_names, d.end_of_shop[:len(d.shop_names)].tolist()):
            self.end[name] = max(self.end.get(name, _MIN), e)
        own_lo = lo_d if self.lo is None else max(lo_d, self.lo)
        own_hi = hi_d if self.hi is None else min(hi_d, self.hi)
        o_lo = olo if self.lo is None else self.lo if olo is None else max(olo, self.lo)
        o_hi = ohi if self.hi is None else self.hi if ohi is None else min(ohi, self.hi)
        for by in self.bys:
            self.parts[by].append(_conv_partial(d, by, own_lo, own_hi, o_lo, o_hi, True))
        own = _in_range(d.bd_day, own_lo, own_hi)
        if own.any():
            first = pd.Series(d.bd_day[own]).groupby(d.bd_shop[own]).min()
            for code, day in first.items():
                name = d.shop_names[code]
                self.first_day[name] = min(self.first_day.get(name, day), day)

    def result(self) -> dict[str, pd.DataFrame]:
        return pooled_results([self])

    def close(self) -> None:
        """No slice follows: drop the orders (only the per-group sums stay)."""
        self.orders = self.orders.iloc[:0]
        self._ct, self._cok, self._pt, self._pok = (a[:0] for a in (self._ct, self._cok,
                                                                     self._pt, self._pok))


def pooled_results(slicers: list[ConversionSlices]) -> dict[str, pd.DataFrame]:
    """The results of several :class:`ConversionSlices` over different shops (same
    groupings and windows), as one: sums pooled, each table finished once."""
    first = slicers[0]
    end: dict = {}
    for sl in slicers:
        for shop, e in sl.end.items():
            end[shop] = max(end.get(shop, _MIN), e)
    return {by: _conv_finish([p for sl in slicers for p in sl.parts[by]], by, end, first.W)
            for by in first.bys}


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
