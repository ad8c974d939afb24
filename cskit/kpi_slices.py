"""Reading the store for the metrics one shop-month at a time: the slicing plumbing.

Metrics are per shop and independent, and within a shop every count belongs to one
day, so the store is read one shop-month partition at a time (:func:`month_slices`; only
the columns needed, the shop and time filters pushed into the Parquet scan, text
columns dictionary-encoded, message text turned into a boolean ``closing`` while read)
and fed to the metrics' slicers (:class:`~cskit.metrics.reply.ReplySlices`,
:class:`~cskit.metrics.conversion.ConversionSlices`).  A slice also holds the edges of
its neighbours that its windows reach: replies up to REPLY_SLACK after its last day, and
the look-back before its first.  Consecutive small shops (each one slice anyway) share a
slice (:func:`shop_groups`, :func:`packed_slice`); the next slice is read (and its reply
log sorted) in a background thread while this one is counted (:func:`prefetched`,
:func:`_logged`).  Peak memory follows the larger of the largest shop-month partition
plus its slack and a slice of :data:`SLICE_ROWS` messages, not a shop's history.

This module only plans and reads slices; what is counted from them, and the KPI tables,
are :mod:`cskit.kpi` (which re-exports these names, except the knob :data:`SLICE_ROWS`:
set it here).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from cskit import schema
from cskit.kpi_store import read_excluded
from cskit.metrics.horizon import ATTRIBUTION_LEAD_DAYS, REPLY_HORIZON_DAYS
from cskit.period import Period
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
