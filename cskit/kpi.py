"""Orchestration of `cskit kpi`: read the store one shop at a time, compute, combine.

Metrics are per shop and independent, so peak memory is bounded by the
largest shop's messages in the requested range, not by the whole store.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from cskit import schema
from cskit.errors import NoDataError, UsageError
from cskit.store import Store

#: columns the reply metrics need (nothing else is read from disk)
MESSAGE_COLUMNS = ["shop", "buyer_id", "agent_id", "sender", "sent_at", "conversation_id",
                   "source_file", "source_row"]
#: replies to a message may come after the range ends (next morning at the latest)
REPLY_SLACK = dt.timedelta(days=2)


@dataclass
class Period:
    since: dt.date | None
    until: dt.date | None

    def label(self) -> str:
        a = self.since.isoformat() if self.since else "…"
        b = self.until.isoformat() if self.until else "…"
        return f"{a} – {b}"


def parse_date(text: str, opt: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{opt} {text!r} is not a date", hint="write dates as YYYY-MM-DD") from None


def parse_week(text: str) -> Period:
    """'2026-W47' → Monday..Sunday of that ISO week."""
    t = text.strip().upper()
    try:
        year, week = t.split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise UsageError(f"--week {text!r} is not an ISO week", hint="write weeks as 2026-W47") from None
    return Period(monday, monday + dt.timedelta(days=6))


def last_week(today: dt.date | None = None) -> Period:
    today = today or dt.date.today()
    this_monday = today - dt.timedelta(days=today.weekday())
    return Period(this_monday - dt.timedelta(days=7), this_monday - dt.timedelta(days=1))


def resolve_period(since: str | None, until: str | None, week: str | None, last: bool,
                   today: dt.date | None = None) -> Period:
    if sum(x is not None and x is not False for x in (week, last or None)) > 1 or \
            ((week or last) and (since or until)):
        raise UsageError("use either --since/--until, --week or --last-week, not several")
    if week:
        return parse_week(week)
    if last:
        return last_week(today)
    p = Period(parse_date(since, "--since") if since else None,
               parse_date(until, "--until") if until else None)
    if p.since and p.until and p.since > p.until:
        raise UsageError(f"--since {p.since} is after --until {p.until}")
    return p


def select_shops(store: Store, shops: list[str] | None) -> list[str]:
    have = store.shops(schema.MESSAGES)
    if not have:
        raise NoDataError(f"{store.root}: the store holds no chat messages",
                          hint="run `cskit ingest FILES` first (or --store DIR)")
    if not shops:
        return have
    missing = [s for s in shops if s not in have]
    if missing:
        raise NoDataError(f"shop {missing[0]!r} has no messages in {store.root}",
                          hint="shops in the store: " + ", ".join(have))
    return shops


def read_messages(store: Store, shop: str, period: Period) -> pd.DataFrame:
    return store.read(schema.MESSAGES, shops=[shop], since=period.since, until=period.until,
                      columns=MESSAGE_COLUMNS, time_slack=REPLY_SLACK)


def read_excluded(store: Store, shop: str) -> pd.DataFrame:
    return store.read(schema.EXCLUDED, shops=[shop])


def reply_report(store: Store, *, shops: list[str] | None, period: Period, rule, by: str,
                 slow_threshold_s: int = 100) -> pd.DataFrame:
    """The reply-rate KPI frame for the requested shops and period."""
    from cskit.metrics import reply_kpis

    frames = []
    for shop in select_shops(store, shops):
        msgs = read_messages(store, shop, period)
        if msgs.empty:
            continue
        frames.append(reply_kpis(msgs, rule, read_excluded(store, shop), by=by, since=period.since,
                                 until=period.until, slow_threshold_s=slow_threshold_s))
    frames = [f for f in frames if len(f)]
    if not frames:
        raise NoDataError(f"no buyer messages between {period.label()} in {store.root}",
                          hint="check --since/--until/--week and --shop; `cskit ingest` first")
    return pd.concat(frames, ignore_index=True)


def unreplied_report(store: Store, *, shops: list[str] | None, period: Period, rule) -> pd.DataFrame:
    from cskit.metrics import unreplied_list

    frames = []
    for shop in select_shops(store, shops):
        msgs = read_messages(store, shop, period)
        if msgs.empty:
            continue
        frames.append(unreplied_list(msgs, rule, read_excluded(store, shop), since=period.since,
                                     until=period.until))
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
