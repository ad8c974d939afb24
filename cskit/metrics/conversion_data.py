"""The conversion engine's state: messages and orders read into shared integer codes.

:class:`_Data` takes the messages and orders (or the reply metrics' sorted log of a slice)
and holds them as arrays: one (shop, buyer) code for both, times in wall-clock seconds,
messages sorted by (shop, buyer), time and the reply metrics' tie order, the kept orders,
the data end per shop (or ``as_of``), and the exclusions (举报/拉黑).  :func:`_setup`
checks the arguments and builds it.  What the arrays then mean — served, inquiry, paid,
attributed — is decided by the rules it mixes in (:class:`cskit.metrics.conversion_rules._Rules`);
grouping into KPI rows is :mod:`cskit.metrics.conversion_tables`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.i18n import Msg
from cskit.metrics.codes import log_gids
from cskit.metrics.common import require as _require
from cskit.metrics.conversion_rules import (
    _DAY,
    _MIN,
    ANCHORS,
    _as_of_seconds,
    _check_choice,
    _Rules,
    _seconds_of_days,
)
from cskit.metrics.joins import _clean_log, _joined, _max_into, _seconds, _shared_codes
from cskit.metrics.reply import UNASSIGNED, _exclusion_days, _sender_codes, _sort_order


class _Data(_Rules):
    """Messages and orders with shared integer codes; times in wall-clock seconds."""

    def __init__(self, messages: pd.DataFrame | None, orders: pd.DataFrame | None,
                 window_s: int, lookback_s: int, anchor: str, as_of, *, t_lo: int | None = None,
                 t_hi: int | None = None, o_mask: np.ndarray | None = None, log=None,
                 excluded: pd.DataFrame | None = None) -> None:
        """``t_lo``/``t_hi`` (epoch seconds): only messages in ``[t_lo, t_hi)`` are used;
        ``o_mask``: only these orders (a time slice, without copying the frames).

        ``log``: the reply metrics' sorted log of exactly those messages (same frame and
        time window).  When its shop, buyer and agent ids are already clean (stripped,
        non-blank strings: ids from the store), its sort and codes are reused; the
        buyer-day figures need no more (``buyer_names`` is then not available).

        ``excluded`` (shop, buyer_id, since): reported / blacklisted buyers; their buyer-days
        on excluded days are left out of every buyer count, as in the reply metrics (a
        log carries its own exclusion)."""
        if log is not None and as_of is None and _clean_log(log):
            self._from_log(log, orders, window_s, lookback_s, anchor, o_mask)
            return
        if messages is None:
            messages = pd.DataFrame(columns=["shop", "buyer_id", "sender", "sent_at"])
        if orders is None:
            orders = pd.DataFrame(columns=["shop", "buyer_id", "created_at"])
        _require(messages, ("shop", "buyer_id", "sender", "sent_at"), "messages")
        _require(orders, ("shop", "buyer_id", "created_at"), "orders")
        self.window_s, self.lookback_s, self.anchor = window_s, lookback_s, anchor
        nm, no = len(messages), len(orders)

        # -- shared codes ----------------------------------------------------------------
        codes, self.shop_names = _shared_codes(messages["shop"], orders["shop"])
        shop_all = np.concatenate(codes)
        codes, self.buyer_names = _shared_codes(messages["buyer_id"], orders["buyer_id"])
        buyer_all = np.concatenate(codes)
        nb = len(self.buyer_names) + 1
        self.nb = nb
        gid_all = np.where((shop_all >= 0) & (buyer_all >= 0), shop_all * nb + buyer_all, -1)

        # -- messages ---------------------------------------------------------------------
        snd = _sender_codes(messages["sender"])
        mt, mok = _seconds(messages["sent_at"])
        mg = gid_all[:nm]
        mkeep = (mg >= 0) & (snd >= 0) & mok
        if t_lo is not None:
            mkeep &= mt >= t_lo
        if t_hi is not None:
            mkeep &= mt < t_hi

        # -- orders, the data end per shop (or the explicit as_of), then cut after it -----
        oshop = shop_all[nm:]
        og = gid_all[nm:]
        asof = _as_of_seconds(as_of)
        mshop = shop_all[:nm]
        self._orders(orders, oshop, og, o_mask, asof, mshop[mkeep], mt[mkeep])
        if asof is not None:  # (the data end is past every kept message otherwise)
            mkeep &= mt <= asof

        mpos = np.flatnonzero(mkeep)
        # by (shop, buyer), time, then the tie order: every later search sorts by time
        # stably, so only the order of a buyer's messages in the same second matters
        mpos = mpos[_sort_order(np.zeros(len(mpos), np.int64), mg[mpos], mt[mpos], messages,
                                mpos)]
        self.messages = messages
        self.m_pos = mpos  # row positions in the input
        self.m_g = mg[mpos]
        self.m_shop = shop_all[:nm][mpos]
        self.m_t = mt[mpos]
        self.m_kind = snd[mpos]
        if "agent_id" in messages.columns:
            (ac,), an = _shared_codes(messages["agent_id"])
            ac = ac[mpos]
        else:
            an, ac = np.empty(0, dtype=object), np.full(len(mpos), -1, np.int64)
        names = np.concatenate([np.asarray(an, dtype=object), np.array([UNASSIGNED], object)])
        remap, uniq = pd.factorize(names)  # an account literally named 未分配 merges with it
        remap = np.asarray(remap, np.int64)
        self.agent_names = np.asarray(uniq, dtype=object)
        self.unassigned = int(remap[len(an)])
        self.m_agent = remap[np.where(ac >= 0, ac, len(an))]
        self.m_excl = np.zeros(len(mpos), dtype=bool)
        if excluded is not None and len(excluded) and len(mpos):
            ug, inv = np.unique(self.m_g, return_inverse=True)
            first_day = _exclusion_days(excluded, self.shop_names[ug // nb],
                                        self.buyer_names[ug % nb])
            self.m_excl = self.m_t // _DAY >= first_day[inv.ravel()]
        self._buyer_days()

    def _from_log(self, log, orders, window_s, lookback_s, anchor, o_mask) -> None:
        if orders is None:
            orders = pd.DataFrame(columns=["shop", "buyer_id", "created_at"])
        _require(orders, ("shop", "buyer_id", "created_at"), "orders")
        self.window_s, self.lookback_s, self.anchor = window_s, lookback_s, anchor
        self.messages = log.frame
        self.m_pos = log.pos
        self.m_g = log.gid
        self.m_shop = log.shop_of_gid[log.gid]
        self.m_t = log.t
        self.m_kind = log.sender
        self.m_agent = log.agent  # right for human agent messages, the only ones used
        self.m_excl = log.excl  # buyer excluded on the message's day
        self.agent_names = log.agent_names
        self.unassigned = log.unassigned
        self.buyer_names, self.nb = None, None
        # orders onto the log's shops and (shop, buyer) groups; new ones after them
        (oshop,), self.shop_names = _shared_codes(orders["shop"], first=log.shop_names)
        (obuy,), bnames = _shared_codes(orders["buyer_id"])
        og = np.full(len(orders), -1, dtype=np.int64)
        has = (oshop >= 0) & (obuy >= 0)
        if has.any():
            ngid = len(log.shop_of_gid)
            # by the buyers' category codes (cskit.metrics.codes); else by strings
            at = log_gids(log, oshop[has], bnames[obuy[has]])
            if at is None:
                gkey = _joined(self.shop_names[log.shop_of_gid], log.buyer_of_gid)
                okey = _joined(self.shop_names[oshop[has]], bnames[obuy[has]])
                at = pd.Index(gkey).get_indexer(okey)
            new = at < 0
            if new.any():
                okey = _joined(self.shop_names[oshop[has][new]], bnames[obuy[has][new]])
                extra, inv = np.unique(okey, return_inverse=True)
                at[new] = ngid + inv.ravel()
            og[has] = at
        self._orders(orders, oshop, og, o_mask, None, self.m_shop, self.m_t)
        self._buyer_days()

    def _orders(self, orders, oshop, og, o_mask, asof, m_shop, m_t) -> None:
        """Order arrays, and the data end per shop: ``asof`` (seconds), or the latest of
        the kept messages (``m_shop``/``m_t``), order creations and payments."""
        no = len(orders)
        ct, cok = _seconds(orders["created_at"])
        if "paid_at" in orders.columns:
            pt, pok = _seconds(orders["paid_at"])
        else:
            pt, pok = np.zeros(no, np.int64), np.zeros(no, bool)
        okeep = (oshop >= 0) & cok
        if o_mask is not None:
            okeep &= o_mask
        nshops = len(self.shop_names)
        if asof is None:
            end = np.full(max(nshops, 1), _MIN, dtype=np.int64)
            _max_into(end, m_shop, m_t)
            np.maximum.at(end, oshop[okeep], ct[okeep])
            pm = okeep & pok
            np.maximum.at(end, oshop[pm], pt[pm])
        else:
            end = np.full(max(nshops, 1), asof, dtype=np.int64)
        self.end_of_shop = end
        okeep &= ct <= self.end_of_shop[np.where(oshop >= 0, oshop, 0)]

        opos = np.flatnonzero(okeep)
        self.orders = orders
        self.o_pos = opos
        self.o_g = og[opos]  # -1: no buyer id
        self.o_shop = oshop[opos]
        self.o_ct = ct[opos]
        self._payments(orders, opos, ct, pt, pok)
        if "amount" in orders.columns:
            amt = pd.to_numeric(orders["amount"], errors="coerce").to_numpy(dtype=float,
                                                                            na_value=np.nan)
            self.o_amount = amt[opos]
        else:
            self.o_amount = np.full(len(opos), np.nan)


def _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded=None) -> _Data:
    _check_choice(anchor, ANCHORS, Msg("attribution anchor"))
    W = _seconds_of_days(window_days, "window_days")
    L = _seconds_of_days(lookback_days, "lookback_days")
    return _Data(messages, orders, W, L, anchor, as_of, excluded=excluded)

