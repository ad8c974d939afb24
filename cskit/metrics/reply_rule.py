"""The reply rule, per buyer message: its reply, wait, attributed agent and verdict.

Holds what counts as a reply (the next human agent message to the same buyer after it in
the log's order, or a robot message with ``count_bot_replies``, within the reply horizon
of :mod:`cskit.metrics.horizon`), the wait, late (threshold, midnight cutoff), the rule's
window, excluded buyers, robot-only buyer-days (pdd3), the agent a message is attributed
to (the replier, else the last human agent within the lead-in, else 未分配), the units of
a rule (message / round / session) and the annotation frame of :func:`annotate
<cskit.metrics.reply.annotate>`.  The rules and presets themselves are data in
:mod:`cskit.metrics.rules`; docs/metrics.md states them in words.

It does not build the sorted log (:mod:`cskit.metrics.reply_log`) nor sum anything per
group (:mod:`cskit.metrics.reply_sums`).  Vectorised: binary searches over the log's
reply rows, no Python loop over messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit.metrics.common import runs as _runs
from cskit.metrics.common import ts as _ts
from cskit.metrics.horizon import within_horizon, within_lead
from cskit.metrics.reply_log import _AGENT, _BOT, _BUYER, _factorize, _joined, _Log
from cskit.metrics.rules import PRESETS, RuleConfig, get_rule

#: threshold of answered_30s_rate (seconds, inclusive)
FAST_ANSWER_S = 30


def _resolve_rule(rule) -> RuleConfig:
    if rule is None:
        return PRESETS["pdd5"]
    if isinstance(rule, RuleConfig):
        return rule
    if isinstance(rule, str):
        return get_rule(rule)
    raise TypeError(f"rule must be a RuleConfig or a preset name, not {type(rule).__name__}")


def _next_at(reply_at: np.ndarray, gid: np.ndarray, rows: np.ndarray,
             g: np.ndarray) -> np.ndarray:
    """For each of the (sorted) log positions ``rows`` (``g``: their groups), the position of
    the first reply row at or after it in the same group, -1 if none; ``reply_at``: the
    reply rows' positions, sorted.  One binary search per row."""
    if len(reply_at) == 0:
        return np.full(len(rows), -1, dtype=np.int64)
    i = np.searchsorted(reply_at, rows, side="left")
    nxt = reply_at[np.minimum(i, len(reply_at) - 1)]
    ok = (i < len(reply_at)) & (gid[nxt] == g)
    return np.where(ok, nxt, -1)


def _around(reply_at: np.ndarray, gid: np.ndarray, rows: np.ndarray,
            g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_next_at`, and the position of the last reply row before each row in the same
    group (-1 if none), from one binary search: ``rows`` are no reply rows (buyer messages)."""
    if len(reply_at) == 0:
        none = np.full(len(rows), -1, dtype=np.int64)
        return none, none.copy()
    i = np.searchsorted(reply_at, rows, side="left")
    nxt = reply_at[np.minimum(i, len(reply_at) - 1)]
    ok = (i < len(reply_at)) & (gid[nxt] == g)
    prv = reply_at[np.maximum(i - 1, 0)]
    ok_p = (i > 0) & (gid[prv] == g)
    return np.where(ok, nxt, -1), np.where(ok_p, prv, -1)


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] where at >= 0, else default (scalar or array)."""
    if len(at) == 0:
        return np.zeros(0, dtype=values.dtype)
    return np.where(at >= 0, values[np.where(at >= 0, at, 0)], default)


def _bounded(at: np.ndarray, log_day: np.ndarray, day: np.ndarray, ok) -> np.ndarray:
    """Positions ``at`` (-1: none) kept where ``ok(log_day[at], day)``, else -1."""
    has = at >= 0
    keep = has.copy()
    keep[has] = ok(log_day[at[has]], day[has])
    return np.where(keep, at, -1)


def _in_window(sod: np.ndarray, rule: RuleConfig) -> np.ndarray:
    s, e = rule.window_start_s, rule.window_end_s
    if s < e:
        return (sod >= s) & (sod < e)
    return (sod >= s) | (sod < e)  # overnight window


@dataclass
class _Ann:
    """Arrays over buyer messages, in log order."""

    rows: np.ndarray  # positions in the log
    gid: np.ndarray
    t: np.ndarray
    day: np.ndarray
    hour: np.ndarray
    in_window: np.ndarray
    excl: np.ndarray
    fallback: np.ndarray  # agent who last sent the buyer a human message before it (code)
    prev: np.ndarray  # position of that message in the log (-1: none in the log)
    counted: np.ndarray  # counts for the rule's headline (window, not excluded, not robot-only)
    win: np.ndarray  # window and not excluded (base of the other measures)
    # the rule's reply (human, or human+robot with count_bot_replies)
    r_pos: np.ndarray
    r_wait: np.ndarray
    r_agent: np.ndarray  # attributed agent code
    late: np.ndarray
    # the human reply (all "other measures")
    h_pos: np.ndarray
    h_wait: np.ndarray
    h_agent: np.ndarray
    h_later_day: np.ndarray  # human reply on a later calendar day
    closing: np.ndarray | None = None  # a closing remark (None: unknown)


def _annotate_core(log: _Log, rule: RuleConfig) -> _Ann:
    """The rule's verdict per buyer message."""
    is_h = log.sender == _AGENT
    rows = np.flatnonzero(log.sender == _BUYER)
    g, t, day, sod = log.gid[rows], log.t[rows], log.day[rows], log.sod[rows]
    h_at = np.flatnonzero(is_h)
    h_next, h_prev = _around(h_at, log.gid, rows, g)
    r_next = _next_at(np.flatnonzero(is_h | (log.sender == _BOT)), log.gid, rows, g) \
        if rule.count_bot_replies else h_next
    # a reply lies within the horizon, the last agent within the lead-in (metrics/horizon.py)
    h_pos = _bounded(h_next, log.day, day, within_horizon)
    r_pos = h_pos if r_next is h_next else _bounded(r_next, log.day, day, within_horizon)

    # unanswered: the agent who last sent a human message to this buyer before it
    prev = _bounded(h_prev, log.day, day, within_lead)
    fallback = _take(log.agent, prev, log.unassigned)
    h_agent = _take(log.agent, h_pos, fallback)
    h_wait = np.where(h_pos >= 0, _take(log.t, h_pos, 0) - t, np.nan)
    h_day = _take(log.day, h_pos, 0)
    h_later = (h_pos >= 0) & (h_day > day)
    if r_next is h_next:  # the rule's reply is the human reply
        r_agent, r_wait, r_day = h_agent, h_wait, h_day
    else:
        r_agent = _take(log.agent, r_pos, fallback)
        r_wait = np.where(r_pos >= 0, _take(log.t, r_pos, 0) - t, np.nan)
        r_day = _take(log.day, r_pos, 0)
    late = (r_pos < 0) | (r_wait > rule.threshold_s)
    if rule.midnight_cutoff:
        late |= (r_pos >= 0) & (r_day > day)

    in_window = _in_window(sod, rule)
    excl = log.excl[rows]
    win = in_window & ~excl
    counted = win
    if rule.exclude_bot_only and len(rows):
        # buyer-days with ≥1 robot message and no human agent message (rows are sorted
        # by buyer then time, so a buyer-day is one run of rows)
        run = np.cumsum(_runs(log.gid, log.day)) - 1
        has_bot = np.bincount(run, weights=log.sender == _BOT) > 0
        has_human = np.bincount(run, weights=is_h) > 0
        counted = win & ~(has_bot & ~has_human)[run[rows]]

    return _Ann(rows=rows, gid=g, t=t, day=day, hour=sod // 3600, in_window=in_window,
                excl=excl, fallback=fallback, prev=prev, counted=counted, win=win, r_pos=r_pos,
                r_wait=r_wait, r_agent=r_agent,
                late=late, h_pos=h_pos, h_wait=h_wait, h_agent=h_agent, h_later_day=h_later,
                closing=None if log.closing is None else log.closing[rows])


def _unit_starts(log: _Log, a: _Ann, unit: str, seen=None) -> np.ndarray:
    """Which buyer messages open a unit of the rule (all of them for ``message``).
    ``seen`` (sessions): 'buyer<US>conversation' → day of its last buyer message before
    the log (a Series).

    A session (``conversation_id``, else buyer + day) opens with a buyer message that has
    no earlier buyer message of the same conversation on its day or in the lead-in days
    before it (metrics/horizon.py): so it belongs to the day of its first buyer message,
    whatever range is read, and a conversation silent for longer opens a new session."""
    if unit == "message":
        return np.ones(len(a.rows), dtype=bool)
    if unit == "round":  # a new round when the buyer, the day or the closing reply changes
        return _runs(a.gid, a.day, a.r_pos)
    if unit == "session":  # conversation_id, else buyer + calendar day; first buyer message
        c = log.conversation_codes()[a.rows]
        nc = int(c.max()) + 1 if len(c) else 1
        key = np.where(c >= 0, a.gid * nc + c,
                       -(a.gid * log.ndays + (a.day - log.dmin)) - 1)
        order = np.argsort(key, kind="stable")  # within a key: in time order
        ks, ds = key[order], a.day[order]
        new = np.ones(len(ks), dtype=bool)
        new[1:] = (ks[1:] != ks[:-1]) | ~within_lead(ds[:-1], ds[1:])
        starts = np.empty(len(ks), dtype=bool)
        starts[order] = new
        first = np.empty(len(ks), dtype=bool)  # the key's first message in the log
        first[order] = np.concatenate([[True], ks[1:] != ks[:-1]]) if len(ks) else first
        if seen is not None and len(seen):
            at = np.flatnonzero(first & (c >= 0))
            if len(at):
                keys = _session_keys(log, a, at, c)
                before = seen.reindex(keys).to_numpy(dtype=float, na_value=np.nan)
                cont = ~np.isnan(before)
                cont[cont] = within_lead(before[cont].astype(np.int64), a.day[at[cont]])
                starts[at[cont]] = False
        return starts
    return np.ones(len(a.rows), dtype=bool)  # buyer: not used


def _session_keys(log: _Log, a: _Ann, at: np.ndarray, c: np.ndarray) -> np.ndarray:
    """'buyer<US>conversation' of buyer messages ``at`` (indices into ``a``)."""
    _, conv = _factorize(log.frame["conversation_id"])
    return _joined(log.buyer_of_gid[a.gid[at]], conv[c[at]])


def _annotation_frame(log: _Log, a: _Ann, sel: np.ndarray) -> pd.DataFrame:
    r_pos = a.r_pos[sel]
    answered = r_pos >= 0
    reply_at = _ts(_take(log.t, r_pos, 0))
    reply_at[~answered] = np.datetime64("NaT")
    reply_agent = np.where(answered, log.agent_names[_take(log.agent, r_pos, 0)], None) \
        if len(r_pos) else np.zeros(0, dtype=object)
    return pd.DataFrame({
        "shop": log.shop_names[log.shop_of_gid[a.gid[sel]]],
        "buyer_id": log.buyer_of_gid[a.gid[sel]],
        "sent_at": _ts(a.t[sel]),
        "date": log.day_table()[a.day[sel] - log.dmin],
        "in_window": a.in_window[sel],
        "excluded": a.excl[sel],
        "counted": a.counted[sel],
        "reply_at": reply_at,
        "reply_agent": reply_agent.astype(object),
        "wait_s": a.r_wait[sel],
        "late": a.late[sel],
        "agent": log.agent_names[a.r_agent[sel]],
    }, index=log.frame.index[log.pos[a.rows[sel]]])
