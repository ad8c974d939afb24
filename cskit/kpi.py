"""Orchestration of `cskit kpi`: read the store one shop-month at a time, compute, combine.

Metrics are per shop and independent, and within a shop every count belongs to one
day, so kpi reads one shop-month partition at a time (:func:`month_slices`; only the
columns it needs, the shop and time filters pushed into the Parquet scan, text
columns dictionary-encoded) and feeds it to the metrics' slicers
(:class:`~cskit.metrics.reply.ReplySlices`,
:class:`~cskit.metrics.conversion.ConversionSlices`).  A slice also holds the edges of
its neighbours that its windows reach: replies up to REPLY_SLACK after its last day,
and for conversion the attribution window before its first.  What a month cannot
settle is carried forward in compact form: per-group sums, a histogram of response
seconds (exact medians and P90s), and the few buyer-days whose reply lies beyond the
slack.  The results are exactly those of one computation over the whole period.  Peak
memory follows the largest shop-month partition plus its slack (and the shop's orders),
not a shop's whole history.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit import schema
from cskit.errors import NoDataError, UsageError
from cskit.store import Store

#: columns the reply metrics need (nothing else is read from disk)
MESSAGE_COLUMNS = ["shop", "buyer_id", "agent_id", "sender", "sent_at", "conversation_id",
                   "source_file", "source_row"]
#: replies to a message may come after the range ends (next morning at the latest)
REPLY_SLACK = dt.timedelta(days=2)
#: a slice takes several consecutive months of a shop while they hold at most this many
#: messages together (a bigger month is a slice of its own): fewer, larger slices for small
#: shops; memory stays bounded by the larger of this and the largest shop-month
SLICE_ROWS = 500_000


def message_columns(rule=None) -> list[str]:
    """The columns a reply rule needs: ``conversation_id`` only for sessions (``jd``)."""
    unit = getattr(rule, "unit", None)
    return [c for c in MESSAGE_COLUMNS if c != "conversation_id" or unit in (None, "session")]


@dataclass
class Period:
    since: dt.date | None
    until: dt.date | None

    def label(self) -> str:
        a = self.since.isoformat() if self.since else "…"
        b = self.until.isoformat() if self.until else "…"
        return f"{a} – {b}"


def parse_date(text: str, opt: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{opt} {text!r} is not a date", hint="write dates as YYYY-MM-DD") from None


def parse_week(text: str) -> Period:
    """'2026-W47' → Monday..Sunday of that ISO week."""
    t = text.strip().upper()
    try:
        year, week = t.split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise UsageError(f"--week {text!r} is not an ISO week", hint="write weeks as 2026-W47") from None
    return Period(monday, monday + dt.timedelta(days=6))


def last_week(today: dt.date | None = None) -> Period:
    today = today or dt.date.today()
    this_monday = today - dt.timedelta(days=today.weekday())
    return Period(this_monday - dt.timedelta(days=7), this_monday - dt.timedelta(days=1))


def resolve_period(since: str | None, until: str | None, week: str | None, last: bool,
                   today: dt.date | None = None) -> Period:
    if sum(x is not None and x is not False for x in (week, last or None)) > 1 or \
            ((week or last) and (since or until)):
        raise UsageError("use either --since/--until, --week or --last-week, not several")
    if week:
        return parse_week(week)
    if last:
        return last_week(today)
    p = Period(parse_date(since, "--since") if since else None,
               parse_date(until, "--until") if until else None)
    if p.since and p.until and p.since > p.until:
        raise UsageError(f"--since {p.since} is after --until {p.until}")
    return p


def select_shops(store: Store, shops: list[str] | None) -> list[str]:
    have = store.shops(schema.MESSAGES)
    if not have:
        raise NoDataError(f"{store.root}: the store holds no chat messages",
                          hint="run `cskit ingest FILES` first (or --store DIR)")
    if not shops:
        return have
    missing = [s for s in shops if s not in have]
    if missing:
        raise NoDataError(f"shop {missing[0]!r} has no messages in {store.root}",
                          hint="shops in the store: " + ", ".join(have))
    return shops


def read_messages(store: Store, shop: str, period: Period) -> pd.DataFrame:
    return store.read(schema.MESSAGES, shops=[shop], since=period.since, until=period.until,
                      columns=MESSAGE_COLUMNS, time_slack=REPLY_SLACK)


def read_excluded(store: Store, shop: str) -> pd.DataFrame:
    return store.read(schema.EXCLUDED, shops=[shop])


# --------------------------------------------------------------------------- slicing


def _ts(d: dt.date | None, days: float = 0) -> pd.Timestamp | None:
    return None if d is None else pd.Timestamp(d) + pd.Timedelta(days=days)


@dataclass
class Slice:
    """One shop-month of messages (text columns as categoricals)."""

    frame: pd.DataFrame  #: the messages from ``start`` to ``end``
    lo: dt.date  #: first day this slice owns (inside the period)
    hi: dt.date  #: last day it owns
    next_lo: dt.date | None  #: first day of the next slice (None: this is the last)
    first: bool
    last: bool


def month_slices(store: Store, shop: str, period: Period, columns: list[str], *,
                 before: int = 0, after: dt.timedelta = REPLY_SLACK, tail: int | None = None,
                 head: dt.timedelta | None = None):
    """The shop's messages one calendar month at a time (a :class:`Slice` per month that
    holds messages and overlaps the period; consecutive small months share one, up to
    :data:`SLICE_ROWS` messages), for the metrics' slicers.

    The store is read from ``before`` days before the period to ``after`` past its last
    day (as one read of the whole period would be).  A slice holds its month plus
    ``tail`` days before it (look-backs; the first slice: from the start of the read)
    and, up to the next slice's first day or ``head`` past its last (replies after
    midnight), whichever is later; the last slice to the end of the read.  ``tail`` and
    ``head`` default to ``before`` and ``after``.  Each month's part files are read
    once, only the ``columns``, shop and time filters pushed into the scan; at most the
    months a slice touches are held in memory (dictionary-encoded arrow), so memory
    follows the largest shop-month, not the shop's history.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from cskit.store import table_to_frame

    tail = before if tail is None else tail
    head = after if head is None else head
    since, until = period.since, period.until
    g_lo = _ts(since, -before)
    g_hi = None if until is None else _ts(until, 1) + pd.Timedelta(after)
    entries = store.files(schema.MESSAGES, [shop], None if g_lo is None else g_lo.date(),
                          None if g_hi is None else (g_hi - pd.Timedelta(seconds=1)).date())
    by_month: dict[str, list] = {}
    for f in entries:
        if f.month:  # part files without a month hold rows without a valid time: never counted
            by_month.setdefault(f.month, []).append(f)
    months = sorted(by_month)
    if not months:
        return

    def bounds(m: str) -> tuple[pd.Timestamp, pd.Timestamp]:
        a = pd.Timestamp(m + "-01")
        return a, a + pd.offsets.MonthBegin(1)

    owned, rows = [], 0
    for m in months:
        a, b = bounds(m)
        lo = a.date() if since is None else max(a.date(), since)
        hi = (b - pd.Timedelta(days=1)).date() if until is None else \
            min((b - pd.Timedelta(days=1)).date(), until)
        if lo > hi:
            continue
        n = sum(f.rows for f in by_month[m])
        if owned and rows + n <= SLICE_ROWS:  # joins the previous slice
            owned[-1] = (owned[-1][0], hi)
            rows += n
        else:
            owned.append((lo, hi))
            rows = n
    if not owned:  # messages only in the margins: one slice for the whole period
        first_a, last_b = bounds(months[0])[0], bounds(months[-1])[1]
        lo = since if since is not None else min(first_a.date(), until)
        hi = until if until is not None else max((last_b - pd.Timedelta(days=1)).date(), lo)
        owned = [(lo, hi)]
        whole = True
    else:
        whole = False

    cache: dict[str, pa.Table] = {}

    def table(m: str) -> pa.Table:
        if m not in cache:
            cache[m] = store.read_table(schema.MESSAGES, by_month[m], columns, shops=[shop],
                                        start=g_lo, end=g_hi, categorical=True)
        return cache[m]

    for k, (lo, hi) in enumerate(owned):
        last = k == len(owned) - 1
        next_lo = None if last else owned[k + 1][0]
        if whole:
            start, end = g_lo, g_hi
        else:
            start = g_lo if k == 0 else _ts(lo, -tail)
            end = g_hi if last else max(_ts(hi, 1) + pd.Timedelta(head), _ts(next_lo))
            if g_hi is not None and end is not None:
                end = min(end, g_hi)
        pieces = []  # never empty: a slice's own month overlaps it
        for m in months:
            a, b = bounds(m)
            if (end is not None and a >= end) or (start is not None and b <= start):
                continue
            t = table(m)
            if (start is not None and a < start) or (end is not None and b > end):
                col = t.column("sent_at")
                mask = None
                if start is not None:
                    mask = pc.greater_equal(col, pa.scalar(start.to_pydatetime(), type=col.type))
                if end is not None:
                    c = pc.less(col, pa.scalar(end.to_pydatetime(), type=col.type))
                    mask = c if mask is None else pc.and_(mask, c)
                t = t.filter(mask)
            pieces.append(t)
        yield Slice(table_to_frame(pa.concat_tables(pieces)), lo, hi, next_lo, first=k == 0,
                    last=last)
        # months no later slice reaches
        if next_lo is not None:
            keep_from = _ts(next_lo, -tail)
            for m in list(cache):
                if bounds(m)[1] <= keep_from:
                    del cache[m]


def prefetched(items):
    """Iterate ``items`` with the next item prepared in a background thread, so that reading
    and decoding the next shop-month (pyarrow, outside the GIL) overlaps the computation
    on this one.  At most one item is prepared ahead."""
    from concurrent.futures import ThreadPoolExecutor

    done = object()
    items = iter(items)
    with ThreadPoolExecutor(1, thread_name_prefix="cskit-read") as pool:
        ahead = pool.submit(next, items, done)
        while True:
            item = ahead.result()
            if item is done:
                return
            ahead = pool.submit(next, items, done)
            yield item
            del item


def _shops_slices(store: Store, shops: list[str], period: Period, columns: list[str], *,
                  orders=None, **kw):
    """("shop", shop, (excluded, orders)), then ("slice", shop, Slice) per month, for each
    shop in turn.  ``orders(shop)`` reads a shop's orders (None: none needed); ``kw`` go
    to :func:`month_slices` (a callable ``tail`` gets the orders)."""
    for shop in shops:
        o = orders(shop) if orders is not None else None
        yield "shop", shop, (read_excluded(store, shop), o)
        args = dict(kw)
        if callable(args.get("tail")):
            args["tail"] = args["tail"](o)
        for sl in month_slices(store, shop, period, columns, **args):
            yield "slice", shop, sl


def _reply_end(sl: Slice, period: Period) -> pd.Timestamp | None:
    """Where replies to a slice's messages are looked for: REPLY_SLACK past its last day, or
    for the last slice as far as one read of the period goes."""
    if sl.last:
        return None if period.until is None else _ts(period.until, 1) + pd.Timedelta(REPLY_SLACK)
    return _ts(sl.hi, 1) + pd.Timedelta(REPLY_SLACK)


def _reply_results(store: Store, shops: list[str], period: Period, rule, *, bys,
                   slow_threshold_s=100, unreplied=False):
    """(shop, results of ReplySlices) per shop, the store read one shop-month at a time."""
    from cskit.metrics.reply import ReplySlices, _resolve_rule

    rule = _resolve_rule(rule)
    rs = shop = None
    for kind, s, item in prefetched(_shops_slices(store, shops, period, message_columns(rule))):
        if kind == "shop":
            if rs is not None:
                yield shop, rs.result()
            shop = s
            rs = ReplySlices(rule, item[0], bys=bys, since=period.since, until=period.until,
                             slow_threshold_s=slow_threshold_s, unreplied=unreplied)
        else:
            rs.add(item.frame, item.lo, item.hi, start=_ts(period.since) if item.first else None,
                   end=_reply_end(item, period), last=item.last)
            del item
    if rs is not None:
        yield shop, rs.result()


def reply_report(store: Store, *, shops: list[str] | None, period: Period, rule, by: str,
                 slow_threshold_s: int = 100) -> pd.DataFrame:
    """The reply-rate KPI frame for the requested shops and period."""
    frames = [r[by] for _, r in _reply_results(store, select_shops(store, shops), period, rule,
                                               bys=(by,), slow_threshold_s=slow_threshold_s)]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise NoDataError(f"no buyer messages between {period.label()} in {store.root}",
                          hint="check --since/--until/--week and --shop; `cskit ingest` first")
    return pd.concat(frames, ignore_index=True)


def unreplied_report(store: Store, *, shops: list[str] | None, period: Period, rule) -> pd.DataFrame:
    frames = [r["unreplied"] for _, r in _reply_results(store, select_shops(store, shops), period,
                                                         rule, bys=(), unreplied=True)]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------- conversion (issue 4)


@dataclass
class Attribution:
    """Windows of the conversion metrics (docs/metrics.md, "Conversion")."""

    window_days: float = 3
    lookback_days: float = 15
    anchor: str = "order"


def _shifted(d: dt.date | None, days: float) -> dt.date | None:
    return None if d is None else d + dt.timedelta(days=days)


def read_shop(store: Store, shop: str, period: Period, attr: Attribution, *,
              content: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One shop's messages, orders and excluded buyers, wide enough for every window."""
    wide = math.ceil(max(attr.window_days, REPLY_SLACK.days))
    cols = MESSAGE_COLUMNS + (["content"] if content else [])
    msgs = store.read(schema.MESSAGES, shops=[shop], since=_shifted(period.since, -wide),
                      until=period.until, columns=cols, time_slack=dt.timedelta(days=wide))
    orders = store.read(schema.ORDERS, shops=[shop],
                        since=_shifted(period.since, -math.ceil(attr.lookback_days + attr.window_days)),
                        until=period.until, time_slack=dt.timedelta(days=wide))
    return msgs, orders, read_excluded(store, shop)


def agent_report(store: Store, *, shops: list[str] | None, period: Period, rule, attr: Attribution,
                 slow_threshold_s: int = 100) -> tuple[pd.DataFrame, dict]:
    """客服绩效: reply columns and conversion/sales columns per (shop, agent_id), plus a
    total row (the shops' own totals, not a sum of agent rows, which may double count)."""
    from cskit.metrics.conversion import ConversionSlices
    from cskit.metrics.reply import ReplySlices
    from cskit.metrics.reply import _resolve_rule as _resolve

    rows, totals = [], []
    wide = math.ceil(max(attr.window_days, REPLY_SLACK.days))
    kw = dict(since=period.since, until=period.until)

    def read_orders(shop: str) -> pd.DataFrame:
        return store.read(schema.ORDERS, shops=[shop],
                          since=_shifted(period.since,
                                         -math.ceil(attr.lookback_days + attr.window_days)),
                          until=period.until, time_slack=dt.timedelta(days=wide))

    def finish(rs, cs) -> None:
        r, c = rs.result(), cs.result()
        reply_a, reply_s, conv_a, conv_s = r["agent"], r["shop"], c["agent"], c["shop"]
        if reply_a.empty and conv_a.empty:
            return
        rows.append(merge_agent_frames(reply_a, conv_a))
        totals.append(reply_s.merge(conv_s, on=["shop"], how="outer"))

    rule = _resolve(rule)
    # a month's slice reaches back ``wide`` days only for orders: the last reply before one
    items = _shops_slices(store, select_shops(store, shops), period, message_columns(rule),
                          orders=read_orders, before=wide, after=dt.timedelta(days=wide),
                          tail=lambda o: wide if o is not None and len(o) else 0,
                          head=REPLY_SLACK)
    rs = cs = orders = None
    seen = False
    for kind, shop, item in prefetched(items):
        if kind == "shop":
            if seen:
                finish(rs, cs)
            seen = False
            excluded, orders = item
            rs = ReplySlices(rule, excluded, bys=("agent", "shop"),
                             slow_threshold_s=slow_threshold_s, **kw)
            cs = ConversionSlices(orders, bys=("agent", "shop"), window_days=attr.window_days,
                                  lookback_days=attr.lookback_days, anchor=attr.anchor, **kw)
            continue
        seen, sl = True, item
        # reply and conversion see the same messages (as one computation over the period
        # does: from ``wide`` days before it to ``wide`` days after), so conversion reuses
        # the reply log's sort; inside the period a month needs the days before it only
        # for orders, and the days after it only for replies after midnight
        if sl.first:
            start = _ts(period.since, -wide)
        else:
            start = _ts(sl.lo, -wide) if len(orders) else _ts(sl.lo)
        end = _ts(period.until, 1 + wide) if sl.last else _ts(sl.hi, 1) + pd.Timedelta(REPLY_SLACK)
        log = rs.add(sl.frame, sl.lo, sl.hi, start=start, end=end, last=sl.last)
        cs.add(sl.frame, sl.lo, sl.hi, start=start, end=end,
               orders_to=None if sl.last else sl.next_lo - dt.timedelta(days=1),
               first=sl.first, last=sl.last, log=log)
        del sl, item, log
    if seen:
        finish(rs, cs)
    rows = [r for r in rows if len(r)]
    if not rows:
        raise NoDataError(f"no buyer messages between {period.label()} in {store.root}",
                          hint="check --since/--until/--week and --shop; `cskit ingest` first")
    return merge_agent_frames(pd.concat(rows, ignore_index=True), None), \
        total_row(pd.concat(totals, ignore_index=True))


def merge_agent_frames(reply_a: pd.DataFrame, conv_a: pd.DataFrame | None) -> pd.DataFrame:
    """Reply and conversion rows per (shop, agent_id) side by side, sorted by shop, agent."""
    from cskit.metrics import column_order

    frame = reply_a if conv_a is None or conv_a.empty else \
        reply_a.merge(conv_a, on=["shop", "agent_id"], how="outer")
    frame = frame.sort_values(["shop", "agent_id"], kind="stable").reset_index(drop=True)
    return frame[column_order(frame.columns)]


#: ratios recomputed from summed counts for a multi-shop total row
_RATIOS = {
    "reply_rate": lambda t: 1 - t["unreplied_buyers"] / t["consult_buyers"],
    "inquiry_conversion": lambda t: t["paid_buyers"] / t["inquiry_buyers"],
    "order_conversion": lambda t: t["ordered_buyers"] / t["inquiry_buyers"],
    "pay_success": lambda t: t["paid_buyers"] / t["ordered_buyers"],
    "avg_order_value": lambda t: t["sales"] / t["sales_buyers"],
    "answer_ratio": lambda t: t["agent_messages"] / t["buyer_messages"],
}


def total_row(shop_rows: pd.DataFrame) -> dict:
    """The 合计 row: one shop → its own figures; several → summed counts, ratios recomputed
    (means and percentiles of several shops are left empty rather than guessed)."""
    if len(shop_rows) == 1:
        return {k: v for k, v in shop_rows.iloc[0].items() if k != "shop"}
    from cskit.metrics import KPIS

    units = {k.key: k.unit for k in KPIS}
    out: dict = {}
    for col in shop_rows.columns:
        if units.get(col) in ("count", "yuan"):
            out[col] = shop_rows[col].sum()
    for key, fn in _RATIOS.items():
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = float(fn(out))
            out[key] = v if np.isfinite(v) else None
        except (KeyError, ZeroDivisionError):
            continue
    return out


def sort_frame(frame: pd.DataFrame, spec: str | None, allowed: list[str]) -> pd.DataFrame:
    """``--sort KEY`` (ascending) or ``KEY:desc``."""
    if not spec:
        return frame
    key, _, order = spec.partition(":")
    if key not in allowed:
        raise UsageError(f"--sort {key!r} is not a column of this report",
                         hint="one of " + ", ".join(allowed))
    if order not in ("", "asc", "desc"):
        raise UsageError(f"--sort order {order!r} must be asc or desc")
    return frame.sort_values(key, ascending=order != "desc", kind="stable", na_position="last") \
        .reset_index(drop=True)


def unpaid_report(store: Store, *, shops: list[str] | None, period: Period,
                  attr: Attribution) -> pd.DataFrame:
    """The 催付 list for the period, newest order first."""
    from cskit.metrics.conversion import unpaid_list

    frames = []
    for shop in select_shops(store, shops):
        msgs, orders, _ = read_shop(store, shop, period, attr, content=True)
        if msgs.empty or orders.empty:
            continue
        frames.append(unpaid_list(msgs, orders, since=period.since, until=period.until,
                                  window_days=attr.window_days, lookback_days=attr.lookback_days))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["shop", "buyer_id", "order_id", "amount", "created_at", "agent",
                                     "last_message_at", "last_message"])
    return pd.concat(frames, ignore_index=True).sort_values("created_at", ascending=False,
                                                           kind="stable").reset_index(drop=True)
