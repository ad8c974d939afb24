"""The conversion rules: what each conversion KPI counts, in words and in arrays.

The registry entries (key, zh/en label, unit, one-sentence rule) of the conversion family;
the argument rules (window and lookback in days, ``as_of`` as a date is the end of that
day, groupings, anchors); which order is paid (:data:`PAID_STATUSES`, never closed or
refunded, paid by the data end); and, as the mixin :class:`_Rules` of the engine state
(:class:`cskit.metrics.conversion_data._Data`), the buyer-day rules (served, first human
reply, after-sale vs inquiry by the lookback, ordered / paid in the window, pending) and
the attribution rule (the last human reply within the window before the anchor;
attributed, unattributed, silent or unmatched).  The rules are documented in
docs/metrics.md, "Conversion and sales attribution".

Not here: reading and coding the frames (:mod:`cskit.metrics.conversion_data`), the as-of
machinery (:mod:`cskit.metrics.joins`), grouping into tables
(:mod:`cskit.metrics.conversion_tables`), slices (:mod:`cskit.metrics.conversion_slices`)
and the buyer lists (:mod:`cskit.metrics.conversion_lists`).
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

from cskit.errors import UsageError
from cskit.i18n import Msg
from cskit.metrics.common import epoch_seconds
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import runs as _runs
from cskit.metrics.joins import _asof, _take
from cskit.metrics.registry import KPI, KPIS, column_order, register

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


# ----------------------------------------------------------------------------------------
# the rules over the engine's arrays (mixed into cskit.metrics.conversion_data._Data)
# ----------------------------------------------------------------------------------------
class _Rules:
    """The rules applied to the coded messages (``m_*``, sorted by (shop, buyer), time) and
    orders (``o_*``) of :class:`cskit.metrics.conversion_data._Data`: order payment, the
    buyer-days and the credit of a paid order."""

    def _payments(self, orders, opos: np.ndarray, ct: np.ndarray, pt: np.ndarray,
                  pok: np.ndarray) -> None:
        """Which of the kept orders (``opos``) are paid as of the data end, when, their
        anchor time, and which are open and unpaid (``ct``/``pt``/``pok``: creation and
        payment seconds of every order, whether the payment time is known)."""
        no = len(orders)
        if "status" in orders.columns:
            status = orders["status"].astype("string").str.strip().str.lower() \
                .reset_index(drop=True)
        else:
            status = pd.Series([pd.NA] * no, dtype="string")
        st_paid = status.isin(PAID_STATUSES).to_numpy(dtype=bool, na_value=False)
        st_not = status.isin(_NOT_PAID).to_numpy(dtype=bool, na_value=False)
        st_unpaid = (status == "unpaid").to_numpy(dtype=bool, na_value=False)
        end_o = self.end_of_shop[self.o_shop]
        pay_t = np.where(pok[opos], pt[opos], ct[opos])  # no payment time: its creation time
        paid_rec = ~st_not[opos] & (st_paid[opos] | pok[opos])
        self.o_paid = paid_rec & (pay_t <= end_o)  # paid as of the data end
        self.o_pay_t = pay_t
        self.o_anchor_t = self.o_ct if self.anchor == "order" else pay_t
        # open and unpaid as of the data end (an order paid only after as_of is unpaid then)
        self.o_unpaid = ~st_not[opos] & (st_unpaid[opos] | paid_rec) & ~self.o_paid

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

