"""工作量 (workload) and presence per agent and day, estimated from the chat log.

Presence here is **estimated from messages**, not read from the platform's status log (在线/
挂起/离线): an agent who is online but writes nothing is invisible to it, and time between two
messages further apart than the idle limit counts as away.

Per (shop, agent_id, date), for human agent messages (``sender == "agent"``; robots and system
messages are not an agent's work):

- ``buyers_served``: distinct buyers the agent wrote to that day;
- ``messages_sent``: the agent's messages;
- ``first_message_at`` / ``last_message_at``: the agent's first and last message of the day;
- ``active_s``: the sum of the gaps between the agent's consecutive messages of the day that are
  shorter than the idle limit (default 600 s); a longer gap counts as away;
- ``peak_concurrent``: the most conversations open at the same moment. A conversation is a
  (buyer, day) the agent wrote to; it is open from the buyer's first message of the day (or the
  agent's first message to the buyer, if earlier) to the agent's last message to that buyer that
  day. Spans that touch count as overlapping.

Pure and vectorised: nothing here reads the store or prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.registry import KPI, register

__all__ = ["workload", "WORKLOAD_KEYS", "IDLE_LIMIT_S", "summarise"]

IDLE_LIMIT_S = 600

for _k in (
    KPI("buyers_served", "接待人数", "Buyers served", "count",
        "distinct buyers the agent wrote to that day (human agent messages)", family="workload"),
    KPI("messages_sent", "发送消息数", "Messages sent", "count",
        "the agent's own messages (robots and system messages excluded)", family="workload"),
    KPI("active_s", "活跃时长(秒)", "Active time (s)", "seconds",
        "sum of the gaps between the agent's consecutive messages of a day shorter than the idle "
        "limit (default 10 min); estimated from messages, not the platform's status log",
        family="workload"),
    KPI("peak_concurrent", "峰值并发会话", "Peak concurrent chats", "count",
        "the most buyer conversations open at once: from the buyer's first message of the day to "
        "the agent's last message to that buyer", family="workload"),
):
    register(_k)

#: the per-day columns :func:`workload` returns
WORKLOAD_KEYS = ["shop", "agent_id", "date", "buyers_served", "messages_sent", "first_message_at",
                 "last_message_at", "active_s", "peak_concurrent"]


def _peak(spans: pd.DataFrame) -> pd.Series:
    """Max overlap of [start, end] spans per (shop, agent_id, date), by a sweep: +1 at each
    start, −1 after each end (a start at the same moment as an end counts first)."""
    keys = ["shop", "agent_id", "date"]
    ev = pd.concat([spans[keys].assign(t=spans["start"], d=1, o=0),
                    spans[keys].assign(t=spans["end"], d=-1, o=1)], ignore_index=True)
    ev = ev.sort_values(keys + ["t", "o"], kind="stable")
    ev["level"] = ev.groupby(keys, sort=False, observed=True)["d"].cumsum()
    return ev.groupby(keys, sort=False, observed=True)["level"].max()


def workload(msgs: pd.DataFrame, *, idle_limit_s: int = IDLE_LIMIT_S) -> pd.DataFrame:
    """:data:`WORKLOAD_KEYS` rows from messages (shop, buyer_id, agent_id, sender, sent_at;
    times shop-local), sorted by shop, agent, date."""
    m = msgs[["shop", "buyer_id", "agent_id", "sender", "sent_at"]].copy()
    m["sent_at"] = pd.to_datetime(m["sent_at"], errors="coerce")
    m = m[m["sent_at"].notna()]
    m["date"] = m["sent_at"].dt.date
    sender = m["sender"].astype(str)
    agent = m[(sender == "agent").to_numpy() & m["agent_id"].notna().to_numpy()
              & (m["agent_id"].astype(str) != "").to_numpy()]
    keys = ["shop", "agent_id", "date"]
    if agent.empty:
        return pd.DataFrame(columns=WORKLOAD_KEYS)
    agent = agent.sort_values(keys + ["sent_at"], kind="stable")
    gap = agent.groupby(keys, sort=False)["sent_at"].diff().dt.total_seconds()
    agent = agent.assign(_active=np.where(gap < idle_limit_s, gap, 0.0))
    g = agent.groupby(keys, sort=False)
    out = pd.DataFrame({
        "buyers_served": g["buyer_id"].nunique(),
        "messages_sent": g.size(),
        "first_message_at": g["sent_at"].min(),
        "last_message_at": g["sent_at"].max(),
        "active_s": g["_active"].sum().round().astype("int64"),
    })
    # conversation spans: (agent, buyer, day) → [buyer's first message or agent's first, agent's last]
    ab = agent.groupby(keys + ["buyer_id"], sort=False)["sent_at"].agg(["min", "max"]).reset_index()
    buyer = m[(sender == "buyer").to_numpy()]
    bfirst = buyer.groupby(["shop", "buyer_id", "date"], sort=False)["sent_at"].min() \
        .rename("bfirst").reset_index()
    ab = ab.merge(bfirst, on=["shop", "buyer_id", "date"], how="left")
    ab["start"] = ab[["min", "bfirst"]].min(axis=1)
    ab["end"] = ab["max"]
    out["peak_concurrent"] = _peak(ab).reindex(out.index).astype("int64")
    out = out.reset_index()
    return out.sort_values(keys, kind="stable").reset_index(drop=True)[WORKLOAD_KEYS]


def summarise(days: pd.DataFrame) -> pd.DataFrame:
    """Per (shop, agent_id) over the days: sums of buyers served (buyer-days), messages and
    active time, ``days_active`` (days with a message) and the highest daily peak."""
    if days.empty:
        return pd.DataFrame(columns=["shop", "agent_id", "days_active", "buyers_served",
                                     "messages_sent", "active_s", "peak_concurrent"])
    g = days.groupby(["shop", "agent_id"], sort=False)
    return pd.DataFrame({"days_active": g.size(), "buyers_served": g["buyers_served"].sum(),
                         "messages_sent": g["messages_sent"].sum(),
                         "active_s": g["active_s"].sum(),
                         "peak_concurrent": g["peak_concurrent"].max()}).reset_index()
