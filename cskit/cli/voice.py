"""`cskit voice`: the buyers' voice (意见反馈) routed to departments.  The library is
:mod:`cskit.text.voice` (:mod:`cskit.text.voice_frames` reads the store); this module parses
options and renders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, check_excel,
                               period_of)
from cskit.render import Column, emit

__all__ = ["run_voice", "run_voice_overview", "VOICE_COLUMNS", "VOICE_LIST_COLUMNS", "resolve_department"]

VOICE_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("week", "周", "week"),
    Column("department", "部门", "department"),
    Column("buyers", "买家数", "buyers", "count"),
    Column("messages", "消息数", "messages", "count"),
    Column("buyers_prev", "上周买家数", "buyers last week", "count", optional=2),
    Column("buyers_change", "买家数环比", "change in buyers", "int"),
    Column("top_quotes", "买家原话", "buyer quotes", wrap=True),
    Column("department_id", "部门代码", "department id", optional=True),
]
VOICE_LIST_COLUMNS = [
    Column("department", "部门", "department"),
    Column("shop", "店铺", "shop"),
    Column("date", "日期", "date", "date"),
    Column("buyer_id", "买家", "buyer"),
    Column("agent_id", "接待客服", "agent"),
    Column("quote", "买家原话", "buyer quote", wrap=True),
    Column("sent_at", "原话时间", "quote sent at", "time", optional=2),
    Column("department_id", "部门代码", "department id", optional=True),
]
VOICE_FILES_COLUMNS = [
    Column("department", "部门", "department"),
    Column("rows", "条数", "rows", "count"),
    Column("file", "文件", "file"),
    Column("department_id", "部门代码", "department id", optional=True),
]


def resolve_department(rules, value: str | None) -> str | None:
    """A department given by id (``finance``), name (``财务/发票``) or a part of the name
    (``财务``, ``发票``): its id.  Unknown: a UsageError naming the choices."""
    from cskit.errors import UsageError

    if value is None:
        return None
    v = value.strip().casefold()
    for d in rules.departments:
        parts = {d.id, d.name.casefold(), d.name_en.casefold()} | \
            {p.strip().casefold() for p in d.name.split("/")}
        if v in parts:
            return d.id
    raise UsageError("--department {value!r}: no such department", value=value,
                     hint="departments: {choices}",
                     choices=", ".join(f"{d.id} ({d.name})" for d in rules.departments))


def run_voice(store, *, shops=None, period, rules=None, department=None, list_rows=False,
              out_dir: Path | None = None, top: int = 3, fmt="table", lang="zh", output=None,
              wide=False, excel=False):
    from cskit.text.voice import voice_list, weekly_summary
    from cskit.text.voice_frames import voice_frames
    from cskit.text.voice_rules import load_voice_rules

    vr = load_voice_rules(rules)
    dept = resolve_department(vr, department)
    need_agents = list_rows or out_dir is not None
    feedback, weeks = voice_frames(store, shops=shops, period=period, rules=vr,
                                   with_agents=need_agents)
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "rules": vr.source,
            "departments": [{"id": d.id, "name": d.name, "name_en": d.name_en} for d in vr.departments]}
    label = period.label(lang)
    if need_agents:
        inside = feedback[feedback["in_period"].astype(bool)]
        rows = voice_list(inside, inside["agent_id"].to_numpy(dtype=object), vr, lang=lang,
                          department=dept)
        if out_dir is not None:
            return _write_dir(rows, vr, out_dir, dept, fmt, lang, output, wide, meta, label)
        title = f"意见反馈转交清单 · {label} · {len(rows)} 条" if lang == "zh" else \
            f"Buyers' voice to forward · {label} · {len(rows)}"
        with output_file(output, fmt) as handle:
            emit(rows, VOICE_LIST_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta,
                 wide=wide, excel=excel)
        return rows
    frame = weekly_summary(feedback, weeks, vr, lang=lang, top=top)
    if dept is not None:
        frame = frame[(frame["department_id"] == dept).to_numpy(dtype=bool)].reset_index(drop=True)
    _note_unknown_change(frame, lang)
    title = f"买家意见反馈 · {label}" if lang == "zh" else f"Buyers' voice by department · {label}"
    with output_file(output, fmt) as handle:
        emit(frame, VOICE_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
             excel=excel)
    return frame


def run_voice_overview(store, *, period, lang="zh", top: int = 3):
    """Per shop and department over the whole ``period`` (the report's section; `cskit
    demo` shows it): buyers, messages, the top quotes."""
    from cskit.report_voice import VOICE_REPORT_COLUMNS, voice_summary
    from cskit.text.voice_frames import voice_frames

    feedback, weeks = voice_frames(store, period=period)
    seen = set(weeks.loc[weeks["report"].astype(bool) & weeks["has_data"].astype(bool), "shop"])
    frame = voice_summary(feedback, [s for s in dict.fromkeys(weeks["shop"]) if s in seen], top=top)
    title = f"买家意见反馈 · {period.label(lang)}" if lang == "zh" else \
        f"Buyers' voice by department · {period.label(lang)}"
    if lang == "en":
        from cskit.text.voice_rules import load_voice_rules

        frame = frame.assign(department=frame["department_id"].map(load_voice_rules().names("en")))
    cols = [c for c in VOICE_REPORT_COLUMNS if c.key != "department_id"]
    emit(frame, cols, "table", lang=lang, title=title)
    return frame


def _note_unknown_change(frame, lang: str) -> None:
    from cskit.i18n import tr
    from cskit.render import stderr_console

    if len(frame) and frame["buyers_change"].isna().any():
        weeks = sorted(set(frame.loc[frame["buyers_change"].isna(), "week"].astype(str)))
        stderr_console().print("note: " + tr(
            "week-over-week change left empty for {weeks}: the week is not whole in the period "
            "and the data, or buyers wrote nothing the week before", lang, weeks=", ".join(weeks)),
            markup=False)


def _write_dir(rows, vr, out_dir: Path, dept, fmt, lang, output, wide, meta, label):
    """One CSV per department (UTF-8 with BOM, headers in ``lang``: Excel opens it)."""
    import pandas as pd

    from cskit.errors import UsageError
    from cskit.render import write_csv
    from cskit.text.voice import safe_file_name

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError("{path}: cannot create the folder ({strerror})", path=out_dir,
                         strerror=exc.strerror) from None
    cols = [c for c in VOICE_LIST_COLUMNS if c.key != "department_id"]
    written = []
    for d in vr.departments:
        if dept is not None and d.id != dept:
            continue
        part = rows[(rows["department_id"] == d.id).to_numpy(dtype=bool)]
        name = None
        if len(part):
            name = safe_file_name(f"{d.id}_{d.name}") + ".csv"
            try:
                with open(out_dir / name, "w", encoding="utf-8", newline="") as fh:
                    write_csv(part, cols, fh, excel=True, lang=lang)
            except OSError as exc:
                raise UsageError("{path}: cannot write output file ({strerror})",
                                 path=out_dir / name, strerror=exc.strerror) from None
        written.append({"department_id": d.id, "department": d.label(lang), "rows": len(part),
                        "file": str(out_dir / name) if name else None})
    frame = pd.DataFrame(written, columns=["department_id", "department", "rows", "file"])
    title = f"意见反馈文件 · {label}" if lang == "zh" else f"Buyers' voice files · {label}"
    with output_file(output, fmt) as handle:
        emit(frame, VOICE_FILES_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta,
             wide=wide)
    return frame


@app.command("voice")
@boundary
@shared_options
def voice_cmd(
    department: Annotated[Optional[str], typer.Option("--department", "-d", help="Only this department: its id (finance) or name (财务/发票, 财务).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="The rows to forward: shop, date, buyer, agent, department, buyer quote (digits masked).")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write one CSV per department into DIR (UTF-8 with BOM for Excel) for mailing.")] = None,
    top: Annotated[int, typer.Option("--top", min=0, max=20, help="Buyer quotes per department and week in the summary.")] = 3,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="A shop's voice rules TOML (extends = \"default\" adds departments and words; docs/text.md).")] = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """The buyers' voice (意见反馈): buyer messages routed to the departments that must act. 意见反馈"""
    check_excel(excel, fmt)
    run_voice(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
              rules=rules, department=department, list_rows=list_, out_dir=out, top=top,
              fmt=fmt.value, lang=lang.value, output=output, wide=wide, excel=excel)
