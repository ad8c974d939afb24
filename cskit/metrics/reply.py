"""Reply rate and response times (issue #3).

Pure functions, frames in, frames out; nothing prints.  Every computation is
vectorised (numpy / pandas groupby on integer codes): messages are sorted once
by (shop, buyer, sent_at, tie-break) and "the next human agent message to the
same buyer" is a reverse running minimum of row positions; no Python loop ever
runs over messages.  The rules are documented in docs/metrics.md.

Tie order (messages of one buyer with the same ``sent_at`` second): by
``(source_file, source_row)`` when those columns exist (missing values last),
then input order (the sort is stable).  A reply must come *after* the buyer
message in this order; an agent message at the same second that sorts after the
buyer message is a 0-second reply, one that sorts before it is not a reply.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit.errors import UsageError
from cskit.metrics.registry import column_order
from cskit.metrics.rules import PRESETS, RuleConfig, get_rule

__all__ = ["annotate", "reply_kpis", "unreplied_list", "output_columns", "UNASSIGNED", "BOT_AGENT", "BY_CHOICES",
           "FAST_ANSWER_S"]

#: agent label for messages nobody served (and agent messages without an account)
UNASSIGNED = "未分配"
#: agent label for robot messages without an account
BOT_AGENT = "机器人"
BY_CHOICES = ("day", "week", "shop", "agent", "hour")
#: threshold of answered_30s_rate
FAST_ANSWER_S = 30

_DAY = 86400
_EPOCH = _dt.date(1970, 1, 1)
_BUYER, _AGENT, _BOT = 0, 1, 2
_SENDERS = {"buyer": _BUYER, "agent": _AGENT, "bot": _BOT}  # system & unknown: ignored
_NEVER = np.iinfo(np.int64).max
_ALWAYS = np.iinfo(np.int64).min

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


def _require(frame: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s): {', '.join(missing)}")


def _factorize(s: pd.Series, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = missing or blank) and the unique values (object array)."""
    codes, uniq = pd.factorize(s, sort=sort)
    uniq = np.asarray(uniq, dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
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


def _day_number(x, what: str) -> int | None:
    if x is None:
        return None
    try:
        ts = pd.Timestamp(x)
    except (ValueError, TypeError):
        raise UsageError(f"{what} {x!r} is not a date", hint="write dates as YYYY-MM-DD") from None
    if ts is pd.NaT:
        return None
    return (ts.date() - _EPOCH).days


@dataclass
class _Log:
    """Messages (buyer/agent/bot only) sorted by (shop, buyer, sent_at, tie-break)."""

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
    conv: np.ndarray | None  # conversation code per row (-1 = none)
    index: pd.Index  # original index labels per row
    excl: np.ndarray  # bool per row: buyer excluded on this row's day
    dmin: int
    dmax: int

    @property
    def n(self) -> int:
        return len(self.t)

    def day_table(self) -> np.ndarray:
        """datetime.date objects for days dmin..dmax (index by day - dmin)."""
        return np.array([_EPOCH + _dt.timedelta(days=int(d))
                         for d in range(self.dmin, self.dmax + 1)], dtype=object)

    def week_codes(self) -> np.ndarray:
        """ISO week code (year*100 + week) for days dmin..dmax."""
        out = []
        for d in range(self.dmin, self.dmax + 1):
            y, w, _ = (_EPOCH + _dt.timedelta(days=d)).isocalendar()
            out.append(y * 100 + w)
        return np.array(out, dtype=np.int64)


def _prepare(messages: pd.DataFrame, excluded: pd.DataFrame | None) -> _Log:
    _require(messages, ("shop", "buyer_id", "sender", "sent_at"), "messages")
    df = messages
    shop_c, shop_u = _factorize(df["shop"])
    buyer_c, buyer_u = _factorize(df["buyer_id"])
    snd_c, snd_u = pd.factorize(df["sender"])
    lut = np.array([_SENDERS.get(str(u).strip().lower(), -1) for u in snd_u] + [-1], dtype=np.int8)
    sender_all = lut[np.asarray(snd_c)]  # code -1 (missing) → lut[-1] = -1
    t_all, t_ok = _seconds(df["sent_at"])
    keep = (shop_c >= 0) & (buyer_c >= 0) & (sender_all >= 0) & t_ok
    pos = np.flatnonzero(keep)

    # sort: shop, buyer, sent_at, then (source_file, source_row), then input order (stable)
    keys: list[np.ndarray] = []
    if "source_row" in df.columns:
        sr = pd.to_numeric(df["source_row"], errors="coerce").to_numpy(dtype=float,
                                                                       na_value=np.inf)
        keys.append(sr[pos])
    if "source_file" in df.columns:
        sf, _ = _factorize(df["source_file"].astype(object), sort=True)
        keys.append(np.where(sf[pos] < 0, _NEVER, sf[pos]))
    keys += [t_all[pos], buyer_c[pos], shop_c[pos]]
    pos = pos[np.lexsort(keys)] if len(pos) else pos

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

    # agent labels: account id; missing → 未分配 (human) / 机器人 (robot)
    if "agent_id" in df.columns:
        ac_all, au = _factorize(df["agent_id"].astype(object))
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

    conv = None
    if "conversation_id" in df.columns:
        cc, _ = _factorize(df["conversation_id"].astype(object))
        conv = cc[pos]

    dmin = int(day.min()) if n else 0
    dmax = int(day.max()) if n else 0
    since_of_gid = _exclusion_days(excluded, np.asarray(shop_u, dtype=object)[shop_of_gid],
                                   buyer_of_gid)
    excl = day >= since_of_gid[gid] if n else np.zeros(0, dtype=bool)

    return _Log(shop_names=np.asarray(shop_u, dtype=object), shop_of_gid=shop_of_gid,
                buyer_of_gid=buyer_of_gid, gid=gid, t=t, day=day, sod=sod, sender=sender,
                agent=agent, agent_names=np.asarray(uniq_names, dtype=object),
                unassigned=int(remap[len(au)]), conv=conv, index=df.index[pos], excl=excl,
                dmin=dmin, dmax=dmax)


def _exclusion_days(excluded: pd.DataFrame | None, shops: np.ndarray,
                    buyers: np.ndarray) -> np.ndarray:
    """Per (shop, buyer) group: first day the buyer is excluded (_NEVER = not excluded)."""
    out = np.full(len(buyers), _NEVER, dtype=np.int64)
    if excluded is None or len(excluded) == 0 or len(buyers) == 0:
        return out
    _require(excluded, ("shop", "buyer_id"), "excluded")
    ex = excluded[excluded["shop"].notna() & excluded["buyer_id"].notna()]
    if "since" in ex.columns:
        secs, ok = _seconds(ex["since"])
        since_day = np.where(ok, secs // _DAY, _ALWAYS)
    else:
        since_day = np.full(len(ex), _ALWAYS, dtype=np.int64)
    exg = (pd.DataFrame({"shop": ex["shop"].astype(str).to_numpy(dtype=object),
                         "buyer": ex["buyer_id"].astype(str).to_numpy(dtype=object),
                         "since_day": since_day})
           .groupby(["shop", "buyer"], sort=False)["since_day"].min().reset_index())
    grp = pd.DataFrame({"shop": pd.Series(shops, dtype=object).astype(str).to_numpy(dtype=object),
                        "buyer": pd.Series(buyers, dtype=object).astype(str)
                        .to_numpy(dtype=object),
                        "g": np.arange(len(buyers))})
    m = grp.merge(exg, on=["shop", "buyer"], how="inner")
    out[m["g"].to_numpy()] = m["since_day"].to_numpy(dtype=np.int64)
    return out


# ----------------------------------------------------------------------------------------
# per buyer message: reply, wait, attribution, rounds, sessions
# ----------------------------------------------------------------------------------------
def _next_pos(is_reply: np.ndarray, gid: np.ndarray) -> np.ndarray:
    """For every row, the position of the first reply row at or after it in the same
    group (-1 if none): a reverse running minimum of reply positions."""
    n = len(is_reply)
    p = np.where(is_reply, np.arange(n), n)
    nxt = np.minimum.accumulate(p[::-1])[::-1]
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


def _in_window(sod: np.ndarray, rule: RuleConfig) -> np.ndarray:
    s, e = rule.window_start_s, rule.window_end_s
    if s < e:
        return (sod >= s) & (sod < e)
    return (sod >= s) | (sod < e)  # overnight window


def _starts(g: np.ndarray, d: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Round starts among buyer messages (sorted): a new round when the buyer, the
    calendar day or the reply that closes it changes."""
    s = np.ones(len(g), dtype=bool)
    if len(g):
        s[1:] = (g[1:] != g[:-1]) | (d[1:] != d[:-1]) | (nxt[1:] != nxt[:-1])
    return s


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
    r_round_start: np.ndarray
    h_round_start: np.ndarray
    session_start: np.ndarray


def _wait(log: _Log, rows: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    safe = np.where(nxt >= 0, nxt, 0)
    return np.where(nxt >= 0, (log.t[safe] - log.t[rows]).astype(float), np.nan)


def _annotate_core(log: _Log, rule: RuleConfig) -> _Ann:
    is_h = log.sender == _AGENT
    is_r = (is_h | (log.sender == _BOT)) if rule.count_bot_replies else is_h
    h_next = _next_pos(is_h, log.gid)
    r_next = _next_pos(is_r, log.gid) if rule.count_bot_replies else h_next
    h_prev = _prev_pos(is_h, log.gid)

    rows = np.flatnonzero(log.sender == _BUYER)
    g, t, day, sod = log.gid[rows], log.t[rows], log.day[rows], log.sod[rows]
    h_pos, r_pos, prev = h_next[rows], r_next[rows], h_prev[rows]

    # unanswered: the agent who last sent a human message to this buyer before it
    fallback = np.where(prev >= 0, log.agent[np.where(prev >= 0, prev, 0)], log.unassigned) \
        if len(rows) else np.zeros(0, dtype=np.int64)
    h_agent = np.where(h_pos >= 0, log.agent[np.where(h_pos >= 0, h_pos, 0)], fallback) \
        if len(rows) else fallback
    r_agent = np.where(r_pos >= 0, log.agent[np.where(r_pos >= 0, r_pos, 0)], fallback) \
        if len(rows) else fallback

    h_wait = _wait(log, rows, h_pos)
    r_wait = _wait(log, rows, r_pos)
    if len(rows):
        r_day = log.day[np.where(r_pos >= 0, r_pos, 0)]
        h_later = (h_pos >= 0) & (log.day[np.where(h_pos >= 0, h_pos, 0)] > day)
    else:
        r_day = day
        h_later = np.zeros(0, dtype=bool)
    late = (r_pos < 0) | (r_wait > rule.threshold_s)
    if rule.midnight_cutoff:
        late |= (r_pos >= 0) & (r_day > day)

    in_window = _in_window(sod, rule)
    excl = log.excl[rows]
    win = in_window & ~excl
    counted = win.copy()
    if rule.exclude_bot_only and len(rows):
        span = log.dmax - log.dmin + 1
        key = log.gid * span + (log.day - log.dmin)
        bot_days = np.unique(key[log.sender == _BOT])
        human_days = np.unique(key[log.sender == _AGENT])
        kb = key[rows]
        counted &= ~(np.isin(kb, bot_days) & ~np.isin(kb, human_days))

    # sessions: conversation_id when present, else buyer + calendar day
    if log.conv is not None:
        c = log.conv[rows]
    else:
        c = np.full(len(rows), -1, dtype=np.int64)
    sess = pd.DataFrame({"g": g, "c": c, "d": np.where(c >= 0, -1, day)})
    session_start = ~sess.duplicated().to_numpy()

    return _Ann(rows=rows, gid=g, t=t, day=day, hour=sod // 3600, in_window=in_window,
                excl=excl, counted=counted, win=win, r_pos=r_pos, r_wait=r_wait, r_agent=r_agent,
                late=late, h_pos=h_pos, h_wait=h_wait, h_agent=h_agent, h_later_day=h_later,
                r_round_start=_starts(g, day, r_pos), h_round_start=_starts(g, day, h_pos),
                session_start=session_start)


# ----------------------------------------------------------------------------------------
# public: annotate
# ----------------------------------------------------------------------------------------
_ANNOTATE_COLUMNS = ["shop", "buyer_id", "sent_at", "date", "in_window", "excluded", "counted",
                     "reply_at", "reply_agent", "wait_s", "late", "agent"]


def _ts(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[s]")


def annotate(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
             excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per buyer message, with the rule's verdict.

    Columns: shop, buyer_id, sent_at, date (``datetime.date``), in_window (buyer
    message time inside the rule's window), excluded (buyer excluded on that day),
    counted (counts for the headline: in window, not excluded and — pdd3 — not
    in a robot-only buyer-day), reply_at (the rule's reply: next human agent
    message, or robot message with count_bot_replies; NaT if none), reply_agent
    (its agent label, None if none), wait_s (float seconds, NaN if none), late
    (no reply, or wait > threshold, or — taobao — a reply on a later day; judged
    for every message, use ``counted`` to know whether it matters), agent (the
    attributed agent: the replier, else the agent who last served the buyer
    before the message, else 未分配).

    Rows are in processing order (shop, buyer, sent_at, tie-break); the index
    holds the input frame's index labels.  Rows without shop, buyer_id or a
    valid sent_at are left out; system messages are ignored.
    """
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded)
    if log.n == 0:
        return _empty_annotation()
    a = _annotate_core(log, rule)
    answered = a.r_pos >= 0
    reply_at = np.where(answered, log.t[np.where(answered, a.r_pos, 0)], 0)
    reply_at = _ts(reply_at)
    reply_at[~answered] = np.datetime64("NaT")
    reply_agent = np.where(answered, log.agent_names[log.agent[np.where(answered, a.r_pos, 0)]],
                           None)
    out = pd.DataFrame({
        "shop": log.shop_names[log.shop_of_gid[a.gid]],
        "buyer_id": log.buyer_of_gid[a.gid],
        "sent_at": _ts(a.t),
        "date": log.day_table()[a.day - log.dmin],
        "in_window": a.in_window,
        "excluded": a.excl,
        "counted": a.counted,
        "reply_at": reply_at,
        "reply_agent": reply_agent,
        "wait_s": a.r_wait,
        "late": a.late,
        "agent": log.agent_names[a.r_agent],
    }, index=log.index[a.rows])
    return out


def _empty_annotation() -> pd.DataFrame:
    return pd.DataFrame({
        "shop": pd.Series([], dtype=object), "buyer_id": pd.Series([], dtype=object),
        "sent_at": pd.Series([], dtype="datetime64[s]"), "date": pd.Series([], dtype=object),
        "in_window": pd.Series([], dtype=bool), "excluded": pd.Series([], dtype=bool),
        "counted": pd.Series([], dtype=bool), "reply_at": pd.Series([], dtype="datetime64[s]"),
        "reply_agent": pd.Series([], dtype=object), "wait_s": pd.Series([], dtype=float),
        "late": pd.Series([], dtype=bool), "agent": pd.Series([], dtype=object),
    })


# ----------------------------------------------------------------------------------------
# public: unreplied list
# ----------------------------------------------------------------------------------------
_UNREPLIED_COLUMNS = ["shop", "buyer_id", "date", "sent_at", "wait_s", "reply_at", "agent"]


def unreplied_list(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
                   excluded: pd.DataFrame | None = None, since=None, until=None) -> pd.DataFrame:
    """One row per counted buyer message that was late or never answered.

    Columns: shop, buyer_id, date, sent_at, wait_s (NaN = never answered),
    reply_at (NaT = never), agent (attributed agent).  ``since``/``until`` are
    inclusive and apply to the buyer message's date.  Sorted by shop, sent_at,
    buyer_id.
    """
    ann = annotate(messages, rule, excluded)
    lo, hi = _day_number(since, "since"), _day_number(until, "until")
    m = ann["counted"].to_numpy() & ann["late"].to_numpy()
    if lo is not None or hi is not None:
        d = ann["date"]
        if lo is not None:
            m &= (d >= _EPOCH + _dt.timedelta(days=lo)).to_numpy(dtype=bool)
        if hi is not None:
            m &= (d <= _EPOCH + _dt.timedelta(days=hi)).to_numpy(dtype=bool)
    out = ann.loc[m, _UNREPLIED_COLUMNS]
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


class _Keys:
    """Group-key arrays for a set of rows (integer codes)."""

    def __init__(self, log: _Log, by: str):
        self.log, self.by = log, by
        self._weeks = log.week_codes() if by == "week" else None

    def __call__(self, gid, day, agent=None, hour=None) -> dict[str, np.ndarray]:
        k = {"shop": self.log.shop_of_gid[gid]}
        if self.by == "day":
            k["date"] = day
        elif self.by == "week":
            k["week"] = self._weeks[day - self.log.dmin]
        elif self.by == "agent":
            k["agent_id"] = agent
        elif self.by == "hour":
            k["hour"] = hour
        return k


def _agg(keys: dict[str, np.ndarray], values: dict[str, np.ndarray],
         how: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """groupby(keys) with named aggregations ``{out: (value column, func)}``; func may be
    'q90' for the 90th percentile."""
    df = pd.DataFrame({**keys, **values})
    g = df.groupby(list(keys), sort=False)
    plain = {k: v for k, v in how.items() if v[1] != "q90"}
    out = g.agg(**plain) if plain else None
    for k, (col, f) in how.items():
        if f == "q90":
            q = g[col].quantile(0.9)
            out = q.rename(k).to_frame() if out is None else out.join(q.rename(k))
    return out


def _buyer_days(a: _Ann, mask: np.ndarray, flag: np.ndarray, agent: np.ndarray | None):
    """Distinct (buyer, day[, agent]) among masked messages, flag = any(flag)."""
    cols = {"g": a.gid[mask], "d": a.day[mask]}
    if agent is not None:
        cols["a"] = agent[mask]
    df = pd.DataFrame(cols)
    df["f"] = flag[mask]
    bd = df.groupby(list(cols), sort=False)["f"].max().reset_index()
    return (bd["g"].to_numpy(), bd["d"].to_numpy(),
            bd["a"].to_numpy() if agent is not None else None, bd["f"].to_numpy(dtype=bool))


def _ratio(num, den) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


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
    slow_threshold_s = int(slow_threshold_s)
    columns = output_columns(rule, by)
    log = _prepare(messages, excluded)
    if log.n == 0:
        return _empty_kpis(columns)
    lo, hi = _day_number(since, "since"), _day_number(until, "until")
    a = _annotate_core(log, rule)

    def in_range(day: np.ndarray) -> np.ndarray:
        m = np.ones(len(day), dtype=bool)
        if lo is not None:
            m &= day >= lo
        if hi is not None:
            m &= day <= hi
        return m

    keys = _Keys(log, by)
    rng = in_range(a.day)
    counted = a.counted & rng
    win = a.win & rng
    slow = np.isnan(a.h_wait) | (a.h_wait > slow_threshold_s)

    # messages of agents and robots (own day, own label)
    staff = {}
    for name, code in (("agent_messages", _AGENT), ("bot_messages", _BOT)):
        m = (log.sender == code) & ~log.excl
        m &= in_range(log.day)
        staff[name] = (log.gid[m], log.day[m], log.agent[m], log.sod[m] // 3600)

    pieces: list[pd.DataFrame] = []
    if by == "hour":
        m = ~a.excl & rng
        pieces.append(_agg(keys(a.gid[m], a.day[m], hour=a.hour[m]),
                           {"x": np.ones(m.sum(), dtype=np.int64)},
                           {"buyer_messages": ("x", "sum")}))
        m = counted
        pieces.append(_agg(keys(a.gid[m], a.day[m], hour=a.hour[m]),
                           {"late": a.late[m].astype(np.int64),
                            "una": (a.r_pos[m] < 0).astype(np.int64)},
                           {"messages": ("late", "size"), "late_messages": ("late", "sum"),
                            "unanswered_messages": ("una", "sum")}))
        m = win
        pieces.append(_agg(keys(a.gid[m], a.day[m], hour=a.hour[m]),
                           {"slow": slow[m].astype(np.int64)},
                           {"slow_messages": ("slow", "sum")}))
        for name, (g, d, ag, hr) in staff.items():
            pieces.append(_agg(keys(g, d, hour=hr), {"x": np.ones(len(g), dtype=np.int64)},
                               {name: ("x", "sum")}))
    else:
        agent_mode = by == "agent"
        # headline: buyer-days (consult / unreplied)
        g, d, ag, f = _buyer_days(a, counted, a.late, a.r_agent if agent_mode else None)
        how = {"consult_buyers": ("f", "size")}
        if rule.unit == "buyer":
            how["unreplied_buyers"] = ("f", "sum")
        pieces.append(_agg(keys(g, d, ag), {"f": f.astype(np.int64)}, how))
        # headline: rounds / messages / sessions
        if rule.unit != "buyer":
            start = {"round": a.r_round_start, "message": np.ones(len(a.gid), dtype=bool),
                     "session": a.session_start}[rule.unit]
            m = counted & start
            pieces.append(_agg(keys(a.gid[m], a.day[m], a.r_agent[m]),
                               {"ok": (~a.late[m]).astype(np.int64)},
                               {f"{rule.unit}s": ("ok", "size"),
                                f"{rule.unit}s_on_time": ("ok", "sum")}))
        # first response per buyer-day (first window message of the day)
        gw, dw = a.gid[win], a.day[win]
        first = np.ones(len(gw), dtype=bool)
        if len(gw):
            first[1:] = (gw[1:] != gw[:-1]) | (dw[1:] != dw[:-1])
        idx = np.flatnonzero(win)[first]
        pieces.append(_agg(keys(a.gid[idx], a.day[idx], a.h_agent[idx]),
                           {"w": a.h_wait[idx]}, {"first_response_s_mean": ("w", "mean")}))
        # human rounds started in the window
        m = win & a.h_round_start
        w = a.h_wait[m]
        answered = ~np.isnan(w)
        cap = float(rule.response_cap_s)
        capped = np.where(answered, np.minimum(w, cap), cap)
        capped[(w == 0) | a.h_later_day[m]] = np.nan
        pieces.append(_agg(keys(a.gid[m], a.day[m], a.h_agent[m]), {"w": w, "c": capped},
                           {"response_s_mean": ("w", "mean"), "response_s_median": ("w", "median"),
                            "response_s_p90": ("w", "q90"),
                            "response_s_capped_mean": ("c", "mean")}))
        # window messages: answered within 30 s
        pieces.append(_agg(keys(a.gid[win], a.day[win], a.h_agent[win]),
                           {"fast": (a.h_wait[win] <= FAST_ANSWER_S).astype(np.int64)},
                           {"_win": ("fast", "size"), "_fast": ("fast", "sum")}))
        # slow buyers
        g, d, ag, f = _buyer_days(a, win, slow, a.h_agent if agent_mode else None)
        pieces.append(_agg(keys(g, d, ag), {"f": f.astype(np.int64)},
                           {"slow_buyers": ("f", "sum")}))
        # volumes
        m = ~a.excl & rng
        pieces.append(_agg(keys(a.gid[m], a.day[m], a.h_agent[m]),
                           {"x": np.ones(m.sum(), dtype=np.int64)},
                           {"buyer_messages": ("x", "sum")}))
        for name, (g, d, ag, hr) in staff.items():
            pieces.append(_agg(keys(g, d, ag), {"x": np.ones(len(g), dtype=np.int64)},
                               {name: ("x", "sum")}))

    out = pd.concat(pieces, axis=1, join="outer").reset_index()
    key_cols = _KEY_COLS[by]
    if out.empty:
        return _empty_kpis(columns)

    count_cols = [c for c in out.columns if c not in key_cols and c not in _FLOAT_COLUMNS]
    for c in count_cols:
        out[c] = out[c].fillna(0).astype(np.int64)
    if by != "hour":
        if rule.unit == "buyer":
            out["reply_rate"] = _ratio(out["consult_buyers"] - out["unreplied_buyers"],
                                       out["consult_buyers"])
        else:
            out["reply_rate"] = _ratio(out[f"{rule.unit}s_on_time"], out[f"{rule.unit}s"])
        out["answer_ratio"] = _ratio(out["agent_messages"], out["buyer_messages"])
        out["answered_30s_rate"] = _ratio(out["_fast"], out["_win"])
    for c in columns:
        if c in _FLOAT_COLUMNS:
            out[c] = out[c].astype(float)

    # keys: integer codes → labels
    out["shop"] = log.shop_names[out["shop"].to_numpy(dtype=np.int64)]
    if by == "day":
        out["date"] = log.day_table()[out["date"].to_numpy(dtype=np.int64) - log.dmin]
    elif by == "week":
        wk = out["week"].to_numpy(dtype=np.int64)
        out["week"] = np.array([f"{w // 100}-W{w % 100:02d}" for w in wk], dtype=object)
    elif by == "agent":
        out["agent_id"] = log.agent_names[out["agent_id"].to_numpy(dtype=np.int64)]
    elif by == "hour":
        out["hour"] = out["hour"].astype(np.int64)
    out = out[columns]
    for c in key_cols:
        if c != "hour":
            out[c] = out[c].astype(object)
    return out.sort_values(key_cols, kind="stable").reset_index(drop=True)


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
