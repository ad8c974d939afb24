"""Reply rate and response times (issue #3).

Pure functions, frames in, frames out; nothing prints.  Everything is vectorised:
messages are sorted once by (shop, buyer, sent_at, tie-break); "the next human
agent message to the same buyer" is a reverse running minimum of row positions;
per-group figures are ``np.bincount`` over a dense (shop × day / week / agent /
hour) index.  No Python loop ever runs over messages and there is no
``groupby.apply``.  The rules are documented in docs/metrics.md.

Tie order (messages of one buyer with the same ``sent_at`` second): by
``(source_file, source_row)`` when those columns exist (missing values last),
then input order (the sort is stable).  A reply must come *after* the buyer
message in this order: an agent message at the same second that sorts after the
buyer message is a 0-second reply; one that sorts before it is not a reply to it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit.errors import UsageError
from cskit.metrics.common import day_number
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import ratio as _ratio
from cskit.metrics.common import require as _require
from cskit.metrics.common import runs as _runs
from cskit.metrics.common import ts as _ts
from cskit.metrics.registry import column_order
from cskit.metrics.rules import PRESETS, RuleConfig, get_rule

__all__ = ["annotate", "reply_kpis", "unreplied_list", "output_columns", "UNASSIGNED",
           "BOT_AGENT", "BY_CHOICES", "FAST_ANSWER_S"]

#: agent label for messages nobody served (and agent messages without an account)
UNASSIGNED = "未分配"
#: agent label for robot messages without an account
BOT_AGENT = "机器人"
BY_CHOICES = ("day", "week", "shop", "agent", "hour")
#: threshold of answered_30s_rate (seconds, inclusive)
FAST_ANSWER_S = 30

_DAY = 86400
_EPOCH = _dt.date(1970, 1, 1)
_BUYER, _AGENT, _BOT = 0, 1, 2
_SENDERS = {"buyer": _BUYER, "agent": _AGENT, "bot": _BOT}  # system & anything else: ignored
_NEVER = np.iinfo(np.int64).max
_ALWAYS = np.iinfo(np.int64).min
_BIG = 2 ** 62

_KEY_COLS = {"day": ["shop", "date"], "week": ["shop", "week"], "shop": ["shop"],
             "agent": ["shop", "agent_id"], "hour": ["shop", "hour"]}


# ----------------------------------------------------------------------------------------
# input preparation
# ----------------------------------------------------------------------------------------
def _resolve_rule(rule) -> RuleConfig:
    if rule is None:
        return PRESETS["pdd5"]
    if isinstance(rule, RuleConfig):
        return rule
    if isinstance(rule, str):
        return get_rule(rule)
    raise TypeError(f"rule must be a RuleConfig or a preset name, not {type(rule).__name__}")


def _factorize(s: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = missing or blank) and the unique values (object array)."""
    if isinstance(s.dtype, pd.CategoricalDtype) and not sort:
        codes = s.cat.codes.to_numpy(dtype=np.int64)
        uniq = np.asarray(s.cat.categories, dtype=object)
    else:
        n = len(s)
        first = s.iloc[0] if n else None
        if n and isinstance(first, str) and first and not sort and bool((s == first).all()):
            return np.zeros(n, dtype=np.int64), np.array([first], dtype=object)  # one shop
        codes, uniq = pd.factorize(s, sort=sort)
        codes = np.asarray(codes, dtype=np.int64)
        uniq = np.asarray(uniq, dtype=object)
    blank = np.flatnonzero(uniq == "") if len(uniq) else np.empty(0, np.int64)
    if len(blank):
        codes = np.where(np.isin(codes, blank), -1, codes)
    return codes, uniq


def _seconds(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Whole seconds since the epoch (wall clock) and a validity mask."""
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    v = s.to_numpy().astype("datetime64[s]")
    ok = ~np.isnat(v)
    return v.view(np.int64), ok


def _sort_order(shop_c, buyer_c, t, df: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
    """Positions (into ``pos``) sorted by shop, buyer, sent_at, tie-break, input order."""
    n = len(pos)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    nb = int(buyer_c.max()) + 1
    tmin, span = int(t.min()), int(t.max() - t.min()) + 1
    ngroups = (int(shop_c.max()) + 1) * nb
    if ngroups < _BIG // span:
        # one int64 key; an unstable sort is fastest, equal keys are put in order below
        key = (shop_c * nb + buyer_c) * span + (t - tmin)
        order = np.argsort(key)
        ks = key[order]
        eq = ks[1:] == ks[:-1]
    else:  # astronomically many buyers × a very long time span: slower exact path
        order = np.lexsort((t, buyer_c, shop_c))
        s_, b_, t_ = shop_c[order], buyer_c[order], t[order]
        eq = (s_[1:] == s_[:-1]) & (b_[1:] == b_[:-1]) & (t_[1:] == t_[:-1])
    if not eq.any():
        return order
    tied = np.zeros(n, dtype=bool)
    tied[1:] |= eq
    tied[:-1] |= eq
    run_start = np.ones(n, dtype=bool)
    run_start[1:] = ~eq
    run = np.cumsum(run_start)[tied]
    sub = order[tied]  # positions into pos (pos is in input order)
    rows = pos[sub]
    keys: list[np.ndarray] = [sub]  # input order as the last resort
    if "source_row" in df.columns:
        sr = pd.to_numeric(df["source_row"].iloc[rows], errors="coerce")
        keys.append(sr.to_numpy(dtype=float, na_value=np.inf))
    if "source_file" in df.columns:
        sf, _ = _factorize(df["source_file"].iloc[rows].astype(object).reset_index(drop=True),
                           sort=True)
        keys.append(np.where(sf < 0, _NEVER, sf))
    keys.append(run)
    order[tied] = sub[np.lexsort(keys)]
    return order


@dataclass
class _Log:
    """Messages (buyer/agent/bot only) sorted by (shop, buyer, sent_at, tie-break)."""

    frame: pd.DataFrame  # the input
    pos: np.ndarray  # row positions in the input, in log order
    shop_names: np.ndarray  # object, by shop code
    shop_of_gid: np.ndarray  # int64, by group (shop, buyer)
    buyer_of_gid: np.ndarray  # object
    gid: np.ndarray  # int64 per row, consecutive
    t: np.ndarray  # int64 seconds
    day: np.ndarray  # int64 days since epoch
    sod: np.ndarray  # int64 second of day
    sender: np.ndarray  # int8
    agent: np.ndarray  # int64 agent code per row (-1 on buyer rows)
    agent_names: np.ndarray  # object, by agent code
    unassigned: int  # agent code of UNASSIGNED
    excl: np.ndarray  # bool per row: buyer excluded on this row's day
    dmin: int
    dmax: int

    @property
    def n(self) -> int:
        return len(self.t)

    @property
    def ndays(self) -> int:
        return self.dmax - self.dmin + 1

    def day_table(self) -> np.ndarray:
        """datetime.date objects for days dmin..dmax (index by day - dmin)."""
        return np.array([_EPOCH + _dt.timedelta(days=d) for d in range(self.dmin, self.dmax + 1)],
                        dtype=object)

    def conversation_codes(self) -> np.ndarray:
        """Conversation code per row (-1 = none)."""
        if "conversation_id" not in self.frame.columns:
            return np.full(self.n, -1, dtype=np.int64)
        cc, _ = _factorize(self.frame["conversation_id"])
        return cc[self.pos]


def _prepare(messages: pd.DataFrame, excluded: pd.DataFrame | None) -> _Log:
    _require(messages, ("shop", "buyer_id", "sender", "sent_at"), "messages")
    df = messages
    n_in = len(df)
    sender_all = np.full(n_in, -1, dtype=np.int8)
    snd = df["sender"]
    for name, code in _SENDERS.items():
        sender_all[(snd == name).to_numpy(dtype=bool, na_value=False)] = code
    shop_c, shop_u = _factorize(df["shop"])
    buyer_c, buyer_u = _factorize(df["buyer_id"])
    t_all, t_ok = _seconds(df["sent_at"])
    keep = (shop_c >= 0) & (buyer_c >= 0) & (sender_all >= 0) & t_ok
    if keep.all():  # the usual case: no copies before the sort
        pos = np.arange(n_in)
        pos = _sort_order(shop_c, buyer_c, t_all, df, pos)
    else:
        pos = np.flatnonzero(keep)
        pos = pos[_sort_order(shop_c[pos], buyer_c[pos], t_all[pos], df, pos)]

    n = len(pos)
    shop_s, buy_s = shop_c[pos], buyer_c[pos]
    new = np.ones(n, dtype=bool)
    if n:
        new[1:] = (shop_s[1:] != shop_s[:-1]) | (buy_s[1:] != buy_s[:-1])
    gid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    shop_of_gid = shop_s[starts]
    buyer_of_gid = buyer_u[buy_s[starts]]

    t = t_all[pos]
    day = t // _DAY
    sod = t - day * _DAY
    sender = sender_all[pos]

    # agent labels: the account id; missing → 未分配 (human) / 机器人 (robot)
    if "agent_id" in df.columns:
        ac_all, au = _factorize(df["agent_id"])
        ac = ac_all[pos]
    else:
        au = np.empty(0, dtype=object)
        ac = np.full(n, -1, dtype=np.int64)
    names = np.concatenate([au, np.array([UNASSIGNED, BOT_AGENT], dtype=object)])
    remap, uniq_names = pd.factorize(names)  # an account literally named 未分配 merges with it
    remap = np.asarray(remap, dtype=np.int64)
    code = np.where(ac >= 0, ac, np.where(sender == _BOT, len(au) + 1, len(au)))
    agent = remap[code]
    agent[sender == _BUYER] = -1

    dmin = int(day.min()) if n else 0
    dmax = int(day.max()) if n else 0
    since_of_gid = _exclusion_days(excluded, np.asarray(shop_u, dtype=object)[shop_of_gid],
                                   buyer_of_gid)
    excl = day >= since_of_gid[gid]

    return _Log(frame=df, pos=pos, shop_names=np.asarray(shop_u, dtype=object),
                shop_of_gid=shop_of_gid, buyer_of_gid=buyer_of_gid, gid=gid, t=t, day=day,
                sod=sod, sender=sender, agent=agent,
                agent_names=np.asarray(uniq_names, dtype=object),
                unassigned=int(remap[len(au)]), excl=excl, dmin=dmin, dmax=dmax)


def _exclusion_days(excluded: pd.DataFrame | None, shops: np.ndarray,
                    buyers: np.ndarray) -> np.ndarray:
    """Per (shop, buyer) group: first day the buyer is excluded (_NEVER = not excluded)."""
    if excluded is None or len(excluded) == 0 or len(buyers) == 0:
        return np.full(len(buyers), _NEVER, dtype=np.int64)
    _require(excluded, ("shop", "buyer_id"), "excluded")
    ex = excluded[excluded["shop"].notna() & excluded["buyer_id"].notna()]
    if "since" in ex.columns:
        secs, ok = _seconds(ex["since"])
        since_day = np.where(ok, secs // _DAY, _ALWAYS)
    else:
        since_day = np.full(len(ex), _ALWAYS, dtype=np.int64)
    if len(ex) == 0:
        return np.full(len(buyers), _NEVER, dtype=np.int64)

    # the list is small (user-supplied): a dict of (shop, buyer) → earliest since-day
    first: dict[str, int] = {}
    keys = _joined(ex["shop"].to_numpy(dtype=object), ex["buyer_id"].to_numpy(dtype=object))
    for k, d in zip(keys, since_day.tolist()):
        first[k] = min(d, first.get(k, _NEVER))
    at = pd.Index(list(first), dtype=object).get_indexer(_joined(shops, buyers))
    vals = np.array(list(first.values()), dtype=np.int64)
    return np.where(at >= 0, vals[np.maximum(at, 0)], _NEVER)


def _joined(shops: np.ndarray, buyers: np.ndarray) -> np.ndarray:
    """'shop<US>buyer' keys (ids compared as text)."""
    s = np.asarray(pd.Series(shops, dtype=object).astype(str), dtype=object)
    b = np.asarray(pd.Series(buyers, dtype=object).astype(str), dtype=object)
    return s + "\x1f" + b


# ----------------------------------------------------------------------------------------
# per buyer message: reply, wait, attribution, rounds, sessions
# ----------------------------------------------------------------------------------------
def _next_pos(is_reply: np.ndarray, gid: np.ndarray) -> np.ndarray:
    """For every row, the position of the first reply row at or after it in the same
    group (-1 if none): a reverse running minimum of reply positions."""
    n = len(is_reply)
    p = np.where(is_reply, np.arange(n), n)
    nxt = np.minimum.accumulate(p[::-1])[::-1] if n else p
    ok = nxt < n
    ok[ok] = gid[nxt[ok]] == gid[ok]
    return np.where(ok, nxt, -1)


def _prev_pos(is_reply: np.ndarray, gid: np.ndarray) -> np.ndarray:
    """For every row, the position of the last reply row at or before it (-1 if none)."""
    n = len(is_reply)
    p = np.where(is_reply, np.arange(n), -1)
    prv = np.maximum.accumulate(p) if n else p
    ok = prv >= 0
    ok[ok] = gid[prv[ok]] == gid[ok]
    return np.where(ok, prv, -1)


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] where at >= 0, else default (scalar or array)."""
    if len(at) == 0:
        return np.zeros(0, dtype=values.dtype)
    return np.where(at >= 0, values[np.where(at >= 0, at, 0)], default)


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


def _annotate_core(log: _Log, rule: RuleConfig) -> _Ann:
    is_h = log.sender == _AGENT
    h_next = _next_pos(is_h, log.gid)
    r_next = _next_pos(is_h | (log.sender == _BOT), log.gid) if rule.count_bot_replies else h_next
    h_prev = _prev_pos(is_h, log.gid)

    rows = np.flatnonzero(log.sender == _BUYER)
    g, t, day, sod = log.gid[rows], log.t[rows], log.day[rows], log.sod[rows]
    h_pos, r_pos = h_next[rows], r_next[rows]

    # unanswered: the agent who last sent a human message to this buyer before it
    fallback = _take(log.agent, h_prev[rows], log.unassigned)
    h_agent = _take(log.agent, h_pos, fallback)
    r_agent = _take(log.agent, r_pos, fallback)
    h_wait = np.where(h_pos >= 0, _take(log.t, h_pos, 0) - t, np.nan)
    r_wait = np.where(r_pos >= 0, _take(log.t, r_pos, 0) - t, np.nan)
    h_later = (h_pos >= 0) & (_take(log.day, h_pos, 0) > day)
    late = (r_pos < 0) | (r_wait > rule.threshold_s)
    if rule.midnight_cutoff:
        late |= (r_pos >= 0) & (_take(log.day, r_pos, 0) > day)

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
                excl=excl, counted=counted, win=win, r_pos=r_pos, r_wait=r_wait, r_agent=r_agent,
                late=late, h_pos=h_pos, h_wait=h_wait, h_agent=h_agent, h_later_day=h_later)


def _unit_starts(log: _Log, a: _Ann, unit: str) -> np.ndarray:
    """Which buyer messages open a unit of the rule (all of them for ``message``)."""
    if unit == "message":
        return np.ones(len(a.rows), dtype=bool)
    if unit == "round":  # a new round when the buyer, the day or the closing reply changes
        return _runs(a.gid, a.day, a.r_pos)
    if unit == "session":  # conversation_id, else buyer + calendar day; first buyer message
        c = log.conversation_codes()[a.rows]
        nc = int(c.max()) + 1 if len(c) else 1
        key = np.where(c >= 0, a.gid * nc + c,
                       -(a.gid * log.ndays + (a.day - log.dmin)) - 1)
        return ~pd.Series(key).duplicated().to_numpy()
    return np.ones(len(a.rows), dtype=bool)  # buyer: not used


# ----------------------------------------------------------------------------------------
# public: annotate, unreplied_list
# ----------------------------------------------------------------------------------------


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


def annotate(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
             excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per buyer message, with the rule's verdict.

    Columns: shop, buyer_id, sent_at, date (``datetime.date``), in_window (the
    buyer message's time is inside the rule's window), excluded (buyer excluded
    on that day), counted (counts for the headline: in window, not excluded and —
    pdd3 — not in a robot-only buyer-day), reply_at (the rule's reply: next human
    agent message, or robot message with count_bot_replies; NaT if none),
    reply_agent (its agent label, None if none), wait_s (float seconds, NaN if
    none), late (no reply, or wait > threshold, or — taobao — a reply on a later
    day; judged for every message, ``counted`` says whether it matters), agent
    (the attributed agent: the replier, else the agent who last sent the buyer a
    human message before it, else 未分配).

    Rows are in processing order (shop, buyer, sent_at, tie-break); the index
    holds the input frame's index labels.  Rows without shop, buyer_id or a valid
    sent_at, and system messages, are left out.
    """
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded)
    a = _annotate_core(log, rule)
    return _annotation_frame(log, a, np.ones(len(a.rows), dtype=bool))


def unreplied_list(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
                   excluded: pd.DataFrame | None = None, since=None, until=None) -> pd.DataFrame:
    """One row per counted buyer message that was late or never answered.

    Columns: shop, buyer_id, date, sent_at, wait_s (NaN = never answered),
    reply_at (NaT = never), agent (attributed agent).  ``since``/``until`` are
    inclusive and apply to the buyer message's date.  Sorted by shop, sent_at,
    buyer_id.
    """
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded)
    a = _annotate_core(log, rule)
    sel = a.counted & a.late & _in_range(a.day, day_number(since, "since"),
                                         day_number(until, "until"))
    out = _annotation_frame(log, a, sel)[["shop", "buyer_id", "date", "sent_at", "wait_s",
                                          "reply_at", "agent"]]
    return out.sort_values(["shop", "sent_at", "buyer_id"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------------------
# public: KPI table
# ----------------------------------------------------------------------------------------
def _headline_columns(rule: RuleConfig) -> list[str]:
    if rule.unit == "buyer":
        return ["consult_buyers", "unreplied_buyers", "reply_rate"]
    return ["consult_buyers", f"{rule.unit}s", f"{rule.unit}s_on_time", "reply_rate"]


_OTHER_COLUMNS = ["first_response_s_mean", "response_s_mean", "response_s_median",
                  "response_s_p90", "response_s_capped_mean", "answer_ratio", "answered_30s_rate",
                  "slow_buyers", "buyer_messages", "agent_messages", "bot_messages"]
_HOUR_COLUMNS = ["buyer_messages", "messages", "late_messages", "unanswered_messages",
                 "slow_messages", "agent_messages", "bot_messages"]
_FLOAT_COLUMNS = {"reply_rate", "first_response_s_mean", "response_s_mean", "response_s_median",
                  "response_s_p90", "response_s_capped_mean", "answer_ratio",
                  "answered_30s_rate"}


def output_columns(rule: RuleConfig | str | None = None, by: str = "day") -> list[str]:
    """The columns :func:`reply_kpis` returns for this rule and grouping."""
    rule = _resolve_rule(rule)
    if by not in BY_CHOICES:
        raise UsageError(f"unknown grouping {by!r}", hint="one of " + ", ".join(BY_CHOICES))
    kpis = _HOUR_COLUMNS if by == "hour" else _headline_columns(rule) + _OTHER_COLUMNS
    return _KEY_COLS[by] + column_order(kpis)


class _Dense:
    """Per-group accumulators over a dense index shop × (day | week | agent | hour)."""

    def __init__(self, log: _Log, by: str):
        self.log, self.by = log, by
        if by == "day":
            k = log.ndays
        elif by == "week":
            codes = []
            for d in range(log.dmin, log.dmax + 1):
                y, w, _ = (_EPOCH + _dt.timedelta(days=d)).isocalendar()
                codes.append(y * 100 + w)
            self.weeks, self.week_of_day = np.unique(np.array(codes, dtype=np.int64),
                                                     return_inverse=True)
            k = len(self.weeks)
        elif by == "agent":
            k = len(log.agent_names)
        elif by == "hour":
            k = 24
        else:
            k = 1
        self.k = k
        self.size = len(log.shop_names) * k
        self.touched = np.zeros(self.size, dtype=bool)
        self.cols: dict[str, np.ndarray] = {}

    def index(self, gid, day, agent=None, hour=None) -> np.ndarray:
        base = self.log.shop_of_gid[gid] * self.k
        if self.by == "day":
            return base + (day - self.log.dmin)
        if self.by == "week":
            return base + self.week_of_day[day - self.log.dmin]
        if self.by == "agent":
            return base + agent
        if self.by == "hour":
            return base + hour
        return base

    def _bc(self, idx, weights=None) -> np.ndarray:
        return np.bincount(idx, weights=weights, minlength=self.size)

    def count(self, name: str, idx: np.ndarray) -> None:
        c = self._bc(idx)
        self.touched |= c > 0
        self.cols[name] = c.astype(np.int64)

    def sum(self, name: str, idx: np.ndarray, flag: np.ndarray) -> None:
        self.touched |= self._bc(idx) > 0
        self.cols[name] = np.rint(self._bc(idx, flag.astype(float))).astype(np.int64)

    def mean(self, name: str, idx: np.ndarray, values: np.ndarray) -> None:
        self.touched |= self._bc(idx) > 0
        ok = ~np.isnan(values)
        self.cols[name] = _ratio(self._bc(idx[ok], values[ok]), self._bc(idx[ok]))

    def quantiles(self, names_q: dict[str, float], idx: np.ndarray, values: np.ndarray) -> None:
        """Linear-interpolation quantiles (as numpy/pandas) of whole-second values."""
        self.touched |= self._bc(idx) > 0
        ok = ~np.isnan(values)
        idx, v = idx[ok], values[ok].astype(np.int64)
        cnt = self._bc(idx).astype(np.int64)
        vmax = int(v.max()) + 1 if len(v) else 1
        if self.size < _BIG // vmax:
            sk = np.sort(idx * vmax + v)
            sv = (sk % vmax).astype(float)
        else:
            sv = v[np.lexsort((v, idx))].astype(float)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        has = cnt > 0
        for name, q in names_q.items():
            out = np.full(self.size, np.nan)
            c, s = cnt[has], start[has]
            p = q * (c - 1)
            lo = np.floor(p).astype(np.int64)
            hi = np.minimum(lo + 1, c - 1)
            out[has] = sv[s + lo] + (p - lo) * (sv[s + hi] - sv[s + lo])
            self.cols[name] = out


def _buyer_days(log: _Log, a: _Ann, mask: np.ndarray, flag: np.ndarray,
                agent: np.ndarray | None):
    """Distinct (buyer, day[, agent]) among masked buyer messages, with any(flag)."""
    g, d, f = a.gid[mask], a.day[mask], flag[mask]
    if agent is None:  # rows are sorted by buyer then time: a buyer-day is a run
        run = np.cumsum(_runs(g, d)) - 1
        first = _runs(g, d)
        return g[first], d[first], None, np.bincount(run, weights=f) > 0
    ag = agent[mask]
    na = len(log.agent_names)
    key = (g * log.ndays + (d - log.dmin)) * na + ag
    codes, uniq = pd.factorize(key)
    anyf = np.bincount(codes, weights=f, minlength=len(uniq)) > 0
    uniq = np.asarray(uniq, dtype=np.int64)
    gd, ag_u = np.divmod(uniq, na)
    g_u, d_u = np.divmod(gd, log.ndays)
    return g_u, d_u + log.dmin, ag_u, anyf


def reply_kpis(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
               excluded: pd.DataFrame | None = None, by: str = "day", since=None, until=None,
               slow_threshold_s: int = 100) -> pd.DataFrame:
    """Reply-rate and response-time KPIs, one row per group.

    ``by``: ``day`` (shop, date), ``week`` (shop, ISO week; buyer counts are sums
    of buyer-days), ``shop``, ``agent`` (shop, agent_id; per attribution — agent
    rows need not add up to the shop), ``hour`` (shop, hour 0-23: message counts
    for shift planning).  ``since``/``until`` (inclusive) filter on the date of
    the buyer message (agent/robot message counts: their own date); messages
    after ``until`` still serve as replies, so pass a frame reaching a little
    beyond it.  Group key columns first, then KPI columns in registry order;
    sorted by the keys.  Rates are fractions in [0, 1]; NaN only where a
    denominator is 0.  An empty input gives an empty frame with the same columns.
    """
    rule = _resolve_rule(rule)
    columns = output_columns(rule, by)
    slow_threshold_s = int(slow_threshold_s)
    lo, hi = day_number(since, "since"), day_number(until, "until")
    log = _prepare(messages, excluded)
    if log.n == 0:
        return _empty_kpis(columns)
    a = _annotate_core(log, rule)
    acc = _Dense(log, by)

    rng = _in_range(a.day, lo, hi)
    counted = a.counted & rng
    win = a.win & rng
    slow = np.isnan(a.h_wait) | (a.h_wait > slow_threshold_s)
    base = ~a.excl & rng  # every buyer message of the range (all hours)

    def idx(m, agent=None):
        return acc.index(a.gid[m], a.day[m], None if agent is None else agent[m], a.hour[m])

    # volumes of agents and robots: their own day, hour and label
    for name, code in (("agent_messages", _AGENT), ("bot_messages", _BOT)):
        m = (log.sender == code) & ~log.excl & _in_range(log.day, lo, hi)
        acc.count(name, acc.index(log.gid[m], log.day[m], log.agent[m], log.sod[m] // 3600))

    if by == "hour":
        acc.count("buyer_messages", idx(base))
        acc.count("messages", idx(counted))
        acc.sum("late_messages", idx(counted), a.late[counted])
        acc.sum("unanswered_messages", idx(counted), a.r_pos[counted] < 0)
        acc.sum("slow_messages", idx(win), slow[win])
    else:
        agent_mode = by == "agent"
        r_agent = a.r_agent if agent_mode else None
        h_agent = a.h_agent if agent_mode else None
        # headline: buyer-days, then rounds / messages / sessions
        g, d, ag, f = _buyer_days(log, a, counted, a.late, r_agent)
        bd = acc.index(g, d, ag)
        acc.count("consult_buyers", bd)
        if rule.unit == "buyer":
            acc.sum("unreplied_buyers", bd, f)
        else:
            m = counted & _unit_starts(log, a, rule.unit)
            acc.count(f"{rule.unit}s", idx(m, r_agent))
            acc.sum(f"{rule.unit}s_on_time", idx(m, r_agent), ~a.late[m])
        # first response per buyer-day: its first window message
        wpos = np.flatnonzero(win)
        first = np.zeros(len(a.rows), dtype=bool)
        first[wpos[_runs(a.gid[wpos], a.day[wpos])]] = True
        acc.mean("first_response_s_mean", idx(first, h_agent), a.h_wait[first])
        # human rounds started in the window
        m = win & _runs(a.gid, a.day, a.h_pos)
        w = a.h_wait[m]
        i = idx(m, h_agent)
        acc.mean("response_s_mean", i, w)
        acc.quantiles({"response_s_median": 0.5, "response_s_p90": 0.9}, i, w)
        cap = float(rule.response_cap_s)
        capped = np.where(np.isnan(w), cap, np.minimum(w, cap))
        capped[(w == 0) | a.h_later_day[m]] = np.nan
        acc.mean("response_s_capped_mean", i, capped)
        # window messages answered within 30 s; slow buyers; volumes
        acc.count("_win", idx(win, h_agent))
        acc.sum("_fast", idx(win, h_agent), a.h_wait[win] <= FAST_ANSWER_S)
        g, d, ag, f = _buyer_days(log, a, win, slow, h_agent)
        acc.sum("slow_buyers", acc.index(g, d, ag), f)
        acc.count("buyer_messages", idx(base, h_agent))

    rows = np.flatnonzero(acc.touched)
    if len(rows) == 0:
        return _empty_kpis(columns)
    cols = {k: v[rows] for k, v in acc.cols.items()}
    if by != "hour":
        if rule.unit == "buyer":
            cols["reply_rate"] = _ratio(cols["consult_buyers"] - cols["unreplied_buyers"],
                                        cols["consult_buyers"])
        else:
            cols["reply_rate"] = _ratio(cols[f"{rule.unit}s_on_time"], cols[f"{rule.unit}s"])
        cols["answer_ratio"] = _ratio(cols["agent_messages"], cols["buyer_messages"])
        cols["answered_30s_rate"] = _ratio(cols["_fast"], cols["_win"])

    shop, second = np.divmod(rows, acc.k)
    keys: dict[str, np.ndarray] = {"shop": log.shop_names[shop]}
    if by == "day":
        keys["date"] = log.day_table()[second]
    elif by == "week":
        keys["week"] = np.array([f"{w // 100}-W{w % 100:02d}" for w in acc.weeks[second]],
                                dtype=object)
    elif by == "agent":
        keys["agent_id"] = log.agent_names[second]
    elif by == "hour":
        keys["hour"] = second.astype(np.int64)
    out = pd.DataFrame({**keys, **cols})[columns]
    for c in _KEY_COLS[by]:
        if c != "hour":
            out[c] = out[c].astype(object)
    return out.sort_values(_KEY_COLS[by], kind="stable").reset_index(drop=True)


def _empty_kpis(columns: list[str]) -> pd.DataFrame:
    data = {}
    for c in columns:
        if c == "hour":
            data[c] = pd.Series([], dtype=np.int64)
        elif c in ("shop", "date", "week", "agent_id"):
            data[c] = pd.Series([], dtype=object)
        elif c in _FLOAT_COLUMNS:
            data[c] = pd.Series([], dtype=float)
        else:
            data[c] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(data)
