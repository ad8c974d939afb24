"""The options every command shares, defined once (sqlite-utils' habit): store, shop,
period, output format, language, reply rule and the attribution window."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


class Lang(str, Enum):
    zh = "zh"
    en = "en"


class RuleOpt(str, Enum):
    pdd5 = "pdd5"
    pdd3 = "pdd3"
    taobao = "taobao"
    jd = "jd"
    douyin = "douyin"


class AnchorOpt(str, Enum):
    order = "order"
    pay = "pay"


class EngineOpt(str, Enum):
    local = "local"
    dask = "dask"


EngineOption = Annotated[EngineOpt, typer.Option(
    "--engine", help="Where the per-shop sums are computed: local (this process) or dask (a Dask "
                     "cluster: --scheduler or --workers; pip install 'cskit[dask]'). 计算引擎")]
SchedulerOpt = Annotated[Optional[str], typer.Option(
    "--scheduler", help="With --engine dask: address of a running Dask scheduler, e.g. "
                        "tcp://host:8786 (workers must reach the --store path or URL).",
    show_default=False)]
WorkersOpt = Annotated[Optional[int], typer.Option(
    "--workers", min=1, help="With --engine dask: start a local cluster of N worker processes.",
    show_default=False)]
StoreOpt = Annotated[Optional[Path], typer.Option(
    "--store", help="Store directory (default: $CSKIT_STORE or ./cskit-store), or for reading an "
                    "fsspec URL such as s3://bucket/store. 数据仓库目录", show_default=False)]
FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="Output format: table (people), csv / json (cron), xlsx (Excel workbook, needs -o FILE).")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to FILE instead of stdout.")]
LangOpt = Annotated[Optional[Lang], typer.Option(
    "--lang", help="Language of headers, titles, notes and errors: zh (default) or en; else `cskit --lang`, "
                   "then $CSKIT_LANG. CSV/JSON keys never change.", show_default=False)]
ShopOpt = Annotated[Optional[list[str]], typer.Option("--shop", help="Only this shop (repeatable). 店铺")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD (inclusive).")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Last day, YYYY-MM-DD (inclusive).")]
WeekOpt = Annotated[Optional[str], typer.Option("--week", help="An ISO week such as 2026-W47.")]
LastWeekOpt = Annotated[bool, typer.Option("--last-week", help="Monday–Sunday of last week.")]
RuleOption = Annotated[RuleOpt, typer.Option("--rule", help="Reply-rate rule preset (docs/metrics.md).")]
ThresholdOpt = Annotated[Optional[str], typer.Option(
    "--threshold", help="Reply deadline, e.g. 5m, 3m, 30s (overrides the preset).")]
SlowOpt = Annotated[str, typer.Option("--slow-threshold", help="Wait above which a buyer counts as slow-served (慢响应).")]
WindowDaysOpt = Annotated[float, typer.Option("--window-days", min=0, help="Attribution window after an inquiry, in days (询单→下单).")]
LookbackOpt = Annotated[float, typer.Option("--lookback-days", min=0, help="An order this many days before the chat makes it after-sale (售后), not an inquiry.")]
WideOpt = Annotated[bool, typer.Option(
    "--wide", help="Tables show every column, however wide (CSV/JSON always carry every column); "
                   "`kpi --by agent --wide` also adds the 日清, 催付, 工作量, 评价, 退款 and 客件数 columns.")]
ExcelOpt = Annotated[bool, typer.Option(
    "--excel", help="With -f csv: a CSV for Excel (UTF-8 BOM, headers in the --lang language, cells "
                    "that Excel would run as formulas (=, +, -, @) escaped with '). Use it for files "
                    "people open.")]
AnchorOption = Annotated[AnchorOpt, typer.Option("--anchor", help="Credit an order by its creation (order) or payment (pay) time.")]


def check_excel(excel: bool, fmt) -> None:
    """``--excel`` shapes CSV; with a table or JSON it would do nothing, so it is refused
    (an xlsx workbook is Excel-safe by construction: accepted, nothing to do)."""
    from cskit.errors import UsageError

    fmt = getattr(fmt, "value", fmt)
    if excel and fmt not in ("csv", "xlsx"):
        raise UsageError("--excel applies to -f csv (now -f {fmt})", fmt=fmt)


def period_of(since, until, week, last_week):
    """The period the period options name (``cskit.kpi.resolve_period``)."""
    from cskit.kpi import resolve_period

    return resolve_period(since, until, week, last_week)


#: the options most commands share: name → (annotated type, default).  A command declares
#: them by name only (``store=None, shop=None, …``); :func:`shared_options` gives them their
#: type, help and default, defined once here.
SHARED_OPTIONS = {
    "store": (StoreOpt, None), "shop": (ShopOpt, None), "since": (SinceOpt, None),
    "until": (UntilOpt, None), "week": (WeekOpt, None), "last_week": (LastWeekOpt, False),
    "wide": (WideOpt, False), "fmt": (FormatOpt, Fmt.table), "lang": (LangOpt, None),
    "output": (OutputOpt, None), "excel": (ExcelOpt, False),
}


def shared_options(fn):
    """Give the unannotated parameters of ``fn`` named in :data:`SHARED_OPTIONS` their shared
    option (type, help, default), so each command lists only its own options in full (a
    parameter with its own annotation, such as ingest's one-shop ``--shop``, keeps it).  Typer reads
    the signature this sets; the function is called with the same keyword arguments."""
    import functools
    import inspect

    sig = inspect.signature(fn, eval_str=True)
    params = []
    for p in sig.parameters.values():
        if p.name in SHARED_OPTIONS and p.annotation is inspect.Parameter.empty:
            annotation, default = SHARED_OPTIONS[p.name]
            p = p.replace(annotation=annotation, default=default)
        params.append(p)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params
                               if p.annotation is not inspect.Parameter.empty}
    return wrapper
