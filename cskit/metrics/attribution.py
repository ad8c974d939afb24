"""Orders credited to agents, one row per order: the refund rate of an agent's attributed sales
and the items bought (客件数, 件单价), with the same attribution rule as 询单转化 and 客服销售额
(:mod:`cskit.metrics.conversion`: the last human agent message to the buyer at or before the
order's anchor time, at most the attribution window before it).

- **attributed orders**: orders anchored in the period that are paid (as 客服销售额 counts them)
  or refunded, credited to an agent;
- ``refunded_orders`` (退款订单数); ``refund_rate`` (退款率) = refunded / attributed orders
  (paid + refunded); ``refund_amount_rate`` (退款金额占比) =
  refunded amount / attributed amount;
- ``items_per_buyer`` (客件数) = items (``order_items`` quantities) of the agent's paid attributed
  orders / its paying buyers (distinct buyers with such an order); ``item_price`` (件单价) = their
  amount / items. Both are **empty unless every one of those orders has item lines** in the store
  (an export without items, or a partial one, gives unknown, never a guess).

Pure: nothing here reads the store or prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.common import day_number
from cskit.metrics.registry import KPI, register

__all__ = ["attributed_orders", "orders_by_agent", "aftersale_by_agent", "ATTRIBUTION_KEYS",
           "AFTERSALE_KEYS"]

for _k in (
    KPI("refunded_orders", "退款订单数", "Refunded orders", "count",
        "refunded orders anchored in the period credited to the agent (the 客服销售额 rule)",
        family="attribution"),
    KPI("refund_rate", "退款率", "Refund rate", "rate",
        "refunded_orders / (attributed paid orders + refunded_orders)", family="attribution"),
    KPI("refund_amount_rate", "退款金额占比", "Refunded share of amount", "rate",
        "refunded amount / attributed amount", family="attribution"),
    KPI("items_per_buyer", "客件数", "Items per buyer", "ratio",
        "items of the agent's paid attributed orders / paying buyers; empty unless every such "
        "order has item lines (order_items)", family="attribution"),
    KPI("item_price", "件单价", "Price per item", "yuan",
        "amount of the agent's paid attributed orders / their items; empty unless every such "
        "order has item lines", family="attribution"),
):
    register(_k)

for _k in (
    KPI("aftersale_first_response_s_median", "售后首次响应中位数(秒)",
        "After-sale first response median (s)", "seconds",
        "after-sale buyer-days served by the agent: median seconds from the buyer's first message "
        "of the day to the first human agent reply", family="attribution"),
    KPI("aftersale_first_response_s_p90", "售后首次响应P90(秒)", "After-sale first response P90 (s)",
        "seconds", "as aftersale_first_response_s_median, the 90th percentile",
        family="attribution"),
):
    register(_k)

AFTERSALE_KEYS = ["aftersale_first_response_s_median", "aftersale_first_response_s_p90"]

ATTRIBUTION_KEYS = ["refunded_orders", "refund_rate", "refund_amount_rate", "items_per_buyer",
                    "item_price"]
ORDER_COLUMNS = ["shop", "order_id", "buyer_id", "agent_id", "amount", "refunded"]


def attributed_orders(messages: pd.DataFrame, orders: pd.DataFrame, since=None, until=None, *,
                      window_days: float = 3, lookback_days: float = 15, anchor: str = "order",
                      as_of=None, excluded=None) -> pd.DataFrame:
    """:data:`ORDER_COLUMNS`: paid or refunded orders anchored in ``[since, until]`` credited to
    an agent (orders nobody can be credited with are left out)."""
    from cskit.metrics.common import in_range as _in_range
    from cskit.metrics.conversion import _DAY, _setup

    if orders is None or orders.empty or messages.empty:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    d = _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded)
    if len(d.o_pos) == 0:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    status = d.orders["status"].astype("string").str.strip().str.lower().to_numpy(
        dtype=object, na_value=None)[d.o_pos] if "status" in d.orders.columns \
        else np.full(len(d.o_pos), None, dtype=object)
    refunded = status == "refunded"
    lo, hi = day_number(since, "since"), day_number(until, "until")
    sel = np.flatnonzero((d.o_paid | refunded) & (d.o_g >= 0)
                         & _in_range(d.o_anchor_t // _DAY, lo, hi))
    agent = d.last_human_reply(d.o_anchor_t[sel], d.o_g[sel])
    keep = agent >= 0
    sel, agent = sel[keep], agent[keep]
    ids = d.orders["order_id"].to_numpy(dtype=object)[d.o_pos[sel]]
    return pd.DataFrame({
        "shop": d.shop_names[d.o_shop[sel]], "order_id": ids,
        "buyer_id": d.buyer_names[d.o_g[sel] % d.nb], "agent_id": d.agent_names[agent],
        "amount": np.nan_to_num(d.o_amount[sel], nan=0.0), "refunded": refunded[sel]})


def orders_by_agent(att: pd.DataFrame, items: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (shop, agent_id): :data:`ATTRIBUTION_KEYS`.  ``items``: order lines (shop,
    order_id, quantity) of the store's ``order_items``."""
    cols = ["shop", "agent_id", *ATTRIBUTION_KEYS]
    if att.empty:
        return pd.DataFrame(columns=cols)
    a = att.assign(ref_amt=np.where(att["refunded"], att["amount"], 0.0))
    g = a.groupby(["shop", "agent_id"], sort=True)
    out = pd.DataFrame({"orders": g.size(), "refunded_orders": g["refunded"].sum().astype(int),
                        "amount": g["amount"].sum(), "ref_amt": g["ref_amt"].sum()})
    out["refund_rate"] = out["refunded_orders"] / out["orders"]
    out["refund_amount_rate"] = np.where(out["amount"] > 0, out["ref_amt"] / out["amount"].where(
        out["amount"] > 0, 1), np.nan)
    paid = a[~a["refunded"].to_numpy(dtype=bool)]
    if items is not None and len(items) and len(paid):
        q = items.groupby(["shop", "order_id"], sort=False)["quantity"].sum().rename("q")
        p = paid.merge(q.reset_index().astype({"order_id": object}), on=["shop", "order_id"],
                       how="left")
        pg = p.groupby(["shop", "agent_id"], sort=True)
        cover = pg["q"].count() == pg.size()  # every paid order has item lines
        n_items = pg["q"].sum()
        buyers = pg["buyer_id"].nunique()
        amt = pg["amount"].sum()
        per_buyer = (n_items / buyers).where(cover & (n_items > 0))
        price = (amt / n_items).where(cover & (n_items > 0))
        out["items_per_buyer"] = per_buyer.reindex(out.index)
        out["item_price"] = price.reindex(out.index)
    else:
        out["items_per_buyer"] = np.nan
        out["item_price"] = np.nan
    return out.reset_index()[cols]


def aftersale_by_agent(messages: pd.DataFrame, orders: pd.DataFrame | None, since=None,
                       until=None, *, window_days: float = 3, lookback_days: float = 15,
                       anchor: str = "order", as_of=None, excluded=None) -> pd.DataFrame:
    """Per (shop, agent_id): the first-response median and P90 (seconds) of the after-sale
    buyer-days (售后: an order of the buyer in the lookback before the day's first message)
    dated in ``[since, until]`` that the agent served (first human reply)."""
    from cskit.metrics.common import in_range as _in_range
    from cskit.metrics.conversion import _DAY, _setup

    cols = ["shop", "agent_id", *AFTERSALE_KEYS]
    if orders is None or orders.empty or messages.empty:
        return pd.DataFrame(columns=cols)
    d = _setup(messages, orders, window_days, lookback_days, anchor, as_of, excluded)
    lo, hi = day_number(since, "since"), day_number(until, "until")
    m = d.bd_aftersale & _in_range(d.bd_day, lo, hi) & (d.bd_agent >= 0)
    if not m.any():
        return pd.DataFrame(columns=cols)
    f = pd.DataFrame({"shop": d.shop_names[d.bd_shop[m]], "agent_id": d.agent_names[d.bd_agent[m]],
                      "wait": (d.bd_rt[m] - d.bd_f[m]).astype(float)})
    g = f.groupby(["shop", "agent_id"], sort=True)["wait"]
    out = pd.DataFrame({"aftersale_first_response_s_median": g.median(),
                        "aftersale_first_response_s_p90": g.quantile(0.9, interpolation="higher")})
    return out.reset_index()[cols]
