"""How an agent is named for people: the agent's own name within a shop's table.

Platforms export sub-accounts as ``店铺名:子账号`` (PDD, Taobao, JD, Douyin all do);
every view a person reads (kpi, qc, unpaid, the unreplied list, charts) shows an
agent inside its shop (a shop column, a shop heading or a chart group), so the
shop prefix is dropped there.  Machine output (CSV/JSON) keeps the id unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["AGENT_KEYS", "agent_name", "agent_names"]

#: column keys that hold an agent id in the tables
AGENT_KEYS = ("agent_id", "agent")


def agent_name(shop, agent) -> str:
    """``agent`` without its ``shop:`` prefix (``潮流服饰专营店:阿强`` → ``阿强``)."""
    shop, a = str(shop), str(agent)
    prefix = shop + ":"
    return a[len(prefix):] if a.startswith(prefix) and len(a) > len(prefix) else a


def agent_names(shops: pd.Series, agents: pd.Series) -> pd.Series:
    """:func:`agent_name` for whole columns (one call per distinct shop × agent pair);
    missing agents stay missing."""
    missing = agents.isna().to_numpy()
    if len(agents) == 0 or missing.all():
        return agents.copy()
    key = (shops.astype(str).fillna("").to_numpy(dtype=object) + "\x1f"
           + agents.astype(str).fillna("").to_numpy(dtype=object))
    codes, uniques = pd.factorize(key)
    names = np.array([agent_name(*u.split("\x1f", 1)) for u in uniques], dtype=object)
    out = names[codes]
    out[missing] = None
    return pd.Series(out, index=agents.index, dtype=object)
