"""The thin Typer CLI: parse options, call the library, hand results to render.

The one error boundary lives in :func:`_boundary`: a :class:`CskitError` prints
one ``Error: …`` line on stderr and exits with its documented code; any other
exception prints a one-line internal error (traceback only with ``--debug``).
Local variables are never shown: they hold customers' chats.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit import __version__
from cskit.errors import CskitError, ExitCode
from cskit.memory import reuse_freed_memory
from cskit.render import Column, emit, machine_value, stderr_console

app = typer.Typer(
    name="cskit",
    help="cskit — 电商客服数据工具. Ingest chat and order exports (拼多多/淘宝千牛/京东/抖店) "
         "into a Parquet store and compute customer-service KPIs (5分钟回复率, 响应时长, 询单转化).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

_state = {"debug": False}


class Fmt(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


class Lang(str, Enum):
    zh = "zh"
    en = "en"


StoreOpt = Annotated[Optional[Path], typer.Option(
    "--store", help="Store directory (default: $CSKIT_STORE or ./cskit-store). 数据仓库目录", show_default=False)]
FormatOpt = Annotated[Fmt, typer.Option("--format", "-f", help="Output format: table (people), csv / json (cron).")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to FILE instead of stdout.")]
LangOpt = Annotated[Lang, typer.Option("--lang", help="Table header language (zh/en). CSV/JSON keys never change.")]
ShopOpt = Annotated[Optional[list[str]], typer.Option("--shop", help="Only this shop (repeatable). 店铺")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="First day, YYYY-MM-DD (inclusive).")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Last day, YYYY-MM-DD (inclusive).")]
WeekOpt = Annotated[Optional[str], typer.Option("--week", help="An ISO week such as 2026-W47.")]
LastWeekOpt = Annotated[bool, typer.Option("--last-week", help="Monday–Sunday of last week.")]


def _boundary(fn):
    """The single error boundary of every command."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except CskitError as exc:
            if _state["debug"]:
                raise
            _error(str(exc))
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _error("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - a bug: say so, without locals
            if _state["debug"]:
                raise
            _error(f"internal error ({type(exc).__name__}); rerun with --debug for the traceback "
                   "and report it")
            raise typer.Exit(int(ExitCode.INTERNAL)) from None

    return wrapper


def _error(msg: str) -> None:
    print(f"Error: {msg}", file=sys.stderr)


def _version(value: bool) -> None:
    if value:
        print(f"cskit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    _state["debug"] = debug or bool(os.environ.get("CSKIT_DEBUG"))


@contextlib.contextmanager
def _output_file(output: Path | None):
    """``-o FILE`` opened for writing (closed afterwards), or None for stdout."""
    if output is None:
        yield None
        return
    try:
        fh = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        from cskit.errors import UsageError

        raise UsageError(f"{output}: cannot write output file ({exc.strerror})") from None
    with fh:
        yield fh


def _store(path: Path | None):
    from cskit.store import Store

    return Store(path)


# --------------------------------------------------------------------------- ingest

INGEST_COLUMNS = [
    Column("kind", "类型", "kind"),
    Column("shop", "店铺", "shop"),
    Column("files", "文件数", "files", "count"),
    Column("rows_read", "读取行数", "rows read", "count"),
    Column("rows_added", "新增行数", "rows added", "count"),
    Column("duplicates", "重复跳过", "duplicates skipped", "count"),
    Column("updated", "更新", "updated", "count"),
    Column("rejected", "拒绝行数", "rows rejected", "count"),
    Column("first", "最早时间", "first", "time"),
    Column("last", "最晚时间", "last", "time"),
]


class KindOpt(str, Enum):
    auto = "auto"
    chats = "chats"
    orders = "orders"
    excluded = "excluded"


class PlatformOpt(str, Enum):
    auto = "auto"
    pdd = "pdd"
    taobao = "taobao"
    jd = "jd"
    douyin = "douyin"
    generic = "generic"


def run_ingest(paths, store, *, kind=None, platform=None, shop=None, mapping=None, encoding=None,
               max_bad=0.05, fmt="table", lang="zh", output=None, quiet=False):
    from cskit.ingest import ingest
    from cskit.progress import file_progress

    with file_progress("读取 reading") as tick:
        report = ingest(paths, store, kind=kind, platform=platform, shop=shop, mapping=mapping,
                        encoding=encoding, max_bad=max_bad, progress=tick)
    if quiet:
        return report
    table = report.by_shop()
    tot = report.totals()
    with _output_file(output) as out:
        emit(table, INGEST_COLUMNS, fmt, out=out, lang=lang, title="导入汇总 ingest summary",
             total_row={"kind": "合计" if lang == "zh" else "total", "files": len(report.files), **tot},
             meta={"store": str(store.root), "totals": tot, "skipped": report.skipped})
    err = stderr_console()
    for f in report.files:
        if f.rejected:
            shown = "; ".join(f"row {r}: {why}" for r, why in f.rejects[:10])
            more = f" (+{f.rejected - 10} more)" if f.rejected > 10 else ""
            err.print(f"warning: {f.path}: {f.rejected} row(s) rejected — {shown}{more}", markup=False)
    for s in report.skipped:
        err.print(f"note: skipped {s} (not an export file type)", markup=False)
    return report


@app.command("ingest")
@_boundary
def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Export files or directories (recursed). 导出文件或目录")],
    kind: Annotated[KindOpt, typer.Option("--kind", help="What the files hold (auto-detected by default).")] = KindOpt.auto,
    platform: Annotated[PlatformOpt, typer.Option("--platform", help="Platform of the export (auto-detected).")] = PlatformOpt.auto,
    shop: Annotated[Optional[str], typer.Option("--shop", help="Shop name for files that do not name one. 店铺名")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML file naming the columns of an unusual export.")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Force an encoding (default: utf-8, then gb18030).")] = None,
    max_bad_rows: Annotated[float, typer.Option("--max-bad-rows", min=0.0, max=1.0, help="Reject a whole file when more than this share of its rows cannot be parsed.")] = 0.05,
    store: StoreOpt = None,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = Lang.zh,
    output: OutputOpt = None,
) -> None:
    """Read chat logs, order exports and excluded-buyer lists into the store (idempotent). 导入数据"""
    k = {"chats": "messages", "orders": "orders", "excluded": "excluded"}.get(kind.value)
    run_ingest(paths, _store(store), kind=k, platform=platform.value, shop=shop, mapping=mapping,
               encoding=encoding, max_bad=max_bad_rows, fmt=fmt.value, lang=lang.value, output=output)


# --------------------------------------------------------------------------- kpi


class ByOpt(str, Enum):
    day = "day"
    week = "week"
    shop = "shop"
    agent = "agent"
    hour = "hour"


class RuleOpt(str, Enum):
    pdd5 = "pdd5"
    pdd3 = "pdd3"
    taobao = "taobao"
    jd = "jd"
    douyin = "douyin"


class ListOpt(str, Enum):
    unreplied = "unreplied"


GROUP_UNITS = {"date": "date", "hour": "int"}

UNREPLIED_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("buyer_id", "买家", "buyer"),
    Column("sent_at", "发送时间", "sent at", "time"),
    Column("wait_s", "等待(秒)", "wait (s)", "seconds"),
    Column("reply_at", "回复时间", "reply at", "time"),
    Column("agent", "客服", "agent"),
]


#: what a table shows without --wide (CSV/JSON always carry every column)
TABLE_KEYS = ["consult_buyers", "unreplied_buyers", "rounds", "rounds_on_time", "sessions",
              "sessions_on_time", "messages", "messages_on_time", "reply_rate",
              "first_response_s_mean", "response_s_mean", "response_s_p90", "answer_ratio",
              "answered_30s_rate", "slow_buyers", "buyer_messages", "late_messages",
              "unanswered_messages", "inquiry_buyers", "paid_buyers", "inquiry_conversion",
              "sales", "avg_order_value"]


def table_keys(keys: list[str]) -> list[str]:
    from cskit.metrics import GROUP_KEYS

    return [k for k in keys if k in GROUP_KEYS or k in TABLE_KEYS]


def _tidy_agent_rows(frame):
    """For people: drop rows with nothing to show (robot accounts), and write agents
    without their shop prefix (the shop column says it)."""
    import numpy as np

    activity = [c for c in ("consult_buyers", "buyer_messages", "inquiry_buyers", "sales")
                if c in frame.columns]
    busy = frame[activity].fillna(0).ne(0).any(axis=1)
    frame = frame.loc[busy].copy()
    prefix = frame["shop"].astype(str) + ":"
    agent = frame["agent_id"].astype(str)
    starts = np.array([a.startswith(p) for a, p in zip(agent, prefix)], dtype=bool)  # agents: few rows
    frame["agent_id"] = np.where(starts, [a[len(p):] for a, p in zip(agent, prefix)], agent)
    return frame


def kpi_columns(keys: list[str], rule) -> list[Column]:
    from cskit.metrics import GROUP_KEYS, kpi

    cols = []
    for k in keys:
        if k in GROUP_KEYS:
            g = GROUP_KEYS[k]
            cols.append(Column(k, g.label_zh, g.label_en, GROUP_UNITS.get(k, "text")))
        elif k == "reply_rate":
            cols.append(Column(k, rule.label_zh, rule.label_en, "rate"))
        else:
            m = kpi(k)
            cols.append(Column(k, m.label_zh, m.label_en, m.unit))
    return cols


def run_kpi(store, *, shops=None, period, rule, by="day", fmt="table", lang="zh", output=None,
            slow_threshold_s=100, list_kind=None, out=None, attr=None, sort=None, wide=False):
    from cskit.kpi import Attribution, agent_report, reply_report, sort_frame, unreplied_report
    from cskit.metrics import column_order, output_columns

    attr = attr or Attribution()
    with contextlib.nullcontext(out) if out is not None else _output_file(output) as handle:
        meta = {"rule": rule.name, "threshold_s": rule.threshold_s, "window": rule.window_label,
                "since": period.since.isoformat() if period.since else None,
                "until": period.until.isoformat() if period.until else None}
        if list_kind == "unreplied":
            frame = unreplied_report(store, shops=shops, period=period, rule=rule)
            title = f"未及时回复 ({rule.label_zh}, {period.label()})" if lang == "zh" else \
                f"Late or unanswered ({rule.label_en}, {period.label()})"
            emit(frame, UNREPLIED_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta)
            return frame
        total = None
        if by == "agent":
            frame, total = agent_report(store, shops=shops, period=period, rule=rule, attr=attr,
                                        slow_threshold_s=slow_threshold_s)
            keys = column_order(frame.columns)
            meta |= {"window_days": attr.window_days, "lookback_days": attr.lookback_days,
                     "anchor": attr.anchor,
                     "total": {k: machine_value(v, "count") for k, v in total.items()}}
            total = {**total, "agent_id": "合计" if lang == "zh" else "total"}
            name_zh, name_en = "客服绩效", "Agent report"
        else:
            frame = reply_report(store, shops=shops, period=period, rule=rule, by=by,
                                 slow_threshold_s=slow_threshold_s)
            keys = output_columns(rule, by)
            name_zh, name_en = rule.label_zh, rule.label_en
        frame = sort_frame(frame, sort, keys)
        if fmt == "table" and not wide:
            keys = table_keys(keys)
            if by == "agent":
                frame = _tidy_agent_rows(frame)
        cols = kpi_columns(keys, rule)
        if by == "agent" and meta["total"].get("pending"):
            stderr_console().print(
                f"note: 延迟统计 — some inquiries are less than {attr.window_days:g} days old; their "
                "conversion can still rise (pending)", markup=False)
        title = f"{name_zh} · {period.label()} · 回复窗口 {rule.window_label}" if lang == "zh" else \
            f"{name_en} · {period.label()} · reply window {rule.window_label}"
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta,
             total_row=total if fmt == "table" else None)
        return frame


class AnchorOpt(str, Enum):
    order = "order"
    pay = "pay"


WindowDaysOpt = Annotated[float, typer.Option("--window-days", min=0, help="Attribution window after an inquiry, in days (询单→下单).")]
LookbackOpt = Annotated[float, typer.Option("--lookback-days", min=0, help="An order this many days before the chat makes it after-sale (售后), not an inquiry.")]
AnchorOption = Annotated[AnchorOpt, typer.Option("--anchor", help="Credit an order by its creation (order) or payment (pay) time.")]


@app.command("kpi")
@_boundary
def kpi_cmd(
    store: StoreOpt = None,
    shop: ShopOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    week: WeekOpt = None,
    last_week: LastWeekOpt = False,
    by: Annotated[ByOpt, typer.Option("--by", help="Rows per day, week, shop, agent (客服) or hour.")] = ByOpt.day,
    rule: Annotated[RuleOpt, typer.Option("--rule", help="Reply-rate rule preset (docs/metrics.md).")] = RuleOpt.pdd5,
    threshold: Annotated[Optional[str], typer.Option("--threshold", help="Reply deadline, e.g. 5m, 3m, 30s (overrides the preset).")] = None,
    window: Annotated[Optional[str], typer.Option("--window", help="Buyer-message window, e.g. 08:00-23:00.")] = None,
    count_bot_replies: Annotated[Optional[bool], typer.Option("--count-bot-replies/--no-count-bot-replies", help="Count robot messages as replies.", show_default=False)] = None,
    slow_threshold: Annotated[str, typer.Option("--slow-threshold", help="Wait above which a buyer counts as slow-served (慢响应).")] = "100s",
    list_: Annotated[Optional[ListOpt], typer.Option("--list", help="Print a list instead: unreplied = who waited, when, how long.")] = None,
    window_days: WindowDaysOpt = 3,
    lookback_days: LookbackOpt = 15,
    anchor: AnchorOption = AnchorOpt.order,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort rows by a column key, e.g. reply_rate or sales:desc.")] = None,
    wide: Annotated[bool, typer.Option("--wide", help="Tables show every column (CSV/JSON always do).")] = False,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = Lang.zh,
    output: OutputOpt = None,
) -> None:
    """Reply rate (5分钟回复率), response times, 答问比; with --by agent also 询单转化 and sales. 客服指标"""
    from cskit.kpi import Attribution, resolve_period
    from cskit.metrics import get_rule, parse_threshold

    period = resolve_period(since, until, week, last_week)
    r = get_rule(rule.value, threshold=threshold, window=window, count_bot_replies=count_bot_replies)
    reuse_freed_memory()
    run_kpi(_store(store), shops=shop, period=period, rule=r, by=by.value, fmt=fmt.value,
            lang=lang.value, output=output, slow_threshold_s=parse_threshold(slow_threshold),
            list_kind=list_.value if list_ else None,
            attr=Attribution(window_days, lookback_days, anchor.value), sort=sort, wide=wide)


UNPAID_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("buyer_id", "买家", "buyer"),
    Column("order_id", "订单号", "order"),
    Column("amount", "金额", "amount", "yuan"),
    Column("created_at", "下单时间", "created at", "time"),
    Column("agent", "客服", "agent"),
    Column("last_message_at", "最后消息时间", "last message at", "time"),
    Column("last_message", "最后消息", "last message"),
]


@app.command("unpaid")
@_boundary
def unpaid_cmd(
    store: StoreOpt = None,
    shop: ShopOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    week: WeekOpt = None,
    last_week: LastWeekOpt = False,
    window_days: WindowDaysOpt = 3,
    lookback_days: LookbackOpt = 15,
    fmt: FormatOpt = Fmt.table,
    lang: LangOpt = Lang.zh,
    output: OutputOpt = None,
) -> None:
    """催付 list: inquiring buyers with an unpaid order, newest first."""
    from cskit.kpi import Attribution, resolve_period, unpaid_report

    period = resolve_period(since, until, week, last_week)
    reuse_freed_memory()
    frame = unpaid_report(_store(store), shops=shop, period=period,
                          attr=Attribution(window_days, lookback_days))
    with _output_file(output) as handle:
        title = f"催付名单 · {period.label()} · {len(frame)} 单" if lang == "zh" else \
            f"Unpaid orders · {period.label()} · {len(frame)}"
        emit(frame, UNPAID_COLUMNS, fmt, out=handle, lang=lang, title=title)


# --------------------------------------------------------------------------- demo


def _demo_data(data: Path | None, tmp: Path) -> Path:
    if data is not None:
        return data
    bundled = Path.cwd() / "sample_data"
    if (bundled / "MANIFEST.json").is_file():
        return bundled
    from cskit import sample

    out = tmp / "sample_data"
    sample.write_sample(out, sample.generate())
    return out


@app.command("demo")
@_boundary
def demo_cmd(
    data: Annotated[Optional[Path], typer.Option("--data", help="Export directory to use (default: ./sample_data, else freshly generated samples).")] = None,
    keep: Annotated[Optional[Path], typer.Option("--keep", help="Keep the demo store in this directory instead of a temporary one.")] = None,
    lang: LangOpt = Lang.zh,
) -> None:
    """Ingest the bundled sample exports into a temporary store and print the main report. 演示"""
    import tempfile

    from cskit.kpi import Period
    from cskit.metrics import get_rule

    with tempfile.TemporaryDirectory(prefix="cskit-demo-") as tmp:
        src = _demo_data(data, Path(tmp))
        store = _store(keep or Path(tmp) / "store")
        err = stderr_console()
        err.print(f"cskit demo: ingesting {src} into {store.root}", markup=False)
        run_ingest([src], store, lang=lang.value)
        rule = get_rule("pdd5")
        reuse_freed_memory()
        print()
        run_kpi(store, period=Period(None, None), rule=rule, by="shop", lang=lang.value)
        print()
        run_kpi(store, period=Period(None, None), rule=rule, by="agent", lang=lang.value)


def main() -> None:
    """Console-script entry point."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `cskit kpi | head` stays quiet
    app()
from cskit import cli_report  # noqa: E402,F401  (registers `chart` and `report`)
from cskit import cli_text  # noqa: E402,F401  (registers `lost` and `qc`)
