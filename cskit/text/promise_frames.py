"""Store → promises: the agent promises made in a period and their status
(:mod:`cskit.text.promises`).  Reads the store one shop at a time: the messages of the
period and up to ``max_days`` after it (the follow-ups before the latest deadline), the
buyers' orders around it, and the shop's data end (:func:`cskit.kpi.data_ends`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cskit import schema

__all__ = ["promise_frame", "broken_by_agent", "broken_counts", "merge_broken",
           "with_broken_promises", "PROMISE_READ_COLUMNS"]

PROMISE_READ_COLUMNS = ["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"]
ORDER_COLUMNS = ["shop", "buyer_id", "created_at", "status"]


def _mask(values: pd.Series) -> pd.Series:
    """Digits in quotes masked as `cskit lost` masks them (its pattern: 7+ digit runs →
    ***), in one RE2 pass over the column."""
    from cskit.text._regex import as_arrow, replace
    from cskit.text.lost import _QUOTE_MASK

    masked = replace(as_arrow(values), _QUOTE_MASK.pattern, "***").to_pandas()
    return pd.Series(masked.to_numpy(dtype=object), index=values.index).where(values.notna(), None)


def _agent_messages(store, shop: str, period, slack) -> tuple[pd.DataFrame, int]:
    """The shop's human agent messages from the period's start to ``slack`` after its end
    (filtered in Arrow: buyers' and robots' messages never reach pandas), and the number of
    messages of any sender inside the period."""
    import pyarrow as pa
    import pyarrow.compute as pc

    until_ts = None if period.until is None else \
        pd.Timestamp(period.until) + pd.Timedelta(days=1) + pd.Timedelta(slack)
    entries = store.files(schema.MESSAGES, [shop], period.since,
                          until_ts.date() if until_ts is not None else None)
    if not entries:
        return pd.DataFrame(columns=PROMISE_READ_COLUMNS), 0
    t = store.read_table(schema.MESSAGES, entries, PROMISE_READ_COLUMNS, shops=[shop],
                         start=pd.Timestamp(period.since) if period.since else None, end=until_ts)
    inside = None
    if period.until is not None:
        inside = pc.less(t.column("sent_at"), pa.scalar(
            (pd.Timestamp(period.until) + pd.Timedelta(days=1)).to_pydatetime(), pa.timestamp("s")))
    n_inside = len(t) if inside is None else int(pc.sum(pc.cast(inside, pa.int64())).as_py() or 0)
    t = t.filter(pc.fill_null(pc.equal(t.column("sender"), "agent"), False))
    return t.to_pandas(), n_inside


def promise_frame(store, *, shops=None, period, rules=None, all_tiers: bool = False) -> pd.DataFrame:
    """The 日清 list: one row per promise made in ``period`` (columns
    :data:`cskit.text.promises.PROMISE_COLUMNS`), sorted by shop, promised_at.  Confident
    promises only; ``all_tiers``: the weak ones too, and a column ``tier`` (confident / weak)."""
    from cskit.kpi import data_ends, select_shops
    from cskit.text.frames import _in_period, _no_messages
    from cskit.text.promises import (PROMISE_COLUMNS, TIERS, detect, load_promise_rules,
                                     promise_status)

    r = load_promise_rules(rules)
    cols = PROMISE_COLUMNS + ["tier"] if all_tiers else PROMISE_COLUMNS
    slack = dt.timedelta(days=r.max_days + 1)
    out, seen = [], 0
    for shop in select_shops(store, shops):
        msgs, n_inside = _agent_messages(store, shop, period, slack)
        seen += n_inside
        if msgs.empty:
            continue
        inside = _in_period(msgs["sent_at"], period)
        # promises are made inside the period; follow-ups may come after it
        cand = msgs[inside]
        found = detect(cand, r, tiers=TIERS if all_tiers else ("confident",))
        if found.empty:
            continue
        orders = None
        if shop in store.shops(schema.ORDERS):
            since = period.since - dt.timedelta(days=31) if period.since else None
            orders = store.read(schema.ORDERS, shops=[shop], since=since, until=period.until,
                                columns=ORDER_COLUMNS, time_slack=slack)
        ends = data_ends(store, [shop])
        out.append(promise_status(found, msgs, orders, ends, r))
    if seen == 0:
        raise _no_messages(store, period)
    if not out:
        return pd.DataFrame({c: pd.Series([], dtype="datetime64[ns]" if c in
                                          ("promised_at", "deadline", "followed_up_at") else object)
                             for c in cols})
    f = pd.concat(out, ignore_index=True)
    f["quote"] = _mask(f["content"])
    f["promised_at"] = pd.to_datetime(f["promised_at"])
    f["deadline"] = pd.to_datetime(f["deadline"])
    f = f.sort_values(["shop", "promised_at", "buyer_id"], kind="stable")
    return f[cols].reset_index(drop=True)


def broken_by_agent(store, *, shops=None, period, rules=None) -> pd.DataFrame:
    """Per (shop, agent_id) the promises of the period broken (超期未兑现): the column
    ``broken_promises`` of the agent report.  No messages in the period: no rows."""
    from cskit.errors import NoDataError

    try:
        f = promise_frame(store, shops=shops, period=period, rules=rules)
    except NoDataError:
        return pd.DataFrame(columns=["shop", "agent_id", "broken_promises"])
    return broken_counts(f)


def broken_counts(promises: pd.DataFrame) -> pd.DataFrame:
    """shop, agent_id, broken_promises from a 日清 list (:func:`promise_frame`)."""
    from cskit.text.promises import by_agent

    g = by_agent(promises)
    return g[["shop", "agent_id"]].assign(broken_promises=g["broken"].to_numpy(dtype=np.int64))


def merge_broken(frame: pd.DataFrame, broken: pd.DataFrame) -> pd.DataFrame:
    """The agent report ``frame`` (keyed by shop, agent_id) with ``broken_promises`` (0 for
    an agent who broke none), columns in registry order."""
    from cskit.metrics import column_order

    out = frame.merge(broken, on=["shop", "agent_id"], how="left")
    out["broken_promises"] = out["broken_promises"].fillna(0).astype(np.int64)
    return out[column_order(out.columns)]


def with_broken_promises(store, frame: pd.DataFrame, total: dict, *, shops=None, period,
                         rules=None) -> tuple[pd.DataFrame, dict]:
    """`cskit kpi --by agent`: the agent report with ``broken_promises`` and its total."""
    b = broken_by_agent(store, shops=shops, period=period, rules=rules)
    out = merge_broken(frame, b)
    return out, {**total, "broken_promises": int(out["broken_promises"].sum())}
