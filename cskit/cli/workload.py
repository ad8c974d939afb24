"""`cskit workload`: 工作量 and presence per agent and day (estimated from messages).
The library is :mod:`cskit.metrics.workload`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, check_excel,
                               period_of)
from cskit.i18n import tr
from cskit.render import Column, emit, stderr_console

__all__ = ["run_workload", "DAY_COLUMNS", "AGENT_COLUMNS"]

_COMMON = [Column("buyers_served", "接待人数", "buyers served", "count"),
           Column("messages_sent", "发送消息数", "messages sent", "count")]
DAY_COLUMNS = [Column("shop", "店铺", "shop"), Column("agent_id", "客服", "agent"),
               Column("date", "日期", "date", "date"), *_COMMON,
               Column("first_message_at", "首条消息", "first message", "time"),
               Column("last_message_at", "末条消息", "last message", "time"),
               Column("active_s", "活跃时长(秒)", "active (s)", "seconds"),
               Column("peak_concurrent", "峰值并发", "peak concurrent", "count")]
AGENT_COLUMNS = [Column("shop", "店铺", "shop"), Column("agent_id", "客服", "agent"),
                 Column("days_active", "出勤天数", "days active", "count"), *_COMMON,
                 Column("active_s", "活跃时长(秒)", "active (s)", "seconds"),
                 Column("peak_concurrent", "峰值并发", "peak concurrent", "count")]


def _hm(seconds) -> list[str]:
    """Seconds as h:mm for people (``67674`` → ``18:48``)."""
    return [f"{int(s) // 3600}:{int(s) % 3600 // 60:02d}" for s in seconds]


def _people_view(frame, cols):
    """For tables: times of day as HH:MM, active time as h:mm (CSV/JSON keep the raw keys)."""
    import pandas as pd

    view = frame.copy()
    out = []
    for c in cols:
        if c.key in ("first_message_at", "last_message_at"):
            view[c.key + "_hm"] = pd.to_datetime(view[c.key]).dt.strftime("%H:%M")
            out.append(Column(c.key + "_hm", c.label_zh, c.label_en, "text"))
        elif c.key == "active_s":
            view["active_hm"] = _hm(view["active_s"])
            out.append(Column("active_hm", "活跃时长(时:分)", "active (h:mm)", "text"))
        else:
            out.append(c)
    return view, out


class WorkloadBy(str, Enum):
    day = "day"
    agent = "agent"


def run_workload(store, *, shops=None, period, by: str = "day", idle_limit_s: int = 600,
                 fmt: str = "table", lang: str = "zh", output=None, wide: bool = False,
                 excel: bool = False):
    from cskit.agent_extras import workload_frame
    from cskit.metrics.workload import summarise

    days = workload_frame(store, shops=shops, period=period, idle_limit_s=idle_limit_s)
    frame, cols = (days, DAY_COLUMNS) if by == "day" else (summarise(days), AGENT_COLUMNS)
    if fmt == "table":
        stderr_console().print("note: " + tr(
            "presence is estimated from messages (gaps under {idle} s count as active), not from "
            "the platform's online-status log", lang, idle=idle_limit_s), markup=False)
    title = f"工作量 · {period.label(lang)}" if lang == "zh" else f"Workload · {period.label(lang)}"
    meta = {"idle_limit_s": idle_limit_s, "by": by,
            "since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "presence": "estimated from messages, not the platform's status log"}
    if fmt == "table":
        frame, cols = _people_view(frame, cols)
    with output_file(output, fmt) as handle:
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide, excel=excel)
    return frame


@app.command("workload")
@boundary
@shared_options
def workload_cmd(
    by: Annotated[WorkloadBy, typer.Option("--by", help="Rows per agent and day (day) or per agent over the period (agent).")] = WorkloadBy.day,
    idle: Annotated[str, typer.Option("--idle", help="A gap between an agent's messages longer than this counts as away, e.g. 10m.")] = "10m",
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """工作量: buyers served, messages sent, first/last message, active time and peak concurrent chats per agent and day (presence estimated from messages)."""
    from cskit.metrics import parse_threshold

    check_excel(excel, fmt)
    run_workload(open_store(store), shops=shop, period=period_of(since, until, week, last_week),
                 by=by.value, idle_limit_s=parse_threshold(idle), fmt=fmt.value, lang=lang.value,
                 output=output, wide=wide, excel=excel)
