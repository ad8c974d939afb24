"""Conversion KPIs fed one time slice at a time (``cskit kpi`` reads the store by shop-month).

:class:`ConversionSlices` owns, per slice, the buyer-days and paid orders dated in it,
keeps only per-group sums (:class:`cskit.metrics.conversion_tables._ConvPart`) and the data
end per shop, and finishes the table once (:func:`pooled_results`, also across several
slicers of different shops).  Its result equals :func:`cskit.metrics.conversion.conversion_kpis`
on all the messages at once.  Not here: the rules (:mod:`cskit.metrics.conversion_rules`)
and the table arithmetic (:mod:`cskit.metrics.conversion_tables`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.i18n import Msg
from cskit.metrics.common import day_number, epoch_seconds
from cskit.metrics.common import in_range as _in_range
from cskit.metrics.common import require as _require
from cskit.metrics.conversion_data import _Data
from cskit.metrics.conversion_rules import (
    _DAY,
    _MIN,
    ANCHORS,
    BY_CHOICES,
    _check_choice,
    _seconds_of_days,
)
from cskit.metrics.conversion_tables import _conv_finish, _conv_partial, _ConvPart
from cskit.metrics.joins import _seconds, _shared_codes


class ConversionSlices:
    """Conversion KPIs of one shop fed one time slice at a time (``cskit kpi`` reads the
    store one shop-month at a time), or of several small shops in one slice; :meth:`result`
    equals :func:`~cskit.metrics.conversion.conversion_kpis` on all the messages at once.  Pure:
    frames in, frames out.

    ``orders``: all the shop's orders the whole computation would see (orders are few
    next to messages; each slice uses the ones its windows reach).  Each :meth:`add`
    owns the buyer-days dated ``lo``..``hi`` and the paid orders anchored then; it needs
    the messages from ``window`` days before ``lo`` (the last reply before an order)
    through ``hi``.  Every window is bounded, so nothing but sums crosses slices, except:
    the data end (``pending``), which is the latest time over all slices — the slices'
    message ranges together must cover what one call would get — or ``data_end`` (per
    shop) when later; and the paid orders' amounts, summed at the end in input order.
    """

    def __init__(self, orders: pd.DataFrame | None, *, bys=("day",), since=None, until=None,
                 window_days: float = 3, lookback_days: float = 15, anchor: str = "order",
                 data_end: dict | None = None, excluded: pd.DataFrame | None = None):
        for by in bys:
            _check_choice(by, BY_CHOICES, Msg("grouping"))
        _check_choice(anchor, ANCHORS, Msg("attribution anchor"))
        self.bys = tuple(bys)
        self.lo, self.hi = day_number(since, "since"), day_number(until, "until")
        self.W = _seconds_of_days(window_days, "window_days")
        self.L = _seconds_of_days(lookback_days, "lookback_days")
        self.anchor = anchor
        self.excluded = excluded  # (used where a slice's reply log is not reused)
        if orders is None:
            orders = pd.DataFrame(columns=["shop", "buyer_id", "created_at"])
        _require(orders, ("shop", "buyer_id", "created_at"), "orders")
        self.orders = orders
        ct, cok = _seconds(orders["created_at"])
        if "paid_at" in orders.columns:
            pt, pok = _seconds(orders["paid_at"])
        else:
            pt, pok = np.zeros(len(orders), np.int64), np.zeros(len(orders), bool)
        self._ct, self._cok, self._pt, self._pok = ct, cok, pt, pok
        # the orders' share of the data end (each slice adds its messages'): per shop
        # (stripped, non-blank name) the latest creation or payment of an order with a
        # creation time, as :meth:`_Data._orders` takes it
        (oshop,), names = _shared_codes(orders["shop"])
        okeep = (oshop >= 0) & cok
        end = np.full(max(len(names), 1), _MIN, dtype=np.int64)
        np.maximum.at(end, oshop[okeep], ct[okeep])
        pm = okeep & pok
        np.maximum.at(end, oshop[pm], pt[pm])
        self.end: dict = dict(zip(names, end[:len(names)].tolist()))
        # ``data_end`` (shop → time): the store's data end, past what the slices read, so
        # that ``pending`` does not depend on the range read (issue 12)
        for name, e in (data_end or {}).items():
            if e is not None and not pd.isna(e):
                self.end[name] = max(self.end.get(name, _MIN), epoch_seconds(e))
        self.parts: dict[str, list[_ConvPart]] = {by: [] for by in self.bys}
        # whether the orders can tell anything (cskit.metrics.coverage): per shop its
        # orders' facts, and the day of its first owned buyer message
        from cskit.metrics.coverage import order_facts

        self.facts = order_facts(orders)
        self.first_day: dict = {}

    def add(self, messages: pd.DataFrame, lo, hi, *, start=None, end=None, orders_from=None,
            orders_to=None, first: bool = False, last: bool = False, log=None) -> None:
        """Own the buyer-days dated ``lo``..``hi`` (clipped to since/until) and the paid
        orders anchored ``orders_from``..``orders_to`` (default ``lo``..``hi``; ``first``/
        ``last``: unbounded before/after, so orders on days without messages belong to some
        slice).  Only the rows of ``messages`` in ``[start, end)`` are used (None: no
        bound); they must reach from ``window`` days before the orders' first day to the
        end of the last (or, ``last``, as far as one call would see).  ``log``: what
        :meth:`ReplySlices.add <cskit.metrics.reply.ReplySlices.add>` returned for the
        same frame and the same ``[start, end)`` (its sort is reused)."""
        lo_d, hi_d = day_number(lo, "lo"), day_number(hi, "hi")
        olo = None if first else day_number(orders_from, "orders_from") if orders_from else lo_d
        ohi = None if last else day_number(orders_to, "orders_to") if orders_to else hi_d
        t_lo = None if start is None else epoch_seconds(start)
        t_hi = None if end is None else epoch_seconds(end)
        # orders any window of an owned buyer-day or order can reach (a day of margin)
        o_mask = np.ones(len(self.orders), dtype=bool)
        a = min(lo_d, olo if olo is not None else lo_d)
        b = max(hi_d, ohi if ohi is not None else hi_d)
        if olo is not None:
            a = (a - 1) * _DAY - self.L - self.W
            o_mask &= (self._cok & (self._ct >= a)) | (self._pok & (self._pt >= a))
        if ohi is not None:
            b = (b + 2) * _DAY + self.W
            o_mask &= (self._cok & (self._ct < b)) | (self._pok & (self._pt < b))
        d = _Data(messages, self.orders, self.W, self.L, self.anchor, None, t_lo=t_lo,
                  t_hi=t_hi, o_mask=o_mask, log=log, excluded=self.excluded)
        for name, e in zip(d.shop_names, d.end_of_shop[:len(d.shop_names)].tolist()):
            self.end[name] = max(self.end.get(name, _MIN), e)
        own_lo = lo_d if self.lo is None else max(lo_d, self.lo)
        own_hi = hi_d if self.hi is None else min(hi_d, self.hi)
        o_lo = olo if self.lo is None else self.lo if olo is None else max(olo, self.lo)
        o_hi = ohi if self.hi is None else self.hi if ohi is None else min(ohi, self.hi)
        for by in self.bys:
            self.parts[by].append(_conv_partial(d, by, own_lo, own_hi, o_lo, o_hi, True))
        own = _in_range(d.bd_day, own_lo, own_hi)
        if own.any():
            first = pd.Series(d.bd_day[own]).groupby(d.bd_shop[own]).min()
            for code, day in first.items():
                name = d.shop_names[code]
                self.first_day[name] = min(self.first_day.get(name, day), day)

    def result(self) -> dict[str, pd.DataFrame]:
        return pooled_results([self])

    def close(self) -> None:
        """No slice follows: drop the orders (only the per-group sums stay)."""
        self.orders = self.orders.iloc[:0]
        self._ct, self._cok, self._pt, self._pok = (a[:0] for a in (self._ct, self._cok,
                                                                     self._pt, self._pok))


def pooled_results(slicers: list[ConversionSlices]) -> dict[str, pd.DataFrame]:
    """The results of several :class:`ConversionSlices` over different shops (same
    groupings and windows), as one: sums pooled, each table finished once."""
    first = slicers[0]
    end: dict = {}
    for sl in slicers:
        for shop, e in sl.end.items():
            end[shop] = max(end.get(shop, _MIN), e)
    return {by: _conv_finish([p for sl in slicers for p in sl.parts[by]], by, end, first.W)
            for by in first.bys}
