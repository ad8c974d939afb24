"""Product references in the sample chats (issue 16): goods links / cards / pasted titles
in buyer greeting turns, and the JD SKU column.  The texts and shares are in
``cskit/data/sample_products.toml``.

Planted by *replacing* the content of existing buyer greetings (no message, time, order or
count changes) with an own random stream ``default_rng((seed, TAG))``, so every other
number of the sample stays what it is.  The plan is ``truth["product_refs"]``: one row per
planted buyer-day — shop, platform, buyer_id, date, first_msg_at, product (the item id the
reference names), title, how (link | card | title | sku)."""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from .base import _digits
from .orders import CATALOGUE, ITEM_ID_BASE
from .phrases import GREETINGS

__all__ = ["TAG", "plant_products", "product_ids"]

TAG = 16  #: this planter's random stream: default_rng((seed, TAG))
LOOKBACK = pd.Timedelta(days=15)  # cskit kpi's after-sale lookback
CONF = tomllib.loads(resources.files("cskit").joinpath("data/sample_products.toml")
                     .read_text(encoding="utf-8"))


def product_ids(spec) -> np.ndarray:
    """The item id of each catalogue product of ``spec`` (as the orders carry them; Taobao's
    orders carry none, its links use the ids of ``link_id_base``)."""
    n = len(CATALOGUE[spec.category])
    base = CONF["link_id_base"].get(spec.platform, ITEM_ID_BASE.get(spec.platform, 0))
    width = len(str(base + 1))
    return np.asarray(_digits(base + np.arange(n) * 7919 + 11, width), dtype=object)


def _eligible(bd: pd.DataFrame, t_orders: pd.DataFrame) -> np.ndarray:
    """Buyer-days every command counts as an inquiry: pre-sale, a human reply the same day,
    no order of the buyer created in the 15 days before, not excluded, no edge case."""
    first = pd.to_datetime(bd["first_msg_at"])
    reply = first + pd.to_timedelta(bd["first_response_s"], unit="s")
    served = bd["agent_id"].notna() & reply.notna() & (reply.dt.normalize() == first.dt.normalize())
    ok = (~bd["after_sale"].astype(bool) & served & ~bd["excluded"].astype(bool)
          & bd["special"].isna()).to_numpy(dtype=bool).copy()
    o = t_orders[["shop", "buyer_id", "created_at"]].merge(
        pd.DataFrame({"shop": bd["shop"], "buyer_id": bd["buyer_id"], "f": first,
                      "i": np.arange(len(bd))}), on=["shop", "buyer_id"])
    before = o[(o["created_at"] < o["f"]) & (o["created_at"] >= o["f"] - LOOKBACK)]["i"]
    ok[before.to_numpy(dtype=np.int64)] = False
    return ok


def plant_products(seed: int, specs, messages: pd.DataFrame, conv: np.ndarray,
                   bd: pd.DataFrame, t_orders: pd.DataFrame, orders: pd.DataFrame):
    """``messages`` with product references planted (and an ``item_id`` column), and the
    plan.  ``conv``: each message's conversation (= ``bd["_conv"]``)."""
    rng = np.random.default_rng((seed, TAG))
    messages = messages.copy()
    messages["item_id"] = pd.Series(None, index=messages.index, dtype=object)
    ok = _eligible(bd, t_orders)
    # the greeting that opens each conversation
    buyer = (messages["sender"] == "buyer").to_numpy()
    first = pd.Series(np.flatnonzero(buyer)).groupby(conv[buyer]).first()
    greets = first[np.isin(messages["content"].to_numpy(dtype=object)[first.to_numpy()],
                           np.array(GREETINGS, dtype=object))]
    by_conv = bd.set_index("_conv")
    # the product of the chat order that followed the buyer-day, if any
    item_of = orders.set_index("order_id")["item_title"]
    plan = []
    for s, spec in enumerate(specs):
        cat = CATALOGUE[spec.category]
        titles = np.array([c[0] for c in cat], dtype=object)
        ids = product_ids(spec)
        w = np.array((CONF["weights"] + [1] * len(cat))[: len(cat)], dtype=float)
        c = greets.index.to_numpy()
        c = c[(by_conv["shop"].reindex(c).to_numpy() == spec.name)
              & ok[by_conv.index.get_indexer(c)]]
        c = c[rng.random(len(c)) < CONF["share"]]
        if len(c) == 0:
            continue
        pick = rng.choice(len(cat), size=len(c), p=w / w.sum())
        ordered = by_conv["order_id"].reindex(c).to_numpy(dtype=object)
        own_title = pd.Series(ordered).map(item_of).to_numpy(dtype=object)
        own = pd.notna(own_title) & (rng.random(len(c)) < CONF["own_product"])
        own_j = pd.Index(titles).get_indexer(np.where(own, own_title, titles[0]))
        j = np.where(own & (own_j >= 0), own_j, pick)
        kinds = CONF["kinds"].get(spec.platform)
        rows = greets.reindex(c).to_numpy()
        if spec.platform == "jd" or not kinds:
            how = np.full(len(c), "sku", dtype=object)
            # the JD export names the SKU on every row of the buyer's chat that day
            at = np.flatnonzero(np.isin(conv, c))
            messages.loc[messages.index[at], "item_id"] = \
                pd.Series(ids[j], index=c).reindex(conv[at]).to_numpy()
        else:
            names = list(kinds)
            p = np.array([kinds[k] for k in names], dtype=float)
            how = np.array(names, dtype=object)[rng.choice(len(names), size=len(c), p=p / p.sum())]
            # a pasted title links only to a title the shop's order lines carry: else a link
            sold = set(orders.loc[orders["shop"] == spec.name, "item_title"].dropna())
            how[(how == "title") & ~np.isin(titles[j], list(sold))] = "link"
            text = np.empty(len(c), dtype=object)
            for k in names:
                sel = how == k
                if k == "title":
                    text[sel] = titles[j[sel]]
                else:
                    tpl = CONF["templates"][f"{spec.platform}_{k}"]
                    text[sel] = [tpl.format(id=i, title=t) for i, t in zip(ids[j[sel]],
                                                                          titles[j[sel]])]
            messages.loc[messages.index[rows], "content"] = text
        b = by_conv.loc[c]
        plan.append(pd.DataFrame({"shop": spec.name, "platform": spec.platform,
                                  "buyer_id": b["buyer_id"].to_numpy(),
                                  "date": b["date"].to_numpy(),
                                  "first_msg_at": b["first_msg_at"].to_numpy(),
                                  "product": ids[j], "title": titles[j], "how": how}))
    cols = ["shop", "platform", "buyer_id", "date", "first_msg_at", "product", "title", "how"]
    refs = pd.concat(plan, ignore_index=True) if plan else pd.DataFrame(columns=cols)
    return messages, refs.sort_values(["shop", "date", "buyer_id"], kind="stable") \
        .reset_index(drop=True)[cols]
