"""The data of the weekly report (`cskit report`) and of `cskit chart`: :func:`collect` reads the
store one shop at a time and computes every frame the bundle or a chart needs into a
:class:`ReportData`.

Here: what can be computed (:data:`PARTS`), the period and the one before it
(:func:`previous_period`, :func:`period_words`), the per-shop reading and computing
(:func:`collect_shops`: reply KPIs, annotate rows, conversion, lost buyers and their
reasons), and the headline frame (:func:`headline`).  Not here: file names and column
labels (:mod:`cskit.report_labels`), the page (:mod:`cskit.report_html`), writing the
bundle (:mod:`cskit.report`).  Nothing here prints or writes a file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cskit import schema
from cskit.errors import CskitError, NoDataError
from cskit.i18n import tr
from cskit.kpi import (LEAD_DAYS, MESSAGE_COLUMNS, REPLY_SLACK, Period, data_ends, explain_unknown,
                       select_shops)
from cskit.metrics.coverage import blank_unknown, shop_unknown, unknown_note
from cskit import report_promises

__all__ = ["ReportData", "Note", "collect", "collect_shops", "previous_period", "period_words",
           "headline", "PARTS", "ALL_PARTS", "WINDOW_DAYS", "LOOKBACK_DAYS"]

#: what :func:`collect` can compute
PARTS = ("day", "agent", "hour", "shop", "annotate", "agent_daily", "conversion",
         "conversion_shop", "lost", report_promises.PART, "products", "voice")
#: everything a weekly report shows (agent_daily: the per-agent reply-rate heatmap)
ALL_PARTS = frozenset(PARTS) - {"conversion_shop"}
#: conversion defaults (cskit.metrics.conversion): attribution window and after-sale lookback
WINDOW_DAYS = 3
LOOKBACK_DAYS = 15
_UNREPLIED = ["shop", "buyer_id", "date", "sent_at", "wait_s", "reply_at", "agent", "content"]


@dataclass
class Note:
    section: str  #: conversion, lost, charts …
    text: str  #: one line, never customer data
    warning: bool = False  #: a problem worth a stderr line (not just "no orders imported")


@dataclass
class ReportData:
    period: Period
    rule: object  #: cskit.metrics.RuleConfig
    shops: list[str]
    slow_threshold_s: int = 100
    by_day: pd.DataFrame | None = None
    by_agent: pd.DataFrame | None = None
    #: per (shop, agent_id): 催付, workload, ratings, refunds, items (cskit.agent_extras)
    agent_extras: pd.DataFrame | None = None
    by_hour: pd.DataFrame | None = None
    by_shop: pd.DataFrame | None = None
    #: annotate() rows of the period (buyer messages) with their ``content``
    annotated: pd.DataFrame | None = None
    #: counted buyer messages that were late or never answered, with content
    unreplied: pd.DataFrame | None = None
    #: reply_kpis(by="agent") per day, with a ``date`` column
    agent_daily: pd.DataFrame | None = None
    #: conversion_kpis frames by "day", "agent", "shop" (None: unavailable)
    conversion: dict[str, pd.DataFrame] | None = None
    unpaid: pd.DataFrame | None = None
    lost_buyers: pd.DataFrame | None = None
    #: reason_summary by shop (lost_reasons.csv) and over all shops (chart, index.html)
    lost_reasons: pd.DataFrame | None = None
    lost_reasons_total: pd.DataFrame | None = None
    #: 话术优化 (cskit/report_answers.py): answer_table, faq_table and their rules
    answers: pd.DataFrame | None = None
    faq: pd.DataFrame | None = None
    answer_rules: object = None
    products: pd.DataFrame | None = None  #: `cskit products` of the period (cskit.products.report)
    #: buyers' voice per shop and department (cskit/report_voice.py)
    voice: pd.DataFrame | None = None
    notes: list[Note] = field(default_factory=list)

    def agents_frame(self) -> pd.DataFrame:
        """reply_kpis(by="agent") with inquiry conversion and sales merged in (when known)."""
        a = self.by_agent if self.by_agent is not None else pd.DataFrame()
        conv = (self.conversion or {}).get("agent")
        if conv is None or conv.empty or a.empty:
            return a
        keep = [c for c in ("inquiry_buyers", "paid_buyers", "inquiry_conversion", "sales")
                if c in conv.columns]
        return a.merge(conv[["shop", "agent_id"] + keep], on=["shop", "agent_id"], how="left")


def period_words(period: Period) -> tuple[str, str]:
    """How the page names the period and the one before: 本周/上周 for a week, 本月/上月 for
    a calendar month, else 本期/上期."""
    if period.since and period.until:
        nxt = period.until + dt.timedelta(days=1)
        if period.since.day == 1 and nxt.day == 1:
            return "本月", "上月"
        if (period.until - period.since).days == 6:
            return "本周", "上周"
    return "本期", "上期"


def previous_period(period: Period) -> Period | None:
    """The same-length period just before ``period`` (last week for a week)."""
    if period.since is None or period.until is None:
        return None
    nxt = period.until + dt.timedelta(days=1)
    if period.since.day == 1 and nxt.day == 1:  # calendar months: the month before
        last = period.since - dt.timedelta(days=1)
        first = last.replace(day=1)
        months = (nxt.year - period.since.year) * 12 + nxt.month - period.since.month
        for _ in range(months - 1):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return Period(first, last)
    days = (period.until - period.since).days + 1
    return Period(period.since - dt.timedelta(days=days), period.until - dt.timedelta(days=days))


def _day(ts: dt.date | None, delta: int = 0) -> dt.date | None:
    return None if ts is None else ts + dt.timedelta(days=delta)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-bind; all empty → the first (empty, with its columns), none → an empty frame."""
    full = [f for f in frames if f is not None and len(f)]
    if not full:
        return next((f.reset_index(drop=True) for f in frames if f is not None), pd.DataFrame())
    return pd.concat(full, ignore_index=True)


def _conversion_module():
    try:
        from cskit.metrics import conversion
    except ImportError:
        return None
    if not all(hasattr(conversion, n) for n in ("conversion_kpis", "lost_buyers", "unpaid_list")):
        return None
    return conversion


def _text_module():
    try:
        from cskit import text
    except ImportError:
        return None
    if not (hasattr(text, "classify") and hasattr(text, "reason_summary")):
        return None
    return text


def collect(store, *, shops: list[str] | None, period: Period, rule, slow_threshold_s: int = 100,
            parts=ALL_PARTS, strict: bool = False, engine=None) -> ReportData:
    """Every frame a report or chart needs, shop by shop (bounded memory).

    ``parts`` selects what is computed (:data:`PARTS`).  Reply metrics see the
    same messages as ``cskit kpi`` (the period, the lead-in before it and replies up
    to 2 days after it, cskit/metrics/horizon.py), so the numbers match its output.  Conversion sees messages from
    3 days before the period and orders from 15 days before (the attribution
    window and the after-sale lookback), as :func:`conversion_kpis` asks.  A
    shop without orders in the store gets no conversion rows (a note says so)
    rather than a misleading 0%.  Lost-sale reasons are classified for the lost
    buyer-days whose attribution window has closed (``pending`` ones may still
    pay), from that day's buyer messages and the reply signals (slow,
    unanswered, unpaid order).  The shops are computed by :func:`collect_shops`: here
    (``engine`` None) or one Dask task per shop (:mod:`cskit.engine`), the frames
    joined in shop order.

    Raises :class:`NoDataError` when no shop has a buyer message in the period.
    Optional families (conversion, lost reasons) that fail are reported as
    :class:`Note` s unless ``strict`` (then the exception propagates).
    """
    parts = frozenset(parts)
    unknown = parts - set(PARTS)
    if unknown:
        raise ValueError(f"unknown report parts {sorted(unknown)}")
    data = ReportData(period=period, rule=rule, shops=select_shops(store, shops),
                      slow_threshold_s=int(slow_threshold_s))
    want_conv = bool(parts & {"conversion", "conversion_shop", "lost"})
    conv_mod = _conversion_module() if want_conv else None
    text_mod = _text_module() if "lost" in parts else None
    if want_conv and conv_mod is None:
        data.notes.append(Note("conversion", tr("conversion not computed: this build has no cskit.metrics.conversion")))
    if "lost" in parts and conv_mod is not None and text_mod is None:
        data.notes.append(Note("lost", tr("lost-sale reasons not analysed: this build has no cskit.text")))
    kw = dict(period=period, rule=rule, slow_threshold_s=int(slow_threshold_s), parts=parts,
              strict=strict)
    results = [collect_shops(store, data.shops, **kw)] if engine is None else \
        engine.map(collect_shops, store, [[s] for s in data.shops], **kw)
    acc: dict[str, list[pd.DataFrame]] = {}
    any_buyer = False
    for part_acc, notes, buyers in results:
        for k, frames in part_acc.items():
            acc.setdefault(k, []).extend(frames)
        data.notes.extend(notes)
        any_buyer |= buyers
    if not any_buyer:
        raise NoDataError("no buyer messages for {period} in {store}",
                          hint="check --week/--since/--until and --shop; `cskit ingest` first",
                          period=period, store=store.root)

    get = lambda k: _concat(acc.get(k, []))  # noqa: E731
    for by in ("day", "agent", "hour", "shop"):
        if by in parts or by == "day":
            setattr(data, f"by_{by}", get(by))
    if "annotate" in parts:
        data.annotated = get("annotate")
        u = get("unreplied")
        data.unreplied = (u.sort_values(["shop", "sent_at", "buyer_id"], kind="stable")
                          .reset_index(drop=True) if len(u) else pd.DataFrame(columns=_UNREPLIED))
    if "agent_daily" in parts:
        data.agent_daily = get("agent_daily")
    if acc.get("conv_shop"):
        data.conversion = {by: get(f"conv_{by}") for by in ("day", "agent", "shop")
                           if acc.get(f"conv_{by}")}
    if acc.get("unpaid"):
        data.unpaid = get("unpaid")
    if acc.get("lost_buyers"):
        data.lost_buyers = get("lost_buyers")
        pending = int(data.lost_buyers["pending"].sum()) if "pending" in data.lost_buyers else 0
        if pending and "lost" in parts:
            data.notes.append(Note("lost", tr("{pending} inquiries are still inside their {days}-day conversion window "
                                              "(the buyer may still pay): not counted as lost", pending=pending,
                                              days=WINDOW_DAYS)))
    if text_mod is not None and data.lost_buyers is not None:
        _lost_reasons(text_mod, get("lost_msgs"), get("lost_signals"), data, strict)
    report_promises.collect_promises(store, data, parts, strict)
    if "agent" in parts:  # the agent CSV carries what `kpi --by agent --wide` does
        from cskit.agent_extras import agent_extras

        data.agent_extras = agent_extras(store, shops=data.shops, period=period)
    if "products" in parts:
        from cskit.products.report import collect_products
        collect_products(store, data, strict)
    if "voice" in parts:
        from cskit.report_voice import collect_voice
        collect_voice(store, data, strict)
    return data


def collect_shops(store, shops: list[str], *, period: Period, rule, slow_threshold_s: int,
                  parts, strict: bool) -> tuple[dict[str, list[pd.DataFrame]], list[Note], bool]:
    """The frames of :func:`collect` for ``shops``, one shop at a time: per part the frames
    (in shop order), the notes, and whether any shop had a buyer message."""
    data = ReportData(period=period, rule=rule, shops=list(shops),
                      slow_threshold_s=int(slow_threshold_s))
    want_conv = bool(parts & {"conversion", "conversion_shop", "lost"})
    conv_mod = _conversion_module() if want_conv else None
    text_mod = _text_module() if "lost" in parts else None
    order_shops = set(store.shops(schema.ORDERS)) if conv_mod is not None else set()

    since, until = period.since, period.until
    cols = MESSAGE_COLUMNS  # content: closing remarks, and the annotate/lost parts
    acc: dict[str, list[pd.DataFrame]] = {}
    any_buyer = False
    for shop in shops:
        msgs = store.read(schema.MESSAGES, shops=[shop],
                          since=_day(since, -max(WINDOW_DAYS, LEAD_DAYS)),
                          until=until, columns=cols,
                          time_slack=max(REPLY_SLACK, dt.timedelta(days=WINDOW_DAYS)))
        if msgs.empty:
            continue
        t = msgs["sent_at"]
        keep = np.ones(len(msgs), dtype=bool)
        if since is not None:  # the lead-in: the buyer's last agent (as `cskit kpi` reads)
            keep &= (t >= pd.Timestamp(since) - pd.Timedelta(days=LEAD_DAYS)).to_numpy()
        if until is not None:
            keep &= (t < pd.Timestamp(until) + pd.Timedelta(days=1) + REPLY_SLACK).to_numpy()
        rmsgs = msgs[keep]  # exactly what `cskit kpi` reads
        excluded = store.read(schema.EXCLUDED, shops=[shop])
        ann = _reply_for_shop(data, rmsgs, excluded, parts, acc)
        any_buyer |= bool(len(acc["day"][-1]))
        if conv_mod is None:
            continue
        no_orders = shop not in order_shops
        if no_orders:  # its conversion cells stay empty (unknown, not 0), as in `cskit kpi`
            data.notes.append(Note("conversion", tr("shop {shop}: the store has no orders, conversion not computed "
                                                    "(cskit ingest its order export first)", shop=shop)))
            if not order_shops:  # no orders at all: the report has no conversion part
                continue
        try:
            _conversion_for_shop(store, shop, data, msgs, ann, conv_mod, text_mod, parts, acc,
                                 excluded, noted=no_orders)
        except (CskitError, KeyError, ValueError, TypeError) as exc:
            if strict:
                raise
            data.notes.append(Note("conversion", tr("shop {shop}: computing conversion failed ({error})", shop=shop,
                                                    error=type(exc).__name__), warning=True))
    return acc, data.notes, any_buyer


def _reply_for_shop(data: ReportData, rmsgs, excluded, parts, acc) -> pd.DataFrame | None:
    """Reply KPIs of one shop into ``acc``; the period's annotate() rows (when needed)."""
    from cskit.metrics import annotate, reply_kpis

    p, rule = data.period, data.rule
    kw = dict(since=p.since, until=p.until, slow_threshold_s=data.slow_threshold_s)
    for by in ("day", "agent", "hour", "shop"):
        if by in parts or by == "day":  # by day always: it tells whether there is data
            acc.setdefault(by, []).append(reply_kpis(rmsgs, rule, excluded, by=by, **kw))
    if not parts & {"annotate", "agent_daily", "lost"}:
        return None
    ann = annotate(rmsgs, rule, excluded)
    dates = pd.Series(ann["date"])
    inr = np.ones(len(ann), dtype=bool)
    if p.since is not None:
        inr &= (dates >= p.since).to_numpy()
    if p.until is not None:
        inr &= (dates <= p.until).to_numpy()
    ann = ann[inr]
    if "content" in rmsgs.columns:
        ann = ann.assign(content=rmsgs["content"].reindex(ann.index).to_numpy())
    if "annotate" in parts:
        acc.setdefault("annotate", []).append(ann)
        late = ann[ann["counted"].to_numpy(dtype=bool) & ann["late"].to_numpy(dtype=bool)]
        acc.setdefault("unreplied", []).append(late[[c for c in _UNREPLIED if c in late.columns]])
    if "agent_daily" in parts:
        for d in sorted(set(ann["date"])):
            f = reply_kpis(rmsgs, rule, excluded, by="agent", since=d, until=d,
                           slow_threshold_s=data.slow_threshold_s)
            if len(f):
                f.insert(1, "date", d)
                acc.setdefault("agent_daily", []).append(f)
    return ann


def _conversion_for_shop(store, shop, data, msgs, ann, conv, text_mod, parts, acc,
                         excluded=None, noted: bool = False) -> None:
    p = data.period
    orders = store.read(schema.ORDERS, shops=[shop], since=_day(p.since, -LOOKBACK_DAYS),
                        until=p.until, time_slack=dt.timedelta(days=WINDOW_DAYS))
    # pending is judged against the store's data end, as in `cskit kpi` (issue 12)
    # excluded (举报/拉黑) buyer-days count nowhere, as in the reply tables
    kw = dict(since=p.since, until=p.until, as_of=data_ends(store, [shop])[shop],
              excluded=excluded)
    bys = ("day", "agent", "shop") if "conversion" in parts else ("shop",) \
        if "conversion_shop" in parts else ()
    # orders without buyer ids, or none covering the period: conversion unknown, not 0
    unknown = shop_unknown(msgs, orders, shop, p.since, p.until)
    unknown = explain_unknown(store, {shop: unknown}) if unknown else {}
    if unknown and not noted:
        data.notes.append(Note("conversion", unknown_note(shop, unknown[shop])))
    for by in bys:
        acc.setdefault(f"conv_{by}", []).append(
            blank_unknown(conv.conversion_kpis(msgs, orders, by=by, **kw), unknown))
    if "conversion" in parts:
        acc.setdefault("unpaid", []).append(conv.unpaid_list(msgs, orders, **kw))
    if not parts & {"conversion", "lost"}:
        return
    lost = conv.lost_buyers(msgs, orders, **kw)
    if unknown:  # whether these buyers bought cannot be known: not lost
        n = int((~lost["pending"].to_numpy(dtype=bool)).sum()) if "pending" in lost else len(lost)
        if n and "lost" in parts:
            data.notes.append(Note("lost", tr("shop {shop}: whether they bought cannot be known, {n} inquiry buyer-days "
                                              "left out of the lost count", shop=shop, n=n)))
        return
    acc.setdefault("lost_buyers", []).append(lost)
    if text_mod is None or "lost" not in parts or ann is None or "content" not in msgs.columns:
        return
    closed = lost[~lost["pending"].to_numpy(dtype=bool)] if "pending" in lost.columns else lost
    if closed.empty:
        return
    key = ["shop", "buyer_id", "date"]
    # that day's messages of every lost buyer-day, and its reply signals
    m = msgs.assign(date=msgs["sent_at"].dt.date)
    acc.setdefault("lost_msgs", []).append(m.merge(closed[key], on=key, how="inner"))
    sig = text_mod.service_signals(ann, threshold_s=data.rule.threshold_s) \
        if hasattr(text_mod, "service_signals") else pd.DataFrame(columns=key)
    sig = closed.merge(sig, on=key, how="left")
    for c in ("slow", "unanswered"):
        if c in sig.columns:
            sig[c] = sig[c].astype("boolean").fillna(False).astype(bool)
    acc.setdefault("lost_signals", []).append(sig.drop(columns=["pending"], errors="ignore"))


def _lost_reasons(text_mod, lost_msgs: pd.DataFrame, signals: pd.DataFrame, data: ReportData,
                  strict: bool) -> None:
    """Classify the lost buyer-days; per-shop and overall reason summaries into ``data``."""
    if lost_msgs.empty and signals.empty:
        data.lost_reasons = pd.DataFrame()
        data.lost_reasons_total = pd.DataFrame()
        return
    try:
        classified = text_mod.classify(lost_msgs, signals=signals if len(signals) else None)
        data.lost_reasons = text_mod.reason_summary(classified, by=("shop",))
        total = text_mod.reason_summary(classified.assign(_all="all"), by=("_all",))
        data.lost_reasons_total = total.drop(columns=["_all"])
    except (CskitError, KeyError, ValueError, TypeError, AttributeError) as exc:
        if strict:
            raise
        data.notes.append(Note("lost", tr("lost-sale reason analysis failed ({error})", error=type(exc).__name__),
                                warning=True))
        return
    # the reasons of every lost buyer-day, in lost_buyers.csv
    key = ["shop", "buyer_id", "date"]
    if data.lost_buyers is not None and {"reasons", *key} <= set(classified.columns):
        data.lost_buyers = data.lost_buyers.merge(classified[key + ["reasons"]], on=key, how="left")


# ------------------------------------------------------------------------------------------
# headline
# ------------------------------------------------------------------------------------------
def headline(data: ReportData) -> pd.DataFrame:
    """One row per shop: the by-shop reply KPIs with the by-shop conversion KPIs."""
    a = data.by_shop if data.by_shop is not None else pd.DataFrame()
    conv = (data.conversion or {}).get("shop")
    if conv is not None and len(conv) and len(a):
        keep = [c for c in conv.columns if c not in a.columns or c == "shop"]
        a = a.merge(conv[keep], on="shop", how="left")
    return a


def _row_values(frame: pd.DataFrame, shop: str) -> dict:
    if frame is None or frame.empty or "shop" not in frame.columns:
        return {}
    r = frame[frame["shop"] == shop]
    if r.empty:
        return {}
    rec = r.iloc[0]
    return {k: rec[k] for k in frame.columns if k != "shop"}
