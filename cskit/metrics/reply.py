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
from cskit.metrics.common import epoch_seconds as _epoch_seconds
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import pooled_sums
from cskit.metrics.common import ratio as _ratio
from cskit.metrics.common import require as _require
from cskit.metrics.common import runs as _runs
from cskit.metrics.common import seconds as _seconds
from cskit.metrics.common import ts as _ts
from cskit.metrics.horizon import within_horizon, within_lead
from cskit.metrics.registry import column_order
from cskit.metrics.rules import PRESETS, RuleConfig, get_rule

__all__ = ["annotate", "reply_kpis", "unreplied_list", "output_columns", "ReplySlices",
           "pooled_results", "slice_log",
           "UNASSIGNED",
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


def _stable_order(codes: np.ndarray) -> np.ndarray:
    """A stable argsort of non-negative integer codes: least-significant-digit radix
    passes of 16 bits (numpy sorts 16-bit integers stably by radix, in linear time)."""
    top = int(codes.max()) if len(codes) else 0
    order, shift = None, 0
    while True:
        digit = ((codes >> shift) & 0xFFFF).astype(np.uint16)
        order = np.argsort(digit, kind="stable") if order is None else \
            order[np.argsort(digit[order], kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def _time_ordered_blocks(shop_c: np.ndarray, t: np.ndarray) -> bool:
    """Whether each shop's rows are one block, in time order (as read from the store)."""
    same = shop_c[1:] == shop_c[:-1]
    if not bool((t[1:] >= t[:-1])[same].all()):
        return False
    starts = shop_c[np.concatenate([[True], ~same])]
    return len(starts) == 1 or len(np.unique(starts)) == len(starts)


def _sort_order(shop_c, buyer_c, t, df: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
    """Positions (into ``pos``) sorted by shop, buyer, sent_at, tie-break, input order."""
    return _sorted(shop_c, buyer_c, t, df, pos)[0]


def _sorted(shop_c, buyer_c, t, df: pd.DataFrame, pos: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """:func:`_sort_order`, and in that order the group key ``shop * nb + buyer`` and the
    time (what the sort computed anyway: no gather of the inputs again), and ``nb``."""
    n = len(pos)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, 1
    nb = int(buyer_c.max()) + 1
    tmin, span = int(t.min()), int(t.max() - t.min()) + 1
    ngroups = (int(shop_c.max()) + 1) * nb
    if n > 1 and _time_ordered_blocks(shop_c, t):
        # each shop's rows in time order (a Parquet slice): a stable radix sort by group
        # keeps it
        g = shop_c * nb + buyer_c
        order = _stable_order(g)
        gs, ts = g[order], t[order]
        eq = (gs[1:] == gs[:-1]) & (ts[1:] == ts[:-1])
    elif ngroups < _BIG // span:
        # one int64 key; an unstable sort is fastest, equal keys are put in order below
        key = (shop_c * nb + buyer_c) * span + (t - tmin)
        order = np.argsort(key)
        ks = key[order]
        eq = ks[1:] == ks[:-1]
        gs, ts = np.divmod(ks, span)
        ts += tmin
    else:  # astronomically many buyers × a very long time span: slower exact path
        order = np.lexsort((t, buyer_c, shop_c))
        s_, b_, t_ = shop_c[order], buyer_c[order], t[order]
        eq = (s_[1:] == s_[:-1]) & (b_[1:] == b_[:-1]) & (t_[1:] == t_[:-1])
        gs, ts = s_ * nb + b_, t_
    # (the tie-break below reorders rows of equal group and time only: gs, ts stay)
    if not eq.any():
        return order, gs, ts, nb
    tied = np.zeros(n, dtype=bool)
    tied[1:] |= eq
    tied[:-1] |= eq
    tpos = np.flatnonzero(tied)
    run = np.cumsum(np.concatenate([[True], ~eq[tpos[1:] - 1]]))  # runs of equal keys
    sub = order[tpos]  # positions into pos (pos is in input order)
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
    order[tpos] = sub[np.lexsort(keys)]
    return order, gs, ts, nb


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
    #: bool per row: the message is a closing remark (None: unknown, no content read)
    closing: np.ndarray | None = None

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


def _sender_codes(snd: pd.Series) -> np.ndarray:
    """int8 sender code per row (-1: system, anything else or missing)."""
    if isinstance(snd.dtype, pd.CategoricalDtype):  # one comparison per category
        cats = np.asarray(snd.cat.categories, dtype=object)
        table = np.array([_SENDERS.get(c, -1) if isinstance(c, str) else -1 for c in cats] + [-1],
                         dtype=np.int8)
        return table[snd.cat.codes.to_numpy()]  # code -1 (missing) → the last entry, -1
    out = np.full(len(snd), -1, dtype=np.int8)
    for name, code in _SENDERS.items():
        out[(snd == name).to_numpy(dtype=bool, na_value=False)] = code
    return out


def _prepare(messages: pd.DataFrame, excluded: pd.DataFrame | None, t_lo: int | None = None,
             t_hi: int | None = None, closing: bool = True) -> _Log:
    """Sort and code the messages; rows outside ``[t_lo, t_hi)`` (epoch seconds, wall clock)
    are left out as if absent (a time slice of a larger frame, without a copy).
    ``closing``: tell closing remarks (only the KPI tables need them)."""
    _require(messages, ("shop", "buyer_id", "sender", "sent_at"), "messages")
    df = messages
    sender_all = _sender_codes(df["sender"])
    shop_c, shop_u = _factorize(df["shop"])
    buyer_c, buyer_u = _factorize(df["buyer_id"])
    t_all, t_ok = _seconds(df["sent_at"])
    keep = (shop_c >= 0) & (buyer_c >= 0) & (sender_all >= 0) & t_ok
    if t_lo is not None:
        keep &= t_all >= t_lo
    if t_hi is not None:
        keep &= t_all < t_hi
    if keep.all():  # the usual case: no copies before the sort
        pos = np.arange(len(df))
        pos, gkey, t, nb = _sorted(shop_c, buyer_c, t_all, df, pos)
    else:
        pos = np.flatnonzero(keep)
        order, gkey, t, nb = _sorted(shop_c[pos], buyer_c[pos], t_all[pos], df, pos)
        pos = pos[order]

    n = len(pos)
    new = np.ones(n, dtype=bool)
    if n:
        new[1:] = gkey[1:] != gkey[:-1]
    gid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    shop_of_gid, buy_of_gid = np.divmod(gkey[starts], nb)
    buyer_of_gid = buyer_u[buy_of_gid]

    day, sod = np.divmod(t, _DAY)
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
    excl = day >= since_of_gid[gid] if (since_of_gid != _NEVER).any() \
        else np.zeros(n, dtype=bool)

    return _Log(frame=df, pos=pos, shop_names=np.asarray(shop_u, dtype=object),
                shop_of_gid=shop_of_gid, buyer_of_gid=buyer_of_gid, gid=gid, t=t, day=day,
                sod=sod, sender=sender, agent=agent,
                agent_names=np.asarray(uniq_names, dtype=object),
                unassigned=int(remap[len(au)]), excl=excl, dmin=dmin, dmax=dmax,
                closing=_closing_rows(df, pos, sender) if closing else None)


def _closing_rows(df: pd.DataFrame, pos: np.ndarray, sender: np.ndarray) -> np.ndarray | None:
    """Per log row: a buyer message that is a closing remark (:mod:`cskit.metrics.closing`).
    From a boolean ``closing`` column (computed while reading), else from ``content``
    (judged once per distinct buyer text); None when neither is there (unknown)."""
    if "closing" in df.columns:
        return df["closing"].to_numpy(dtype=bool, na_value=False)[pos] & (sender == _BUYER)
    if "content" not in df.columns:
        return None
    from cskit.metrics.closing import is_closing

    out = np.zeros(len(pos), dtype=bool)
    b = np.flatnonzero(sender == _BUYER)
    if len(b):
        content = df["content"]
        if isinstance(content.dtype, pd.CategoricalDtype):  # once per category
            out[b] = is_closing(content)[pos[b]]
        else:
            out[b] = is_closing(content.iloc[pos[b]])
    return out


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
    log = _prepare(messages, excluded, closing=False)
    a = _annotate_core(log, rule)
    return _annotation_frame(log, a, np.ones(len(a.rows), dtype=bool))


def late_annotation(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
                    excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of :func:`annotate` that are ``counted`` and ``late`` (late or never
    answered), with its columns, row order and index — without building the frame of
    every buyer message (`cskit qc`'s 长时间未回复 flags need only these)."""
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded, closing=False)
    a = _annotate_core(log, rule)
    return _annotation_frame(log, a, a.counted & a.late)


def unreplied_list(messages: pd.DataFrame, rule: RuleConfig | str | None = None,
                   excluded: pd.DataFrame | None = None, since=None, until=None) -> pd.DataFrame:
    """One row per counted buyer message that was late or never answered.

    Columns: shop, buyer_id, date, sent_at, wait_s (NaN = never answered),
    reply_at (NaT = never), agent (attributed agent).  ``since``/``until`` are
    inclusive and apply to the buyer message's date.  Sorted by shop, sent_at,
    buyer_id.
    """
    rule = _resolve_rule(rule)
    log = _prepare(messages, excluded, closing=False)
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
        return ["consult_buyers", "unreplied_buyers", "unreplied_closing_buyers", "reply_rate"]
    return ["consult_buyers", f"{rule.unit}s", f"{rule.unit}s_on_time", "reply_rate"]


_OTHER_COLUMNS = ["first_response_s_mean", "first_response_s_median", "first_response_s_p90",
                  "response_s_mean", "response_s_median",
                  "response_s_p90", "response_s_capped_mean", "answer_ratio", "answered_30s_rate",
                  "slow_buyers", "buyer_messages", "agent_messages", "bot_messages"]
_HOUR_COLUMNS = ["buyer_messages", "messages", "late_messages", "unanswered_messages",
                 "slow_messages", "agent_messages", "bot_messages"]
#: counts that are unknown (NA) when the input lacks what they need (message texts)
_NULLABLE_COLUMNS = {"unreplied_closing_buyers"}
_FLOAT_COLUMNS = {"reply_rate", "first_response_s_mean", "first_response_s_median",
                  "first_response_s_p90", "response_s_mean", "response_s_median",
                  "response_s_p90", "response_s_capped_mean", "answer_ratio",
                  "answered_30s_rate"}


def output_columns(rule: RuleConfig | str | None = None, by: str = "day") -> list[str]:
    """The columns :func:`reply_kpis` returns for this rule and grouping."""
    rule = _resolve_rule(rule)
    if by not in BY_CHOICES:
        raise UsageError("unknown grouping {by!r}",
                         hint="one of {choices}", by=by, choices=", ".join(BY_CHOICES))
    kpis = _HOUR_COLUMNS if by == "hour" else _headline_columns(rule) + _OTHER_COLUMNS
    return _KEY_COLS[by] + column_order(kpis)


# ----------------------------------------------------------------------------------------
# aggregation: per-message facts → per-group partial sums → the KPI table
# ----------------------------------------------------------------------------------------
@dataclass
class _Events:
    """What the KPI table needs of every buyer message and every agent/robot message,
    whether it comes from one log or from replies resolved across time slices."""

    shop_names: np.ndarray  # object, by shop code
    agent_names: np.ndarray  # object, by agent code
    # per buyer message (a buyer-day's messages are adjacent, in processing order)
    shop: np.ndarray  # int64 shop code
    buyer: np.ndarray  # int64, one code per (shop, buyer)
    day: np.ndarray
    hour: np.ndarray
    rng: np.ndarray  # counted here: dated in the range (and owned by this slice)
    excl: np.ndarray
    counted: np.ndarray
    win: np.ndarray
    late: np.ndarray
    unanswered: np.ndarray  # no reply under the rule
    r_agent: np.ndarray
    h_wait: np.ndarray
    h_agent: np.ndarray
    h_later_day: np.ndarray
    unit_start: np.ndarray  # opens a unit of the rule (round / session / message)
    round_start: np.ndarray  # opens a human round
    first_win: np.ndarray  # the buyer-day's first window message
    # agent and robot messages counted (in the range, not excluded): their own day, hour, label
    # as (shop, day, hour, agent) arrays, for "agent_messages" and "bot_messages"
    volumes: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    closing: np.ndarray | None = None  # per buyer message: a closing remark (None: unknown)


def _events(log: _Log, a: _Ann, rule: RuleConfig, lo: int | None, hi: int | None,
            sel: np.ndarray | None = None, seen=None) -> _Events:
    """Facts of a log's buyer messages dated in ``[lo, hi]`` (and ``sel``, whole buyer-days)."""
    rng = _in_range(a.day, lo, hi)
    if sel is not None:
        rng &= sel
    nb = len(a.rows)
    unit_start = _unit_starts(log, a, rule.unit, seen) if rule.unit != "buyer" \
        else np.ones(nb, dtype=bool)
    wpos = np.flatnonzero(a.win)
    first_win = np.zeros(nb, dtype=bool)
    first_win[wpos[_runs(a.gid[wpos], a.day[wpos])]] = True
    volumes = {}
    for name, code in (("agent_messages", _AGENT), ("bot_messages", _BOT)):
        vm = np.flatnonzero((log.sender == code) & ~log.excl & _in_range(log.day, lo, hi))
        vshop = np.zeros(len(vm), dtype=np.int64) if len(log.shop_names) == 1 else \
            log.shop_of_gid[log.gid[vm]]
        volumes[name] = (vshop, log.day[vm], log.sod[vm] // 3600, log.agent[vm])
    return _Events(
        shop_names=log.shop_names, agent_names=log.agent_names, shop=log.shop_of_gid[a.gid],
        buyer=a.gid, day=a.day, hour=a.hour, rng=rng, excl=a.excl, counted=a.counted, win=a.win,
        late=a.late, unanswered=a.r_pos < 0, r_agent=a.r_agent, h_wait=a.h_wait,
        h_agent=a.h_agent, h_later_day=a.h_later_day, unit_start=unit_start,
        round_start=_runs(a.gid, a.day, a.h_pos), first_win=first_win, volumes=volumes,
        closing=a.closing)


@dataclass
class _Part:
    """Per-group sums of one batch of events (combinable by adding), and per measure the
    histogram of (group, whole-second response time) for exact medians and P90s."""

    sums: pd.DataFrame  # shop, _k, then sum columns
    #: measure ("response", "first_response") → (row of sums, seconds, how many): three int64
    #: arrays, in no particular order, each (row, seconds) pair once
    hist: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


class _Acc:
    """Per-group accumulators over a dense index shop × (day | week | agent | hour)."""

    def __init__(self, ev: _Events, by: str):
        self.ev, self.by = ev, by
        days = np.concatenate([ev.day] + [v[1] for v in ev.volumes.values()])
        self.dmin = int(days.min()) if len(days) else 0
        dmax = int(days.max()) if len(days) else 0
        if by == "day":
            k = dmax - self.dmin + 1
        elif by == "week":
            codes = []
            for d in range(self.dmin, dmax + 1):
                y, w, _ = (_EPOCH + _dt.timedelta(days=d)).isocalendar()
                codes.append(y * 100 + w)
            self.weeks, self.week_of_day = np.unique(np.array(codes, dtype=np.int64),
                                                     return_inverse=True)
            k = len(self.weeks)
        elif by == "agent":
            k = len(ev.agent_names)
        elif by == "hour":
            k = 24
        else:
            k = 1
        self.k = max(k, 1)
        self.size = len(ev.shop_names) * self.k
        self.touched = np.zeros(self.size, dtype=bool)
        self.cols: dict[str, np.ndarray] = {}
        self.hist: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def index(self, shop, day, agent=None, hour=None) -> np.ndarray:
        base = shop * self.k
        if self.by == "day":
            return base + (day - self.dmin)
        if self.by == "week":
            return base + self.week_of_day[day - self.dmin]
        if self.by == "agent":
            return base + agent
        if self.by == "hour":
            return base + hour
        return base

    def _bc(self, idx, weights=None) -> np.ndarray:
        if self.size == 1:  # one group (one shop's slice, by shop): a count or a sum
            # (weights are whole seconds: their sum is exact in any order)
            return np.array([len(idx)], dtype=np.intp) if weights is None else \
                np.array([np.sum(weights, dtype=np.float64)])
        return np.bincount(idx, weights=weights, minlength=self.size)

    def count(self, name: str, idx: np.ndarray) -> None:
        c = self._bc(idx)
        self.touched |= c > 0
        self.cols[name] = c.astype(np.int64)

    def sum(self, name: str, idx: np.ndarray, flag: np.ndarray) -> None:
        self.touched |= self._bc(idx) > 0
        self.cols[name] = self._bc(idx[flag]).astype(np.int64)

    def mean(self, name: str, idx: np.ndarray, values: np.ndarray) -> None:
        """Sum and count of the non-NaN values (whole seconds: exact in float64)."""
        self.touched |= self._bc(idx) > 0
        ok = ~np.isnan(values)
        self.cols[name + "#s"] = self._bc(idx[ok], values[ok])
        self.cols[name + "#n"] = self._bc(idx[ok]).astype(np.int64)

    def quantiles(self, name: str, idx: np.ndarray, values: np.ndarray) -> None:
        """Histogram of whole-second ``values`` per group, for the medians and P90s of
        ``name`` (a key of :data:`_QUANTILES`)."""
        self.touched |= self._bc(idx) > 0
        ok = ~np.isnan(values)
        self.hist[name] = (idx[ok], values[ok].astype(np.int64))

    def part(self) -> _Part:
        ev = self.ev
        rows = np.flatnonzero(self.touched)
        shop, second = np.divmod(rows, self.k)
        sums = pd.DataFrame({"shop": ev.shop_names[shop], "_k": self._keys(second),
                             **{k: v[rows] for k, v in self.cols.items()}})
        return _Part(sums, {name: self._hist_frame(idx, v, rows)
                            for name, (idx, v) in self.hist.items()})

    def _hist_frame(self, idx: np.ndarray, v: np.ndarray, rows: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row of the part's sums, seconds, count) of the distinct (group, seconds) pairs.
        Waits are mostly short: the seconds below ``cap`` are counted in a dense
        (row × seconds) table, only the long tail is sorted."""
        at = np.full(self.size, -1, dtype=np.int64)
        at[rows] = np.arange(len(rows))
        r = at[idx]
        nrow = max(len(rows), 1)
        vmax = int(v.max()) + 1 if len(v) else 1
        cap = min(vmax, max(1, (4 * len(v) + _DENSE_CELLS) // nrow))
        small = (v >= 0) & (v < cap)
        neg = not small.all() and int(v.min()) < 0  # (never: replies come after)
        dense = np.bincount(r[small] * cap + v[small], minlength=nrow * cap)
        cell = np.flatnonzero(dense)
        r_out, v_out = np.divmod(cell, cap)
        n_out = dense[cell]
        if cap < vmax or neg:  # the long waits: sorted (a distinct pair once, with its count)
            tail = ~small
            if tail.any() and nrow < _BIG // vmax and not neg:
                u, n = np.unique(r[tail] * vmax + v[tail], return_counts=True)
                ru, vu = np.divmod(u, vmax)
            elif tail.any():
                frame = pd.DataFrame({"g": r[tail], "v": v[tail]}).value_counts()
                ru = frame.index.get_level_values(0).to_numpy(np.int64)
                vu = frame.index.get_level_values(1).to_numpy(np.int64)
                n = frame.to_numpy(np.int64)
            if tail.any():
                r_out, v_out = np.concatenate([r_out, ru]), np.concatenate([v_out, vu])
                n_out = np.concatenate([n_out, n])
        return (r_out.astype(np.int64), v_out.astype(np.int64), n_out.astype(np.int64))

    def _keys(self, second: np.ndarray) -> np.ndarray:
        if self.by == "day":
            return second + self.dmin
        if self.by == "week":
            return self.weeks[second]
        if self.by == "agent":
            return self.ev.agent_names[second]
        return second.astype(np.int64)


def _buyer_days(ev: _Events, mask: np.ndarray, flag: np.ndarray, agent: np.ndarray | None,
                cache: dict | None = None, key=None, fkey=None):
    """Distinct (buyer, day[, agent]) among masked buyer messages: shop, day, agent, any(flag).
    ``cache``/``key``: masked arrays kept for the other calls with the same ``mask`` (other
    flags, other groupings of the same events); ``fkey`` names the flag among them."""
    if cache is None:
        cache = {}
    if key in cache:
        g, d, sh, first, run = cache[key]
    else:
        g, d, sh = ev.buyer[mask], ev.day[mask], ev.shop[mask]
        first = _runs(g, d)  # a buyer-day's messages are adjacent: a buyer-day is a run
        run = np.cumsum(first) - 1
        if key is not None:
            cache[key] = (g, d, sh, first, run)
    if fkey is not None and (key, fkey) in cache:
        f = cache[key, fkey]
    else:
        f = flag[mask]
        if key is not None and fkey is not None:
            cache[key, fkey] = f
    if agent is None:
        anyf = np.zeros(len(g) and int(run[-1]) + 1, dtype=bool)
        anyf[run[f]] = True
        if key is not None and (key, "first") in cache:
            sh_f, d_f = cache[key, "first"]
        else:
            sh_f, d_f = sh[first], d[first]
            if key is not None:
                cache[key, "first"] = (sh_f, d_f)
        return sh_f, d_f, None, anyf
    if len(g) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z, np.zeros(0, dtype=bool)
    ag = agent[mask]
    na = len(ev.agent_names)
    nrun = int(run[-1]) + 1
    if nrun * na <= 8 * len(g) + _DENSE_CELLS:  # few agents: a dense (buyer-day × agent) table
        cell = run * na + ag
        present = np.zeros(nrun * na, dtype=bool)
        present[cell] = True
        hit = np.zeros(nrun * na, dtype=bool)
        hit[cell[f]] = True
        at = np.flatnonzero(present)
        r_u, ag_u = np.divmod(at, na)
        rows = np.flatnonzero(first)[r_u]
        return sh[rows], d[rows], ag_u, hit[at]
    dmin = int(d.min())
    nd = int(d.max()) - dmin + 1
    cell = (g * nd + (d - dmin)) * na + ag
    # a buyer-day's messages are adjacent and mostly share an agent: hash only where the
    # cell changes (the codes, in order of first appearance, are those of all the cells)
    new = np.ones(len(cell), dtype=bool)
    new[1:] = cell[1:] != cell[:-1]
    codes, uniq = pd.factorize(cell[new])
    codes = np.asarray(codes, dtype=np.int64)[np.cumsum(new) - 1]
    anyf = np.bincount(codes, weights=f, minlength=len(uniq)) > 0
    uniq = np.asarray(uniq, dtype=np.int64)
    gd, ag_u = np.divmod(uniq, na)
    d_u = gd % nd + dmin
    at = np.empty(len(uniq), dtype=np.int64)
    at[codes] = np.arange(len(codes))
    return sh[at], d_u, ag_u, anyf


def _partial(ev: _Events, by: str, rule: RuleConfig, slow_threshold_s: int,
             cache: dict | None = None) -> _Part:
    """Per-group sums of the events (see :func:`reply_kpis` for the definitions).
    ``cache``: a dict shared by the calls for several groupings of the same events."""
    acc = _Acc(ev, by)
    if cache is None:
        cache = {}
    if "counted" not in cache:
        cache["counted"] = ev.counted & ev.rng
        cache["win"] = ev.win & ev.rng
        cache["slow"] = np.isnan(ev.h_wait) | (ev.h_wait > slow_threshold_s)
        cache["base"] = ~ev.excl & ev.rng  # every buyer message of the range (all hours)
    counted, win, slow, base = cache["counted"], cache["win"], cache["slow"], cache["base"]

    if acc.size == 1:
        pre = {}
    elif by == "agent":
        pre = {"r": acc.index(ev.shop, None, ev.r_agent), "h": acc.index(ev.shop, None, ev.h_agent)}
    else:
        pre = {None: acc.index(ev.shop, ev.day, None, ev.hour)}

    def idx(m, agent=None):
        if acc.size == 1:  # every index is 0: only the count matters
            return np.zeros(int(np.count_nonzero(m)), dtype=np.int64)
        return pre[agent][m]

    # volumes of agents and robots: their own day, hour and label
    for name, (v_shop, v_day, v_hour, v_agent) in ev.volumes.items():
        acc.count(name, acc.index(v_shop, v_day, v_agent, v_hour))

    if by == "hour":
        acc.count("buyer_messages", idx(base))
        acc.count("messages", idx(counted))
        acc.sum("late_messages", idx(counted), ev.late[counted])
        acc.sum("unanswered_messages", idx(counted), ev.unanswered[counted])
        acc.sum("slow_messages", idx(win), slow[win])
        return acc.part()
    agent_mode = by == "agent"
    r_agent = "r" if agent_mode else None
    h_agent = "h" if agent_mode else None
    # headline: buyer-days, then rounds / messages / sessions
    sh, d, ag, f = _buyer_days(ev, counted, ev.late, ev.r_agent if agent_mode else None,
                               cache, "bd_counted", "late")
    bd = acc.index(sh, d, ag)
    acc.count("consult_buyers", bd)
    if rule.unit == "buyer":
        acc.sum("unreplied_buyers", bd, f)
        if ev.closing is not None:
            # unreplied buyer-days (cells) whose every late message is a closing remark
            _, _, _, real = _buyer_days(ev, counted, ev.late & ~ev.closing,
                                        ev.r_agent if agent_mode else None, cache,
                                        "bd_counted", "real")
            acc.sum("unreplied_closing_buyers", bd, f & ~real)
    else:
        m = counted & ev.unit_start
        acc.count(f"{rule.unit}s", idx(m, r_agent))
        acc.sum(f"{rule.unit}s_on_time", idx(m, r_agent), ~ev.late[m])
    # first response per buyer-day: its first window message
    first = ev.first_win & win
    i = idx(first, h_agent)
    acc.mean("first_response_s_mean", i, ev.h_wait[first])
    acc.quantiles("first_response", i, ev.h_wait[first])
    # human rounds started in the window
    m = win & ev.round_start
    w = ev.h_wait[m]
    i = idx(m, h_agent)
    acc.mean("response_s_mean", i, w)
    acc.quantiles("response", i, w)
    cap = float(rule.response_cap_s)
    capped = np.where(np.isnan(w), cap, np.minimum(w, cap))
    capped[(w == 0) | ev.h_later_day[m]] = np.nan
    acc.mean("response_s_capped_mean", i, capped)
    # window messages answered within 30 s; slow buyers; volumes
    acc.count("_win", idx(win, h_agent))
    acc.sum("_fast", idx(win, h_agent), ev.h_wait[win] <= FAST_ANSWER_S)
    sh, d, ag, f = _buyer_days(ev, win, slow, ev.h_agent if agent_mode else None, cache,
                               "bd_win", "slow")
    acc.sum("slow_buyers", acc.index(sh, d, ag), f)
    acc.count("buyer_messages", idx(base, h_agent))
    return acc.part()


_MEANS = ("first_response_s_mean", "response_s_mean", "response_s_capped_mean")
#: measure of a histogram → (column, quantile) computed from it
_QUANTILES = {"response": (("response_s_median", 0.5), ("response_s_p90", 0.9)),
              "first_response": (("first_response_s_median", 0.5),
                                 ("first_response_s_p90", 0.9))}


def _finish(parts: list[_Part], by: str, rule: RuleConfig) -> pd.DataFrame:
    """The KPI table from the partial sums of one or more batches of events."""
    columns = output_columns(rule, by)
    tab = pooled_sums([p.sums for p in parts])
    if tab is None:
        return _empty_kpis(columns)
    cols = {c: tab[c].to_numpy() for c in tab.columns if "#" not in c}
    if by != "hour":
        for name in _MEANS:
            cols[name] = _ratio(tab[name + "#s"].to_numpy(), tab[name + "#n"].to_numpy())
        rows = _part_rows(tab.index, parts)
        for measure, qs in _QUANTILES.items():
            cols.update(_hist_quantiles(len(tab), rows, parts, measure, qs))
        if "unreplied_closing_buyers" in columns:  # nullable: NA when no content was read
            cols["unreplied_closing_buyers"] = pd.array(
                cols.get("unreplied_closing_buyers", [pd.NA] * len(tab)), dtype="Int64")
        if rule.unit == "buyer":
            cols["reply_rate"] = _ratio(cols["consult_buyers"] - cols["unreplied_buyers"],
                                        cols["consult_buyers"])
        else:
            cols["reply_rate"] = _ratio(cols[f"{rule.unit}s_on_time"], cols[f"{rule.unit}s"])
        cols["answer_ratio"] = _ratio(cols["agent_messages"], cols["buyer_messages"])
        cols["answered_30s_rate"] = _ratio(cols["_fast"], cols["_win"])

    second = tab.index.get_level_values("_k").to_numpy()
    keys: dict[str, np.ndarray] = {"shop": tab.index.get_level_values("shop").to_numpy(object)}
    if by == "day":
        keys["date"] = np.asarray(second, dtype=np.int64).astype("datetime64[D]").astype(object)
    elif by == "week":
        keys["week"] = np.array([f"{w // 100}-W{w % 100:02d}" for w in second], dtype=object)
    elif by == "agent":
        keys["agent_id"] = np.asarray(second, dtype=object)
    elif by == "hour":
        keys["hour"] = np.asarray(second, dtype=np.int64)
    out = pd.DataFrame({**keys, **cols})[columns]
    for c in _KEY_COLS[by]:
        if c != "hour":
            out[c] = out[c].astype(object)
    return out.sort_values(_KEY_COLS[by], kind="stable").reset_index(drop=True)


def _part_rows(index: pd.MultiIndex, parts: list[_Part]) -> list[np.ndarray]:
    """Per part, the row of the pooled table (``index``) of each of its sums' rows: one
    lookup for all the parts."""
    have = [p.sums for p in parts if len(p.sums)]
    if not have:
        return [np.zeros(0, dtype=np.int64) for _ in parts]
    keys = pd.MultiIndex.from_arrays(
        [np.concatenate([s["shop"].to_numpy(object) for s in have]),
         np.concatenate([s["_k"].to_numpy() for s in have])])
    at = np.asarray(index.get_indexer(keys), dtype=np.int64)
    out, i = [], 0
    for p in parts:
        n = len(p.sums)
        out.append(at[i:i + n])
        i += n
    return out


def _hist_quantiles(nr: int, rows: list[np.ndarray], parts: list[_Part], measure: str,
                    quantiles) -> dict[str, np.ndarray]:
    """Linear-interpolation quantiles (as numpy/pandas) per row of the pooled table (``nr``
    rows; ``rows``: :func:`_part_rows`) from the (value, count) pairs of ``measure``'s
    histograms; ``quantiles``: (column, q) pairs."""
    out = {name: np.full(nr, np.nan) for name, _ in quantiles}
    hists = [(r, p.hist[measure]) for r, p in zip(rows, parts)
             if measure in p.hist and len(p.hist[measure][0])]
    if not hists:
        return out
    # (row, value, count) of every batch; equal values of a row need not be merged
    row = np.concatenate([r[h[0]] for r, h in hists])
    v = np.concatenate([h[1] for _, h in hists])
    n = np.concatenate([h[2] for _, h in hists])
    vmax = int(v.max()) + 1 if len(v) else 1
    if len(v) and int(v.min()) >= 0 and nr < _BIG // vmax:
        order = np.argsort(row * vmax + v)  # one key: (row, value) pairs in order
    else:
        order = np.lexsort((v, row))
    row, v, n = row[order], v[order].astype(float), n[order]
    cnt = np.bincount(row, weights=n, minlength=nr).astype(np.int64)
    cum = np.cumsum(n)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    has = cnt > 0
    c, s = cnt[has], start[has]
    for name, q in quantiles:
        p = q * (c - 1)
        lo = np.floor(p).astype(np.int64)
        hi = np.minimum(lo + 1, c - 1)
        v_lo = v[np.searchsorted(cum, s + lo, side="right")]
        v_hi = v[np.searchsorted(cum, s + hi, side="right")]
        out[name][has] = v_lo + (p - lo) * (v_hi - v_lo)
    return out


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
    return _finish([_partial(_events(log, a, rule, lo, hi), by, rule, slow_threshold_s)], by, rule)


def _empty_kpis(columns: list[str]) -> pd.DataFrame:
    data = {}
    for c in columns:
        if c == "hour":
            data[c] = pd.Series([], dtype=np.int64)
        elif c in ("shop", "date", "week", "agent_id"):
            data[c] = pd.Series([], dtype=object)
        elif c in _FLOAT_COLUMNS:
            data[c] = pd.Series([], dtype=float)
        elif c in _NULLABLE_COLUMNS:
            data[c] = pd.Series([], dtype="Int64")
        else:
            data[c] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(data)


_UNREPLIED_COLUMNS = ["shop", "buyer_id", "date", "sent_at", "wait_s", "reply_at", "agent"]
#: deferred buyer messages kept before the settled ones are aggregated (a few numbers each)
_FLUSH_ROWS = 200_000
#: _buyer_days uses a dense (buyer-day × agent) table up to 8 cells per message plus this
_DENSE_CELLS = 65536
#: ReplySlices.shop after a slice of several shops (no other slice may follow)
_SHOPS = object()


# ----------------------------------------------------------------------------------------
# one shop, slice by slice
# ----------------------------------------------------------------------------------------
class ReplySlices:
    """Reply KPIs (and the unreplied list) of one shop, fed one time slice at a time (or of
    several shops in one single, last slice: nothing is carried between their slices).

    ``cskit kpi`` reads the store one shop-month at a time and hands each month to
    :meth:`add`; :meth:`result` gives exactly what :func:`reply_kpis` (for each
    grouping in ``bys``) and :func:`unreplied_list` give for all the messages at
    once.  Pure: frames in, frames out; nothing is read or printed.

    A slice *owns* the buyer messages dated ``lo``..``hi``; it gets the messages from
    ``lo`` 00:00 on, up to a little after ``hi`` (replies after midnight).  Sums per
    group are taken for the buyer-days it owns.  What one slice cannot know is carried
    forward compactly:

    * a buyer-day with a message whose reply is not in the slice is *deferred*: its
      buyer messages are kept (a few numbers each) until a later slice holds that
      buyer's next agent message, or to the end (never answered);
    * per buyer, the last agent who wrote to them (attribution of unanswered
      messages; only with ``bys`` containing ``agent`` or ``unreplied``);
    * for sessions (``jd``), the conversations already started;
    * medians and P90s: a histogram of (group, whole-second response time) per slice.

    Slices must come in time order and not overlap in the days they own.
    """

    def __init__(self, rule: RuleConfig | str | None = None, excluded: pd.DataFrame | None = None,
                 *, bys=("day",), since=None, until=None, slow_threshold_s: int = 100,
                 unreplied: bool = False):
        self.rule = _resolve_rule(rule)
        self.bys = tuple(bys)
        for by in self.bys:
            output_columns(self.rule, by)  # validates
        self.excluded = excluded
        self.lo, self.hi = day_number(since, "since"), day_number(until, "until")
        self.slow = int(slow_threshold_s)
        self.unreplied = unreplied
        self.attribution = unreplied or "agent" in self.bys
        self.parts: dict[str, list[_Part]] = {by: [] for by in self.bys}
        self.late: list[pd.DataFrame] = []
        self.shop = None
        self.first = True  # no slice added yet
        # per buyer id (distinct), the label of the last agent who wrote to them and the day
        # of that message; only the buyers a later slice can still attribute to them (that
        # day inside the lead-in of the next slice's first day, :meth:`_remember`)
        self.prior_buyers = np.empty(0, dtype=object)
        self.prior_agents = np.empty(0, dtype=object)
        self.prior_days = np.empty(0, dtype=np.int64)
        self.sessions = pd.Series([], dtype=np.int64)  # conversation → last buyer day
        self.deferred: dict[str, np.ndarray] | None = None
        self.prev_hi: int | None = None

    # ------------------------------------------------------------------------------------
    def add(self, messages: pd.DataFrame, lo, hi, *, start=None, end=None,
            last: bool = False, log: _Log | None = None):
        """Process one slice: it owns the buyer messages dated ``lo``..``hi`` (dates,
        inclusive; clipped to since/until) and uses the rows of ``messages`` from ``lo``
        00:00 (or an earlier ``start``: earlier messages that one call would also see)
        up to ``end`` (a time, exclusive; None = all).  ``last``: no later slice follows
        (a reply not in this slice never came).  Returns the sorted log it built (or
        None), which :class:`~cskit.metrics.conversion.ConversionSlices` can reuse.
        ``log``: what :func:`slice_log` gave for the same messages, excluded buyers, ``lo``,
        ``start`` and ``end`` (built elsewhere, e.g. in a thread that reads ahead)."""
        lo_d, hi_d = day_number(lo, "lo"), day_number(hi, "hi")
        if self.prev_hi is not None and lo_d <= self.prev_hi:
            raise ValueError("slices must come in time order without overlap")
        self.prev_hi = hi_d
        if log is None:
            log = slice_log(messages, self.excluded, lo, start=start, end=end)
        if log.n == 0:
            return log
        if len(log.shop_names) > 1 and len(np.unique(log.shop_of_gid)) > 1:
            # nothing is carried between slices of several shops: only a single slice
            if not (last and self.shop is None and self.first):
                raise ValueError("ReplySlices takes several shops only in one, last slice")
            self.shop = _SHOPS
        else:
            shop = log.shop_names[log.shop_of_gid[0]]
            if self.shop is not None and shop != self.shop:
                raise ValueError("ReplySlices takes one shop (or several in one, last slice)")
            self.shop = shop
        self.first = False
        rule = self.rule
        a = _annotate_core(log, rule)
        if self.attribution and len(self.prior_buyers):
            self._apply_prior(log, a)
        own_lo = lo_d if self.lo is None else max(lo_d, self.lo)
        own_hi = hi_d if self.hi is None else min(hi_d, self.hi)
        owned = _in_range(a.day, own_lo, own_hi)
        deferred = None
        if not last:  # whole buyer-days with a message whose reply may lie beyond the slice
            pending = owned & ((a.r_pos < 0) | (a.h_pos < 0))
            if pending.any():
                run = np.cumsum(_runs(a.gid, a.day)) - 1
                deferred = (np.bincount(run, weights=pending) > 0)[run]
        seen = self.sessions if rule.unit == "session" else None
        ev = _events(log, a, rule, own_lo, own_hi, None if deferred is None else ~deferred, seen)
        cache: dict = {}
        for by in self.bys:
            self.parts[by].append(_partial(ev, by, rule, self.slow, cache))
        if self.unreplied:
            sel = a.counted & a.late & owned
            if deferred is not None:
                sel &= ~deferred
            if sel.any():
                self.late.append(_annotation_frame(log, a, sel)[_UNREPLIED_COLUMNS]
                                 .reset_index(drop=True))
        self._resolve(log, lo_d * _DAY)
        if deferred is not None:
            self._defer(log, a, ev, deferred)
        if not last:
            self._remember(log, a, hi_d)
        self._flush(final=False)
        return log

    def result(self) -> dict[str, pd.DataFrame]:
        """The KPI table per grouping, and (with ``unreplied``) the list under "unreplied"."""
        return pooled_results([self])

    def close(self) -> None:
        """No slice follows: settle what is deferred and drop the state carried between
        slices (only the per-group sums stay, for :meth:`result` or :func:`pooled_results`)."""
        self._flush(final=True)
        self.excluded = None
        self.prior_buyers, self.prior_agents = self.prior_buyers[:0], self.prior_agents[:0]
        self.prior_days = self.prior_days[:0]
        self.sessions = pd.Series([], dtype=np.int64)

    # ------------------------------------------------------------------------------------
    def _apply_prior(self, log: _Log, a: _Ann) -> None:
        """Unanswered messages with no human message before them in this slice: attribute
        them to the agent who last wrote to the buyer in an earlier slice, if any."""
        need = np.flatnonzero((a.prev < 0) & ((a.h_pos < 0) | (a.r_pos < 0)))
        if len(need) == 0:
            return
        at = pd.Index(self.prior_buyers, dtype=object).get_indexer(log.buyer_of_gid[a.gid[need]])
        when = np.where(at >= 0, self.prior_days[np.maximum(at, 0)], _ALWAYS)
        has = (at >= 0) & within_lead(when, a.day[need])
        need, names = need[has], self.prior_agents[at[has]]
        if len(need) == 0:
            return
        at = pd.Index(log.agent_names).get_indexer(names)
        if (at < 0).any():  # agents not in this slice: extend its label table
            extra = pd.unique(names[at < 0])
            log.agent_names = np.concatenate([log.agent_names, np.asarray(extra, dtype=object)])
            at = pd.Index(log.agent_names).get_indexer(names)
        a.fallback[need] = at
        h = need[a.h_pos[need] < 0]
        a.h_agent[h] = a.fallback[h]
        if a.r_agent is not a.h_agent:
            r = need[a.r_pos[need] < 0]
            a.r_agent[r] = a.fallback[r]

    def _remember(self, log: _Log, a: _Ann, hi_d: int) -> None:
        """State for the next slices, from the messages up to the end of this slice's days."""
        if self.attribution:
            hp = np.flatnonzero((log.sender == _AGENT) & (log.day <= hi_d))
            if len(hp):
                g = log.gid[hp]
                last = np.ones(len(g), dtype=bool)
                last[:-1] = g[1:] != g[:-1]
                self._carry(log.buyer_of_gid[g[last]], log.agent_names[log.agent[hp[last]]],
                            log.day[hp[last]], hi_d)
        if self.rule.unit == "session" and "conversation_id" in log.frame.columns:
            c = log.conversation_codes()[a.rows]
            at = np.flatnonzero((c >= 0) & (a.day <= hi_d))
            if len(at):
                # the last buyer message of each conversation up to this slice's end
                last = pd.Series(a.day[at], index=pd.Index(_session_keys(log, a, at, c)))
                last = last[~last.index.duplicated(keep="last")]
                keep = self.sessions[~self.sessions.index.isin(last.index)]
                self.sessions = pd.concat([keep, last]) if len(keep) else last

    def _carry(self, buyers: np.ndarray, agents: np.ndarray, days: np.ndarray,
               hi_d: int) -> None:
        """Update the buyers' last agents with this slice's (newer) ones, keeping only those
        dated in the lead-in of the day after ``hi_d``: a later slice counts only buyer
        messages from that day on, and an older agent message is outside their lead-in
        (:func:`~cskit.metrics.horizon.within_lead`), so it could attribute nothing."""
        new = within_lead(days, hi_d + 1)
        buyers, agents, days = buyers[new], agents[new], days[new]
        if len(buyers) > 1:  # one entry per buyer id (a log's groups are distinct buyers)
            dup = pd.Index(buyers, dtype=object).duplicated(keep="last")
            if dup.any():
                buyers, agents, days = buyers[~dup], agents[~dup], days[~dup]
        old = within_lead(self.prior_days, hi_d + 1)
        if old.any():
            old[old] = ~pd.Index(self.prior_buyers[old], dtype=object).isin(buyers)
        self.prior_buyers = np.concatenate([self.prior_buyers[old], np.asarray(buyers, object)])
        self.prior_agents = np.concatenate([self.prior_agents[old], np.asarray(agents, object)])
        self.prior_days = np.concatenate([self.prior_days[old],
                                          np.asarray(days, dtype=np.int64)])

    def _defer(self, log: _Log, a: _Ann, ev: _Events, deferred: np.ndarray) -> None:
        sel = np.flatnonzero(deferred)
        r_pos, h_pos = a.r_pos[sel], a.h_pos[sel]
        names = log.agent_names
        rec = {
            "buyer": np.asarray(log.buyer_of_gid[a.gid[sel]], dtype=object),
            "t": a.t[sel], "day": a.day[sel], "hour": a.hour[sel], "excl": a.excl[sel],
            "counted": a.counted[sel], "win": a.win[sel], "unit_start": ev.unit_start[sel],
            "round_start": ev.round_start[sel], "first_win": ev.first_win[sel],
            "fallback": names[a.fallback[sel]],
            "r_ok": r_pos >= 0, "r_t": _take(log.t, r_pos, -1),
            "r_agent": names[_take(log.agent, r_pos, 0)],
            "h_ok": h_pos >= 0, "h_t": _take(log.t, h_pos, -1),
            "h_agent": names[_take(log.agent, h_pos, 0)],
            **({} if a.closing is None else {"closing": a.closing[sel]}),
        }
        if self.deferred is None:
            self.deferred = rec
        else:
            self.deferred = {k: np.concatenate([v, rec[k]]) for k, v in self.deferred.items()}

    def _resolve(self, log: _Log, t0: int) -> None:
        """Replies, in this slice, to deferred messages of earlier slices: the buyer's first
        agent (robot) message from this slice's first day ``t0`` on — an earlier slice
        saw none between the message and that day (or, its read ended before)."""
        D = self.deferred
        if D is None:
            return
        need = ~(D["r_ok"] & D["h_ok"])
        if not need.any():
            return
        at = np.flatnonzero(need)
        ng = len(log.buyer_of_gid)
        wanted = pd.unique(D["buyer"][at])
        found = np.flatnonzero(pd.Index(log.buyer_of_gid, dtype=object).isin(wanted))
        keys = pd.Index(log.buyer_of_gid[found], dtype=object)
        if keys.is_unique:  # (a slice carrying deferred messages is one shop's)
            loc = keys.get_indexer(D["buyer"][at])
            g = _take(found, loc, -1).astype(np.int64) if len(found) else \
                np.full(len(at), -1, dtype=np.int64)
        else:
            gid_of = dict(zip(log.buyer_of_gid[found].tolist(), found.tolist()))
            g = np.array([gid_of.get(b, -1) for b in D["buyer"][at].tolist()], dtype=np.int64)
        own = log.t >= t0
        is_h = (log.sender == _AGENT) & own
        is_r = (is_h | ((log.sender == _BOT) & own)) if self.rule.count_bot_replies else is_h
        for key, rows in (("h", is_h), ("r", is_r)):
            first = np.full(ng, -1, dtype=np.int64)
            p = np.flatnonzero(rows)
            if len(p):
                gp = log.gid[p]
                f = _runs(gp)
                first[gp[f]] = p[f]
            pos = np.where(g >= 0, first[np.maximum(g, 0)], -1)
            hit = (~D[f"{key}_ok"][at]) & (pos >= 0)
            hit[hit] = within_horizon(log.day[pos[hit]], D["day"][at[hit]])
            rows_hit, pos = at[hit], pos[hit]
            D[f"{key}_ok"][rows_hit] = True
            D[f"{key}_t"][rows_hit] = log.t[pos]
            D[f"{key}_agent"][rows_hit] = log.agent_names[log.agent[pos]]

    def _flush(self, final: bool) -> None:
        """Aggregate the deferred buyer-days whose replies are all known (all, if final)."""
        D = self.deferred
        if D is None or len(D["t"]) == 0:
            return
        bcode, _ = pd.factorize(D["buyer"])
        run = np.cumsum(_runs(np.asarray(bcode), D["day"])) - 1
        if final:
            take = np.ones(len(run), dtype=bool)
        elif len(run) < _FLUSH_ROWS:  # few: keep them to the end (one aggregation)
            return
        else:
            open_ = ~(D["r_ok"] & D["h_ok"])
            take = (np.bincount(run, weights=open_) == 0)[run]
            if not take.any():
                return
        sub = {k: v[take] for k, v in D.items()}
        self.deferred = {k: v[~take] for k, v in D.items()} if not take.all() else None
        self._aggregate_deferred(sub)

    def _aggregate_deferred(self, D: dict[str, np.ndarray]) -> None:
        rule = self.rule
        t, day = D["t"], D["day"]
        r_ok, h_ok = D["r_ok"], D["h_ok"]
        r_wait = np.where(r_ok, D["r_t"] - t, np.nan)
        h_wait = np.where(h_ok, D["h_t"] - t, np.nan)
        late = ~r_ok | (r_wait > rule.threshold_s)
        if rule.midnight_cutoff:
            late |= r_ok & (D["r_t"] // _DAY > day)
        h_later = h_ok & (D["h_t"] // _DAY > day)
        r_label = np.where(r_ok, D["r_agent"], D["fallback"])
        h_label = np.where(h_ok, D["h_agent"], D["fallback"])
        n = len(t)
        codes, names = pd.factorize(np.concatenate([r_label, h_label]))
        codes = np.asarray(codes, dtype=np.int64)
        buyer, _ = pd.factorize(D["buyer"])
        z = np.zeros(0, dtype=np.int64)
        ev = _Events(
            shop_names=np.array([self.shop], dtype=object),
            agent_names=np.asarray(names, dtype=object),
            shop=np.zeros(n, dtype=np.int64), buyer=np.asarray(buyer, dtype=np.int64), day=day,
            hour=D["hour"], rng=np.ones(n, dtype=bool), excl=D["excl"], counted=D["counted"],
            win=D["win"], late=late, unanswered=~r_ok, r_agent=codes[:n], h_wait=h_wait,
            h_agent=codes[n:], h_later_day=h_later, unit_start=D["unit_start"],
            round_start=D["round_start"], first_win=D["first_win"], closing=D.get("closing"),
            volumes={"agent_messages": (z, z, z, z), "bot_messages": (z, z, z, z)})
        cache: dict = {}
        for by in self.bys:
            self.parts[by].append(_partial(ev, by, rule, self.slow, cache))
        if self.unreplied:
            sel = D["counted"] & late
            if sel.any():
                reply_at = _ts(np.where(r_ok, D["r_t"], 0)[sel])
                reply_at[~r_ok[sel]] = np.datetime64("NaT")
                self.late.append(pd.DataFrame({
                    "shop": np.full(int(sel.sum()), self.shop, dtype=object),
                    "buyer_id": D["buyer"][sel],
                    "date": day[sel].astype("datetime64[D]").astype(object),
                    "sent_at": _ts(t[sel]),
                    "wait_s": r_wait[sel],
                    "reply_at": reply_at,
                    "agent": r_label[sel].astype(object),
                }))


def slice_log(messages: pd.DataFrame, excluded: pd.DataFrame | None, lo, *, start=None,
              end=None) -> _Log:
    """The sorted, coded log :meth:`ReplySlices.add` builds of a slice owning days from
    ``lo`` (its rows from ``lo`` 00:00, or an earlier ``start``, to ``end``).  Pure and
    stateless: it may run ahead, in another thread, while the previous slice is counted."""
    lo_d = day_number(lo, "lo")
    t_hi = None if end is None else _epoch_seconds(end)
    t_lo = lo_d * _DAY if start is None else min(lo_d * _DAY, _epoch_seconds(start))
    return _prepare(messages, excluded, t_lo, t_hi)


def pooled_results(slicers: list[ReplySlices]) -> dict[str, pd.DataFrame]:
    """The results of several :class:`ReplySlices` over different shops (same rule,
    groupings and options), as one: their per-group sums are pooled and each table is
    finished once (a table per group of shops would cost more than the sums)."""
    first = slicers[0]
    for sl in slicers:
        sl._flush(final=True)
    out = {by: _finish([p for sl in slicers for p in sl.parts[by]], by, first.rule)
           for by in first.bys}
    if first.unreplied:
        late = [f for sl in slicers for f in sl.late if len(f)]
        frame = pd.concat(late, ignore_index=True) if late else \
            pd.DataFrame(columns=_UNREPLIED_COLUMNS)
        out["unreplied"] = frame.sort_values(["shop", "sent_at", "buyer_id"], kind="stable") \
            .reset_index(drop=True)
    return out
