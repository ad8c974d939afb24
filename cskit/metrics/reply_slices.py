"""Reply KPIs of one shop fed one time slice at a time: the state carried between slices.

Holds :class:`ReplySlices` (a slice owns the buyer messages of its days; buyer-days
whose reply may lie in a later slice are deferred and settled there; the last agent per
buyer and the sessions already started are carried forward), :func:`slice_log` (the
log a slice builds, which may run ahead in another thread) and :func:`pooled_results`
(several shops' slicers as one result).  The result equals :func:`reply_kpis
<cskit.metrics.reply.reply_kpis>` and :func:`unreplied_list
<cskit.metrics.reply.unreplied_list>` on all the messages at once.

It does not restate the reply rule (:mod:`cskit.metrics.reply_rule`) nor the sums
(:mod:`cskit.metrics.reply_sums`); it applies them per slice.  Pure: nothing is read or
printed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.common import day_number
from cskit.metrics.common import epoch_seconds as _epoch_seconds
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import runs as _runs
from cskit.metrics.common import ts as _ts
from cskit.metrics.horizon import within_horizon, within_lead
from cskit.metrics.reply_log import _AGENT, _ALWAYS, _BOT, _DAY, _Log, _prepare
from cskit.metrics.reply_rule import (
    _Ann,
    _annotate_core,
    _annotation_frame,
    _resolve_rule,
    _session_keys,
    _take,
)
from cskit.metrics.reply_sums import _Events, _events, _Part, _partial
from cskit.metrics.reply_table import _finish, output_columns
from cskit.metrics.rules import RuleConfig

_UNREPLIED_COLUMNS = ["shop", "buyer_id", "date", "sent_at", "wait_s", "reply_at", "agent"]
#: deferred buyer messages kept before the settled ones are aggregated (a few numbers each)
_FLUSH_ROWS = 200_000
#: ReplySlices.shop after a slice of several shops (no other slice may follow)
_SHOPS = object()


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
