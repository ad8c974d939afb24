"""`cskit answers` (话术优化): frequent buyer questions, every agent's typical answer and its
outcome, the best answer per question (and ``--faq`` FAQ draft).  The library is
:mod:`cskit.text.answers` (:mod:`cskit.text.answer_frames` reads the store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, check_excel,
                               period_of)
from cskit.render import Column, emit

__all__ = ["run_answers", "ANSWER_COLUMNS", "FAQ_COLUMNS"]

_BEST = (("True", "★ 最佳", "★ best"), ("False", "", ""))

ANSWER_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("rank", "序号", "#", "int"),
    Column("question", "常见问题", "question", wrap=True),
    Column("asks", "提问人数", "asked by", "count"),
    Column("agent_id", "客服", "agent"),
    Column("answer", "典型回答", "typical answer", wrap=True),
    Column("buyers", "收到人数", "buyers", "count"),
    Column("conversion", "询单转化率", "conversion", "rate"),
    Column("follow_up_rate", "追问率", "follow-up rate", "rate"),
    Column("median_wait_s", "响应中位(秒)", "median reply (s)", "seconds"),
    Column("best", "最佳", "best", labels=_BEST),
    Column("answers", "回答次数", "answers", "count", optional=2),
    Column("known", "结果已知", "known outcome", "count", optional=2),
    Column("paid", "成交人数", "paid", "count", optional=2),
    Column("q_key", "归组词", "grouped by", optional=True),
]
FAQ_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("rank", "序号", "#", "int"),
    Column("question", "常见问题", "question", wrap=True),
    Column("asks", "提问人数", "asked by", "count"),
    Column("answer", "最佳回答", "best answer", wrap=True),
    Column("agent_id", "客服", "agent"),
    Column("buyers", "收到人数", "buyers", "count"),
    Column("known", "结果已知", "known outcome", "count"),
    Column("conversion", "询单转化率", "conversion", "rate"),
    Column("follow_up_rate", "追问率", "follow-up rate", "rate"),
    Column("median_wait_s", "响应中位(秒)", "median reply (s)", "seconds"),
    Column("competing", "够数回答", "competing answers", "count"),
    Column("next_conversion", "次佳转化率", "runner-up conversion", "rate"),
    Column("status", "结论", "status",
           labels=(("best", "最佳", "best"), ("too_few", "样本不足", "too few"),
                   ("unknown", "结果未知", "unknown"))),
    Column("q_key", "归组词", "grouped by", optional=True),
]


def run_answers(store, *, shops=None, period, top=10, min_buyers=None, rules=None, faq=None,
                fmt="table", lang="zh", output=None, wide=False, excel=False):
    from cskit.i18n import tr
    from cskit.metrics.coverage import unknown_why
    from cskit.render import stderr_console
    from cskit.text.answer_frames import answer_frames
    from cskit.text.answers import answer_table, faq_table, load_answer_rules

    r = load_answer_rules(rules)
    if min_buyers is not None:
        r.min_buyers = int(min_buyers)
    unknown: dict = {}
    pairs, outcomes = answer_frames(store, shops=shops, period=period, rules=r, unknown=unknown)
    table = answer_table(pairs, outcomes, r, top=top, unknown_shops=list(unknown))
    con = stderr_console()
    for shop, info in unknown.items():
        con.print("note: " + tr("{why}; the conversion of its answers is left empty", lang,
                                why=unknown_why(shop, info, lang)), markup=False)
    rule = tr("a best answer needs at least {k} answers each received by at least {n} buyer-days "
              "of known outcome", lang, k=r.min_competing, n=r.min_buyers)
    con.print("note: " + rule, markup=False)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "min_buyers": r.min_buyers, "min_competing": r.min_competing,
            "min_asks": r.min_asks, "rules": r.source,
            "unknown_shops": {s: i["reason"] for s, i in unknown.items()}}
    n_q = int(table[["shop", "q_key"]].drop_duplicates().shape[0]) if len(table) else 0
    if faq is not None:
        _write_faq(faq_table(table, r), r, Path(faq), period, lang)
    title = f"话术优化 · {period.label(lang)} · 常见问题 {n_q} 个" if lang == "zh" else \
        f"Answers that sell · {period.label(lang)} · {n_q} frequent questions"
    with output_file(output, fmt) as handle:
        emit(table.assign(best=table["best"].astype(str)) if fmt in ("table", "xlsx") else table,
             ANSWER_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
             excel=excel)
    return table


def _write_faq(faq, rules, path: Path, period, lang: str) -> None:
    """``--faq FILE``: Markdown, or CSV when FILE ends in .csv."""
    from cskit.errors import UsageError
    from cskit.render import write_csv
    from cskit.text.answers import faq_markdown

    title = f"常见问题最佳回答 (FAQ 草稿) · {period.label(lang)}" if lang == "zh" else \
        f"FAQ draft: best answers · {period.label(lang)}"
    try:
        with open(path, "w", encoding="utf-8", newline="") as fh:
            if path.suffix.lower() == ".csv":
                write_csv(faq, FAQ_COLUMNS, fh)
            else:
                fh.write(faq_markdown(faq, rules, title=title, lang=lang))
    except OSError as exc:
        raise UsageError("{output}: cannot write output file ({strerror})",
                         output=path, strerror=exc.strerror) from None


@app.command("answers")
@boundary
@shared_options
def answers_cmd(
    top: Annotated[int, typer.Option("--top", min=1, metavar="N", help="The N most asked questions per shop.")] = 10,
    min_buyers: Annotated[Optional[int], typer.Option("--min-buyers", min=1, metavar="N", help="Buyer-days of known outcome an answer needs before it can be called best (default 20, from the rules).")] = None,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Grouping rules TOML replacing the packaged ones (docs/text.md).")] = None,
    faq: Annotated[Optional[Path], typer.Option("--faq", help="Also write the FAQ draft (best answer per question) to FILE: Markdown, or CSV when FILE ends in .csv.")] = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Frequent buyer questions and which agent's answer sells (话术优化): conversion, follow-up questions, reply time. 话术"""
    check_excel(excel, fmt)
    run_answers(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
                top=top, min_buyers=min_buyers, rules=rules, faq=faq, fmt=fmt.value,
                lang=lang.value, output=output, wide=wide, excel=excel)
