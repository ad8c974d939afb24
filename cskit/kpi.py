"""`cskit kpi` and the KPI tables: the slicers fed from the store, their sums pooled, merged.

The store is read one shop-month at a time (:mod:`cskit.kpi_slices`) and each slice fed to
the metrics' slicers (:class:`~cskit.metrics.reply.ReplySlices`,
:class:`~cskit.metrics.conversion.ConversionSlices`): one pass over the store feeds both
(:func:`reply_conversion_sums`; :func:`reply_sums` for the reply metrics alone), one slicer
of each kind per group of shops, run by the engine (:mod:`cskit.engine`).  What a month
cannot settle is carried forward in compact form: per-group sums, a histogram of response
seconds (exact medians and P90s), and the few buyer-days whose reply lies beyond the
slack.  The slicers' sums are pooled and finished once, so the results are exactly those
of one computation over the whole period.  This module then assembles the tables:
reply and conversion columns side by side per agent, day, week or shop
(:func:`merge_kpi_frames`), the 合计 row (:func:`total_row`), unknown conversion left
empty (:func:`kpi_report`), ``--sort``, the 催付 list.

Its only reads of its own are the orders a group of shops needs and :func:`read_shop`
(one shop whole, for the 催付 list).  The period is :mod:`cskit.period`, the store's facts
around a computation (shops, excluded buyers, data ends, unknown conversion)
:mod:`cskit.kpi_store`, the slicing :mod:`cskit.kpi_slices`; their names are re-exported
here (the knob ``SLICE_ROWS`` is not: set :data:`cskit.kpi_slices.SLICE_ROWS`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit import schema
from cskit.errors import UsageError
from cskit.kpi_slices import (  # noqa: F401 - re-exported
    LEAD_DAYS,
    MESSAGE_COLUMNS,
    REPLY_SLACK,
    Slice,
    _logged,
    _month_bounds,
    _Plan,
    _plans,
    _shops_slices,
    _small,
    _ts,
    closing_column,
    message_columns,
    month_slices,
    packed_slice,
    prefetched,
    shop_groups,
)
from cskit.kpi_store import (  # noqa: F401 - re-exported
    data_ends,
    explain_unknown,
    last_order_at,
    no_messages,
    pa_strings,
    read_excluded,
    select_shops,
)
from cskit.period import Period, last_week, parse_date, parse_week, resolve_period  # noqa: F401
from cskit.store import Store


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
