"""`cskit promises`: the 日清 list of agent promises and their status.  The library is
:mod:`cskit.text.promises` (:mod:`cskit.text.promise_frames` reads the store); this module
parses options and renders."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from cskit.cli.app import app, boundary, open_store, output_file
from cskit.cli.options import shared_options
from cskit.cli.options import (Fmt, check_excel,
                               period_of)
from cskit.render import emit
from cskit.text.promises_view import (PROMISE_AGENT_COLUMNS, STATUS_LABELS,
                                      promise_list_columns)

__all__ = ["run_promises", "promise_list_columns", "PROMISE_AGENT_COLUMNS", "STATUS_LABELS"]

class StatusOpt(str, Enum):
    open = "open"
    broken = "broken"
    kept = "kept"
    unknown = "unknown"


class PromisesBy(str, Enum):
    agent = "agent"


def _period(day, since, until, week, last_week):
    from cskit.errors import UsageError
    from cskit.kpi import Period, parse_date

    if day is None:
        return period_of(since, until, week, last_week)
    if since or until or week or last_week:
        raise UsageError("--day names the period: give it without --since/--until/--week/--last-week")
    d = parse_date(day, "--day")
    return Period(d, d)


def run_promises(store, *, shops=None, period, status=None, by=None, rules=None, fmt="table",
                 lang="zh", output=None, wide=False, excel=False, all_tiers=False):
    from cskit.text.promise_frames import promise_frame
    from cskit.text.promises import TIERS, by_agent, load_promise_rules

    r = load_promise_rules(rules)
    frame = promise_frame(store, shops=shops, period=period, rules=r, all_tiers=all_tiers)
    counts = {s: int((frame["status"] == s).sum()) for s, _, _ in STATUS_LABELS}
    meta = {"since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
            "rules": r.source, "tiers": list(TIERS) if all_tiers else ["confident"],
            "promises": int(len(frame)), **counts}
    if all_tiers:
        meta["weak"] = int((frame["tier"] == "weak").sum())
    with output_file(output, fmt) as handle:
        if counts.get("broken"):
            _note_review(lang)
        if all_tiers:
            _note_weak(lang)
        if by == "agent":
            g = by_agent(frame)
            title = f"日清 · 客服承诺兑现 · {period.label(lang)}" if lang == "zh" else \
                f"Promises kept per agent · {period.label(lang)}"
            emit(g, PROMISE_AGENT_COLUMNS, fmt, out=handle, lang=lang, title=title, meta=meta,
                 wide=wide, excel=excel)
            return g
        if status:
            frame = frame[frame["status"] == status].reset_index(drop=True)
        title = f"日清 · 客服承诺 · {period.label(lang)} · {len(frame)} 条" if lang == "zh" else \
            f"Agent promises (daily check) · {period.label(lang)} · {len(frame)}"
        emit(frame, promise_list_columns(r, all_tiers), fmt, out=handle, lang=lang, title=title, meta=meta,
             wide=wide, excel=excel)
        return frame


def _note_review(lang: str) -> None:
    """The stderr note under every result with a broken promise: a detected promise is a
    lead, not a verdict (measured precision on never-tuned real chats: docs/promises.md)."""
    from cskit.i18n import tr
    from cskit.render import print_line

    print_line("note: " + tr("a detected promise is a lead, not a verdict: on real chats the "
                             "rules were never tuned on, about one listed promise in eight was "
                             "not one (docs/promises.md); read the quote before counting a broken "
                             "promise against an agent", lang))


def _note_weak(lang: str) -> None:
    """The stderr note under ``--all``: the weak tier is often no promise."""
    from cskit.i18n import tr
    from cskit.render import print_line

    print_line("note: " + tr("--all lists the weak promise forms too (tier 待确认 / to confirm): on "
                             "real chats a quarter to two thirds of them, depending on the set, "
                             "were not promises; they are not counted in the agent report or the "
                             "weekly report", lang))


@app.command("promises")
@boundary
@shared_options
def promises_cmd(
    day: Annotated[Optional[str], typer.Option("--day", help="One day, YYYY-MM-DD (the evening check).")] = None,
    status: Annotated[Optional[StatusOpt], typer.Option("--status", help="Only promises that are open (deadline not reached), broken (deadline passed, no follow-up), kept, or unknown (only order data could show it, and it cannot).")] = None,
    by: Annotated[Optional[PromisesBy], typer.Option("--by", help="agent: per-agent counts (承诺数, 已兑现, 超期未兑现, 未到期, 无法判断) instead of the list.")] = None,
    rules: Annotated[Optional[Path], typer.Option("--rules", help="Promise rules TOML replacing the packaged ones (docs/promises.md).")] = None,
    all_tiers: Annotated[bool, typer.Option("--all", help="Also the weak promise forms (a step taken for the buyer, shipping once stock is in, …), marked 待确认 / to confirm in a column tier; by default only confident promises are listed and counted.")] = False,
    store=None, shop=None, since=None, until=None, week=None, last_week=False,
    wide=False, fmt=Fmt.table, lang=None, output=None, excel=False,
) -> None:
    """Promises agents made to buyers and whether they were kept (日清: 稍后回复, 明天发出, 补发, 退款 …). 日清"""
    check_excel(excel, fmt)
    if status is not None and by is not None:
        from cskit.errors import UsageError
        raise UsageError("--status filters the list; --by agent counts every status: give one of them")
    run_promises(open_store(store), shops=shop, period=_period(day, since, until, week, last_week),
                 status=status.value if status else None, by=by.value if by else None,
                 rules=rules, fmt=fmt.value, lang=lang.value, output=output, wide=wide,
                 excel=excel, all_tiers=all_tiers)
