"""The sample's planted payment reminders (催付, issue 18): for some chat orders the order is
created while the conversation is still going — after the buyer's last message ("好的，拍了"),
before the agent's closing reply — and that closing reply becomes a payment reminder.  A
recovered case is paid after the reminder; a lost one stays unpaid (its status already is).

Own random stream (``(seed, 1802)``); only order times (created, paid) and the text of the
closing reply change — no message is added or moved, and every order keeps its day, agent
(the same agent also wrote earlier in the conversation) and attribution window.  The plan is
``truth["dunning"]``: shop, order_id, buyer_id, dunned_by, dunned_at, recovered, amount.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from .phrases import A_CLOSE_YES

__all__ = ["plant_dunning", "RECOVERED", "LOST"]

#: planted cases (at most; fewer when the sample has fewer eligible orders)
RECOVERED, LOST = 8, 4
_TEXTS = tomllib.loads(resources.files("cskit").joinpath("data/sample_dunning.toml")
                       .read_text(encoding="utf-8"))["reminders"]
_PAID = ("paid", "shipped", "completed")


def _last_two(messages: pd.DataFrame, conv: np.ndarray) -> pd.DataFrame:
    """Per conversation: the last message (position, time, sender, agent, text) and the time
    of the one before it, and the latest earlier agent message's agent."""
    m = pd.DataFrame({"conv": conv, "t": messages["sent_at"].to_numpy(),
                      "sender": messages["sender"].to_numpy(),
                      "agent": messages["agent_id"].to_numpy(),
                      "content": messages["content"].to_numpy(), "pos": np.arange(len(conv))})
    m = m.sort_values(["conv", "t", "pos"], kind="stable")
    g = m.groupby("conv", sort=False)
    last = g.tail(1).set_index("conv")
    prev = g.nth(-2).set_index("conv")
    # the agent of the latest agent message before the last one
    earlier = m[~m["pos"].isin(last["pos"]) & (m["sender"] == "agent")]
    before = earlier.groupby("conv", sort=False).tail(1).set_index("conv")["agent"]
    out = last.assign(t_prev=prev["t"].reindex(last.index),
                      prev_sender=prev["sender"].reindex(last.index),
                      agent_before=before.reindex(last.index))
    return out


def plant_dunning(seed: int, messages: pd.DataFrame, conv: np.ndarray, orders: pd.DataFrame,
                  extra: pd.DataFrame, truth_orders: pd.DataFrame, truth_bd: pd.DataFrame):
    """(messages, orders, extra, truth_orders, plan) with the reminders planted."""
    rng = np.random.default_rng([seed, 1802])
    lt = _last_two(messages, conv)
    ok = ((lt["sender"] == "agent") & (lt["prev_sender"] == "buyer")
          & lt["content"].isin(A_CLOSE_YES) & (lt["agent"] == lt["agent_before"])
          & ((lt["t"] - lt["t_prev"]) >= np.timedelta64(20, "s")))
    lt = lt[ok]
    # the buyer's last conversation (a chat order follows it): by shop, buyer and time
    lt = lt.assign(shop=messages["shop"].to_numpy()[lt["pos"].to_numpy()],
                   buyer_id=messages["buyer_id"].to_numpy()[lt["pos"].to_numpy()])
    chat = (truth_orders["kind"] == "chat").to_numpy()
    o = orders[chat].assign(_row=np.flatnonzero(chat))
    o = o.merge(lt[["shop", "buyer_id", "t", "t_prev", "pos", "agent"]], on=["shop", "buyer_id"])
    # the conversation just before the order (same day: the order id keeps its date)
    o = o[(o["t"] < o["created_at"]) & (o["created_at"] - o["t"] < np.timedelta64(3, "D"))
          & (o["t"].dt.date == o["created_at"].dt.date)]
    o = o.sort_values(["_row", "t"]).drop_duplicates("_row", keep="last")
    ship = pd.to_numeric(extra["ship_at"], errors="coerce").to_numpy()
    t_s = o["t"].to_numpy().astype("datetime64[s]").astype(np.int64)
    paid_ok = o["status"].isin(_PAID).to_numpy() & (
        (ship[o["_row"].to_numpy()] < 0) | (ship[o["_row"].to_numpy()] > t_s + 2000))
    unpaid_ok = o["status"].isin(["unpaid", "closed"]).to_numpy()
    pick = []
    for mask, n in ((paid_ok, RECOVERED), (unpaid_ok, LOST)):
        idx = np.flatnonzero(mask)
        pick.append(rng.choice(idx, min(n, len(idx)), replace=False) if len(idx) else idx)
    sel = o.iloc[np.sort(np.concatenate(pick))].copy()
    recovered = sel["status"].isin(_PAID).to_numpy()
    gap = (sel["t"] - sel["t_prev"]).dt.total_seconds().to_numpy().astype(np.int64)
    created = sel["t_prev"] + pd.to_timedelta(gap // 2, unit="s")
    paid = sel["t"] + pd.to_timedelta(rng.integers(60, 900, len(sel)), unit="s")

    orders, extra, truth_orders = orders.copy(), extra.copy(), truth_orders.copy()
    messages = messages.copy()
    rows = sel["_row"].to_numpy()
    orders.loc[orders.index[rows], "created_at"] = created.to_numpy()
    truth_orders.loc[truth_orders.index[rows], "created_at"] = created.to_numpy()
    if "hours_after_chat" in truth_orders.columns:  # now inside the chat: before its end
        last = truth_orders["hours_after_chat"].to_numpy(dtype=float).copy()
        last[rows] = ((created - sel["t"]).dt.total_seconds() / 3600).to_numpy()
        truth_orders["hours_after_chat"] = last
    rec_rows = rows[recovered]
    orders.loc[orders.index[rec_rows], "paid_at"] = paid.to_numpy()[recovered]
    extra.loc[extra.index[rec_rows], "paid_at_s"] = \
        paid.to_numpy()[recovered].astype("datetime64[s]").astype(np.int64)
    text = np.array(_TEXTS, dtype=object)[rng.integers(0, len(_TEXTS), len(sel))]
    messages.loc[messages.index[sel["pos"].to_numpy()], "content"] = text
    plan = pd.DataFrame({"shop": sel["shop"].to_numpy(), "order_id": sel["order_id"].to_numpy(),
                         "buyer_id": sel["buyer_id"].to_numpy(),
                         "dunned_by": sel["agent"].to_numpy(), "dunned_at": sel["t"].to_numpy(),
                         "recovered": recovered, "amount": sel["amount"].to_numpy()})
    return messages, orders, extra, truth_orders, plan.reset_index(drop=True)
