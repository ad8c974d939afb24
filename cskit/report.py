"""The weekly report bundle (`cskit report`) and the data behind `cskit chart`.

:func:`collect` reads the store one shop at a time and computes every frame a
report or chart needs; :func:`write_report` writes a directory a manager can
open and a cron job can archive::

    DIR/index.html            headline vs last week, worst agents, unreplied list,
                              lost-sale reasons, the charts, links to every file
    DIR/summary.json          the headline numbers (this week, last week)
    DIR/kpi_by_day.csv …      every KPI table (stable snake_case keys, or with
                              ``excel=True``: UTF-8 BOM, Chinese headers, formulas escaped)
    DIR/report.xlsx           with ``excel=True``: the same tables, a sheet each
                              (:mod:`cskit.xlsx`: ids as text, rates as percentages)
    DIR/reply_rate.png …      the charts

Optional families degrade to a note: conversion needs orders in the store,
lost-sale reasons need :mod:`cskit.text`; a chart without a CJK font is
skipped with a warning rather than drawn as empty boxes.  Nothing here prints.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cskit import schema
from cskit.errors import CskitError, NoDataError, UsageError
from cskit.i18n import tr
from cskit.kpi import (LEAD_DAYS, MESSAGE_COLUMNS, REPLY_SLACK, Period, data_ends, explain_unknown,
                       select_shops)
from cskit.metrics import BOT_AGENT, UNASSIGNED
from cskit.metrics.coverage import blank_unknown, shop_unknown, unknown_note
from cskit.render import Column, display_frame, human_value, machine_value, write_csv
from cskit import report_promises, report_score

__all__ = ["ReportData", "Note", "collect", "previous_period", "headline", "write_report",
           "ReportResult", "table_columns", "PARTS", "ALL_PARTS", "FILES"]

#: what :func:`collect` can compute
PARTS = ("day", "agent", "hour", "shop", "annotate", "agent_daily", "conversion",
         "conversion_shop", "lost", report_promises.PART, "products", "voice")
#: everything a weekly report shows (agent_daily: the per-agent reply-rate heatmap)
ALL_PARTS = frozenset(PARTS) - {"conversion_shop"}
#: conversion defaults (cskit.metrics.conversion): attribution window and after-sale lookback
WINDOW_DAYS = 3
LOOKBACK_DAYS = 15
#: rows of the unreplied / unpaid lists shown in index.html (the CSVs hold all)
TOP_N = 20
WORST_AGENTS = 10
CONTENT_CHARS = 80

#: file name → what it holds (zh), in the order index.html lists them
FILES = {
    "kpi_by_day.csv": "每日客服指标",
    "kpi_by_agent.csv": "客服个人指标",
    "kpi_by_hour.csv": "分时段消息量",
    "kpi_by_shop.csv": "店铺汇总指标",
    "unreplied.csv": "未及时回复名单",
    "conversion_by_day.csv": "每日询单转化",
    "conversion_by_agent.csv": "客服询单转化与销售额",
    "conversion_by_shop.csv": "店铺询单转化汇总",
    "unpaid.csv": "催付名单 (下单未付款)",
    "lost_buyers.csv": "询单未购买买家",
    "lost_reasons.csv": "询单流失原因",
    report_promises.FILE: "日清: 客服承诺清单",
    report_score.FILE: "绩效考核: 每个客服的总分、提成和各项得分",
    report_score.BREAKDOWN: "绩效考核明细: 每项指标的数值、分档、权重和贡献分",
    "products.csv": "商品询单分析",
    "voice.csv": "买家意见反馈 (按部门)",
    "reply_rate.png": "图表: 回复率趋势",
    "load.png": "图表: 咨询量与超时分布",
    "agents.png": "图表: 客服对比",
    "lost.png": "图表: 询单流失原因",
    "answers.csv": "话术优化: 常见问题 × 客服回答与转化",
    "faq.md": "常见问题最佳回答 (FAQ 草稿)",
    "summary.json": "核心指标 (机器可读)",
    "report.xlsx": "Excel 工作簿: 每个表一个工作表 (--excel)",
}

#: labels of columns that are not KPIs or group keys: key → (zh, en, unit)
EXTRA_COLUMNS = {
    "buyer_id": ("买家", "Buyer", "text"),
    "sent_at": ("发送时间", "Sent at", "time"),
    "wait_s": ("等待(秒)", "Wait (s)", "seconds"),
    "reply_at": ("回复时间", "Reply at", "time"),
    "agent": ("客服", "Agent", "text"),
    "content": ("买家消息", "Buyer message", "text"),
    "order_id": ("订单号", "Order", "text"),
    "amount": ("金额(元)", "Amount (yuan)", "yuan"),
    "created_at": ("下单时间", "Ordered at", "time"),
    "last_message_at": ("最后消息时间", "Last message at", "time"),
    "last_message": ("最后消息", "Last message", "text"),
    "had_unpaid_order": ("有未付款订单", "Had unpaid order", "text"),
    "reason": ("原因", "Reason", "text"),
    "reasons": ("流失原因", "Reasons", "text"),
    "reason_id": ("原因代码", "Reason id", "text"),
    "lost_buyers": ("流失人数", "Lost buyers", "count"),
    "mentions": ("提及人数", "Mentions", "count"),
    "mention_share": ("提及占比", "Mention share", "rate"),
    "pending": ("转化窗口未结束", "Pending", "text"),
    "reason_zh": ("原因", "Reason", "text"),
    "label": ("原因", "Reason", "text"),
    "label_zh": ("原因", "Reason", "text"),
    "buyers": ("人数", "Buyers", "count"),
    "count": ("次数", "Count", "count"),
    "share": ("占比", "Share", "rate"),
    "excluded": ("已排除", "Excluded", "text"),
    "in_window": ("计入时段", "In window", "text"),
    "counted": ("计入", "Counted", "text"),
    "late": ("超时", "Late", "text"),
    **report_promises.extra_columns(),
    **report_score.extra_columns(),
}
_UNREPLIED = ["shop", "buyer_id", "date", "sent_at", "wait_s", "reply_at", "agent", "content"]


# ------------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------------
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
#: (key, higher is better) of the headline table, in order; rows appear when present.
#: Response times are medians and P90s (week-over-week deltas of a mean would follow one
#: overnight wait); the capped mean only where the rule defines it (:func:`_headline`)
HEADLINE = (
    ("consult_buyers", None), ("unreplied_buyers", False), ("unreplied_closing_buyers", None),
    ("rounds", None),
    ("rounds_on_time", True), ("messages", None), ("messages_on_time", True),
    ("sessions", None), ("sessions_on_time", True), ("reply_rate", True),
    ("first_response_s_median", False), ("first_response_s_p90", False),
    ("response_s_median", False), ("response_s_p90", False), ("response_s_capped_mean", False),
    ("answer_ratio", None), ("answered_30s_rate", True), ("slow_buyers", False),
    ("buyer_messages", None),
    ("inquiry_buyers", None), ("paid_buyers", True), ("inquiry_conversion", True),
    ("sales", True), ("avg_order_value", None), ("silent_orders", None),
    ("unmatched_orders", None),
)


def headline(data: ReportData) -> pd.DataFrame:
    """One row per shop: the by-shop reply KPIs with the by-shop conversion KPIs."""
    a = data.by_shop if data.by_shop is not None else pd.DataFrame()
    conv = (data.conversion or {}).get("shop")
    if conv is not None and len(conv) and len(a):
        keep = [c for c in conv.columns if c not in a.columns or c == "shop"]
        a = a.merge(conv[keep], on="shop", how="left")
    return a


# ------------------------------------------------------------------------------------------
# columns and files
# ------------------------------------------------------------------------------------------
def table_columns(frame: pd.DataFrame, rule=None) -> list[Column]:
    """Render columns for every column of ``frame`` (registry labels, rule-named rate)."""
    from cskit.metrics import GROUP_KEYS, kpi

    units = {"date": "date", "hour": "int"}
    cols = []
    for k in frame.columns:
        if k in GROUP_KEYS:
            g = GROUP_KEYS[k]
            cols.append(Column(k, g.label_zh, g.label_en, units.get(k, "text")))
        elif k == "reply_rate" and rule is not None:
            cols.append(Column(k, rule.label_zh, rule.label_en, "rate"))
        else:
            try:
                m = kpi(k)
                cols.append(Column(k, m.label_zh, m.label_en, m.unit))
            except KeyError:
                from cskit.products.report import LABELS
                zh, en, unit = EXTRA_COLUMNS.get(k) or LABELS.get(k, (k, k, "text"))
                cols.append(Column(k, zh, en, unit))
    return cols


def _atomic_write(path: Path, write, binary: bool = False) -> None:
    """Write text (bytes with ``binary``) through ``write(fh)`` to a temporary name next
    to ``path``, then rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with (open(tmp, "wb") if binary else open(tmp, "w", encoding="utf-8", newline="")) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------------------------------
# the bundle
# ------------------------------------------------------------------------------------------
@dataclass
class ReportResult:
    out_dir: Path
    files: list[str]  #: names written, index.html last
    notes: list[Note]

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def write_report(data: ReportData, out_dir: Path | str, *, previous: ReportData | None = None,
                 excel: bool = False, title: str | None = None, top_n: int = TOP_N,
                 charts: bool = True, generated_at: dt.datetime | None = None) -> ReportResult:
    """Write the bundle for ``data`` into ``out_dir`` (created; files replaced atomically,
    index.html last so it never links a file that is not there yet).  The bundle is built
    in a hidden folder next to ``out_dir`` and moved in only when every file is written:
    a failure part-way (a chart that cannot be drawn, a full disk) leaves ``out_dir`` as it
    was — absent, or last run's complete report.

    ``previous`` is the same report for the period before (headline comparison);
    ``excel`` writes the CSVs for Excel (UTF-8 BOM, Chinese headers, formula-like
    cells escaped).  Returns the names written and the notes (sections skipped).
    """
    final = Path(out_dir)
    if final.exists() and not final.is_dir():
        raise UsageError("{out}: not a directory", out=final)
    out = final.parent / f".{final.name}.cskit-{os.getpid()}.tmp"  # the bundle is built here
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        out.mkdir()
    except OSError as exc:
        raise UsageError("{out}: cannot create the report directory ({strerror})",
                         out=final, strerror=exc.strerror) from None
    try:
        written, notes = _write_bundle(data, out, previous=previous, excel=excel, title=title,
                                       top_n=top_n, charts=charts, generated_at=generated_at)
        _publish(out, final, written)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return ReportResult(final, written, notes)


def _publish(stage: Path, final: Path, written: list[str]) -> None:
    """Move the finished bundle from ``stage`` to ``final``: one rename when ``final`` is
    new, else file by file (each an atomic replace, index.html last)."""
    if not final.exists():
        os.replace(stage, final)
        return
    for name in written:  # index.html is the last name
        os.replace(stage / name, final / name)
    shutil.rmtree(stage, ignore_errors=True)


def _write_bundle(data: ReportData, out: Path, *, previous, excel, title, top_n, charts,
                  generated_at) -> tuple[list[str], list[Note]]:
    """Every file of the bundle, written into ``out``; (names written, notes)."""
    notes = list(data.notes)
    written: list[str] = []
    sheets = []  # with ``excel``: the same tables, one workbook (report.xlsx)

    def put_csv(name: str, frame: pd.DataFrame | None, cols: list[Column] | None = None) -> None:
        if frame is None:
            return
        cols = cols or table_columns(frame, data.rule)
        _write(out / name, lambda fh: write_csv(frame, cols, fh, excel=excel, lang="zh"))
        written.append(name)
        if excel:
            from cskit.xlsx import Sheet

            sheets.append(Sheet(FILES.get(name, name), frame, cols))

    from cskit.kpi import merge_agent_frames, merge_kpi_frames  # the frames of `cskit kpi --by`

    conv = data.conversion or {}
    put_csv("kpi_by_day.csv", data.by_day if data.by_day is None else
            merge_kpi_frames(data.by_day, conv.get("day"), "day", data.shops))

    agents = None if data.by_agent is None else report_promises.agent_csv(
        merge_agent_frames(data.by_agent, conv.get("agent")), data)
    if agents is not None and data.agent_extras is not None:
        from cskit.metrics import column_order

        agents = agents.merge(data.agent_extras, on=["shop", "agent_id"], how="left")
        agents = agents[column_order(agents.columns)]  # as `cskit kpi` orders them
    put_csv("kpi_by_agent.csv", agents)
    put_csv("kpi_by_hour.csv", data.by_hour)
    put_csv("kpi_by_shop.csv", data.by_shop if data.by_shop is None else
            merge_kpi_frames(data.by_shop, conv.get("shop"), "shop", data.shops))
    put_csv("unreplied.csv", data.unreplied)
    if data.conversion is not None:
        put_csv("conversion_by_day.csv", data.conversion.get("day"))
        put_csv("conversion_by_agent.csv", data.conversion.get("agent"))
        put_csv("conversion_by_shop.csv", data.conversion.get("shop"))
        put_csv("unpaid.csv", data.unpaid)
        put_csv("lost_buyers.csv", data.lost_buyers)
    if data.lost_reasons is not None:
        put_csv("lost_reasons.csv", data.lost_reasons)
    put_csv(report_promises.FILE, getattr(data, "promises", None))
    scored = getattr(data, "score", None)
    if scored is not None:
        put_csv(report_score.FILE, scored.summary)
        put_csv(report_score.BREAKDOWN, scored.breakdown)
    from cskit.report_answers import write_answer_files  # 话术优化 section
    written += write_answer_files(data, out, _write, excel, sheets)
    put_csv("products.csv", data.products)
    if data.voice is not None:
        from cskit.report_voice import VOICE_REPORT_COLUMNS
        put_csv("voice.csv", data.voice, VOICE_REPORT_COLUMNS)
    if excel and sheets:
        from cskit.xlsx import xlsx_bytes

        book = xlsx_bytes(sheets, lang="zh")
        _write(out / "report.xlsx", lambda fh: fh.write(book), binary=True)
        written.append("report.xlsx")

    chart_files = _write_charts(data, out, notes, written) if charts else []

    cur = headline(data)
    prev = headline(previous) if previous is not None else pd.DataFrame()
    summary = _summary(data, previous, cur, prev)
    _write(out / "summary.json",
           lambda fh: (json.dump(summary, fh, ensure_ascii=False, indent=1), fh.write("\n")))
    written.append("summary.json")

    page = _html(data, previous, cur, prev, written, chart_files, notes, title=title,
                 top_n=top_n, generated_at=generated_at or dt.datetime.now().replace(microsecond=0),
                 excel=excel)
    # every linked file must exist
    _write(out / "index.html", lambda fh: fh.write(page))
    written.append("index.html")
    return written, notes


def _write(path: Path, write, binary: bool = False) -> None:
    try:
        _atomic_write(path, write, binary)
    except OSError as exc:
        raise UsageError("{path}: cannot write ({strerror})", path=path, strerror=exc.strerror) from None


def _write_charts(data: ReportData, out: Path, notes: list[Note], written: list[str]) -> list[str]:
    from cskit import charts

    try:
        font = charts.find_cjk_font()
        if font is None:
            raise charts.FontMissingError("no CJK font found", hint=charts.FONT_HINT)
    except UsageError as exc:
        notes.append(Note("charts", tr("charts not drawn: no Chinese font — {why}", why=exc.localized()),
                          warning=True))
        return []
    made = []
    lost_detail = None
    if data.lost_reasons_total is None:
        lost_detail = next((n.text for n in notes if n.section in ("lost", "conversion")), None)
    jobs = [
        ("reply_rate.png", lambda: charts.reply_rate(data.by_day, data.agent_daily, rule=data.rule,
                                                     font=font)),
        ("load.png", lambda: charts.load(data.annotated, rule=data.rule, font=font)),
        ("agents.png", lambda: charts.agents(data.agents_frame(), rule=data.rule, font=font)),
        ("lost.png", lambda: charts.lost(data.lost_reasons_total, detail=lost_detail,
                                             font=font)),
    ]
    for name, make in jobs:
        fig = make()
        try:
            charts.save(fig, out / name)
        except OSError as exc:
            raise UsageError("{path}: cannot write ({strerror})",
                             path=out / name, strerror=exc.strerror) from None
        written.append(name)
        made.append(name)
    return made


# ------------------------------------------------------------------------------------------
# summary.json and index.html
# ------------------------------------------------------------------------------------------
def _row_values(frame: pd.DataFrame, shop: str) -> dict:
    if frame is None or frame.empty or "shop" not in frame.columns:
        return {}
    r = frame[frame["shop"] == shop]
    if r.empty:
        return {}
    rec = r.iloc[0]
    return {k: rec[k] for k in frame.columns if k != "shop"}


def _unit(key: str) -> str:
    from cskit.metrics import kpi

    try:
        return kpi(key).unit
    except KeyError:
        return "count"


def _summary(data, previous, cur, prev) -> dict:
    p = data.period
    pp = previous.period if previous is not None else None
    shops = {}
    for shop in data.shops:
        c, q = _row_values(cur, shop), _row_values(prev, shop)
        shops[shop] = {
            "this": {k: machine_value(v, _unit(k)) for k, v in c.items()},
            "previous": {k: machine_value(v, _unit(k)) for k, v in q.items()},
        }
    return {
        "rule": data.rule.name, "threshold_s": data.rule.threshold_s,
        "since": p.since.isoformat() if p.since else None,
        "until": p.until.isoformat() if p.until else None,
        "previous_since": pp.since.isoformat() if pp and pp.since else None,
        "previous_until": pp.until.isoformat() if pp and pp.until else None,
        "shops": shops,
        "unreplied_messages": int(len(data.unreplied)) if data.unreplied is not None else None,
        "notes": [n.text for n in data.notes],
    }


_CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",
 "Source Han Sans SC",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd;
 padding-bottom:4px} .meta{color:#666;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #ddd;
 padding:4px 8px} th{background:#f5f5f5;text-align:left} td.n{text-align:right;white-space:nowrap}
.good{color:#1a7f37} .bad{color:#cf222e} .note{background:#fff8e1;border-left:4px solid #f0b400;
 padding:6px 10px;margin:6px 0;font-size:13px} img{max-width:100%;border:1px solid #eee;margin:8px 0}
.nodata{color:#777;font-style:italic} .shops{display:flex;flex-wrap:wrap;gap:0 24px}
h3{font-size:15px;margin:12px 0 4px}
"""


def _e(x) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def _fmt(v, unit: str) -> str:
    return human_value(v, unit)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT


def _delta(key: str, now, before, better: bool | None) -> tuple[str, str]:
    if _missing(now) or _missing(before):
        return "—", ""
    unit = _unit(key)
    d = float(now) - float(before)
    if unit == "rate":
        txt = f"{d * 100:+.1f} 个百分点"
    elif unit == "seconds":
        txt = f"{d:+.1f} 秒"
    elif unit == "yuan":
        txt = f"{'+' if d >= 0 else '-'}¥{abs(d):,.2f}"
    elif unit == "ratio":
        txt = f"{d:+.2f}"
    else:
        txt = f"{d:+,.0f}"
        if float(before):
            txt += f" ({d / float(before) * 100:+.1f}%)"
    cls = ""
    if better is not None and d != 0:
        cls = "good" if (d > 0) == better else "bad"
    return txt, cls


def _label(key: str, rule) -> str:
    from cskit.metrics import label

    if key == "reply_rate":
        return rule.label_zh
    try:
        return label(key, "zh")
    except KeyError:
        return EXTRA_COLUMNS.get(key, (key,))[0]


def _table(frame: pd.DataFrame, cols: list[Column]) -> str:
    frame = display_frame(frame, cols)  # agents named within their shop, as in every table
    head = "".join(f"<th>{_e(c.label_zh)}</th>" for c in cols)
    rows = []
    for rec in frame.itertuples(index=False):  # a short, shown table: at most TOP_N rows
        d = dict(zip(frame.columns, rec))
        cells = []
        for c in cols:
            v = d.get(c.key)
            num = c.unit in ("count", "rate", "seconds", "ratio", "yuan", "int")
            attr = ' class="n"' if num else ""
            cells.append(f"<td{attr}>{_e(_fmt(v, c.unit))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _html(data, previous, cur, prev, written, chart_files, notes, *, title, top_n, generated_at,
          excel) -> str:
    rule = data.rule
    p = data.period
    pp = previous.period if previous is not None else previous_period(p)
    iso = ""
    if p.since and p.until and (p.until - p.since).days == 6 and p.since.weekday() == 0:
        y, w, _ = p.since.isocalendar()
        iso = f"{y}-W{w:02d} "
    shops = "、".join(data.shops)
    this, last = period_words(p)
    title = title or f"客服周报 {shops} {iso}".strip()
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>",
           f'<p class="meta">统计周期 {_e(p.label("zh"))}'
           + (f" · 对比{last} {_e(pp.label('zh'))}" if pp else "")
           + f" · 规则 {_e(rule.label_zh)} (超过 {_e(rule.threshold_s)} 秒未回复算超时, "
             f"时段 {_e(rule.window_label)}) · 生成于 {_e(generated_at.isoformat(sep=' '))}</p>"]
    for n in notes:
        out.append(f'<p class="note">{_e(n.text)}</p>')

    # headline
    out.append(f"<h2>核心指标 ({this} vs {last})</h2><div class=\"shops\">")
    for shop in data.shops:
        c, q = _row_values(cur, shop), _row_values(prev, shop)
        out.append("<div>")
        if len(data.shops) > 1:
            out.append(f"<h3>{_e(shop)}</h3>")
        if not c:
            out.append(f'<p class="nodata">{this}无数据</p></div>')
            continue
        rows = []
        for key, better in HEADLINE:
            if key not in c or (key == "response_s_capped_mean" and not rule.capped_mean):
                continue
            unit = _unit(key)
            now, before = c.get(key), q.get(key)
            dtxt, cls = _delta(key, now, before, better)
            rows.append(f"<tr><th>{_e(_label(key, rule))}</th><td class=\"n\">{_e(_fmt(now, unit))}"
                        f"</td><td class=\"n\">{_e(_fmt(before, unit)) if q else '—'}</td>"
                        f"<td class=\"n {cls}\">{_e(dtxt)}</td></tr>")
        out.append(f"<table><tr><th>指标</th><th>{this}</th><th>{last}</th><th>变化</th></tr>"
                   + "".join(rows) + "</table></div>")
    out.append("</div>")
    if "reply_rate.png" in chart_files:
        out.append('<img src="reply_rate.png" alt="回复率趋势">')

    # worst agents
    out.append("<h2>回复率最低的客服</h2>")
    agents = data.agents_frame()
    if agents is None or agents.empty or "reply_rate" not in agents.columns:
        out.append('<p class="nodata">无数据</p>')
    else:
        pseudo = agents["agent_id"].isin([UNASSIGNED, BOT_AGENT])
        a = agents[agents["reply_rate"].notna() & ~pseudo]
        nobody = agents[pseudo & (agents["agent_id"] == UNASSIGNED)]
        if "unreplied_buyers" in nobody.columns and nobody["unreplied_buyers"].sum() > 0:
            parts = [f"{_e(r.shop)} {int(r.unreplied_buyers)} 人" for r in nobody.itertuples()
                     if r.unreplied_buyers > 0]
            out.append(f"<p>{_e(UNASSIGNED)} (没有任何客服回复过的买家, 不参与排名): "
                       + "、".join(parts) + "。</p>")
        sort_cols = ["reply_rate"] + (["consult_buyers"] if "consult_buyers" in a.columns else [])
        a = a.sort_values(sort_cols, ascending=[True] + [False] * (len(sort_cols) - 1),
                          kind="stable").head(WORST_AGENTS)
        keys = [k for k in ("shop", "agent_id", "consult_buyers", "unreplied_buyers",
                            "unreplied_closing_buyers", "reply_rate",
                            "first_response_s_median", "slow_buyers", "inquiry_conversion",
                            "sales")
                if k in a.columns]
        out.append(_table(a[keys], table_columns(a[keys], rule)) if len(a) else
                   '<p class="nodata">无数据</p>')
    if "agents.png" in chart_files:
        out.append('<img src="agents.png" alt="客服对比">')

    # unreplied
    out.append("<h2>未及时回复名单</h2>")
    u = data.unreplied if data.unreplied is not None else pd.DataFrame()
    if u.empty:
        out.append(f'<p class="nodata">{this}没有超时或未回复的消息</p>')
    else:
        never = u["wait_s"].isna().sum()
        top = u.assign(_never=u["wait_s"].isna()).sort_values(
            ["_never", "wait_s"], ascending=[False, False], kind="stable").head(top_n)
        if "content" in top.columns:
            from cskit.text.mask import mask_digits  # phone / order numbers: *** on the page

            top = top.assign(content=mask_digits(top["content"]).map(_clip))
        keys = [k for k in ("shop", "buyer_id", "sent_at", "wait_s", "agent", "content")
                if k in top.columns]
        out.append(f"<p>共 {len(u)} 条超时或未回复的买家消息 (其中 {never} 条始终未回复), "
                   f"显示等待最久的 {min(top_n, len(u))} 条; 完整名单见 "
                   f'<a href="unreplied.csv">unreplied.csv</a>.</p>')
        shown = top[keys].copy()
        shown["wait_s"] = [("未回复" if _missing(w) else f"{float(w):.0f}") for w in shown["wait_s"]]
        tcols = [Column(c.key, c.label_zh, c.label_en, "text" if c.key == "wait_s" else c.unit)
                 for c in table_columns(top[keys], rule)]
        out.append(_table(shown, tcols))
    if "load.png" in chart_files:
        out.append('<img src="load.png" alt="咨询量与超时分布">')

    # conversion & lost
    out.append("<h2>询单流失原因</h2>")
    lr = data.lost_reasons_total
    if lr is None or lr.empty:
        why = next((n.text for n in notes if n.section in ("lost", "conversion")), None)
        out.append(f'<p class="nodata">无数据{("：" + _e(why)) if why else ""}</p>')
    else:
        n_lost = int(lr["lost_buyers"].iloc[0]) if "lost_buyers" in lr.columns else None
        if n_lost is not None:
            out.append(f"<p>{n_lost} 个询单 (买家·天) 未在 {WINDOW_DAYS} 天内付款; 每人按主要原因计一次, "
                       "“提及” 为聊天中出现该原因的人数. 每个买家的原因见 "
                       '<a href="lost_buyers.csv">lost_buyers.csv</a>.</p>')
        keys = [k for k in ("reason", "buyers", "share", "mentions") if k in lr.columns]
        out.append(_table(lr[keys], table_columns(lr[keys], rule)))
    if "lost.png" in chart_files:
        out.append('<img src="lost.png" alt="询单流失原因">')
    if data.unpaid is not None:
        out.append("<h2>催付名单 (下单未付款)</h2>")
        if data.unpaid.empty:
            out.append('<p class="nodata">无</p>')
        else:
            top = data.unpaid.head(top_n)
            keys = [k for k in ("shop", "buyer_id", "order_id", "amount", "created_at", "agent")
                    if k in top.columns]
            out.append(f"<p>共 {len(data.unpaid)} 笔; 完整名单见 <a href=\"unpaid.csv\">unpaid.csv</a>.</p>")
            out.append(_table(top[keys], table_columns(top[keys], rule)))

    out.extend(report_promises.promises_html(data, _table, _clip))
    out.extend(report_score.score_html(data, _table, _clip))
    from cskit.report_answers import answers_html
    out += answers_html(data, _table, _e)
    from cskit.products.report import products_html
    out.append(products_html(data, top_n, _table))
    from cskit.report_voice import voice_html
    out.append(voice_html(data, _clip))

    # files
    out.append("<h2>文件</h2><ul>")
    for name in [n for n in FILES if n in written] + [n for n in written if n not in FILES]:
        out.append(f'<li><a href="{_e(name)}">{_e(name)}</a> — {_e(FILES.get(name, ""))}</li>')
    out.append("</ul>")
    if excel:
        out.append('<p class="meta">CSV 为 Excel 格式 (UTF-8 BOM, 中文表头); report.xlsx 为同样的表, '
                   "每个表一个工作表 (订单号等编号为文本, 比率为百分比).</p>")
    else:
        out.append('<p class="meta">CSV 为 UTF-8, 英文列名 (字段说明见 docs/report.md); '
                   "用 Excel 打开请加 --excel 重新生成.</p>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _clip(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    s = " ".join(str(v).split())
    return s if len(s) <= CONTENT_CHARS else s[:CONTENT_CHARS - 1] + "…"
