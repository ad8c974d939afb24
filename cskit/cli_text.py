"""`cskit lost` and `cskit qc`: chat-text commands (issue #5), registered on the main app.

Importing this module adds the two commands to :data:`cskit.cli.app` (``cli.py``
imports it at the bottom).  The library lives in :mod:`cskit.text`; this module
only reads the store one shop at a time, calls the library and renders.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import typer

from cskit import schema
from cskit.cli import (Fmt, FormatOpt, Lang, LangOpt, LastWeekOpt, OutputOpt, ShopOpt, SinceOpt,
                       StoreOpt, UntilOpt, WeekOpt, _boundary, _output_file, _store, app)
from cskit.errors import NoDataError
from cskit.render import Column, emit

__all__ = ["run_lost", "run_qc", "lost_frames", "qc_frames", "LOST_COLUMNS", "EXAMPLE_COLUMNS",
           "QC_LIST_COLUMNS"]

#: messages columns the text commands read
TEXT_MESSAGE_COLUMNS = ["shop", "platform", "conversation_id", "buyer_id", "agent_id", "sender",
                        "sent_at", "content", "msg_type", "source_file", "source_row"]
#: replies may come after the range ends
REPLY_SLACK = dt.timedelta(days=2)
#: attribution window and after-sale lookback of `cskit lost` (days)
WINDOW_DAYS = 3
LOOKBACK_DAYS = 15



class LostBy(str, Enum):
    shop = "shop"
    agent = "agent"
    day = "day"
    week = "week"


_BY_KEYS = {"shop": ("shop",), "agent": ("shop", "agent_id"), "day": ("shop", "date"),
            "week": ("shop", "week")}
_KEY_LABELS = {"shop": Column("shop", "店铺", "shop"),
               "agent_id": Column("agent_id", "客服", "agent"),
               "date": Column("date", "日期", "date", "date"),
               "week": Column("week", "周", "week")}

LOST_COLUMNS = [
    Column("reason", "流失原因", "reason"),
    Column("buyers", "主因人数", "buyers (primary)", "count"),
    Column("share", "主因占比", "share", "rate"),
    Column("mentions", "提及人数", "buyers mentioning", "count"),
    Column("mention_share", "提及占比", "mention share", "rate"),
    Column("lost_buyers", "流失人数", "lost buyers", "count"),
    Column("reason_id", "原因代码", "reason id"),
]
EXAMPLE_COLUMNS = [
    Column("reason", "流失原因", "reason"),
    Column("shop", "店铺", "shop"),
    Column("buyer_id", "买家", "buyer"),
    Column("sent_at", "发送时间", "sent at", "time"),
    Column("quote", "买家原话", "buyer quote"),
    Column("score", "得分", "score", "ratio"),
    Column("reason_id", "原因代码", "reason id"),
]
QC_HEAD_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("agent_id", "客服", "agent"),
    Column("agent_messages", "客服消息数", "agent messages", "count"),
    Column("flags", "违规条数", "flags", "count"),
    Column("high", "严重", "high", "count"),
    Column("medium", "中等", "medium", "count"),
    Column("low", "轻微", "low", "count"),
]
QC_LIST_COLUMNS = [
    Column("sent_at", "时间", "time", "time"),
    Column("shop", "店铺", "shop"),
    Column("buyer_id", "买家", "buyer"),
    Column("agent_id", "客服", "agent"),
    Column("rule", "规则", "rule"),
    Column("severity", "严重程度", "severity"),
    Column("content", "消息内容", "text"),
    Column("wait_s", "等待(秒)", "wait (s)", "seconds"),
    Column("rule_id", "规则代码", "rule id"),
]


# --------------------------------------------------------------------------- shared


def _period(since, until, week, last_week):
    from cskit.kpi import resolve_period

    return resolve_period(since, until, week, last_week)


def _read_messages(store, shop: str, period, slack: dt.timedelta = REPLY_SLACK) -> pd.DataFrame:
    return store.read(schema.MESSAGES, shops=[shop], since=period.since, until=period.until,
                      columns=TEXT_MESSAGE_COLUMNS, time_slack=slack)


def _in_period(ts: pd.Series, period) -> np.ndarray:
    d = pd.to_datetime(ts, errors="coerce").dt.normalize()
    m = d.notna().to_numpy(dtype=bool).copy()
    if period.since is not None:
        m &= (d >= pd.Timestamp(period.since)).to_numpy(dtype=bool, na_value=False)
    if period.until is not None:
        m &= (d <= pd.Timestamp(period.until)).to_numpy(dtype=bool, na_value=False)
    return m


def _no_messages(store, period) -> NoDataError:
    return NoDataError(f"no chat messages between {period.label()} in {store.root}",
                       hint="check --since/--until/--week and --shop; `cskit ingest` first")


# --------------------------------------------------------------------------- lost


def _lost_population(msgs: pd.DataFrame, orders: pd.DataFrame, period) -> tuple[pd.DataFrame, str]:
    """Lost buyer-days: shop, buyer_id, date, agent_id, had_unpaid_order; and the method."""
    try:
        from cskit.metrics.conversion import lost_buyers
    except ImportError:
        lost_buyers = None
    if lost_buyers is not None:
        lost = lost_buyers(msgs, orders, period.since, period.until, window_days=WINDOW_DAYS,
                           lookback_days=LOOKBACK_DAYS, anchor="order")
        if "pending" in lost.columns:  # the window is still open: not lost (yet)
            lost = lost[~lost["pending"].astype(bool)]
        return lost.reset_index(drop=True), "conversion"
    return _served_without_orders(msgs, orders, period), "served-no-order"


def _served_without_orders(msgs: pd.DataFrame, orders: pd.DataFrame, period) -> pd.DataFrame:
    """Fallback: buyer-days with ≥1 human agent message and no order of the buyer at all."""
    m = msgs[msgs["sender"].isin(["buyer", "agent"]).to_numpy(dtype=bool, na_value=False)]
    m = m[_in_period(m["sent_at"], period)]
    m = m.assign(date=pd.to_datetime(m["sent_at"]).dt.date)
    keys = ["shop", "buyer_id", "date"]
    buyer_days = m.loc[m["sender"] == "buyer", keys].drop_duplicates()
    agent = m[m["sender"] == "agent"].sort_values("sent_at", kind="stable")
    served = agent.groupby(keys, sort=False)["agent_id"].last().reset_index()
    lost = buyer_days.merge(served, on=keys, how="inner")
    if len(orders):
        ordered = orders[["shop", "buyer_id"]].dropna().drop_duplicates()
        lost = lost.merge(ordered.assign(_o=True), on=["shop", "buyer_id"], how="left")
        lost = lost[lost["_o"].isna()].drop(columns="_o")
    lost["had_unpaid_order"] = False
    return lost.sort_values(["shop", "date", "buyer_id"], kind="stable").reset_index(drop=True)


def lost_frames(store, *, shops=None, period, lexicon=None, rule=None):
    """Per shop: read, find lost buyer-days, classify.  Returns (classified, buyer
    messages of the lost buyer-days, method)."""
    from cskit.kpi import read_excluded, select_shops
    from cskit.metrics import annotate, get_rule
    from cskit.text.lexicon import LostLexicon, load_lost_lexicon
    from cskit.text.lost import classify, service_signals

    # a bad --lexicon fails before any reading
    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    rule = rule or get_rule("pdd5")
    shops = select_shops(store, shops)
    keys = ["shop", "buyer_id", "date"]
    classified, texts, method, seen = [], [], "served-no-order", 0
    for shop in shops:
        # messages up to the end of the last attribution window: replies, and the data
        # end that tells a closed window from a pending one
        msgs = _read_messages(store, shop, period,
                              max(REPLY_SLACK, dt.timedelta(days=WINDOW_DAYS + 1)))
        if msgs.empty:
            continue
        seen += int(_in_period(msgs["sent_at"], period).sum())
        since = period.since - dt.timedelta(days=LOOKBACK_DAYS + 1) if period.since else None
        orders = store.read(schema.ORDERS, shops=[shop], since=since, until=period.until,
                            time_slack=dt.timedelta(days=WINDOW_DAYS + 1))
        lost, method = _lost_population(msgs, orders, period)
        if lost.empty:
            continue
        ann = annotate(msgs, rule, read_excluded(store, shop))
        sig = service_signals(ann, rule.threshold_s)
        lost = lost[keys + ["agent_id", "had_unpaid_order"]].merge(sig, on=keys, how="left")
        lost = lost.rename(columns={"had_unpaid_order": "unpaid_order"})
        for c in ("slow", "unanswered", "unpaid_order"):
            lost[c] = lost[c].astype("boolean").fillna(False).astype(bool)
        buyer = msgs[(msgs["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)]
        buyer = buyer.assign(date=pd.to_datetime(buyer["sent_at"]).dt.date)
        buyer = buyer[["shop", "buyer_id", "date", "sent_at", "content"]].merge(
            lost[keys], on=keys, how="inner")
        classified.append(classify(buyer[keys + ["content"]], lost, lexicon=lex))
        texts.append(buyer)
    if seen == 0:
        raise _no_messages(store, period)
    if not classified:
        return pd.DataFrame(columns=keys + ["agent_id", "reasons", "reason_ids", "primary",
                                            "primary_id", "n_reasons"]), \
            pd.DataFrame(columns=keys + ["sent_at", "content"]), method
    return (pd.concat(classified, ignore_index=True), pd.concat(texts, ignore_index=True),
            method)


def run_lost(store, *, shops=None, period, by="shop", n_examples=0, lexicon=None, fmt="table",
             lang="zh", output=None):
    from cskit.text.lexicon import load_lost_lexicon
    from cskit.text.lost import examples, reason_summary

    lex = load_lost_lexicon(lexicon)
    classified, texts, method = lost_frames(store, shops=shops, period=period, lexicon=lex)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "lost_definition": method, "lost_buyers": int(len(classified)),
            "lexicon": lex.source}
    with _output_file(output) as handle:
        if n_examples:
            frame = examples(classified, texts, n_examples, lexicon=lex)
            title = f"流失原因买家原话 · {period.label()}" if lang == "zh" else \
                f"Lost-sale reasons: buyer quotes · {period.label()}"
            emit(frame, EXAMPLE_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta)
            return frame
        groups = _BY_KEYS[by]
        frame = reason_summary(classified, by=groups, lexicon=lex)
        cols = [_KEY_LABELS[g] for g in groups] + LOST_COLUMNS
        title = f"询单流失原因 · {period.label()} · 流失 {len(classified)} 人" if lang == "zh" else \
            f"Lost-sale reasons · {period.label()} · {len(classified)} lost buyers"
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta)
        return frame


@app.command("lost")
@_boundary
def lost_cmd(
    store: StoreOpt = None,
    shop: ShopOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    week: WeekOpt = None,
    last_week: LastWeekOpt = False,
    by: Annotated[LostBy, typer.Option("--by", help="Rows per shop, agent (客服), day or week.")] = LostBy.shop,
    examples_n: Annotated[int, typer.Option("--examples", min=0, metavar="N", help="Instead of counts, show N real buyer quotes per reason.")] = 0,
    lexicon: Annotated[Optional[Path], typer.Option("--lexicon", help="Lost-reason lexicon TOML replacing the packaged one (docs/text.md).")] = None,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = Lang.zh,
    output: OutputOpt = None,
) -> None:
    """Why inquiring buyers did not buy (询单流失原因), from their chat text and the log. 流失原因"""
    run_lost(_store(store), shops=shop, period=_period(since, until, week, last_week),
             by=by.value, n_examples=examples_n, lexicon=lexicon, fmt=fmt.value,
             lang=lang.value, output=output)


# --------------------------------------------------------------------------- qc


def qc_frames(store, *, shops=None, period, rules=None, rule=None):
    """Per shop: flags and the agent messages inspected.  Returns (flags, agent messages)."""
    from cskit.kpi import read_excluded, select_shops
    from cskit.metrics import annotate, get_rule
    from cskit.text.lexicon import QCRules, load_qc_rules
    from cskit.text.qc import inspect

    qc = rules if isinstance(rules, QCRules) else load_qc_rules(rules)
    rule = rule or get_rule("pdd5")
    flags, agents, seen = [], [], 0
    for shop in select_shops(store, shops):
        msgs = _read_messages(store, shop, period)
        if msgs.empty:
            continue
        inside = _in_period(msgs["sent_at"], period)
        seen += int(inside.sum())
        agent = msgs[inside & (msgs["sender"] == "agent").to_numpy(dtype=bool, na_value=False)]
        late = None
        if qc.late_rule() is not None:
            ann = annotate(msgs, rule, read_excluded(store, shop))
            sel = ann["counted"].to_numpy(dtype=bool) & ann["late"].to_numpy(dtype=bool) & \
                _in_period(ann["sent_at"], period)
            late = ann[sel][["shop", "buyer_id", "sent_at", "wait_s", "agent"]]
            late = late.assign(content=msgs.loc[late.index, "content"].to_numpy())
        flags.append(inspect(agent, qc, late=late))
        agents.append(agent[["shop", "agent_id", "sender"]])
    if seen == 0:
        raise _no_messages(store, period)
    f = pd.concat(flags, ignore_index=True) if flags else inspect(
        pd.DataFrame(columns=["sender", "content"]), qc)
    a = pd.concat(agents, ignore_index=True) if agents else \
        pd.DataFrame(columns=["shop", "agent_id", "sender"])
    return f, a


def run_qc(store, *, shops=None, period, rules=None, list_flags=False, fmt="table", lang="zh",
           output=None):
    from cskit.text.lexicon import load_qc_rules
    from cskit.text.qc import qc_summary

    qc = load_qc_rules(rules)
    flags, agents = qc_frames(store, shops=shops, period=period, rules=qc)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "rules": [{"id": r.id, "name": r.name, "severity": r.severity, "penalty": r.penalty}
                      for r in qc.rules],
            "flags": int(len(flags))}
    with _output_file(output) as handle:
        if list_flags:
            title = f"质检违规明细 · {period.label()}" if lang == "zh" else \
                f"Quality-inspection flags · {period.label()}"
            emit(flags, QC_LIST_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta)
            return flags
        frame = qc_summary(flags, qc, messages=agents)
        cols = QC_HEAD_COLUMNS + [Column(r.id, r.name, r.id.replace("_", " "), "count")
                                  for r in qc.rules]
        title = f"客服质检 · {period.label()}" if lang == "zh" else \
            f"Quality inspection · {period.label()}"
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta)
        return frame


@app.command("qc")
@_boundary
def qc_cmd(
    store: StoreOpt = None,
    shop: ShopOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    week: WeekOpt = None,
    last_week: LastWeekOpt = False,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Quality-inspection rules TOML replacing the packaged ones (docs/text.md).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List every flagged message (time, buyer, agent, rule, severity, text) instead of per-agent counts.")] = False,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = Lang.zh,
    output: OutputOpt = None,
) -> None:
    """Quality inspection of agent messages (客服质检): abuse, off-platform deals, over-promising … 质检"""
    run_qc(_store(store), shops=shop, period=_period(since, until, week, last_week), rules=rules,
           list_flags=list_, fmt=fmt.value, lang=lang.value, output=output)
