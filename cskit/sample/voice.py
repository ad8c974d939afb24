"""The buyers' voice planted in the sample (issue 15): buyer lines that another department
must hear, so `cskit voice`, `cskit demo` and the weekly report have feedback to show.

Planting only REPLACES the content of existing buyer messages (no message, time, order or
count changes) and draws from its own random stream ``default_rng((seed, VOICE_TAG))``, so
every other number of the sample stays what it is.  Sites (disjoint from the other planted
parts): the first question of an after-sale conversation (every one of the topics
``where``, ``damaged``, ``wrong``; ``exchange`` at ``exchange_rate``), and, at
``closing_rate``, the buyer's closing line of a buyer-day that ended in a paid order.
Phrases and the department each must be routed to: ``cskit/data/sample_voice.toml``.

The plan is ``truth["voice"]``: shop, buyer_id, sent_at, department_id, content — one row
per planted message.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from .phrases import AS_ASK, CLOSE_YES

__all__ = ["plant_voice", "VOICE_TAG", "VOICE_COLUMNS"]

#: this part's own random stream: ``default_rng((seed, VOICE_TAG))``
VOICE_TAG = 15_002
VOICE_COLUMNS = ["shop", "buyer_id", "sent_at", "department_id", "content"]


def _phrases() -> dict:
    with (resources.files("cskit") / "data" / "sample_voice.toml").open("rb") as fh:
        return tomllib.load(fh)


def plant_voice(messages: pd.DataFrame, buyer_days: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Replace the planted buyer lines in ``messages`` (its ``content``, in place) and
    return the plan.  ``buyer_days``: the truth per buyer-day (``after_sale``, ``paid``)."""
    as_ask, close_yes = AS_ASK, CLOSE_YES
    doc = _phrases()
    rng = np.random.default_rng((seed, VOICE_TAG))
    m = messages
    bd = buyer_days
    day = pd.to_datetime(m["sent_at"]).dt.normalize()
    keys = pd.DataFrame({"shop": m["shop"].astype(object).to_numpy(),
                         "buyer_id": m["buyer_id"].astype(object).to_numpy(),
                         "date": day.to_numpy()})
    info = bd[["shop", "buyer_id", "date", "after_sale", "paid"]].assign(
        shop=bd["shop"].astype(object), buyer_id=bd["buyer_id"].astype(object),
        date=pd.to_datetime(bd["date"]))
    info = keys.merge(info.drop_duplicates(["shop", "buyer_id", "date"]),
                      on=["shop", "buyer_id", "date"], how="left")
    after = info["after_sale"].fillna(False).to_numpy(dtype=bool)
    paid = info["paid"].fillna(False).to_numpy(dtype=bool)
    buyer = (m["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)
    content = m["content"].astype(object).to_numpy()
    new = content.copy()
    dept = np.full(len(m), None, dtype=object)

    def put(rows: np.ndarray, phrases: list[dict]) -> None:
        if len(rows) == 0:
            return
        pick = rng.integers(0, len(phrases), len(rows))
        new[rows] = np.array([p["text"] for p in phrases], dtype=object)[pick]
        dept[rows] = np.array([p["department"] for p in phrases], dtype=object)[pick]

    for topic in ("where", "damaged", "wrong", "exchange"):
        rows = np.flatnonzero(buyer & after & np.isin(content, list(as_ask[topic])))
        if topic == "exchange":  # drawn for every candidate, so the stream does not depend on
            rows = rows[rng.random(len(rows)) < doc["exchange_rate"]]  # the other sites
        put(rows, doc["after_sale"][topic])
    rows = np.flatnonzero(buyer & paid & ~after & np.isin(content, list(close_yes)))
    rows = rows[rng.random(len(rows)) < doc["closing_rate"]]
    put(rows, doc["closing"])
    planted = np.flatnonzero(dept != None)  # noqa: E711 - elementwise
    m["content"] = pd.array(new, dtype=m["content"].dtype)
    plan = pd.DataFrame({"shop": m["shop"].to_numpy()[planted],
                         "buyer_id": m["buyer_id"].to_numpy()[planted],
                         "sent_at": m["sent_at"].to_numpy()[planted],
                         "department_id": dept[planted], "content": new[planted]})
    return plan.sort_values(["shop", "sent_at", "buyer_id"], kind="stable").reset_index(drop=True)
