"""The reply metrics' message log: who wrote to which buyer when, sorted and coded.

Holds the machinery that turns a messages frame into :class:`_Log`: buyer, agent and robot
messages (system messages and rows without shop, buyer or a valid ``sent_at`` left out)
sorted once by (shop, buyer, sent_at, tie-break), with integer codes for shops, buyers
and agent labels (未分配 / 机器人 for messages without an account), the day and second
of day, the buyers excluded on each day and which buyer messages are closing remarks.

Tie order (messages of one buyer with the same ``sent_at`` second): by
``(source_file, source_row)`` when those columns exist (missing values last), then
input order (the sort is stable).  :mod:`cskit.metrics.reply_rule` takes the reply to a
buyer message as a later row of this order.

It does not hold the reply rule itself (:mod:`cskit.metrics.reply_rule`), the sums and
the KPI table (:mod:`cskit.metrics.reply_sums`, :mod:`cskit.metrics.reply_table`) nor
the slice-by-slice state (:mod:`cskit.metrics.reply_slices`).  Vectorised: no Python
loop over messages.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cskit.metrics.common import require as _require
from cskit.metrics.common import seconds as _seconds

#: agent label for messages nobody served (and agent messages without an account)
UNASSIGNED = "未分配"
#: agent label for robot messages without an account
BOT_AGENT = "机器人"

_DAY = 86400
_EPOCH = _dt.date(1970, 1, 1)
_BUYER, _AGENT, _BOT = 0, 1, 2
_SENDERS = {"buyer": _BUYER, "agent": _AGENT, "bot": _BOT}  # system & anything else: ignored
_NEVER = np.iinfo(np.int64).max
_ALWAYS = np.iinfo(np.int64).min
_BIG = 2 ** 62


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
