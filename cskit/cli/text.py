"""`cskit lost` and `cskit qc`: chat-text commands.  The library is :mod:`cskit.text`
(:mod:`cskit.text.frames` reads the store); this module parses options and renders."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, period_of)
from cskit.cli.options import check_excel
from cskit.memory import reuse_freed_memory
from cskit.render import Column, emit

__all__ = ["run_lost", "run_qc", "LOST_COLUMNS", "EXAMPLE_COLUMNS", "LOST_LIST_COLUMNS",
           "QC_LIST_COLUMNS"]


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
    Column("reason_id", "原因代码", "reason id", optional=True),
]
EXAMPLE_COLUMNS = [
    Column("reason", "流失原因", "reason"),
    Column("shop", "店铺", "shop"),
    Column("buyer_id", "买家", "buyer"),
    Column("sent_at", "发送时间", "sent at", "time"),
    Column("quote", "买家原话", "buyer quote", wrap=True),
    Column("score", "得分", "score", "ratio"),
    Column("reason_id", "原因代码", "reason id", optional=True),
]
#: `cskit lost --list`: one row per lost buyer-day (the 回访 follow-up list)
LOST_LIST_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("date", "日期", "date", "date"),
    Column("buyer_id", "买家", "buyer"),
    Column("agent_id", "首位客服", "first agent"),
    Column("outcome", "结果", "outcome",
           labels=(("no_order", "未下单", "no order"), ("unpaid_order", "下单未付款", "ordered, unpaid"))),
    Column("reason", "主要原因", "primary reason"),
    Column("reasons", "全部原因", "all reasons", wrap=True),
    Column("quote", "买家原话", "buyer quote", wrap=True),
    Column("sent_at", "原话时间", "quote sent at", "time", optional=2),
    Column("reason_id", "原因代码", "reason id", optional=True),
    Column("reason_ids", "全部原因代码", "reason ids", optional=True),
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
    Column("severity", "严重程度", "severity",
           labels=(("high", "严重", "high"), ("medium", "中等", "medium"), ("low", "轻微", "low"))),
    Column("content", "消息内容", "text", wrap=True),
    Column("wait_s", "等待(秒)", "wait (s)", "seconds"),
    Column("rule_id", "规则代码", "rule id", optional=True),
]
#: `cskit qc --all`: the tier of each flag (docs/text.md "Two tiers of evidence")
QC_TIER_COLUMN = Column("tier", "证据级别", "tier",
                        labels=(("confident", "确定", "confident"), ("review", "待复核", "to review")))
#: `cskit qc --all` without --list: the review-tier flags per agent, in no other count
QC_REVIEW_COLUMN = Column("review", "待复核", "to review", "count")


def run_lost(store, *, shops=None, period, by="shop", n_examples=0, list_rows=False, lexicon=None,
             fmt="table", lang="zh", output=None, wide=False, excel=False):
    from cskit.text.frames import lost_frames
    from cskit.text.lexicon import load_lost_lexicon
    from cskit.text.lost import examples, lost_list, reason_summary

    lex = load_lost_lexicon(lexicon)
    left_out: dict = {}
    classified, texts, method = lost_frames(store, shops=shops, period=period, lexicon=lex,
                                            left_out=left_out)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "lost_definition": method, "lost_buyers": int(len(classified)),
            "lexicon": lex.source,
            "left_out": {s: {"reason": i["reason"], "orders_until": i.get("last"),
                             "buyer_days": i["buyer_days"]} for s, i in left_out.items()}}
    _note_left_out(left_out, lang)
    with output_file(output, fmt) as handle:
        if list_rows:
            frame = lost_list(classified, texts, lexicon=lex)
            title = f"流失买家回访清单 · {period.label(lang)} · {len(frame)} 人" if lang == "zh" else \
                f"Lost buyers to follow up · {period.label(lang)} · {len(frame)}"
            emit(frame, LOST_LIST_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta,
                 wide=wide, excel=excel)
            return frame
        if n_examples:
            frame = examples(classified, texts, n_examples, lexicon=lex)
            title = f"流失原因买家原话 · {period.label(lang)}" if lang == "zh" else \
                f"Lost-sale reasons: buyer quotes · {period.label(lang)}"
            emit(frame, EXAMPLE_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
                 excel=excel)
            return frame
        groups = _BY_KEYS[by]
        frame = reason_summary(classified, by=groups, lexicon=lex)
        cols = [_KEY_LABELS[g] for g in groups] + LOST_COLUMNS
        title = f"询单流失原因 · {period.label(lang)} · 流失 {len(classified)} 人" if lang == "zh" else \
            f"Lost-sale reasons · {period.label(lang)} · {len(classified)} lost buyers"
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
             excel=excel)
        return frame


def _note_left_out(left_out: dict, lang: str) -> None:
    """One stderr line per shop whose buyer-days could not be judged lost or not."""
    from cskit.i18n import tr
    from cskit.metrics.coverage import unknown_why
    from cskit.render import stderr_console

    con = stderr_console()
    for shop, info in left_out.items():
        con.print("note: " + tr("{why}; whether they bought cannot be known: {n} inquiry "
                                "buyer-days left out of the lost count", lang,
                                why=unknown_why(shop, info, lang), n=info["buyer_days"]),
                  markup=False)


@app.command("lost")
@boundary
@shared_options
def lost_cmd(
    by: Annotated[LostBy, typer.Option("--by", help="Rows per shop, agent (客服), day or week.")] = LostBy.shop,
    examples_n: Annotated[int, typer.Option("--examples", min=0, metavar="N", help="Instead of counts, show N real buyer quotes per reason.")] = 0,
    list_: Annotated[bool, typer.Option("--list", help="One row per lost buyer-day (follow-up list): shop, date, buyer, first agent, outcome, primary and all reasons, one buyer quote.")] = False,
    lexicon: Annotated[Optional[Path], typer.Option("--lexicon", help="Lost-reason lexicon TOML replacing the packaged one (docs/text.md).")] = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Why inquiring buyers did not buy (询单流失原因), from their chat text and the log. 流失原因"""
    check_excel(excel, fmt)
    if list_ and examples_n:
        from cskit.errors import UsageError
        raise UsageError("--list and --examples show different tables: give one of them")
    reuse_freed_memory()  # per-shop reads of about the same size: reuse the freed pages
    run_lost(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
             by=by.value, n_examples=examples_n, list_rows=list_, lexicon=lexicon, fmt=fmt.value,
             lang=lang.value, output=output, wide=wide, excel=excel)


def run_qc(store, *, shops=None, period, rules=None, list_flags=False, fmt="table", lang="zh",
           output=None, wide=False, excel=False, review=False):
    from cskit.text.frames import qc_frames
    from cskit.text.lexicon import load_qc_rules
    from cskit.text.qc import qc_summary

    qc = load_qc_rules(rules)
    flags, agents = qc_frames(store, shops=shops, period=period, rules=qc, review=review)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "rules": [{"id": r.id, "name": r.name, "severity": r.severity, "penalty": r.penalty}
                      for r in qc.rules],
            "flags": int(len(flags)) if not review else int((flags["tier"] == "confident").sum())}
    if review:
        meta["review_flags"] = int((flags["tier"] == "review").sum())
    with output_file(output, fmt) as handle:
        if len(flags) and flags["rule_id"].isin([r.id for r in qc.text_rules()]).any():
            _note_review(lang, review)  # text rules only: a log signal (slow_reply) is not a guess
        if list_flags:
            title = f"质检违规明细 · {period.label(lang)}" if lang == "zh" else \
                f"Quality-inspection flags · {period.label(lang)}"
            cols = QC_LIST_COLUMNS if not review else \
                QC_LIST_COLUMNS[:6] + [QC_TIER_COLUMN] + QC_LIST_COLUMNS[6:]
            emit(flags, cols, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
                 excel=excel)
            return flags
        frame = qc_summary(flags, qc, messages=agents)
        cols = QC_HEAD_COLUMNS + [Column(r.id, r.name, r.id.replace("_", " "), "count")
                                  for r in qc.rules] + ([QC_REVIEW_COLUMN] if review else [])
        title = f"客服质检 · {period.label(lang)}" if lang == "zh" else \
            f"Quality inspection · {period.label(lang)}"
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
             excel=excel)
        return frame


def _note_review(lang: str, review: bool = False) -> None:
    """The stderr note under every QC result with flags: a flag is a lead, not a verdict
    (measured precision on real conversations nobody tuned on: docs/text.md, test4)."""
    from cskit.i18n import tr
    from cskit.render import print_line

    print_line("note: " + tr("QC flags are leads to check, not verdicts: on real conversations "
                             "the rules were never tuned on, about 1 confident flag in 8 was not "
                             "a violation when checked by hand (docs/text.md); read each message "
                             "(--list) before acting on it", lang))
    if review:
        print_line("note: " + tr("review-tier flags (--all) rest on weaker evidence: on those "
                                 "conversations most of them were not violations", lang))


@app.command("qc")
@boundary
@shared_options
def qc_cmd(
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Quality-inspection rules TOML replacing the packaged ones (docs/text.md).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List every flagged message (time, buyer, agent, rule, severity, text) instead of per-agent counts.")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Also the review-tier flags (待复核: weaker evidence, e.g. WeChat merely named): a tier column with --list, a 'to review' count per agent without. By default only the confident flags are shown and counted.")] = False,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Quality inspection of agent messages (客服质检): abuse, off-platform deals, over-promising … 质检"""
    check_excel(excel, fmt)
    reuse_freed_memory()
    run_qc(open_store(store), shops=shop, period=period_of(since, until, week, last_week), rules=rules,
           list_flags=list_, fmt=fmt.value, lang=lang.value, output=output, wide=wide,
           excel=excel, review=all_)
