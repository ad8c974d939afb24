"""The weekly report's 话术优化 section (`cskit answers`, docs/answers.md): ``answers.csv``
(question × agent), ``faq.md`` (the FAQ draft) and a short table in index.html of the
questions where a best answer is claimed.  Hooked into :mod:`cskit.report` by three calls:
:func:`add_answers` after collecting, :func:`write_answer_files` while writing the bundle,
:func:`answers_html` in the page."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["add_answers", "write_answer_files", "answers_html"]


#: questions per shop in the report
TOP = 5


def add_answers(store, data, strict: bool = False) -> None:
    """Compute the section into ``data.answers`` / ``data.faq`` (a note when it fails)."""
    from cskit.i18n import tr
    from cskit.report import Note
    from cskit.text.answer_frames import answer_frames
    from cskit.text.answers import answer_table, faq_table, load_answer_rules

    try:
        rules = load_answer_rules()
        unknown: dict = {}
        pairs, outcomes = answer_frames(store, shops=data.shops, period=data.period, rules=rules,
                                        unknown=unknown)
        data.answers = answer_table(pairs, outcomes, rules, top=TOP, unknown_shops=list(unknown))
        data.faq = faq_table(data.answers, rules)
        data.answer_rules = rules
    except Exception as exc:  # noqa: BLE001 - an optional section; strict (--debug) raises
        if strict:
            raise
        data.notes.append(Note("answers", tr("answer analysis failed ({error})",
                                             error=type(exc).__name__), warning=True))


def write_answer_files(data, out: Path, write, excel: bool = False, sheets=None) -> list[str]:
    """answers.csv (the columns of `cskit answers -f csv`) and faq.md; the names written.
    With ``excel`` the table also goes to ``sheets`` (report.xlsx)."""
    from cskit.cli.answers import ANSWER_COLUMNS
    from cskit.render import write_csv
    from cskit.text.answers import faq_markdown

    if getattr(data, "answers", None) is None:
        return []
    write(out / "answers.csv", lambda fh: write_csv(data.answers, ANSWER_COLUMNS, fh, excel=excel,
                                                    lang="zh"))
    if excel and sheets is not None:
        from cskit.xlsx import Sheet

        sheets.append(Sheet("话术优化", data.answers.assign(best=data.answers["best"].astype(str)),
                            ANSWER_COLUMNS))
    title = f"常见问题最佳回答 (FAQ 草稿) · {data.period.label('zh')}"
    text = faq_markdown(data.faq, data.answer_rules, title=title, lang="zh")
    write(out / "faq.md", lambda fh: fh.write(text))
    return ["answers.csv", "faq.md"]


def answers_html(data, table, esc) -> list[str]:
    """The index.html section: the claimed best answers, or why there are none."""
    faq = getattr(data, "faq", None)
    if faq is None:
        return []
    rules = data.answer_rules
    out = ["<h2>话术优化 (常见问题最佳回答)</h2>",
           f"<p>每个店铺提问最多的 {TOP} 个售前问题; 只有当至少 {rules.min_competing} 种回答"
           f"各有至少 {rules.min_buyers} 个结果已知的买家日时才评出最佳 (收到后付款的比例最高). "
           '全部客服的回答见 <a href="answers.csv">answers.csv</a>, FAQ 草稿见 '
           '<a href="faq.md">faq.md</a>.</p>']
    best = faq[faq["status"] == "best"]
    if best.empty:
        out.append('<p class="nodata">本期没有样本足够的问题可评最佳回答</p>')
        return out
    from cskit.render import Column

    cols = [Column("shop", "店铺", "shop"), Column("question", "常见问题", "question"),
            Column("answer", "最佳回答", "best answer"), Column("agent_id", "客服", "agent"),
            Column("known", "结果已知", "known", "count"),
            Column("conversion", "询单转化率", "conversion", "rate"),
            Column("next_conversion", "次佳转化率", "runner-up", "rate"),
            Column("follow_up_rate", "追问率", "follow-up rate", "rate")]
    out.append(table(pd.DataFrame(best)[[c.key for c in cols]], cols))
    return out
