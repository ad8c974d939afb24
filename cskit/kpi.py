"""Orchestration of `cskit kpi`: read the store one shop at a time, compute, combine.

Metrics are per shop and independent, so peak memory is bounded by the
largest shop's messages in the requested range, not by the whole store.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
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


# --------------------------------------------------------------------------- conversion (issue 4)


@dataclass
class Attribution:
    """Windows of the conversion metrics (docs/metrics.md, "Conversion")."""

    window_days: float = 3
    lookback_days: float = 15
    anchor: str = "order"


def _shifted(d: dt.date | None, days: float) -> dt.date | None:
    return None if d is None else d + dt.timedelta(days=days)


def read_shop(store: Store, shop: str, period: Period, attr: Attribution, *,
              content: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One shop's messages, orders and excluded buyers, wide enough for every window."""
    wide = math.ceil(max(attr.window_days, REPLY_SLACK.days))
    cols = MESSAGE_COLUMNS + (["content"] if content else [])
    msgs = store.read(schema.MESSAGES, shops=[shop], since=_shifted(period.since, -wide),
                      until=period.until, columns=cols, time_slack=dt.timedelta(days=wide))
    orders = store.read(schema.ORDERS, shops=[shop],
                        since=_shifted(period.since, -math.ceil(attr.lookback_days + attr.window_days)),
                        until=period.until, time_slack=dt.timedelta(days=wide))
    return msgs, orders, read_excluded(store, shop)


def agent_report(store: Store, *, shops: list[str] | None, period: Period, rule, attr: Attribution,
                 slow_threshold_s: int = 100) -> tuple[pd.DataFrame, dict]:
    """客服绩效: reply columns and conversion/sales columns per (shop, agent_id), plus a
    total row (the shops' own totals, not a sum of agent rows, which may double count)."""
    from cskit.metrics import reply_kpis
    from cskit.metrics.conversion import conversion_kpis

    rows, totals = [], []
    for shop in select_shops(store, shops):
        msgs, orders, excl = read_shop(store, shop, period, attr)
        if msgs.empty:
            continue
        kw = dict(since=period.since, until=period.until)
        ck = dict(window_days=attr.window_days, lookback_days=attr.lookback_days, anchor=attr.anchor)
        reply_a = reply_kpis(msgs, rule, excl, by="agent", slow_threshold_s=slow_threshold_s, **kw)
        conv_a = conversion_kpis(msgs, orders, by="agent", **kw, **ck)
        reply_s = reply_kpis(msgs, rule, excl, by="shop", slow_threshold_s=slow_threshold_s, **kw)
        conv_s = conversion_kpis(msgs, orders, by="shop", **kw, **ck)
        if reply_a.empty and conv_a.empty:
            continue
        rows.append(merge_agent_frames(reply_a, conv_a))
        totals.append(reply_s.merge(conv_s, on=["shop"], how="outer"))
    rows = [r for r in rows if len(r)]
    if not rows:
        raise NoDataError(f"no buyer messages between {period.label()} in {store.root}",
                          hint="check --since/--until/--week and --shop; `cskit ingest` first")
    return merge_agent_frames(pd.concat(rows, ignore_index=True), None), \
        total_row(pd.concat(totals, ignore_index=True))


def merge_agent_frames(reply_a: pd.DataFrame, conv_a: pd.DataFrame | None) -> pd.DataFrame:
    """Reply and conversion rows per (shop, agent_id) side by side, sorted by shop, agent."""
    from cskit.metrics import column_order

    frame = reply_a if conv_a is None or conv_a.empty else \
        reply_a.merge(conv_a, on=["shop", "agent_id"], how="outer")
    frame = frame.sort_values(["shop", "agent_id"], kind="stable").reset_index(drop=True)
    return frame[column_order(frame.columns)]


#: ratios recomputed from summed counts for a multi-shop total row
_RATIOS = {
    "reply_rate": lambda t: 1 - t["unreplied_buyers"] / t["consult_buyers"],
    "inquiry_conversion": lambda t: t["paid_buyers"] / t["inquiry_buyers"],
    "order_conversion": lambda t: t["ordered_buyers"] / t["inquiry_buyers"],
    "pay_success": lambda t: t["paid_buyers"] / t["ordered_buyers"],
    "avg_order_value": lambda t: t["sales"] / t["sales_buyers"],
    "answer_ratio": lambda t: t["agent_messages"] / t["buyer_messages"],
}


def total_row(shop_rows: pd.DataFrame) -> dict:
    """The 合计 row: one shop → its own figures; several → summed counts, ratios recomputed
    (means and percentiles of several shops are left empty rather than guessed)."""
    if len(shop_rows) == 1:
        return {k: v for k, v in shop_rows.iloc[0].items() if k != "shop"}
    from cskit.metrics import KPIS

    units = {k.key: k.unit for k in KPIS}
    out: dict = {}
    for col in shop_rows.columns:
        if units.get(col) in ("count", "yuan"):
            out[col] = shop_rows[col].sum()
    for key, fn in _RATIOS.items():
        try:
            with np.errstate(divide="ignore", invalid="ignore"):
                v = float(fn(out))
            out[key] = v if np.isfinite(v) else None
        except (KeyError, ZeroDivisionError):
            continue
    return out


def sort_frame(frame: pd.DataFrame, spec: str | None, allowed: list[str]) -> pd.DataFrame:
    """``--sort KEY`` (ascending) or ``KEY:desc``."""
    if not spec:
        return frame
    key, _, order = spec.partition(":")
    if key not in allowed:
        raise UsageError(f"--sort {key!r} is not a column of this report",
                         hint="one of " + ", ".join(allowed))
    if order not in ("", "asc", "desc"):
        raise UsageError(f"--sort order {order!r} must be asc or desc")
    return frame.sort_values(key, ascending=order != "desc", kind="stable", na_position="last") \
        .reset_index(drop=True)


def unpaid_report(store: Store, *, shops: list[str] | None, period: Period,
                  attr: Attribution) -> pd.DataFrame:
    """The 催付 list for the period, newest order first."""
    from cskit.metrics.conversion import unpaid_list

    frames = []
    for shop in select_shops(store, shops):
        msgs, orders, _ = read_shop(store, shop, period, attr, content=True)
        if msgs.empty or orders.empty:
            continue
        frames.append(unpaid_list(msgs, orders, since=period.since, until=period.until,
                                  window_days=attr.window_days, lookback_days=attr.lookback_days))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["shop", "buyer_id", "order_id", "amount", "created_at", "agent",
                                     "last_message_at", "last_message"])
    return pd.concat(frames, ignore_index=True).sort_values("created_at", ascending=False,
                                                           kind="stable").reset_index(drop=True)
