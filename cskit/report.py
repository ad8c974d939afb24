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

The module is split by idea; this one writes the bundle (:func:`write_report`: the CSVs,
report.xlsx, the charts, summary.json, then index.html, published atomically) and keeps
every name callers import.  The frames come from :mod:`cskit.report_data`
(:func:`collect`), the file and column names from :mod:`cskit.report_labels`, the page
from :mod:`cskit.report_html`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cskit.errors import UsageError
from cskit.i18n import tr
from cskit.render import Column, machine_value, write_csv
from cskit import report_promises, report_score
# the names callers and tests import from cskit.report (same objects)
from cskit.report_data import (ALL_PARTS, LOOKBACK_DAYS, PARTS, WINDOW_DAYS, Note,  # noqa: F401
                               ReportData, _concat, _conversion_for_shop, _conversion_module,
                               _day, _lost_reasons, _reply_for_shop, _row_values, _text_module,
                               _UNREPLIED, collect, collect_shops, headline, period_words,
                               previous_period)
from cskit.report_html import (CONTENT_CHARS, HEADLINE, TOP_N, WORST_AGENTS, _clip,  # noqa: F401
                               _CSS, _delta, _e, _fmt, _html, _label, _missing, _table)
from cskit.report_labels import EXTRA_COLUMNS, FILES, _unit, table_columns  # noqa: F401

__all__ = ["ReportData", "Note", "collect", "previous_period", "headline", "write_report",
           "ReportResult", "table_columns", "PARTS", "ALL_PARTS", "FILES"]


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
# summary.json
# ------------------------------------------------------------------------------------------
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
