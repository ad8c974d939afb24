"""Per-message facts to per-group partial sums: the reply KPIs' aggregation engine.

Holds :class:`_Events` (what the KPI table needs of every buyer, agent and robot message,
from one log or from replies resolved across slices), :class:`_Acc` (``np.bincount``
accumulators over a dense shop × day / week / agent / hour index, and the histograms of
whole-second response times behind exact medians and P90s), the distinct buyer-days
(:func:`_buyer_days`) and :func:`_partial`, which takes every sum of the KPI table.
Sums of several batches add up (:class:`_Part`).

It does not decide what a reply is (:mod:`cskit.metrics.reply_rule`) nor turn the sums
into rates, means and quantiles (:mod:`cskit.metrics.reply_table`).  No Python loop over
messages and no ``groupby.apply``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import runs as _runs
from cskit.metrics.reply_log import _AGENT, _BIG, _BOT, _EPOCH, _Log
from cskit.metrics.reply_rule import FAST_ANSWER_S, _Ann, _unit_starts
from cskit.metrics.rules import RuleConfig

#: _buyer_days uses a dense (buyer-day × agent) table up to 8 cells per message plus this
_DENSE_CELLS = 65536


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
        ``name`` (a key of :data:`~cskit.metrics.reply_table._QUANTILES`)."""
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
