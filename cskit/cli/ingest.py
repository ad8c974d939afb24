"""`cskit ingest`: exports into the store."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import Fmt, check_excel
from cskit.errors import ExitCode
from cskit.i18n import RejectedRows, tr
from cskit.render import Column, emit, stderr_console

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
    ratings = "ratings"


class PlatformOpt(str, Enum):
    auto = "auto"
    pdd = "pdd"
    taobao = "taobao"
    jd = "jd"
    douyin = "douyin"
    generic = "generic"


def run_ingest(paths, store, *, kind=None, platform=None, shop=None, mapping=None, encoding=None,
               max_bad=0.05, fmt="table", lang="zh", output=None, quiet=False, strict=False,
               excel=False, timezone=None):
    from cskit.ingest import ingest
    from cskit.progress import file_progress

    with file_progress(tr("reading")) as tick:
        report = ingest(paths, store, kind=kind, platform=platform, shop=shop, mapping=mapping,
                        encoding=encoding, max_bad=max_bad, progress=tick, strict=strict,
                        timezone=timezone)
    if quiet:
        _print_rejected(report)
        return report
    table = report.by_shop()
    tot = report.totals()
    with output_file(output, fmt) as out:
        emit(table, INGEST_COLUMNS, fmt, out=out, lang=lang, title="导入汇总" if lang == "zh" else "Ingest summary",  # noqa: E501
             total_row={"kind": "合计" if lang == "zh" else "total", "files": len(report.files), **tot},
             meta={"store": str(store.root), "totals": tot, "skipped": report.skipped,
                   "rejected": [{"path": r.path, "reason": r.error.message_en,
                                 "exit_code": int(r.error.exit_code)} for r in report.rejected]},
             wide_option=False, excel=excel)
    err = stderr_console()
    for f in report.files:
        if f.rejected:
            more = tr(" (+{n} more)", n=f.rejected - 10) if f.rejected > 10 else ""
            err.print("warning: " + tr("{path}: {n} row(s) rejected — {rows}{more}", path=f.path, n=f.rejected,
                                       rows=RejectedRows(f.rejects[:10]), more=more), markup=False)
    for f in report.files:
        for note in f.notes:
            err.print("note: " + str(note), markup=False)
    for s in report.skipped:
        err.print("note: " + tr("skipped {path} (not an export file type)", path=s), markup=False)
    _print_rejected(report)
    return report


def _print_rejected(report) -> None:
    """One line per rejected file or unreadable folder on stderr (``rejected: …``)."""
    err = stderr_console()
    for r in report.rejected:
        err.print("rejected: " + r.error.localized(), markup=False, highlight=False)
    if report.rejected:
        err.print("rejected: " + tr("{n} file(s) or folder(s) not ingested, {ok} file(s) stored; "
                                    "fix them and run the same ingest again (nothing is stored twice)",
                                    n=len(report.rejected), ok=len(report.files)),
                  markup=False, highlight=False)


@app.command("ingest")
@boundary
@shared_options
def ingest_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Export files or directories (recursed). 导出文件或目录")],
    kind: Annotated[KindOpt, typer.Option("--kind", help="What the files hold (auto-detected by default).")] = KindOpt.auto,
    platform: Annotated[PlatformOpt, typer.Option("--platform", help="Platform of the export (auto-detected).")] = PlatformOpt.auto,
    shop: Annotated[Optional[str], typer.Option("--shop", help="Shop name for files that do not name one. 店铺名")] = None,
    mapping: Annotated[Optional[Path], typer.Option("--mapping", help="TOML file naming the columns of an unusual export.")] = None,
    encoding: Annotated[Optional[str], typer.Option("--encoding", help="Force an encoding (default: utf-8, then gb18030).")] = None,
    max_bad_rows: Annotated[float, typer.Option("--max-bad-rows", min=0.0, max=1.0, help="Reject a whole file when more than this share of its rows cannot be parsed.")] = 0.05,
    timezone: Annotated[Optional[str], typer.Option("--timezone", help="The shops' local time zone (IANA name; default Asia/Shanghai): zoned and epoch times are converted to it. 店铺所在时区")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="All or nothing: one bad file stores nothing at all (default: each file on its own, bad ones listed, exit code 7).")] = False,
    store=None, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Read chat logs, order exports, excluded-buyer lists and service ratings into the store (idempotent). 导入数据

    Each file is stored on its own; files that cannot be read are listed on stderr
    (``rejected: …``) and the command exits with 7 when there are any."""
    check_excel(excel, fmt)
    k = {"chats": "messages", "orders": "orders", "excluded": "excluded",
         "ratings": "ratings"}.get(kind.value)
    from cskit.readers.mapping import check_encoding

    check_encoding(encoding)  # an unknown name is a usage error (exit 2), before any reading
    report = run_ingest(paths, open_store(store, write=True), kind=k, platform=platform.value, shop=shop,
                        mapping=mapping, encoding=encoding, max_bad=max_bad_rows, fmt=fmt.value,
                        lang=lang.value, output=output, strict=strict, excel=excel,
                        timezone=timezone)
    if report.rejected:
        raise typer.Exit(int(ExitCode.PARTIAL))


