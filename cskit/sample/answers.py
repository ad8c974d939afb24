"""Planted answers for `cskit answers` (issue 16 item 4): the agent's first answer to a
pre-sale question is replaced by the agent's planted answer for the topic, conditioned on
the outcome the simulation already planned, so answers differ in conversion while no
time, count or outcome changes.  The answers and probabilities are data
(cskit/data/sample_answers.toml); the plan is ``SampleData.truth["answers"]``.

Sites: in every pre-sale conversation that an agent answered, the first agent message of
the first round that is an answer (after the greeting reply, when there is one).  Those
are the simulation's ``K_A_ANSWER`` messages; other developers plant in other sites (agent
follow-ups and after-sale turns, buyer greetings, after-sale buyer turns, closings).
The random stream is this module's own (``(seed, TAG)``), never the simulation's.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa

from .base import AGENT, BUYER, DAY, SYSTEM
from .phrases import PRE_TOPICS

__all__ = ["plant_answers", "TAG", "ROLES", "PLAN_COLUMNS"]

#: this planting's random stream: default_rng((seed, TAG))
TAG = 1603
ROLES = ("good", "plain", "poor")
PLAN_COLUMNS = ["shop", "buyer_id", "date", "conversation_id", "agent_id", "topic", "role",
                "answer", "question", "answer_at", "paid", "pending", "excluded", "planted"]


def _data() -> dict:
    text = resources.files("cskit.data").joinpath("sample_answers.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def plant_answers(seed: int, sim, pool: pa.Array, cidx: np.ndarray, truth_bd: pd.DataFrame,
                  orders: pd.DataFrame | None = None):
    """(pool with the planted answers appended, cidx with the sites replaced, plan).

    ``truth_bd``: the planned buyer-days (row i = conversation i, with ``paid``);
    ``orders``: the planned orders, for each shop's data end (its latest buyer, agent or
    robot message, order creation or payment), against which ``pending`` (the 3-day
    attribution window still open) is judged as `cskit answers` judges it."""
    data = _data()
    rng = np.random.default_rng((seed, TAG))
    conv, rnd, snd, pos = sim.m_conv, sim.m_round, sim.m_sender, sim.m_pos
    first_round = sim.r_k[rnd] == 0
    pre = ~sim.c_after_sale[conv] & ~sim.c_never[conv]
    greet = sim.c_greet[conv]
    # agent answers of the first round (the greeting reply is pos 0 when the buyer greeted)
    ans = np.flatnonzero((snd == AGENT) & first_round & pre & ~((pos == 0) & greet))
    if len(ans) == 0:
        return pool, cidx, pd.DataFrame(columns=PLAN_COLUMNS)
    # the first one per conversation (smallest time, then position)
    order = np.lexsort((pos[ans], sim.m_time[ans], conv[ans]))
    ans = ans[order]
    site = ans[~pd.Series(conv[ans]).duplicated().to_numpy()]
    c = conv[site]
    topic = sim.c_topic[c]
    agent = sim.m_agent[site]
    role = (sim.agent_local[agent] + topic) % len(ROLES)
    paid = truth_bd["paid"].to_numpy(dtype=bool)[c]
    prob = np.array([[data["plant"][r]["unpaid"], data["plant"][r]["paid"]] for r in ROLES])
    planted = rng.random(len(site)) < prob[role, paid.astype(int)]
    texts = [data["answers"][t][r] for t in PRE_TOPICS for r in ROLES]
    new_idx = len(pool) + topic * len(ROLES) + role
    cidx = cidx.copy()
    cidx[site[planted]] = new_idx[planted]
    pool = pa.concat_arrays([pool, pa.array(texts, type=pool.type)])
    # the buyer's last first-round message before the answer (the question it answers)
    b = np.flatnonzero((snd == BUYER) & first_round & pre)
    bq = pd.DataFrame({"c": conv[b], "t": sim.m_time[b], "i": b}).sort_values(["c", "t"])
    at = pd.DataFrame({"c": c, "t": sim.m_time[site]}).sort_values("t")
    q = pd.merge_asof(at.reset_index(), bq.sort_values("t"), on="t", by="c",
                      allow_exact_matches=True).set_index("index").sort_index()
    qi = q["i"].to_numpy()
    has_q = ~np.isnan(qi)
    question = np.full(len(site), None, dtype=object)
    question[has_q] = np.asarray(pool.take(pa.array(cidx[qi[has_q].astype(np.int64)])),
                                 dtype=object)
    shops = truth_bd["shop"].to_numpy(dtype=object)[c]
    first = truth_bd["first_msg_at"].to_numpy(dtype="datetime64[s]").astype(np.int64)[c]
    names = np.array([s.name for s in sim.shops], dtype=object)
    m_ok = snd != SYSTEM
    end = pd.Series(sim.m_time[m_ok]).groupby(names[sim.c_shop[conv[m_ok]]]).max()
    if orders is not None and len(orders):
        for col in ("created_at", "paid_at"):
            t = pd.to_datetime(orders[col], errors="coerce")
            ot = t.to_numpy(dtype="datetime64[s]").astype(np.int64)
            ok = t.notna().to_numpy()
            end = pd.concat([end, pd.Series(ot[ok]).groupby(
                orders["shop"].to_numpy(dtype=object)[ok]).max()]).groupby(level=0).max()
    pending = first + 3 * DAY > end.reindex(shops).to_numpy()
    plan = pd.DataFrame({
        "shop": shops, "buyer_id": truth_bd["buyer_id"].to_numpy(dtype=object)[c],
        "date": truth_bd["date"].to_numpy()[c],
        "conversation_id": truth_bd["conversation_id"].to_numpy(dtype=object)[c],
        "agent_id": sim.agent_ids[agent], "topic": np.array(PRE_TOPICS, dtype=object)[topic],
        "role": np.array(ROLES, dtype=object)[role],
        "answer": np.array(texts, dtype=object)[topic * len(ROLES) + role],
        "question": question,
        "answer_at": pd.to_datetime(sim.m_time[site], unit="s"),
        "paid": paid, "pending": pending,
        "excluded": truth_bd["excluded"].to_numpy(dtype=bool)[c], "planted": planted})
    return pool, cidx, plan
