"""Store → the frames `cskit answers` and the weekly report read: question/answer pairs
and the inquiry buyer-days' outcomes, one shop at a time (as :mod:`cskit.text.frames`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cskit import schema
from cskit.text.frames import LOOKBACK_DAYS, REPLY_SLACK, WINDOW_DAYS, _in_period, _no_messages
from cskit.text.frames import _read_messages

__all__ = ["answer_frames"]


def answer_frames(store, *, shops=None, period, rules=None, unknown=None):
    """(pairs, outcomes) over the shops: :func:`cskit.text.answers.answer_pairs` of the
    questions dated in the period, and :func:`cskit.metrics.conversion.inquiry_outcomes`
    (the attribution window and lookback of `cskit lost`).  ``unknown`` (a dict) gets
    ``{shop: info}`` for the shops whose orders cannot tell who bought
    (:mod:`cskit.metrics.coverage`)."""
    from cskit.kpi import data_ends, explain_unknown, read_excluded, select_shops
    from cskit.metrics.conversion import inquiry_outcomes
    from cskit.metrics.coverage import shop_unknown
    from cskit.text.answers import PAIR_COLUMNS, answer_pairs, load_answer_rules

    rules = rules or load_answer_rules()
    pairs, outs, seen = [], [], 0
    for shop in select_shops(store, shops):
        msgs = _read_messages(store, shop, period,
                              max(REPLY_SLACK, dt.timedelta(days=WINDOW_DAYS + 1)))
        if msgs.empty:
            continue
        n = int(_in_period(msgs["sent_at"], period).sum())
        if n == 0:
            continue
        seen += n
        since = period.since - dt.timedelta(days=LOOKBACK_DAYS + 1) if period.since else None
        orders = store.read(schema.ORDERS, shops=[shop], since=since, until=period.until,
                            time_slack=dt.timedelta(days=WINDOW_DAYS + 1))
        info = shop_unknown(msgs, orders, shop, period.since, period.until)
        if info is not None:
            info = explain_unknown(store, {shop: info}).get(shop)
        if info is not None and unknown is not None:
            unknown[shop] = info
        outs.append(inquiry_outcomes(msgs, orders, period.since, period.until,
                                     window_days=WINDOW_DAYS, lookback_days=LOOKBACK_DAYS,
                                     as_of=data_ends(store, [shop])[shop],
                                     excluded=read_excluded(store, shop)))
        pairs.append(answer_pairs(msgs, rules, period.since, period.until))
    if seen == 0:
        raise _no_messages(store, period)
    p = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame(columns=PAIR_COLUMNS)
    o = pd.concat(outs, ignore_index=True) if outs else \
        pd.DataFrame(columns=["shop", "buyer_id", "date", "agent_id", "paid", "pending"])
    return p, o
