"""Store → the monthly 绩效考核 frames, for `cskit score` and the monthly report: the agent
rows of the month (the per-agent report with every --wide column and the targets), scored by
a scheme (:mod:`cskit.metrics.score`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["Scored", "month_period", "score_month"]


@dataclass
class Scored:
    month: str
    scheme: object  #: cskit.metrics.score.Scheme
    summary: pd.DataFrame
    breakdown: pd.DataFrame
    unknown: dict  #: shops whose conversion is unknown (cskit.metrics.coverage)


def month_period(month: str | None, today: dt.date | None = None):
    """``2026-11`` → (2026-11-01 … 2026-11-30, "2026-11"); None → the last full month."""
    from cskit.errors import UsageError
    from cskit.kpi import Period

    if month is None:
        first = (today or dt.date.today()).replace(day=1)
        last = first - dt.timedelta(days=1)
        return Period(last.replace(day=1), last), last.strftime("%Y-%m")
    try:
        first = dt.date.fromisoformat(month.strip() + "-01")
    except ValueError:
        raise UsageError("--month {text!r} is not a month", hint="write months as 2026-11",
                         text=month) from None
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return Period(first, nxt - dt.timedelta(days=1)), first.strftime("%Y-%m")


def score_month(store, *, month: str | None, rule, shops=None, scheme_path: Path | None = None,
                targets_path: Path | None = None) -> Scored:
    """Score every active agent of the month (not 未分配, robots or idle accounts)."""
    from cskit.agent_extras import agent_extras
    from cskit.kpi import Attribution, active_agent_rows, kpi_report
    from cskit.metrics import BOT_AGENT, UNASSIGNED
    from cskit.metrics.registry import KPIS
    from cskit.metrics.score import load_scheme, load_targets, score_agents, with_targets

    period, mon = month_period(month)
    targets = load_targets(targets_path) if targets_path else None
    frame, _total, unknown = kpi_report(store, shops=shops, period=period, rule=rule,
                                        attr=Attribution(), by="agent")
    frame = active_agent_rows(frame[~frame["agent_id"].isin([UNASSIGNED, BOT_AGENT])])
    frame = frame.reset_index(drop=True)
    # the --wide columns (ratings, 催付, workload, refunds, items) can be scored too
    frame = frame.merge(agent_extras(store, shops=shops, period=period),
                        on=["shop", "agent_id"], how="left")
    frame = with_targets(frame, targets, mon)
    # any registered KPI may be scored; one this store cannot give is unknown for everyone
    scheme = load_scheme(scheme_path, known=set(frame.columns) | {k.key for k in KPIS})
    summary, breakdown = score_agents(frame, scheme)
    return Scored(mon, scheme, summary, breakdown, unknown)
