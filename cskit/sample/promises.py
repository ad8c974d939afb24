"""Promises planted in the sample (日清, issue 15 item 3).

Chosen agent messages of after-sale conversations get the text of a promise (texts in
``cskit/data/sample_promises.toml``); nothing else changes — no message is added or moved,
no time, order or count changes, and the draws use their own random stream
(``default_rng((seed, TAG))``), so every other number of the sample stays what it is.

The outcome of each planted promise follows from what the simulated log already holds
after that turn (the same shop's next human agent message to that buyer):

* ``kept`` — the next agent message comes the same day, at least a minute later and is
  not a one-word reply (a same-day deadline: 稍后/今天);
* ``late`` — the next agent message comes on a later day (a same-day deadline: the
  follow-up is late, so the promise is broken with a ``followed_up_at``);
* ``broken`` — no agent message follows at all and the day ends before the shop's data end;
* ``open`` — no agent message follows, the promise is made on the shop's last data day and
  says 明天, so its deadline (the end of the next day) lies after the data end.

The plan is ``SampleData.truth["promises"]``: shop, buyer_id, agent_id, sent_at, outcome,
status (kept / broken / broken / open), text.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

__all__ = ["plant_promises", "PLAN", "TAG"]

#: this part's random stream: default_rng((seed, TAG))
TAG = 15_01
#: how many promises of each outcome are planted (fewer when the log has fewer sites)
PLAN = {"kept": 12, "late": 6, "broken": 8, "open": 4}
STATUS = {"kept": "kept", "late": "broken", "broken": "broken", "open": "open"}
#: a follow-up this long or longer is never a one-word reply (稍等/好的/在的 …)
MIN_FOLLOW_CHARS = 6
MIN_FOLLOW_GAP = np.timedelta64(60, "s")
TEXTS = tomllib.loads(resources.files("cskit").joinpath("data/sample_promises.toml")
                      .read_text(encoding="utf-8"))


def plant_promises(seed: int, messages: pd.DataFrame, conv: np.ndarray,
                   after_sale: np.ndarray, orders: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(messages with the planted texts, the plan).  ``conv``: the conversation index of each
    message; ``after_sale``: per conversation, whether it is after-sale."""
    rng = np.random.default_rng((seed, TAG))
    m = messages
    t = m["sent_at"].to_numpy().astype("datetime64[s]")
    day = t.astype("datetime64[D]")
    sender = m["sender"].to_numpy(dtype=object)
    is_agent = sender == "agent"
    text = m["msg_type"].isin(["text", "0"]).to_numpy(dtype=bool)
    key = (m["shop"].astype(str) + "\x1f" + m["buyer_id"].astype(str)).to_numpy(dtype=object)

    # per agent message: the same shop's next agent message to the buyer (any day)
    ag = np.flatnonzero(is_agent)
    order = ag[np.lexsort((t[ag], key[ag]))]
    nxt = np.full(len(m), -1, dtype=np.int64)
    same = key[order][1:] == key[order][:-1]
    nxt[order[:-1][same]] = order[1:][same]

    # the shop's data end (messages of buyers, agents, robots; order times)
    chat = np.isin(sender, ["buyer", "agent", "bot"])
    end = pd.Series(t[chat]).groupby(m["shop"].to_numpy()[chat]).max()
    for col in ("created_at", "paid_at"):
        if col in orders.columns and len(orders):
            o = orders.dropna(subset=[col])
            oe = pd.to_datetime(o[col]).groupby(o["shop"].to_numpy()).max()
            end = pd.concat([end, oe]).groupby(level=0).max()
    shop_end = pd.to_datetime(m["shop"].map(end)).to_numpy().astype("datetime64[s]")

    site = is_agent & text & after_sale[conv]
    has = nxt >= 0
    nt = np.where(has, t[np.maximum(nxt, 0)], np.datetime64("NaT"))
    follow_len = np.where(has, m["content"].astype(str).str.len().to_numpy()[np.maximum(nxt, 0)], 0)
    end_of_day = (day + np.timedelta64(1, "D")).astype("datetime64[s]") - np.timedelta64(1, "s")
    kinds = {
        "kept": site & has & (nt.astype("datetime64[D]") == day) & (nt - t >= MIN_FOLLOW_GAP)
        & (follow_len >= MIN_FOLLOW_CHARS),
        "late": site & has & (nt.astype("datetime64[D]") > day) & (follow_len >= MIN_FOLLOW_CHARS),
        "broken": site & ~has & (end_of_day < shop_end),
        "open": site & ~has & (day == shop_end.astype("datetime64[D]")),
    }
    used: set = set()
    rows = []
    content = m["content"].to_numpy(dtype=object).copy()
    for outcome, n in PLAN.items():
        cand = np.flatnonzero(kinds[outcome])
        cand = cand[[key[i] not in used for i in cand]] if len(cand) else cand
        # one planted promise per buyer
        _, first = np.unique(key[cand], return_index=True)
        cand = cand[np.sort(first)]
        pick = np.sort(rng.choice(cand, size=min(n, len(cand)), replace=False)) if len(cand) else cand
        pool = TEXTS["next_day"] if outcome == "open" else TEXTS["same_day"]
        texts = np.array(pool, dtype=object)[rng.integers(0, len(pool), len(pick))]
        for i, s in zip(pick, texts):
            used.add(key[i])
            content[i] = s
            rows.append({"shop": m["shop"].iat[i], "buyer_id": m["buyer_id"].iat[i],
                         "agent_id": m["agent_id"].iat[i], "sent_at": m["sent_at"].iat[i],
                         "outcome": outcome, "status": STATUS[outcome], "text": s,
                         "followed_up_at": m["sent_at"].iat[nxt[i]] if outcome in ("kept", "late")
                         else pd.NaT})
    out = m.copy()
    out["content"] = content
    plan = pd.DataFrame(rows, columns=["shop", "buyer_id", "agent_id", "sent_at", "outcome", "status",
                                       "text", "followed_up_at"])
    return out, plan.sort_values(["shop", "sent_at"], kind="stable").reset_index(drop=True)
