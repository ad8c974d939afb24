"""Per-product inquiry figures (docs/products.md): pure functions, frames in, frames out.

The buyer-days, inquiries, paid orders, window and data end are exactly those of
`cskit kpi`'s conversion (:mod:`cskit.metrics.conversion`, the same ``_setup``): a
product's figures are the shop's figures restricted to the buyer-days linked to it
(:func:`cskit.products.link.message_links`) and to the order lines of it
(:func:`cskit.products.link.order_products`).  Vectorised (merges and group sums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.conversion import _DAY, _setup
from cskit.products.link import catalogue, message_links, order_products

__all__ = ["STAT_COLUMNS", "product_stats", "linked_buyer_days"]

STAT_COLUMNS = ["shop", "product", "inquiring_buyers", "paid_buyers", "pending_buyers",
                "lost_buyers", "paid_orders", "units", "sales"]


def _day_range(day: np.ndarray, since, until) -> np.ndarray:
    m = np.ones(len(day), dtype=bool)
    if since is not None:
        m &= day >= np.datetime64(since, "D").astype(np.int64)
    if until is not None:
        m &= day <= np.datetime64(until, "D").astype(np.int64)
    return m


def _span(periods):
    """The smallest (since, until) covering every period (None: open)."""
    sinces = [p[0] for p in periods]
    untils = [p[1] for p in periods]
    return (None if any(x is None for x in sinces) else min(sinces),
            None if any(x is None for x in untils) else max(untils))


def linked_buyer_days(msgs: pd.DataFrame, orders: pd.DataFrame, items: pd.DataFrame, since,
                      until, *, window_days: float = 3, lookback_days: float = 15, as_of=None,
                      excluded=None, cat: pd.DataFrame | None = None):
    """Inquiry buyer-days dated in [since, until] linked to a product, one row per buyer-day
    and product: shop, buyer_id, date, product, how, agent_id (first human replier),
    paid (a paid order *with the product* in the window), paid_any (any paid order in the
    window, as `cskit kpi`), ordered_any (any order in the window), pending (the window is
    open at the data end).  Also returns the conversion setup and the order products (for
    :func:`product_stats`)."""
    cat = catalogue(items) if cat is None else cat
    d = _setup(msgs, orders, window_days, lookback_days, "order", as_of, excluded)
    keep = np.flatnonzero(d.bd_inquiry & _day_range(d.bd_day, since, until))
    in_days = _day_range(pd.to_datetime(msgs["sent_at"]).to_numpy().astype("datetime64[D]")
                         .astype(np.int64), since, until)
    links = message_links(msgs[in_days] if not in_days.all() else msgs, cat)
    # joined on integer (shop, buyer) codes and day numbers; names only for the linked rows
    sc = pd.Index(d.shop_names).get_indexer(links["shop"].to_numpy(dtype=object))
    bc = pd.Index(d.buyer_names).get_indexer(links["buyer_id"].to_numpy(dtype=object))
    lg = np.where((sc >= 0) & (bc >= 0), sc * d.nb + bc, -1)
    lday = links["day"].to_numpy().astype("datetime64[D]").astype(np.int64)
    bd = pd.DataFrame({"k": np.arange(len(keep)), "g": d.bd_g[keep], "day": d.bd_day[keep]})
    lb = pd.DataFrame({"g": lg, "day": lday, "product": links["product"].to_numpy(dtype=object),
                       "how": links["how"].to_numpy(dtype=object)}).merge(bd, on=["g", "day"])
    i = keep[lb["k"].to_numpy()]
    op = order_products(items, cat)
    # paid orders of the product, by buyer and anchor time
    paid = np.flatnonzero(d.o_paid & (d.o_g >= 0))
    po = pd.DataFrame({"shop": d.shop_names[d.o_shop[paid]],
                       "order_id": d.orders["order_id"].to_numpy(dtype=object)[d.o_pos[paid]],
                       "g": d.o_g[paid], "t": d.o_anchor_t[paid]})
    po = po.merge(op[["shop", "order_id", "product"]], on=["shop", "order_id"])
    pairs = pd.DataFrame({"r": np.arange(len(lb)), "g": lb["g"].to_numpy(), "f": d.bd_f[i],
                          "product": lb["product"].to_numpy(dtype=object)})
    hit = pairs.merge(po[["g", "t", "product"]], on=["g", "product"])
    hit = hit[(hit["t"] >= hit["f"]) & (hit["t"] <= hit["f"] + d.window_s)]
    out = pd.DataFrame({
        "shop": d.shop_names[d.bd_shop[i]], "buyer_id": d.buyer_names[d.bd_g[i] % d.nb],
        "date": d.bd_day[i].astype("datetime64[D]"), "product": lb["product"].to_numpy(),
        "how": lb["how"].to_numpy(), "agent_id": d.agent_names[d.bd_agent[i]],
        "paid": np.isin(np.arange(len(lb)), hit["r"].to_numpy()),
        "paid_any": d.bd_paid[i], "ordered_any": d.bd_ordered[i], "pending": d.bd_pending[i]})
    out = out.sort_values(["shop", "date", "buyer_id", "product"], kind="stable")
    return out.reset_index(drop=True), d, op


def product_stats(msgs: pd.DataFrame, orders: pd.DataFrame, items: pd.DataFrame, periods,
                  *, window_days: float = 3, lookback_days: float = 15, as_of=None,
                  excluded=None, cat: pd.DataFrame | None = None):
    """Per period ((since, until) pairs, inclusive dates, None open), ``(stats, linked)``:
    the per-(shop, product) :data:`STAT_COLUMNS` and the linked buyer-days of that period
    (:func:`linked_buyer_days`).  The conversion is set up once for all periods.

    * inquiring_buyers — inquiry buyer-days linked to the product;
    * paid_buyers — of those, with a paid order containing the product in the window;
    * pending_buyers — of those, with the window still open at the data end;
    * lost_buyers — of those, with no paid order at all in the window (`cskit lost`'s
      lost buyer-days), window closed;
    * paid_orders, units, sales — paid orders created in the period with a line of the
      product (chat or not), their units and line value (price × quantity; an order of
      this one product without unit prices: its amount paid; else NaN when a line has no
      price or quantity)."""
    cat = catalogue(items) if cat is None else cat
    since, until = _span(periods)
    lb_all, d, op = linked_buyer_days(msgs, orders, items, since, until,
                                      window_days=window_days, lookback_days=lookback_days,
                                      as_of=as_of, excluded=excluded, cat=cat)
    day_all = lb_all["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    keys = ["shop", "product"]
    paid_o = np.flatnonzero(d.o_paid)
    o_day = d.o_ct[paid_o] // _DAY
    po_all = pd.DataFrame({"shop": d.shop_names[d.o_shop[paid_o]],
                           "order_id": d.orders["order_id"].to_numpy(dtype=object)
                           [d.o_pos[paid_o]], "amount": d.o_amount[paid_o]})
    # an order of one product whose lines have no unit price (PDD): its amount paid (实付)
    n_prod = op.groupby(["shop", "order_id"], sort=False)["product"].transform("size")
    op = op.assign(single=(n_prod == 1).to_numpy())
    results = []
    for p_since, p_until in periods:
        lb = lb_all[_day_range(day_all, p_since, p_until)].reset_index(drop=True)
        g = lb.assign(inq=1, pend=lb["pending"],
                      lost=~lb["paid_any"] & ~lb["pending"]).groupby(keys, sort=False)
        a = pd.DataFrame({"inquiring_buyers": g["inq"].sum(), "paid_buyers": g["paid"].sum(),
                          "pending_buyers": g["pend"].sum(), "lost_buyers": g["lost"].sum()})
        # sales: paid orders created in the period, every order of the shop (chat or not)
        po = po_all[_day_range(o_day, p_since, p_until)].drop_duplicates(["shop", "order_id"])
        po = po.merge(op, on=["shop", "order_id"])
        po["value"] = po["value"].where(po["value"].notna() | ~po["single"], po["amount"])
        s = po.groupby(keys, sort=False)
        b = pd.DataFrame({"paid_orders": s["order_id"].nunique(),
                          "units": s["units"].sum(min_count=1).where(
                              s["units"].count() == s.size()),
                          "sales": s["value"].sum(min_count=1).where(
                              s["value"].count() == s.size())})
        out = a.join(b, how="outer")
        out.index.names = keys
        out = out.reset_index()
        for c in ("inquiring_buyers", "paid_buyers", "pending_buyers", "lost_buyers",
                  "paid_orders"):
            out[c] = out[c].fillna(0).astype(np.int64)
        # no paid order: 0 units, 0 yuan; a line without quantity / price: unknown (NaN)
        none = out["paid_orders"].to_numpy() == 0
        out.loc[none, "units"] = 0
        out.loc[none, "sales"] = 0.0
        out["units"] = out["units"].astype("Float64").astype("Int64")
        out["sales"] = out["sales"].astype(float)
        results.append((out.reindex(columns=STAT_COLUMNS), lb))
    return results
