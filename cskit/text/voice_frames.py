"""Reading the store for `cskit voice` (:mod:`cskit.text.voice`): per shop, the buyer
messages of the period and of the week before it (the week-over-week change), classified.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cskit import schema
from cskit.text.voice import classify, serving_agents, week_label
from cskit.text.voice_rules import VoiceRules, load_voice_rules

__all__ = ["voice_frames", "read_voice_messages"]

_COLUMNS = ["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"]


def _lead_in(period) -> dt.date | None:
    """First day read: the Monday of the week before the period's first week."""
    if period.since is None:
        return None
    return period.since - dt.timedelta(days=period.since.weekday() + 7)


def read_voice_messages(store, shop: str, period, agents: bool = True) -> pd.DataFrame:
    """The shop's messages from the lead-in week to the period's end (``agents``: with
    agent_id, which only the forward list needs)."""
    cols = _COLUMNS if agents else [c for c in _COLUMNS if c != "agent_id"]
    return store.read(schema.MESSAGES, shops=[shop], since=_lead_in(period), until=period.until,
                      columns=cols)


def voice_frames(store, *, shops=None, period, rules: VoiceRules | str | None = None,
                 with_agents: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(feedback, weeks).  ``feedback``: :func:`cskit.text.voice.classify` rows of every
    shop — those of the period and of the week before it — plus ``in_period`` and, with
    ``with_agents``, ``agent_id`` (the agent who served the buyer that day; None when no
    agent wrote).  ``weeks``: shop, week, ``has_data`` (buyers wrote anything that week),
    ``report`` (the week has days in the period), ``comparable`` (the week lies whole
    inside the period and the shop's data), one row per shop and week read."""
    from cskit.kpi import select_shops
    from cskit.text.frames import _no_messages

    vr = load_voice_rules(rules)
    feedback, weeks, seen = [], [], 0
    for shop in select_shops(store, shops):
        msgs = read_voice_messages(store, shop, period, agents=with_agents)
        if msgs.empty:
            continue
        t = pd.to_datetime(msgs["sent_at"], errors="coerce")
        day = t.dt.normalize()
        inside = day.notna().to_numpy(dtype=bool).copy()
        if period.since is not None:
            inside &= (day >= pd.Timestamp(period.since)).to_numpy(dtype=bool, na_value=False)
        if period.until is not None:
            inside &= (day <= pd.Timestamp(period.until)).to_numpy(dtype=bool, na_value=False)
        seen += int(inside.sum())
        buyer = (msgs["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)
        weeks.append(_weeks(shop, day[buyer].dropna(), period))
        fb = classify(msgs, vr)
        if fb.empty:
            continue
        fday = pd.to_datetime(fb["date"])
        fb["in_period"] = inside[fb["row"].to_numpy(dtype=np.int64)]
        # the lead-in week's rows are kept for the change; later rows (slack) never come
        keep = fb["in_period"].to_numpy() | (fday < pd.Timestamp(period.since)).to_numpy() \
            if period.since is not None else fb["in_period"].to_numpy()
        fb = fb[keep].reset_index(drop=True)
        if with_agents:
            fb["agent_id"] = serving_agents(msgs, fb)
        feedback.append(fb.drop(columns="row"))
    if seen == 0:
        raise _no_messages(store, period)
    fb = pd.concat(feedback, ignore_index=True) if feedback else None
    if fb is None:
        from cskit.text.voice import _empty_feedback

        fb = _empty_feedback().drop(columns="row").assign(in_period=pd.Series([], dtype=bool))
        if with_agents:
            fb["agent_id"] = pd.Series([], dtype=object)
    wk = pd.concat(weeks, ignore_index=True) if weeks else \
        pd.DataFrame(columns=["shop", "week", "has_data", "report", "comparable"])
    return fb, wk


def _weeks(shop: str, days: pd.Series, period) -> pd.DataFrame:
    """The shop's weeks from the lead-in week to the period's end: whether buyers wrote,
    whether the week is in the period and whether it is whole (inside the period and not
    after the shop's last day of buyer messages)."""
    cols = ["shop", "week", "has_data", "report", "comparable"]
    if days.empty:
        return pd.DataFrame(columns=cols)
    first, last = days.min().date(), days.max().date()
    lo = period.since if period.since is not None else first
    hi = period.until if period.until is not None else last
    start = _lead_in(period) or (first - dt.timedelta(days=first.weekday()))
    mondays = pd.date_range(start - dt.timedelta(days=start.weekday()), hi, freq="7D")
    have = set(week_label(days.drop_duplicates().to_numpy()))
    rows = []
    for m in mondays:
        mon, sun = m.date(), m.date() + dt.timedelta(days=6)
        label = week_label(np.array([m.to_datetime64()]))[0]
        rows.append((shop, label, label in have, sun >= lo and mon <= hi,
                     mon >= lo and sun <= min(hi, last)))
    return pd.DataFrame(rows, columns=cols)
