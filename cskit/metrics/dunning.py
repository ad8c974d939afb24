"""催付 (payment reminders): of the unpaid orders an agent wrote to after their creation, how
many were paid afterwards, and the amount recovered — per agent.

Rule (docs/metrics.md, "催付成功率"):

- an order counts when it was created in the period, has a buyer id, and its buyer is not
  excluded (举报/拉黑);
- its **催付 message** is the first human agent message to that buyer in the same shop strictly
  after the order's creation, sent within the reminder window (default 24 h) and while the order
  was still unpaid (before its payment, if any). An order paid before any such message was paid
  without a reminder and does not count;
- the order is **dunned** (催付订单) by the agent who wrote that message; it is **recovered**
  (催付成功) when it was paid after the message;
- ``dun_success_rate`` = recovered / dunned orders; ``dun_recovered_amount`` (催付挽回金额) = the
  recovered orders' amounts.

Pure and vectorised: nothing here reads the store or prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.registry import KPI, register

__all__ = ["dunned_orders", "dunning_by_agent", "DUN_WINDOW_S", "DUNNING_KEYS"]

DUN_WINDOW_S = 24 * 3600

for _k in (
    KPI("dunned_orders", "催付订单数", "Orders reminded", "count",
        "orders created in the period that the agent reminded: the first human agent message to "
        "the buyer after the order's creation, within 24 h and before any payment",
        family="dunning"),
    KPI("dunned_paid", "催付成功数", "Reminded orders paid", "count",
        "reminded orders paid after the reminder", family="dunning"),
    KPI("dun_success_rate", "催付成功率", "Reminder success rate", "rate",
        "dunned_paid / dunned_orders; empty when the agent reminded no order", family="dunning"),
    KPI("dun_recovered_amount", "催付挽回金额", "Amount recovered", "yuan",
        "the amounts of the reminded orders paid after the reminder", family="dunning"),
):
    register(_k)

DUNNING_KEYS = ["dunned_orders", "dunned_paid", "dun_success_rate", "dun_recovered_amount"]
#: one row per reminded order
ORDER_COLUMNS = ["shop", "order_id", "buyer_id", "amount", "created_at", "dunned_by", "dunned_at",
                 "paid_at", "recovered"]


def dunned_orders(msgs: pd.DataFrame, orders: pd.DataFrame, *, since=None, until=None,
                  window_s: int = DUN_WINDOW_S, excluded: pd.DataFrame | None = None) -> pd.DataFrame:
    """:data:`ORDER_COLUMNS`, one row per reminded order created in ``[since, until]``."""
    o = orders[[c for c in ("shop", "order_id", "buyer_id", "created_at", "paid_at", "amount")
                if c in orders.columns]].copy()
    if "paid_at" not in o.columns:
        o["paid_at"] = pd.NaT
    o["created_at"] = pd.to_datetime(o["created_at"], errors="coerce").astype("datetime64[ns]")
    o["paid_at"] = pd.to_datetime(o["paid_at"], errors="coerce").astype("datetime64[ns]")
    o = o[o["created_at"].notna() & o["buyer_id"].notna() & (o["buyer_id"].astype(str) != "")]
    day = o["created_at"].dt.normalize()
    if since is not None:
        o = o[day >= pd.Timestamp(since)]
        day = day[o.index]
    if until is not None:
        o = o[day <= pd.Timestamp(until)]
    if excluded is not None and len(excluded):
        ex = excluded[["shop", "buyer_id"]].drop_duplicates().assign(_x=True)
        o = o.merge(ex, on=["shop", "buyer_id"], how="left")
        o = o[o["_x"].isna()].drop(columns="_x")
    m = msgs[["shop", "buyer_id", "agent_id", "sender", "sent_at"]]
    m = m[(m["sender"].astype(str) == "agent").to_numpy() & m["agent_id"].notna().to_numpy()]
    m = m.assign(sent_at=pd.to_datetime(m["sent_at"], errors="coerce").astype("datetime64[ns]"))
    m = m.dropna(subset=["sent_at"])
    if o.empty or m.empty:
        return pd.DataFrame(columns=ORDER_COLUMNS)
    o = o.assign(shop=o["shop"].astype(str), buyer_id=o["buyer_id"].astype(str))
    m = m.assign(shop=m["shop"].astype(str), buyer_id=m["buyer_id"].astype(str))
    # the first agent message strictly after creation: as-of forward on (created_at + 1 ns)
    left = o.assign(_t=o["created_at"] + pd.Timedelta(1, "ns")).sort_values("_t", kind="stable")
    right = m.rename(columns={"sent_at": "_t", "agent_id": "dunned_by"})[
        ["shop", "buyer_id", "dunned_by", "_t"]].sort_values("_t", kind="stable")
    right = right.assign(dunned_at=right["_t"])
    hit = pd.merge_asof(left, right, on="_t", by=["shop", "buyer_id"], direction="forward")
    late = hit["dunned_at"] - hit["created_at"] > pd.Timedelta(seconds=window_s)
    paid_first = hit["paid_at"].notna() & (hit["paid_at"] <= hit["dunned_at"])
    hit = hit[hit["dunned_at"].notna() & ~late & ~paid_first]
    hit = hit.assign(recovered=hit["paid_at"].notna() & (hit["paid_at"] > hit["dunned_at"]))
    return hit.sort_values(["shop", "created_at", "order_id"], kind="stable") \
        .reset_index(drop=True)[ORDER_COLUMNS]


def dunning_by_agent(dunned: pd.DataFrame) -> pd.DataFrame:
    """Per (shop, agent_id): :data:`DUNNING_KEYS`."""
    if dunned.empty:
        return pd.DataFrame(columns=["shop", "agent_id", *DUNNING_KEYS])
    d = dunned.assign(_amt=np.where(dunned["recovered"], pd.to_numeric(dunned["amount"],
                                                                       errors="coerce"), 0.0))
    g = d.groupby(["shop", "dunned_by"], sort=True)
    out = pd.DataFrame({"dunned_orders": g.size(), "dunned_paid": g["recovered"].sum().astype(int),
                        "dun_recovered_amount": g["_amt"].sum().round(2)})
    out["dun_success_rate"] = out["dunned_paid"] / out["dunned_orders"]
    out = out.reset_index().rename(columns={"dunned_by": "agent_id"})
    return out[["shop", "agent_id", *DUNNING_KEYS]]
