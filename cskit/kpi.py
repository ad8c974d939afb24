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
slack.  The results are exactly those of one computation over the whole period.
Consecutive small shops (each one slice anyway) share a slice (:func:`shop_groups`,
:func:`packed_slice`), and the slicers' sums are pooled and finished once.  Peak memory
follows the larger of the largest shop-month partition plus its slack (and the shop's
orders) and a slice of :data:`SLICE_ROWS` messages, not a shop's history or the store.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit import schema
from cskit.errors import NoDataError, UsageError
from cskit.metrics.horizon import ATTRIBUTION_LEAD_DAYS, REPLY_HORIZON_DAYS
from cskit.store import Store

#: columns the reply metrics need (nothing else is read from disk); ``content`` only tells
#: closing remarks (unreplied_closing_buyers): kpi reads it dictionary-encoded and turns it
#: into a boolean ``closing`` column while reading (:func:`closing_column`)
MESSAGE_COLUMNS = ["shop", "buyer_id", "agent_id", "sender", "sent_at", "conversation_id",
                   "source_file", "source_row", "content"]
#: replies to a message may come after the range ends: up to the reply horizon
REPLY_SLACK = dt.timedelta(days=REPLY_HORIZON_DAYS)
#: days read before the range: a buyer's last agent (attribution, ``jd`` sessions) is
#: looked for this far back, whatever the range (cskit/metrics/horizon.py)
LEAD_DAYS = ATTRIBUTION_LEAD_DAYS
#: a slice takes several consecutive months of a shop while they hold at most this many
#: messages together (a bigger month is a slice of its own): fewer, larger slices for small
#: shops; memory stays bounded by the larger of this and the largest shop-month
SLICE_ROWS = 500_000


def message_columns(rule=None) -> list[str]:
    """The columns a reply rule needs: ``conversation_id`` only for sessions (``jd``),
    ``content`` only for buyer-day rules (closing remarks, ``unreplied_closing_buyers``)."""
    unit = getattr(rule, "unit", None)
    return [c for c in MESSAGE_COLUMNS
            if (c != "conversation_id" or unit in (None, "session"))
            and (c != "content" or unit in (None, "buyer"))]


def closing_column(table):
    """An arrow table with its ``content`` column replaced by a boolean ``closing`` (the
    message is a closing remark, :mod:`cskit.metrics.closing`): judged once per distinct
    text of each dictionary chunk, so no message text becomes a Python string."""
    if "content" not in table.column_names:
        return table
    import pyarrow as pa

    from cskit.metrics.closing import closing_mask

    i = table.column_names.index("content")
    flags = pa.array(closing_mask(table.column(i)), type=pa.bool_())
    return table.set_column(i, "closing", flags)


@dataclass
class Period:
    since: dt.date | None
    until: dt.date | None

    def label(self, lang: str | None = None) -> str:
        """The period as a title shows it, in ``lang`` (default: the current language):
        ``2026-11-16 – 2026-11-22``; 全部日期 / all dates when no range is given."""
        from cskit.i18n import tr

        if self.since and self.until:
            return f"{self.since.isoformat()} – {self.until.isoformat()}"
        if self.since:
            return tr("from {since}", lang, since=self.since.isoformat())
        if self.until:
            return tr("until {until}", lang, until=self.until.isoformat())
        return tr("all dates", lang)

    def __format__(self, spec: str) -> str:  # in a message: the label, in its language
        return format(self.label(), spec)


def parse_date(text: str, opt: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError("{opt} {text!r} is not a date",
                         hint="write dates as YYYY-MM-DD", opt=opt, text=text) from None


def parse_week(text: str) -> Period:
    """'2026-W47' → Monday..Sunday of that ISO week."""
    t = text.strip().upper()
    try:
        year, week = t.split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise UsageError("--week {text!r} is not an ISO week",
                         hint="write weeks as 2026-W47", text=text) from None
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
        raise UsageError("--since {since} is after --until {until}", since=p.since, until=p.until)
    return p


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


# --------------------------------------------------------------------------- slicing


def _ts(d: dt.date | None, days: float = 0) -> pd.Timestamp | None:
    return None if d is None else pd.Timestamp(d) + pd.Timedelta(days=days)


@dataclass
class Slice:
    """Messages of one shop-month (or consecutive small months), or of several small shops
    whose whole read fits in one slice; text columns as categoricals."""

    frame: pd.DataFrame  #: the messages from ``start`` to ``end``
    lo: dt.date  #: first day this slice owns (inside the period)
    hi: dt.date  #: last day it owns
    next_lo: dt.date | None  #: first day of the next slice (None: this is the last)
    first: bool
    last: bool
    start: pd.Timestamp | None = None  #: the metrics use the rows from here ...
    end: pd.Timestamp | None = None  #: ... to before here (set by :func:`_logged`)
    log: object = None  #: the reply metrics' sorted log of those rows (:func:`_logged`)


def _month_bounds(m: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    a = pd.Timestamp(m + "-01")
    return a, a + pd.offsets.MonthBegin(1)


@dataclass
class _Plan:
    """How one shop's messages are sliced: the part files per month that the read reaches,
    and the days each slice owns."""

    shop: str
    by_month: dict[str, list]
    months: list[str]
    owned: list[tuple[dt.date, dt.date]]
    whole: bool  #: messages only in the margins: one slice for the whole period
    rows: int  #: messages in the part files read (an upper bound of the slice's rows)
    g_lo: pd.Timestamp | None  #: the read starts here ...
    g_hi: pd.Timestamp | None  #: ... and ends before here

    @property
    def entries(self) -> list:
        return [f for m in self.months for f in self.by_month[m]]


def _plans(store: Store, shops: list[str], period: Period, before: int,
           after: dt.timedelta) -> dict[str, _Plan | None]:
    """Per shop its :class:`_Plan` (None: no messages in reach), from one manifest read."""
    since, until = period.since, period.until
    g_lo = _ts(since, -before)
    g_hi = None if until is None else _ts(until, 1) + pd.Timedelta(after)
    entries = store.files(schema.MESSAGES, shops, None if g_lo is None else g_lo.date(),
                          None if g_hi is None else (g_hi - pd.Timedelta(seconds=1)).date())
    per_shop: dict[str, dict[str, list]] = {s: {} for s in shops}
    for f in entries:
        if f.month:  # part files without a month hold rows without a valid time: never counted
            per_shop[f.shop].setdefault(f.month, []).append(f)
    out: dict[str, _Plan | None] = {}
    for shop in shops:
        by_month = per_shop[shop]
        months = sorted(by_month)
        if not months:
            out[shop] = None
            continue
        owned, rows = [], 0
        for m in months:
            a, b = _month_bounds(m)
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
        whole = not owned
        if whole:  # messages only in the margins: one slice for the whole period
            first_a, last_b = _month_bounds(months[0])[0], _month_bounds(months[-1])[1]
            lo = since if since is not None else min(first_a.date(), until)
            hi = until if until is not None else max((last_b - pd.Timedelta(days=1)).date(), lo)
            owned = [(lo, hi)]
        total = sum(f.rows for m in months for f in by_month[m])
        out[shop] = _Plan(shop, by_month, months, owned, whole, total, g_lo, g_hi)
    return out


def month_slices(store: Store, shop: str, period: Period, columns: list[str], *,
                 before: int = 0, after: dt.timedelta = REPLY_SLACK, tail: int | None = None,
                 head: dt.timedelta | None = None, plan: _Plan | None = None):
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
    follows the largest shop-month, not the shop's history.  ``plan``: the shop's
    :class:`_Plan` for the same period, ``before`` and ``after``, if already made.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from cskit.store import table_to_frame

    tail = before if tail is None else tail
    head = after if head is None else head
    if plan is None:
        plan = _plans(store, [shop], period, before, after)[shop]
    if plan is None:
        return
    by_month, months, owned = plan.by_month, plan.months, plan.owned
    g_lo, g_hi = plan.g_lo, plan.g_hi
    cache: dict[str, pa.Table] = {}

    def table(m: str) -> pa.Table:
        if m not in cache:
            cache[m] = closing_column(store.read_table(schema.MESSAGES, by_month[m], columns,
                                                       shops=[shop], start=g_lo, end=g_hi,
                                                       categorical=True))
        return cache[m]

    for k, (lo, hi) in enumerate(owned):
        last = k == len(owned) - 1
        next_lo = None if last else owned[k + 1][0]
        if plan.whole:
            start, end = g_lo, g_hi
        else:
            start = g_lo if k == 0 else _ts(lo, -tail)
            end = g_hi if last else max(_ts(hi, 1) + pd.Timedelta(head), _ts(next_lo))
            if g_hi is not None and end is not None:
                end = min(end, g_hi)
        pieces = []  # never empty: a slice's own month overlaps it
        for m in months:
            a, b = _month_bounds(m)
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
                if _month_bounds(m)[1] <= keep_from:
                    del cache[m]


def packed_slice(store: Store, plans: list[_Plan], columns: list[str]) -> Slice:
    """One :class:`Slice` holding the whole read of several shops, each of which fits in one
    slice (:func:`month_slices` would give each a single, first-and-last slice with the same
    read bounds).  One Parquet scan for all of them; each shop's rows keep the order
    :func:`month_slices` gives them.  The slice owns the union of their days (a shop has
    no messages in the others' days outside the read margins)."""
    from cskit.store import table_to_frame

    entries = [f for p in plans for f in p.entries]
    t = closing_column(store.read_table(schema.MESSAGES, entries, columns,
                                        shops=[p.shop for p in plans], start=plans[0].g_lo,
                                        end=plans[0].g_hi, categorical=True))
    lo = min(p.owned[0][0] for p in plans)
    hi = max(p.owned[-1][1] for p in plans)
    return Slice(table_to_frame(t), lo, hi, None, first=True, last=True)


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


def _small(p: _Plan | None) -> bool:
    """Whether the shop's whole read fits in one slice (it can share it with other shops)."""
    return p is not None and len(p.owned) == 1 and p.rows <= SLICE_ROWS


def shop_groups(plans: dict[str, _Plan | None]) -> list[list[str]]:
    """The shops in order, in groups computed together: consecutive shops whose whole read
    fits in one slice share a group while they hold at most :data:`SLICE_ROWS` messages
    together (many small shops: few slices, so the fixed cost of a slice — a scan, a sort,
    per-group sums — is paid per group, not per shop); any other shop is a group of its own."""
    groups: list[list[str]] = []
    rows = 0
    packing = False
    for shop, p in plans.items():
        small = _small(p)
        if small and packing and rows + p.rows <= SLICE_ROWS:
            groups[-1].append(shop)
            rows += p.rows
        else:
            groups.append([shop])
            packing, rows = small, (p.rows if small else 0)
    return groups


def _shops_slices(store: Store, shops: list[str], period: Period, columns: list[str], *,
                  orders=None, before: int = 0, after: dt.timedelta = REPLY_SLACK, **kw):
    """("shops", [shop, ...], (excluded, orders)), then ("slice", those shops, Slice) per
    slice, for each group of :func:`shop_groups` in turn: a group of small shops is one
    :func:`packed_slice`, a bigger shop one slice per month (:func:`month_slices`).
    ``orders(shops)`` reads the shops' orders (None: none needed); ``kw`` go to
    :func:`month_slices` (a callable ``tail`` gets the orders)."""
    plans = _plans(store, shops, period, before, after)
    for group in shop_groups(plans):
        o = orders(group) if orders is not None else None
        yield "shops", group, (read_excluded(store, group), o)
        ps = [plans[s] for s in group if plans[s] is not None]
        if not ps:
            continue
        if _small(ps[0]):  # (every shop of a group of several is small)
            yield "slice", group, packed_slice(store, ps, columns)
            continue
        args = dict(kw)
        if callable(args.get("tail")):
            args["tail"] = args["tail"](o)
        for sl in month_slices(store, group[0], period, columns, before=before, after=after,
                               plan=plans[group[0]], **args):
            yield "slice", group, sl


def _logged(items, bounds):
    """``items`` of :func:`_shops_slices` with each slice's ``start``/``end`` (from
    ``bounds(slice, orders)``) and its reply log (:func:`~cskit.metrics.reply.slice_log`)
    set.  Run inside :func:`prefetched`, so the next slice is sorted in the reading
    thread while this one is counted (numpy's sorts run outside the GIL)."""
    from cskit.metrics.reply import slice_log

    excluded = orders = None
    for kind, group, item in items:
        if kind == "shops":
            excluded, orders = item
        else:
            item.start, item.end = bounds(item, orders)
            item.log = slice_log(item.frame, excluded, item.lo, start=item.start, end=item.end)
        yield kind, group, item


def _reply_end(sl: Slice, period: Period) -> pd.Timestamp | None:
    """Where replies to a slice's messages are looked for: REPLY_SLACK past its last day, or
    for the last slice as far as one read of the period goes."""
    if sl.last:
        return None if period.until is None else _ts(period.until, 1) + pd.Timedelta(REPLY_SLACK)
    return _ts(sl.hi, 1) + pd.Timedelta(REPLY_SLACK)


def _reply_results(store: Store, shops: list[str], period: Period, rule, *, bys,
                   slow_threshold_s=100, unreplied=False, engine=None) -> dict[str, pd.DataFrame]:
    """The results of ReplySlices for the shops, the store read one shop-month (or one
    group of small shops, :func:`shop_groups`) at a time; one slicer per group, their
    sums pooled at the end.  ``engine`` (:mod:`cskit.engine`) runs :func:`reply_sums` for
    the shops (local: one call; Dask: one task per group of shops)."""
    from cskit.engine import run_groups
    from cskit.metrics.reply import _resolve_rule, pooled_results

    rule = _resolve_rule(rule)
    slicers = run_groups(engine, reply_sums, store, shops, period, LEAD_DAYS, REPLY_SLACK,
                         rule=rule, bys=tuple(bys), slow_threshold_s=slow_threshold_s,
                         unreplied=unreplied)
    return pooled_results(slicers)


def reply_sums(store: Store, shops: list[str], period: Period, *, rule, bys,
               slow_threshold_s=100, unreplied=False) -> list:
    """The closed :class:`~cskit.metrics.reply.ReplySlices` of ``shops`` (one per group of
    :func:`shop_groups`, in order), for :func:`~cskit.metrics.reply.pooled_results`.  The
    store is read one shop-month (or one group of small shops) at a time."""
    from cskit.metrics.reply import ReplySlices

    def bounds(sl: Slice, _orders) -> tuple:
        # the first slice reads the lead-in (the buyer's last agent); later ones get it
        # carried over from the earlier slices
        return _ts(period.since, -LEAD_DAYS) if sl.first else None, _reply_end(sl, period)

    slicers: list[ReplySlices] = []
    items = _shops_slices(store, shops, period, message_columns(rule), before=LEAD_DAYS,
                          tail=0)
    for kind, _, item in prefetched(_logged(items, bounds)):
        if kind == "shops":
            if slicers:
                slicers[-1].close()
            slicers.append(ReplySlices(rule, item[0], bys=bys, since=period.since,
                                       until=period.until, slow_threshold_s=slow_threshold_s,
                                       unreplied=unreplied))
        else:
            slicers[-1].add(item.frame, item.lo, item.hi, start=item.start, end=item.end,
                            last=item.last, log=item.log)
            del item
    if slicers:
        slicers[-1].close()
    return slicers


def _in_shop_order(frame: pd.DataFrame, shops: list[str]) -> pd.DataFrame:
    """Rows in the order of ``shops`` (as asked for), keeping their order within a shop."""
    rank = pd.Index(shops).get_indexer(frame["shop"])
    if len(rank) < 2 or bool((rank[1:] >= rank[:-1]).all()):
        return frame
    return frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)


def reply_report(store: Store, *, shops: list[str] | None, period: Period, rule, by: str,
                 slow_threshold_s: int = 100, engine=None) -> pd.DataFrame:
    """The reply-rate KPI frame for the requested shops and period."""
    shops = select_shops(store, shops)
    frame = _reply_results(store, shops, period, rule, bys=(by,),
                           slow_threshold_s=slow_threshold_s, engine=engine)[by]
    if frame.empty:
        raise no_messages(store, period)
    return _in_shop_order(frame, shops)


def unreplied_report(store: Store, *, shops: list[str] | None, period: Period, rule,
                     engine=None) -> pd.DataFrame:
    shops = select_shops(store, shops)
    frame = _reply_results(store, shops, period, rule, bys=(), unreplied=True,
                           engine=engine)["unreplied"]
    return _in_shop_order(frame, shops) if len(frame) else pd.DataFrame()


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
    wide = math.ceil(max(attr.window_days, REPLY_SLACK.days, LEAD_DAYS))
    cols = MESSAGE_COLUMNS if content else [c for c in MESSAGE_COLUMNS if c != "content"]
    msgs = store.read(schema.MESSAGES, shops=[shop], since=_shifted(period.since, -wide),
                      until=period.until, columns=cols, time_slack=dt.timedelta(days=wide))
    orders = store.read(schema.ORDERS, shops=[shop],
                        since=_shifted(period.since, -math.ceil(attr.lookback_days + attr.window_days)),
                        until=period.until, time_slack=dt.timedelta(days=wide))
    return msgs, orders, read_excluded(store, shop)


def agent_report(store: Store, *, shops: list[str] | None, period: Period, rule, attr: Attribution,
                 slow_threshold_s: int = 100, engine=None) -> tuple[pd.DataFrame, dict]:
    """客服绩效: reply columns and conversion/sales columns per (shop, agent_id), plus a
    total row (the shops' own totals, not a sum of agent rows, which may double count).
    Every number as counted (see :func:`kpi_report` for unknown conversion left empty)."""
    frame, shop_rows, _ = _reply_conversion(store, shops=shops, period=period, rule=rule,
                                            attr=attr, by="agent",
                                            slow_threshold_s=slow_threshold_s, engine=engine)
    return frame, total_row(shop_rows)


#: how `kpi --by` rows are keyed (conversion joins the reply rows on these)
_BY_KEYS = {"agent": ["shop", "agent_id"], "day": ["shop", "date"], "week": ["shop", "week"],
            "shop": ["shop"]}


def active_agent_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The agent rows with something to show (consulting buyers, buyer messages, inquiries
    or sales): robot accounts and idle sub-accounts drop out."""
    activity = [c for c in ("consult_buyers", "buyer_messages", "inquiry_buyers", "sales")
                if c in frame.columns]
    return frame.loc[frame[activity].fillna(0).ne(0).any(axis=1)]


def kpi_report(store: Store, *, shops: list[str] | None, period: Period, rule, attr: Attribution,
               by: str = "agent", slow_threshold_s: int = 100, engine=None
               ) -> tuple[pd.DataFrame, dict, dict[str, dict]]:
    """`cskit kpi --by agent|day|week|shop`: reply and conversion columns side by side, the
    total row, and the shops whose conversion is unknown
    (:func:`~cskit.metrics.coverage.unknown_shops`: ``{shop: {"reason", "last"}}``).  Their
    conversion and sales cells are NaN, and the total sums only the other shops."""
    from cskit.metrics.coverage import blank_unknown

    frame, shop_rows, unknown = _reply_conversion(store, shops=shops, period=period, rule=rule,
                                                  attr=attr, by=by,
                                                  slow_threshold_s=slow_threshold_s,
                                                  engine=engine)
    return blank_unknown(frame, unknown), total_row(blank_unknown(shop_rows, unknown)), unknown


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


def _unknown_of(convs, shops, period: Period) -> dict[str, dict]:
    """The shops (of ``shops``) whose conversion cannot be known, from the slicers' orders."""
    from cskit.metrics.coverage import order_facts, unknown_shops

    facts = [sl.facts for sl in convs if len(sl.facts)]
    facts = pd.concat(facts) if facts else order_facts(None)
    starts: dict = {}
    for sl in convs:  # day numbers → dates
        starts.update({k: dt.date(1970, 1, 1) + dt.timedelta(days=int(v))
                       for k, v in sl.first_day.items()})
    return unknown_shops(facts, shops, starts, period.since)


def _reply_conversion(store: Store, *, shops: list[str] | None, period: Period, rule,
                      attr: Attribution, by: str, slow_threshold_s: int = 100, engine=None
                      ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, dict]]:
    """Reply and conversion rows per ``by`` (agent, day, week, shop), merged; the shops' own
    rows (for the total); and the shops whose conversion is unknown.  One pass over the
    store feeds both slicers (:func:`reply_conversion_sums`; ``engine``, :mod:`cskit.engine`,
    runs it for all the shops at once or one Dask task per group of shops); their sums
    are pooled and the tables finished once, here."""
    from cskit.engine import run_groups
    from cskit.metrics.conversion import pooled_results as pooled_conversions
    from cskit.metrics.reply import _resolve_rule as _resolve
    from cskit.metrics.reply import pooled_results as pooled_replies

    wide = math.ceil(max(attr.window_days, REPLY_SLACK.days, LEAD_DAYS))
    shops = select_shops(store, shops)
    pairs = run_groups(engine, reply_conversion_sums, store, shops, period, wide,
                       dt.timedelta(days=wide), rule=_resolve(rule), attr=attr,
                       bys=tuple(dict.fromkeys((by, "shop"))), slow_threshold_s=slow_threshold_s)
    replies = [r for r, _ in pairs]
    convs = [c for _, c in pairs]
    if not replies:
        raise no_messages(store, period)
    r, c = pooled_replies(replies), pooled_conversions(convs)
    reply_a, reply_s, conv_a, conv_s = r[by], r["shop"], c[by], c["shop"]
    if reply_a.empty and conv_a.empty:
        raise no_messages(store, period)
    # the total: the shops' own rows, of the shops with rows
    shop_rows = reply_s.merge(conv_s, on=["shop"], how="outer")
    seen_shops = pd.concat([reply_a["shop"], conv_a["shop"]]).unique()
    shop_rows = shop_rows[shop_rows["shop"].isin(seen_shops)].reset_index(drop=True)
    unknown = explain_unknown(store, _unknown_of(convs, list(seen_shops), period))
    return merge_kpi_frames(reply_a, conv_a, by, shops), shop_rows, unknown


def reply_conversion_sums(store: Store, shops: list[str], period: Period, *, rule,
                          attr: Attribution, bys, slow_threshold_s: int = 100) -> list[tuple]:
    """Per group of :func:`shop_groups` with messages, in order, its closed
    (:class:`~cskit.metrics.reply.ReplySlices`, :class:`~cskit.metrics.conversion.ConversionSlices`)
    pair: one pass over the store feeds both slicers (conversion buckets a buyer-day by the
    day of its first buyer message, as the reply metrics do)."""
    from cskit.metrics.conversion import ConversionSlices
    from cskit.metrics.reply import ReplySlices

    wide = math.ceil(max(attr.window_days, REPLY_SLACK.days, LEAD_DAYS))
    kw = dict(since=period.since, until=period.until)

    def read_orders(group: list[str]) -> pd.DataFrame:
        return store.read(schema.ORDERS, shops=group,
                          since=_shifted(period.since,
                                         -math.ceil(attr.lookback_days + attr.window_days)),
                          until=period.until, time_slack=dt.timedelta(days=wide))

    def bounds(sl: Slice, orders) -> tuple:
        # reply and conversion see the same messages (as one computation over the period
        # does: from ``wide`` days before it to ``wide`` days after), so conversion reuses
        # the reply log's sort; inside the period a month needs the days before it only
        # for orders, and the days after it only for replies after midnight
        if sl.first:
            start = _ts(period.since, -wide)
        else:
            start = _ts(sl.lo, -wide) if len(orders) else _ts(sl.lo)
        end = _ts(period.until, 1 + wide) if sl.last else _ts(sl.hi, 1) + pd.Timedelta(REPLY_SLACK)
        return start, end

    # a month's slice reaches back ``wide`` days only for orders: the last reply before one
    items = _shops_slices(store, shops, period, message_columns(rule),
                          orders=read_orders, before=wide, after=dt.timedelta(days=wide),
                          tail=lambda o: wide if o is not None and len(o) else 0,
                          head=REPLY_SLACK)
    pairs: list[tuple] = []  # one slicer of each kind per group of shops with messages
    rs = cs = None
    for kind, group, item in prefetched(_logged(items, bounds)):
        if kind == "shops":
            if rs is not None:
                rs.close()
                cs.close()
            excluded, orders = item
            rs = ReplySlices(rule, excluded, bys=bys, slow_threshold_s=slow_threshold_s, **kw)
            cs = ConversionSlices(orders, bys=bys, window_days=attr.window_days,
                                  lookback_days=attr.lookback_days, anchor=attr.anchor,
                                  data_end=data_ends(store, list(group)), excluded=excluded,
                                  **kw)
            continue
        if not pairs or pairs[-1][0] is not rs:
            pairs.append((rs, cs))
        sl = item
        log = rs.add(sl.frame, sl.lo, sl.hi, start=sl.start, end=sl.end, last=sl.last,
                     log=sl.log)
        cs.add(sl.frame, sl.lo, sl.hi, start=sl.start, end=sl.end,
               orders_to=None if sl.last else sl.next_lo - dt.timedelta(days=1),
               first=sl.first, last=sl.last, log=log)
        del sl, item, log
    if rs is not None:
        rs.close()
        cs.close()
    return pairs


def merge_kpi_frames(reply: pd.DataFrame, conv: pd.DataFrame | None, by: str,
                     shops: list[str] | None = None) -> pd.DataFrame:
    """The `cskit kpi --by` frame from the reply and conversion frames of the same grouping
    (the weekly report writes the same): by agent :func:`merge_agent_frames`; by day, week
    or shop also a day with paid orders but no chat gets reply counts 0 (not unknown), and
    the shops in the order of ``shops``, as :func:`reply_report` gives them."""
    frame = merge_agent_frames(reply, conv, keys=_BY_KEYS[by])
    if by == "agent":
        return frame
    from cskit.metrics import KPIS

    keys = _BY_KEYS[by]
    no_chat = ~pd.MultiIndex.from_frame(frame[keys]).isin(pd.MultiIndex.from_frame(reply[keys]))
    if no_chat.any() and conv is not None:
        counts = {k.key for k in KPIS if k.unit == "count" and k.family == "reply"}
        for c in reply.columns:
            if c in counts:
                frame[c] = frame[c].where(~no_chat, 0)
    return _in_shop_order(frame, shops) if shops else frame


def merge_agent_frames(reply_a: pd.DataFrame, conv_a: pd.DataFrame | None,
                       keys=("shop", "agent_id")) -> pd.DataFrame:
    """Reply and conversion rows per (shop, agent_id) — or other ``keys`` — side by side,
    sorted by the keys."""
    from cskit.metrics import column_order

    keys = list(keys)
    frame = reply_a if conv_a is None or conv_a.empty else \
        reply_a.merge(conv_a, on=keys, how="outer")
    frame = frame.sort_values(keys, kind="stable").reset_index(drop=True)
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
            # empty (unknown) cells are left out; none known → unknown
            v = pd.to_numeric(shop_rows[col], errors="coerce").sum(min_count=1)
            out[col] = None if pd.isna(v) else v
    for key, fn in _RATIOS.items():
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = float(fn({k: np.nan if x is None else x for k, x in out.items()}))
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
        raise UsageError("--sort {key!r} is not a column of this report",
                         hint="one of {choices}", key=key, choices=", ".join(allowed))
    if order not in ("", "asc", "desc"):
        raise UsageError("--sort order {order!r} must be asc or desc", order=order)
    return frame.sort_values(key, ascending=order != "desc", kind="stable", na_position="last") \
        .reset_index(drop=True)


def unpaid_report(store: Store, *, shops: list[str] | None, period: Period,
                  attr: Attribution) -> pd.DataFrame:
    """The 催付 list for the period, newest order first."""
    from cskit.metrics.conversion import unpaid_list

    frames = []
    for shop in select_shops(store, shops):
        msgs, orders, excluded = read_shop(store, shop, period, attr, content=True)
        if msgs.empty or orders.empty:
            continue
        frames.append(unpaid_list(msgs, orders, since=period.since, until=period.until,
                                  window_days=attr.window_days, lookback_days=attr.lookback_days,
                                  as_of=data_ends(store, [shop])[shop], excluded=excluded))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["shop", "buyer_id", "order_id", "amount", "created_at", "agent",
                                     "last_message_at", "last_message"])
    return pd.concat(frames, ignore_index=True).sort_values("created_at", ascending=False,
                                                           kind="stable").reset_index(drop=True)
