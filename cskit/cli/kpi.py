"""`cskit kpi` (reply rate, response times, the per-agent report) and `cskit unpaid` (催付)."""

from __future__ import annotations

import contextlib
from enum import Enum
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, import_paused, open_store, output_file, state
from cskit.cli.options import shared_options
from cskit.cli.options import (AnchorOpt, AnchorOption, Fmt, LookbackOpt, RuleOpt, RuleOption, SlowOpt,
                               ThresholdOpt, WindowDaysOpt)
from cskit.cli.options import EngineOpt, EngineOption, SchedulerOpt, WorkersOpt, check_excel
from cskit.memory import reuse_freed_memory
from cskit.i18n import tr
from cskit.render import Column, emit, machine_value, print_line, stderr_console


class ByOpt(str, Enum):
    day = "day"
    week = "week"
    shop = "shop"
    agent = "agent"
    hour = "hour"


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


#: what a table shows without --wide (CSV/JSON always carry every column).  Response times
#: are medians and P90s: one overnight wait must not dominate what a person reads (the means
#: stay in CSV/JSON); the capped mean only where the rule defines it (:func:`table_keys`)
TABLE_KEYS = ["consult_buyers", "unreplied_buyers", "unreplied_closing_buyers", "rounds",
              "rounds_on_time", "sessions", "sessions_on_time", "messages", "messages_on_time",
              "reply_rate",
              "first_response_s_median", "first_response_s_p90", "response_s_p90",
              "answer_ratio",
              "answered_30s_rate", "slow_buyers", "buyer_messages", "late_messages",
              "unanswered_messages", "inquiry_buyers", "paid_buyers", "inquiry_conversion",
              "sales", "avg_order_value"]


def table_keys(keys: list[str], rule=None) -> list[str]:
    """The ``keys`` a table shows without --wide; with ``rule``, also the capped mean if the
    rule defines one (Taobao 人工平响时长)."""
    from cskit.metrics import GROUP_KEYS

    shown = set(TABLE_KEYS)
    if getattr(rule, "capped_mean", False):
        shown.add("response_s_capped_mean")
    return [k for k in keys if k in GROUP_KEYS or k in shown]


#: the --by groupings that carry the conversion columns (hour: reply only)
CONVERSION_BYS = ("agent", "day", "week", "shop")


def unknown_meta(unknown: dict, lang: str = "zh") -> dict:
    """JSON meta: per shop whose conversion is unknown, the reason code and its note."""
    from cskit.metrics.coverage import unknown_note

    return {shop: {"reason": i["reason"], "orders_until": i.get("last"),
                   "note": unknown_note(shop, i, lang)} for shop, i in unknown.items()}


def _note_unknown(unknown: dict, lang: str, *, total_shops: bool) -> None:
    """One stderr line per shop whose conversion is unknown (and one about the total)."""
    from cskit.metrics.coverage import unknown_note

    if not unknown:
        return
    for shop, info in unknown.items():
        print_line("note: " + unknown_note(shop, info, lang))
    if total_shops:
        names = "、".join(unknown) if lang == "zh" else ", ".join(unknown)
        print_line("note: " + tr("the total's conversion and sales cover only shops whose orders "
                                 "can be matched (not {names})", lang, names=names))


#: what a narrow table leaves out first (rank 2, right to left), then next (rank 1), so that
#: consult/unreplied counts, the rate, the median first response, conversion and sales stay
#: in view at 80 columns
DETAIL_RANKS = {"response_s_p90": 2, "answer_ratio": 2, "answered_30s_rate": 2, "slow_buyers": 2,
                "buyer_messages": 2, "late_messages": 2, "unanswered_messages": 2,
                "unreplied_closing_buyers": 1, "first_response_s_p90": 1, "inquiry_buyers": 1,
                "paid_buyers": 1, "avg_order_value": 1,
                "dunned_orders": 2, "dunned_paid": 2, "dun_recovered_amount": 1,
                "dun_success_rate": 1, "buyers_served": 2, "messages_sent": 2, "active_s": 2,
                "peak_concurrent": 2, "broken_promises": 2}


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
            cols.append(Column(k, m.label_zh, m.label_en, m.unit, optional=DETAIL_RANKS.get(k, 0)))
    return cols


def run_kpi(store, *, shops=None, period, rule, by="day", fmt="table", lang="zh", output=None,
            slow_threshold_s=100, list_kind=None, out=None, attr=None, sort=None, wide=False,
            excel=False, engine=None):
    from cskit.kpi import Attribution, kpi_report, reply_report, sort_frame, unreplied_report
    from cskit.metrics import column_order, output_columns

    attr = attr or Attribution()
    with contextlib.nullcontext(out) if out is not None else output_file(output, fmt) as handle:
        meta = {"rule": rule.name, "threshold_s": rule.threshold_s, "window": rule.window_label,
                "since": period.since.isoformat() if period.since else None,
                "until": period.until.isoformat() if period.until else None}
        if list_kind == "unreplied":
            frame = unreplied_report(store, shops=shops, period=period, rule=rule, engine=engine)
            title = f"未及时回复 ({rule.label_zh}, {period.label(lang)})" if lang == "zh" else \
                f"Late or unanswered ({rule.label_en}, {period.label(lang)})"
            emit(frame, UNREPLIED_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta, wide=wide,
                 excel=excel)
            return frame
        total, unknown = None, {}
        if by in CONVERSION_BYS:  # reply and conversion columns side by side
            frame, total, unknown = kpi_report(store, shops=shops, period=period, rule=rule,
                                               attr=attr, by=by, slow_threshold_s=slow_threshold_s,
                                               engine=engine)
            keys = column_order(frame.columns)
            meta |= {"window_days": attr.window_days, "lookback_days": attr.lookback_days,
                     "anchor": attr.anchor, "conversion_unknown": unknown_meta(unknown, lang)}
            if by == "agent" and wide:
                # the columns that need passes of their own (日清 promises, 催付, workload,
                # ratings, refunds and items): with --wide, so the everyday report stays fast
                from cskit.agent_extras import agent_extras
                from cskit.text.promise_frames import with_broken_promises

                frame, total = with_broken_promises(store, frame, total, shops=shops, period=period)
                frame = frame.merge(agent_extras(store, shops=shops, period=period),
                                    on=["shop", "agent_id"], how="left")
                keys = column_order(frame.columns)
            if by == "agent":
                meta["total"] = {k: machine_value(v, "count") for k, v in total.items()}
                total = {**total, "agent_id": "合计" if lang == "zh" else "total"}
                name_zh, name_en = "客服绩效", "Agent report"
            else:
                meta["pending"] = machine_value(total.get("pending"), "count") is True or \
                    bool(machine_value(total.get("pending"), "count"))
                total = None
                name_zh, name_en = rule.label_zh, rule.label_en
        else:
            frame = reply_report(store, shops=shops, period=period, rule=rule, by=by,
                                 slow_threshold_s=slow_threshold_s, engine=engine)
            keys = output_columns(rule, by)
            name_zh, name_en = rule.label_zh, rule.label_en
        frame = sort_frame(frame, sort, keys)
        if fmt == "table" and not wide:
            keys = table_keys(keys, rule)
            if by == "agent":
                # for people: rows with nothing to show (robot accounts) drop out; agents
                # are named within their shop by the renderer (cskit.naming.agent_names)
                from cskit.kpi import active_agent_rows

                frame = active_agent_rows(frame)
        cols = kpi_columns(keys, rule)
        _note_unknown(unknown, lang, total_shops=by == "agent" and frame["shop"].nunique() > 1)
        if by in CONVERSION_BYS and (meta.get("total") or meta).get("pending"):
            print_line(
                "note: " + tr("some inquiries are less than {days:g} days old; their conversion can "
                              "still rise (pending)", days=attr.window_days))
        title = f"{name_zh} · {period.label(lang)} · 回复窗口 {rule.window_label}" if lang == "zh" else \
            f"{name_en} · {period.label(lang)} · reply window {rule.window_label}"
        emit(frame, cols, fmt, out=handle, lang=lang, title=title, meta=meta,
             total_row=total if fmt == "table" else None, wide=wide, excel=excel)
        return frame


@app.command("kpi")
@boundary
@shared_options
def kpi_cmd(
    by: Annotated[ByOpt, typer.Option("--by", help="Rows per day, week, shop, agent (客服) or hour.")] = ByOpt.day,
    rule: RuleOption = RuleOpt.pdd5,
    threshold: ThresholdOpt = None,
    window: Annotated[Optional[str], typer.Option("--window", help="Buyer-message window, e.g. 08:00-23:00.")] = None,
    count_bot_replies: Annotated[Optional[bool], typer.Option("--count-bot-replies/--no-count-bot-replies", help="Count robot messages as replies.", show_default=False)] = None,
    slow_threshold: SlowOpt = "100s",
    list_: Annotated[Optional[ListOpt], typer.Option("--list", help="Print a list instead: unreplied = who waited, when, how long.")] = None,
    window_days: WindowDaysOpt = 3,
    lookback_days: LookbackOpt = 15,
    anchor: AnchorOption = AnchorOpt.order,
    sort: Annotated[Optional[str], typer.Option("--sort", help="Sort rows by a column key, e.g. reply_rate or sales:desc.")] = None,
    engine: EngineOption = EngineOpt.local,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Reply rate (5分钟回复率), response times, 答问比; with --by agent, day, week or shop also 询单转化 and sales. 客服指标"""
    import_paused("cskit.kpi")
    from cskit.kpi import Attribution, resolve_period
    from cskit.metrics import get_rule, parse_threshold

    check_excel(excel, fmt)
    period = resolve_period(since, until, week, last_week)
    r = get_rule(rule.value, threshold=threshold, window=window, count_bot_replies=count_bot_replies)
    from cskit.engine import open_engine

    reuse_freed_memory()
    with open_engine(engine, scheduler, workers, quiet=not state["debug"]) as eng:
        run_kpi(open_store(store), shops=shop, period=period, rule=r, by=by.value, fmt=fmt.value,
                lang=lang.value, output=output, slow_threshold_s=parse_threshold(slow_threshold),
                list_kind=list_.value if list_ else None,
                attr=Attribution(window_days, lookback_days, anchor.value), sort=sort, wide=wide,
                excel=excel, engine=eng)


UNPAID_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("buyer_id", "买家", "buyer"),
    Column("order_id", "订单号", "order"),
    Column("amount", "金额", "amount", "yuan"),
    Column("created_at", "下单时间", "created at", "time"),
    Column("agent", "客服", "agent"),
    Column("last_message_at", "最后消息时间", "last message at", "time"),
    Column("last_message", "最后消息", "last message", wrap=True),
    Column("dunned_at", "催付时间", "reminded at", "time", optional=1),
    Column("dunned_by", "催付客服", "reminded by", optional=1),
]

DUNNING_COLUMNS = [
    Column("shop", "店铺", "shop"),
    Column("agent_id", "客服", "agent"),
    Column("dunned_orders", "催付订单数", "orders reminded", "count"),
    Column("dunned_paid", "催付成功数", "paid after reminder", "count"),
    Column("dun_success_rate", "催付成功率", "success rate", "rate"),
    Column("dun_recovered_amount", "催付挽回金额", "amount recovered", "yuan"),
]


class UnpaidBy(str, Enum):
    agent = "agent"


@app.command("unpaid")
@boundary
@shared_options
def unpaid_cmd(
    window_days: WindowDaysOpt = 3,
    lookback_days: LookbackOpt = 15,
    by: Annotated[Optional[UnpaidBy], typer.Option("--by", help="agent: 催付成功率 per agent (reminded orders, paid after the reminder, amount recovered) instead of the list.")] = None,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """催付 list: inquiring buyers with an unpaid order, newest first; --by agent: 催付成功率 per agent."""
    import_paused("cskit.kpi")
    from cskit.agent_extras import dunning_frames
    from cskit.kpi import Attribution, resolve_period, unpaid_report

    check_excel(excel, fmt)
    period = resolve_period(since, until, week, last_week)
    reuse_freed_memory()
    st = open_store(store)
    dunned, per_agent = dunning_frames(st, shops=shop, period=period)
    if by is not None:
        if per_agent.empty:
            stderr_console().print("note: " + tr(
                "no payment reminders found: no agent wrote to a buyer after an order's creation "
                "and before its payment (within 24 h)", lang), markup=False)
        with output_file(output, fmt) as handle:
            title = f"催付成功率 · {period.label(lang)}" if lang == "zh" else \
                f"Payment reminders · {period.label(lang)}"
            emit(per_agent, DUNNING_COLUMNS, fmt, out=handle, lang=lang, title=title, wide=wide,
                 excel=excel)
        return
    frame = unpaid_report(st, shops=shop, period=period,
                          attr=Attribution(window_days, lookback_days))
    frame = frame.merge(dunned[["shop", "order_id", "dunned_at", "dunned_by"]]
                        .astype({"order_id": object}), on=["shop", "order_id"], how="left")
    with output_file(output, fmt) as handle:
        title = f"催付名单 · {period.label(lang)} · {len(frame)} 单" if lang == "zh" else \
            f"Unpaid orders · {period.label(lang)} · {len(frame)}"
        emit(frame, UNPAID_COLUMNS, fmt, out=handle, lang=lang, title=title, wide=wide, excel=excel)


