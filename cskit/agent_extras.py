"""Store → the per-agent figures beyond reply and conversion: 工作量 (workload) and 催付
(payment reminders).  Reads one shop at a time and only the columns each needs; the rules
are in :mod:`cskit.metrics.workload` and :mod:`cskit.metrics.dunning`."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cskit import schema

__all__ = ["workload_frame", "dunning_frames", "ratings_frames", "attribution_frame", "agent_extras",
           "EXTRA_KEYS"]

#: message columns these figures read
MESSAGE_COLUMNS = ["shop", "buyer_id", "agent_id", "sender", "sent_at"]


def workload_frame(store, *, shops, period, idle_limit_s: int) -> pd.DataFrame:
    """Per-day workload rows of the period (:func:`cskit.metrics.workload.workload`)."""
    from cskit.kpi import no_messages, select_shops
    from cskit.metrics.workload import WORKLOAD_KEYS, workload

    parts = []
    for shop in select_shops(store, shops):
        msgs = store.read(schema.MESSAGES, shops=[shop], since=period.since, until=period.until,
                          columns=MESSAGE_COLUMNS)
        if len(msgs):
            parts.append(workload(msgs, idle_limit_s=idle_limit_s))
    parts = [p for p in parts if len(p)]
    if not parts:
        raise no_messages(store, period)
    return pd.concat(parts, ignore_index=True)[WORKLOAD_KEYS]


def dunning_frames(store, *, shops, period, window_s: int | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(reminded orders, per-agent 催付 figures) for orders created in the period; messages are
    read up to the reminder window past its end."""
    from cskit.kpi import read_excluded, select_shops
    from cskit.metrics.dunning import DUN_WINDOW_S, ORDER_COLUMNS, dunned_orders, dunning_by_agent

    window_s = DUN_WINDOW_S if window_s is None else window_s
    slack = dt.timedelta(seconds=window_s)
    parts = []
    have_orders = set(store.shops(schema.ORDERS))
    for shop in select_shops(store, shops):
        if shop not in have_orders:
            continue
        orders = store.read(schema.ORDERS, shops=[shop], since=period.since, until=period.until)
        if orders.empty:
            continue
        msgs = store.read(schema.MESSAGES, shops=[shop], since=period.since, until=period.until,
                          columns=MESSAGE_COLUMNS, time_slack=slack)
        parts.append(dunned_orders(msgs, orders, since=period.since, until=period.until,
                                   window_s=window_s, excluded=read_excluded(store, shop)))
    parts = [p for p in parts if len(p)]
    orders = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=ORDER_COLUMNS)
    return orders, dunning_by_agent(orders)


def ratings_frames(store, *, shops, period, served: pd.DataFrame | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(per-agent rating figures, the 不满意 list, shops without any ratings in the store).
    A shop whose rating export was never ingested has unknown figures, not zero ratings.
    ``served``: the period's workload summary (:func:`cskit.metrics.workload.summarise`)
    when the caller has it already; else it is read here."""
    from cskit.kpi import select_shops
    from cskit.metrics.ratings import dissatisfied_list, ratings_by_agent
    from cskit.metrics.workload import IDLE_LIMIT_S, summarise

    shops = select_shops(store, shops)
    rated = [s for s in shops if s in set(store.shops(schema.RATINGS))]
    unrated = [s for s in shops if s not in rated]
    if not rated:
        empty = ratings_by_agent(pd.DataFrame(columns=["shop", "agent_id", "rated_at", "score"]))
        return empty, dissatisfied_list(pd.DataFrame(
            columns=["shop", "agent_id", "buyer_id", "rated_at", "score", "comment"])), unrated
    r = store.read(schema.RATINGS, shops=rated, since=period.since, until=period.until)
    if served is None:
        served = summarise(workload_frame(store, shops=rated, period=period,
                                          idle_limit_s=IDLE_LIMIT_S))
    served = served[served["shop"].isin(rated)]  # an unrated shop's agents: unknown, not 0
    return (ratings_by_agent(r, served, since=period.since, until=period.until),
            dissatisfied_list(r, since=period.since, until=period.until), unrated)


def attribution_frame(store, *, shops, period, attr=None) -> pd.DataFrame:
    """Per (shop, agent_id): refund rate, 客件数 and 件单价 of the agent's attributed orders
    (:mod:`cskit.metrics.attribution`), reading each shop as `cskit kpi` does."""
    from cskit.kpi import Attribution, data_ends, read_shop, select_shops
    from cskit.metrics.attribution import aftersale_by_agent, attributed_orders, orders_by_agent

    attr = attr or Attribution()
    parts = []
    have_orders = set(store.shops(schema.ORDERS))
    have_items = set(store.shops(schema.ORDER_ITEMS))
    for shop in select_shops(store, shops):
        if shop not in have_orders:
            continue
        msgs, orders, excluded = read_shop(store, shop, period, attr, content=False)
        kw = dict(window_days=attr.window_days, lookback_days=attr.lookback_days,
                  anchor=attr.anchor, as_of=data_ends(store, [shop])[shop], excluded=excluded)
        att = attributed_orders(msgs, orders, period.since, period.until, **kw)
        items = store.read(schema.ORDER_ITEMS, shops=[shop],
                           columns=["shop", "order_id", "quantity"]) if shop in have_items else None
        per = orders_by_agent(att, items).merge(
            aftersale_by_agent(msgs, orders, period.since, period.until, **kw),
            on=["shop", "agent_id"], how="outer")
        parts.append(per)
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["shop", "agent_id"])


#: the columns :func:`agent_extras` adds to `cskit kpi --by agent`
EXTRA_KEYS = ["dunned_orders", "dunned_paid", "dun_success_rate", "dun_recovered_amount",
              "buyers_served", "messages_sent", "active_s", "peak_concurrent",
              "ratings", "rating_rate", "satisfied_rate", "dissatisfied",
              "refunded_orders", "refund_rate", "refund_amount_rate", "items_per_buyer",
              "item_price", "aftersale_first_response_s_median", "aftersale_first_response_s_p90"]


def agent_extras(store, *, shops, period) -> pd.DataFrame:
    """Per (shop, agent_id): 催付 and workload figures for the period, for the agent report.
    An agent with no reminded order has empty 催付 figures (not 0 %)."""
    from cskit.errors import NoDataError
    from cskit.metrics.workload import IDLE_LIMIT_S, summarise

    _, dun = dunning_frames(store, shops=shops, period=period)
    try:
        work = summarise(workload_frame(store, shops=shops, period=period,
                                        idle_limit_s=IDLE_LIMIT_S))
    except NoDataError:  # no messages: the agent report says so itself
        work = pd.DataFrame(columns=["shop", "agent_id", "buyers_served"])
    # the workload read once serves both its own columns and 参评率 (ratings / served)
    rat, _, _ = ratings_frames(store, shops=shops, period=period, served=work)
    work = work.drop(columns=[c for c in ("days_active",) if c in work.columns])
    out = work.merge(dun, on=["shop", "agent_id"], how="outer")
    if len(rat):  # shops without a rating export keep empty (unknown) rating columns
        out = out.merge(rat, on=["shop", "agent_id"], how="left")
    att = attribution_frame(store, shops=shops, period=period)
    if len(att):
        out = out.merge(att, on=["shop", "agent_id"], how="left")
    return out[["shop", "agent_id", *[k for k in EXTRA_KEYS if k in out.columns]]]
