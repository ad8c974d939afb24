"""服务评价 per agent: 评价数, 参评率, 满意率, and the 不满意 list.

- ``ratings``: ratings of the agent dated in the period (``rated_at``);
- ``rating_rate`` (参评率) = ratings / the agent's served buyer-days in the period (buyers the
  agent wrote to, per day — :mod:`cskit.metrics.workload`); empty when the agent served no one;
- ``satisfied_rate`` (满意率) = ratings scored 4 or 5 (满意 / 很满意) / ratings; empty without
  ratings (unknown is not zero);
- ``dissatisfied`` (不满意数): ratings scored 1 or 2.

Pure: nothing here reads the store or prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.metrics.registry import KPI, register

__all__ = ["ratings_by_agent", "dissatisfied_list", "RATING_KEYS", "LEVEL_NAMES"]

for _k in (
    KPI("ratings", "评价数", "Ratings", "count",
        "service ratings of the agent dated in the period", family="ratings"),
    KPI("rating_rate", "参评率", "Rating rate", "rate",
        "ratings / buyer-days the agent served (wrote to) in the period", family="ratings"),
    KPI("satisfied_rate", "满意率", "Satisfied rate", "rate",
        "ratings of 满意 or 很满意 (score 4-5) / ratings; empty without ratings", family="ratings"),
    KPI("dissatisfied", "不满意数", "Dissatisfied", "count",
        "ratings of 不满意 or 很不满意 (score 1-2)", family="ratings"),
):
    register(_k)

RATING_KEYS = ["ratings", "rating_rate", "satisfied_rate", "dissatisfied"]
#: score → (code, 中文, English)
LEVEL_NAMES = {5: ("very_satisfied", "很满意", "very satisfied"), 4: ("satisfied", "满意", "satisfied"),
               3: ("neutral", "一般", "neutral"), 2: ("dissatisfied", "不满意", "dissatisfied"),
               1: ("very_dissatisfied", "很不满意", "very dissatisfied")}


def _in_period(r: pd.DataFrame, since, until) -> pd.DataFrame:
    d = pd.to_datetime(r["rated_at"]).dt.normalize()
    keep = np.ones(len(r), dtype=bool)
    if since is not None:
        keep &= (d >= pd.Timestamp(since)).to_numpy()
    if until is not None:
        keep &= (d <= pd.Timestamp(until)).to_numpy()
    return r[keep]


def ratings_by_agent(ratings: pd.DataFrame, served: pd.DataFrame | None = None, *, since=None,
                     until=None) -> pd.DataFrame:
    """Per (shop, agent_id): :data:`RATING_KEYS`.  ``served``: per (shop, agent_id) the
    served buyer-days (``buyers_served``) of the same period, for 参评率."""
    r = _in_period(ratings, since, until)
    g = r.groupby(["shop", "agent_id"], sort=True)
    score = r["score"].astype(int)
    out = pd.DataFrame({"ratings": g.size(),
                        "satisfied": (score >= 4).groupby([r["shop"], r["agent_id"]]).sum(),
                        "dissatisfied": (score <= 2).groupby([r["shop"], r["agent_id"]]).sum()})
    out = out.reset_index()
    if served is not None and len(served):
        s = served[["shop", "agent_id", "buyers_served"]]
        out = out.merge(s, on=["shop", "agent_id"], how="outer")
    else:
        out["buyers_served"] = np.nan
    out["ratings"] = out["ratings"].fillna(0).astype(int)
    out["dissatisfied"] = out["dissatisfied"].fillna(0).astype(int)
    served_n = pd.to_numeric(out["buyers_served"], errors="coerce")
    out["rating_rate"] = np.where(served_n > 0, out["ratings"] / served_n, np.nan)
    out["satisfied_rate"] = np.where(out["ratings"] > 0,
                                     out["satisfied"].fillna(0) / out["ratings"].replace(0, 1),
                                     np.nan)
    return out[["shop", "agent_id", *RATING_KEYS]].sort_values(["shop", "agent_id"]) \
        .reset_index(drop=True)


def dissatisfied_list(ratings: pd.DataFrame, *, since=None, until=None) -> pd.DataFrame:
    """不满意 ratings (score 1-2) of the period, newest first: shop, agent_id, buyer_id,
    rated_at, rating (code), comment (digits masked)."""
    from cskit.text.mask import mask_digits

    r = _in_period(ratings, since, until)
    r = r[r["score"].astype(int) <= 2]
    out = pd.DataFrame({"shop": r["shop"], "agent_id": r["agent_id"], "buyer_id": r["buyer_id"],
                        "rated_at": r["rated_at"],
                        "rating": r["score"].astype(int).map({k: v[0] for k, v in LEVEL_NAMES.items()}),
                        "comment": mask_digits(r["comment"])})
    return out.sort_values(["rated_at", "shop", "agent_id"], ascending=[False, True, True],
                           kind="stable").reset_index(drop=True)
