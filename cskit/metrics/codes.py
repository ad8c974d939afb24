"""Integer codes instead of strings where the slicers meet (machinery, no metric).

``cskit kpi`` reads ids as categoricals: every distinct shop, buyer and agent id is one
category, each row a code.  The reply metrics' sorted log (:class:`cskit.metrics.reply._Log`)
numbers its (shop, buyer) groups in the order of those codes.  Matching orders to the
log's groups can then work on the codes instead of building a Python string per group.
:func:`log_gids` returns None when its shortcut does not apply; the caller then takes its
general path, which gives the same result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _categorical(frame: pd.DataFrame, col: str):
    s = frame[col] if col in frame.columns else None
    return s if s is not None and isinstance(s.dtype, pd.CategoricalDtype) else None


def log_gids(log, oshop: np.ndarray, obuyer: np.ndarray) -> np.ndarray | None:
    """The log's (shop, buyer) group of each order (-1: none), from the order's shop code
    (in the log's shop numbering; codes past it are shops the log lacks) and its buyer id
    (a clean string): the same groups as comparing ``shop<US>buyer`` strings, found by the
    buyer's category code.  None: the log's frame has no categorical buyer ids, or its
    groups are not in code order."""
    col = _categorical(log.frame, "buyer_id")
    if col is None or len(log.gid) == 0:
        return None
    cats = col.cat.categories
    codes = col.cat.codes.to_numpy(np.int64)
    gid = log.gid
    starts = np.flatnonzero(np.concatenate([[True], gid[1:] != gid[:-1]]))
    if len(starts) != len(log.shop_of_gid):
        return None
    nb = len(cats) + 1
    key = log.shop_of_gid.astype(np.int64) * nb + codes[log.pos[starts]]
    if len(key) > 1 and not bool((key[1:] > key[:-1]).all()):
        return None
    bc = np.asarray(cats.get_indexer(pd.Index(np.asarray(obuyer, dtype=object), dtype=object)),
                    np.int64)
    ok = (oshop >= 0) & (oshop < len(log.shop_names)) & (bc >= 0)
    okey = np.where(ok, oshop * nb + bc, -1)
    at = np.searchsorted(key, okey)
    at = np.minimum(at, len(key) - 1)
    found = ok & (key[at] == okey)
    return np.where(found, at, -1).astype(np.int64)

