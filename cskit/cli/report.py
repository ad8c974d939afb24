"""`cskit chart` and `cskit report`: charts and the weekly bundle for cron.

Both commands print only the path(s) they wrote on stdout and warnings on stderr; no
colour and no progress bars, so cron mails stay clean.  Exit codes are the documented
ones (0 ok, 2 usage, 5 no data in range, …).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, import_paused, open_store, state
from cskit.cli.options import shared_options
from cskit.cli.options import (EngineOpt, EngineOption, Lang, RuleOpt, RuleOption,
                               SchedulerOpt, SlowOpt, WorkersOpt,
                               ThresholdOpt)
from cskit.errors import NoDataError, UsageError
from cskit.memory import reuse_freed_memory

__all__ = ["run_chart", "run_report", "ChartKind"]


class ChartKind(str, Enum):
    reply_rate = "reply-rate"
    load = "load"
    agents = "agents"
    lost = "lost"


class ChartBy(str, Enum):
    day = "day"
    agent = "agent"


#: PNG (reports, chat apps) and SVG (text as outlines).  PDF is left out: matplotlib embeds
#: the OpenType-CFF CJK fonts in a way some PDF viewers reject.
CHART_FORMATS = (".png", ".svg")
#: what collect() computes for each chart
_CHART_PARTS = {"reply-rate": {"day"}, "load": {"annotate"}, "agents": {"agent", "conversion"},
                "lost": {"lost"}}

ChartLangOpt = Annotated[Optional[Lang], typer.Option(
    "--lang", help="Chart labels and messages: zh (中文, default) or en; else $CSKIT_LANG.", show_default=False)]


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


def run_chart(store, kind: str, *, shops=None, period, rule, by: str = "day", lang: str = "zh",
              output: Path | None = None, slow_threshold_s: int = 100) -> Path:
    """Draw one chart from the store and save it; the path written."""
    from cskit import charts
    from cskit.report import collect

    output = Path(output) if output is not None else Path(f"{kind}.png")
    if output.suffix.lower() not in CHART_FORMATS:
        raise UsageError("--output {output}: unsupported image type",
                         hint="end the file name in {formats}", output=output, formats=", ".join(CHART_FORMATS))
    if by == "agent" and kind != "reply-rate":
        raise UsageError("--by agent applies to the reply-rate chart, not {kind}",
                         hint="the agents chart is already per agent", kind=kind)
    font = charts.find_cjk_font()  # fail early (before reading the store) on a bad CSKIT_FONT
    parts = set(_CHART_PARTS[kind]) | ({"agent_daily"} if by == "agent" else set())
    data = collect(store, shops=shops, period=period, rule=rule, parts=parts,
                   slow_threshold_s=slow_threshold_s, strict=state["debug"])
    for n in data.notes:
        if n.warning:
            _warn(n.text)
        elif kind in ("lost", "agents"):
            print(f"note: {n.text}", file=sys.stderr)
    if kind == "reply-rate":
        fig = charts.reply_rate(data.by_day, data.agent_daily if by == "agent" else None,
                                rule=rule, lang=lang, font=font)
    elif kind == "load":
        fig = charts.load(data.annotated, rule=rule, lang=lang, font=font)
    elif kind == "agents":
        fig = charts.agents(data.agents_frame(), rule=rule, lang=lang, font=font)
    else:
        detail = next((n.text for n in data.notes if n.section in ("lost", "conversion")), None)
        fig = charts.lost(data.lost_reasons_total, lang=lang, font=font,
                          detail=detail if lang == "zh" else None)
    try:
        return charts.save(fig, output)
    except OSError as exc:
        raise UsageError("{output}: cannot write ({strerror})", output=output, strerror=exc.strerror) from None


@app.command("chart")
@boundary
@shared_options
def chart_cmd(
    kind: Annotated[ChartKind, typer.Argument(help="reply-rate (回复率趋势), load (咨询量/超时 热力图), "
                                                   "agents (客服对比), lost (询单流失原因).")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Image file (.png or .svg); default KIND.png.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD (inclusive).")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Last day, YYYY-MM-DD (inclusive).")] = None,
    by: Annotated[ChartBy, typer.Option("--by", help="reply-rate: add a panel per agent (客服) with --by agent.")] = ChartBy.day,
    rule: RuleOption = RuleOpt.pdd5,
    threshold: ThresholdOpt = None,
    slow_threshold: SlowOpt = "100s",
    lang: ChartLangOpt = None,
    store=None, shop=None, week=None, last_week=False,
) -> None:
    """Draw a chart (PNG) from the store. 图表 — needs a CJK font: pip install 'cskit[fonts]'."""
    from cskit.kpi import resolve_period
    from cskit.metrics import get_rule, parse_threshold

    period = resolve_period(since, until, week, last_week)
    r = get_rule(rule.value, threshold=threshold)
    reuse_freed_memory()
    path = run_chart(open_store(store), kind.value, shops=shop, period=period, rule=r, by=by.value,
                     lang=lang.value, output=output, slow_threshold_s=parse_threshold(slow_threshold))
    print(path)


def run_report(store, out: Path, *, shops=None, period, rule, excel: bool = False,
               top_n: int = 20, slow_threshold_s: int = 100, charts: bool = True,
               month: str | None = None, scheme=None, targets=None, engine=None):
    """Collect this period and the one before, write the bundle; the ReportResult."""
    from cskit.report import ALL_PARTS, collect, previous_period, write_report

    out = Path(out)
    if out.exists() and not out.is_dir():  # fail before the work, not after
        raise UsageError("--out {out}: exists and is not a directory", out=out)
    strict = state["debug"]
    data = collect(store, shops=shops, period=period, rule=rule, parts=ALL_PARTS,
                   slow_threshold_s=slow_threshold_s, strict=strict, engine=engine)
    if month is not None:  # the monthly report: the 绩效考核 section
        from cskit.report_score import collect_score

        collect_score(store, data, month=month, scheme_path=scheme, targets_path=targets,
                      strict=strict)
    from cskit.report_answers import add_answers
    add_answers(store, data, strict)  # 话术优化 (docs/answers.md)
    previous = None
    prev_period = previous_period(period)
    if prev_period is not None:
        try:
            previous = collect(store, shops=data.shops, period=prev_period, rule=rule,
                               parts={"shop", "conversion_shop"}, slow_threshold_s=slow_threshold_s,
                               strict=strict, engine=engine)
        except NoDataError:
            previous = None  # first week in the store: the comparison column says "—"
    title = None
    if month is not None:
        title = f"客服月报 {month} " + "、".join(data.shops)
    result = write_report(data, out, previous=previous, excel=excel, top_n=top_n, charts=charts,
                          title=title)
    for n in result.notes:
        if n.warning:
            _warn(n.text)
    return result


@app.command("report")
@boundary
@shared_options
def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="Directory to write (created). 输出目录")],
    excel: Annotated[bool, typer.Option("--excel", help="For Excel: report.xlsx (a sheet per table) and CSVs with UTF-8 BOM, Chinese headers, formulas escaped.")] = False,
    rule: RuleOption = RuleOpt.pdd5,
    threshold: ThresholdOpt = None,
    slow_threshold: SlowOpt = "100s",
    top: Annotated[int, typer.Option("--top", min=1, help="Rows of the unreplied / unpaid lists shown in index.html.")] = 20,
    no_charts: Annotated[bool, typer.Option("--no-charts", help="Skip the PNG charts.")] = False,
    month: Annotated[Optional[str], typer.Option("--month", help="A monthly report, e.g. 2026-11: the calendar month, compared with the month before, with the 绩效考核 section (docs/score.md).")] = None,
    scheme: Annotated[Optional[Path], typer.Option("--scheme", help="With --month: the scoring scheme (TOML); default the sample scheme.")] = None,
    targets: Annotated[Optional[Path], typer.Option("--targets", help="With --month: sales targets per agent and month (CSV).")] = None,
    engine: EngineOption = EngineOpt.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    week=None, last_week=False, store=None, shop=None,
) -> None:
    """Weekly report for cron: every KPI table as CSV, charts, index.html. 客服周报

    Without --week, the report covers last week (Monday–Sunday).  Prints the
    path of index.html (docs/report.md has a crontab line).  Exit codes: 0 ok,
    2 bad option, 5 no data in the week, 6 store problem.
    """
    import_paused("cskit.kpi", "cskit.report")
    from cskit.kpi import resolve_period
    from cskit.metrics import get_rule, parse_threshold

    if month is not None:
        if week or last_week:
            raise UsageError("use either --month or --week/--last-week, not both")
        from cskit.scoring import month_period

        period, month = month_period(month)
    else:
        if scheme is not None or targets is not None:
            raise UsageError("--scheme and --targets go with --month (the monthly report)")
        period = resolve_period(None, None, week, last_week or not week)
    r = get_rule(rule.value, threshold=threshold)
    from cskit.engine import open_engine

    reuse_freed_memory()
    with open_engine(engine, scheduler, workers, quiet=not state["debug"]) as eng:
        result = run_report(open_store(store), out, shops=shop, period=period, rule=r,
                            excel=excel, top_n=top, slow_threshold_s=parse_threshold(slow_threshold),
                            charts=not no_charts, month=month, scheme=scheme, targets=targets,
                            engine=eng)
    print(result.index)
