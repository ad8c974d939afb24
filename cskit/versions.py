"""Which version of an order the store shows: chosen by content, never by ingest order.

Every export of an order is a *version* of it.  :func:`merge_versions` turns all the
versions ever seen of each order into the one row reads show (docs/formats-orders.md,
"Several exports of one order"):

* the **status progression** picks the version whose descriptive fields are shown
  (``status``, ``status_raw``, ``buyer_id``, ``amount``, ``item_*``, ``quantity`` and the
  provenance ``source_file``/``source_row``): ``unpaid < paid < shipped < completed <
  closed < refunded``, an unknown status lowest; a version with a payment time counts
  as paid at least.  Closed and refunded are terminal: no
  state follows them, so a closed-after-paid order is later than paid.  Ties go to the
  version with more of those fields filled, then to a fixed order of the values
  themselves (so the choice never depends on which file came first);
* **times** are facts, merged field by field over all versions: a time one version has
  is never lost, and a whole-minute time (``2020/2/21 0:00``: seconds cut, or rounded,
  by an Excel re-save) gives way to a precise time of the same moment (the precise
  time lies within -30 s .. +59 s of it).  Of times that still disagree the earliest
  is kept.

The result depends only on the *set* of versions, and every value in it comes from one
of them, so adding the shown row itself as a version changes nothing: ingesting files
in any order, in one run or many, ends with the same row.  Pure function: no I/O.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["STATUS_PROGRESS", "TIME_FIELDS", "merge_versions"]

#: the status progression (higher = later); statuses not listed (or missing) rank -1
STATUS_PROGRESS = {"unpaid": 0, "paid": 1, "shipped": 2, "completed": 3, "closed": 4,
                   "refunded": 5}
#: time fields merged field by field (the rest follow the chosen version)
TIME_FIELDS = ("created_at", "paid_at")
#: descriptive fields: how many are filled breaks ties between versions of one status
_DETAIL = ("buyer_id", "amount", "status_raw", "item_id", "item_title", "quantity")
#: a whole-minute time m stands for a precise time p when m - 30 s <= p < m + 60 s
#: (Excel cuts the seconds; some tools round them)
_BEFORE, _AFTER = 30, 60


def merge_versions(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """One row per ``key`` from all the versions in ``frame`` (same columns, index reset).

    ``frame`` holds the canonical order columns (times as ``datetime64[s]``) plus the
    ``key`` columns; rows of one order may come in any order."""
    if frame.empty:
        return frame.reset_index(drop=True)
    f = frame.reset_index(drop=True)
    if "paid_at" in f.columns:
        # a payment time is a fact; an unpaid label next to it is out of date (as the
        # readers do), and a version with a payment time is paid at least
        stale = (f["status"] == "unpaid").fillna(False).to_numpy(dtype=bool) & \
            f["paid_at"].notna().to_numpy()
        if stale.any():
            f["status"] = f["status"].mask(stale, "paid")
    rank = f["status"].map(STATUS_PROGRESS).astype("float64").fillna(-1.0)
    if "paid_at" in f.columns:
        rank = rank.where(f["paid_at"].isna(), rank.clip(lower=STATUS_PROGRESS["paid"]))
    filled = f[[c for c in _DETAIL if c in f.columns]].notna().sum(axis=1)
    # every shown field breaks ties, so the choice never depends on the rows' order
    ties = [c for c in f.columns if c not in (*key, *TIME_FIELDS)]
    order = f.assign(_rank=rank, _filled=filled).sort_values(
        [*key, "_rank", "_filled", *ties],
        ascending=[True] * len(key) + [False, False] + [True] * len(ties),
        kind="stable", na_position="last")
    best = order.drop_duplicates(key, keep="first").drop(columns=["_rank", "_filled"])
    best = best.reset_index(drop=True)
    for col in TIME_FIELDS:
        if col in f.columns:
            chosen = _merge_times(f[[*key, col]], key, col)
            best[col] = best[key].merge(chosen, on=key, how="left")[col].to_numpy()
            best[col] = best[col].astype("datetime64[s]")
    return best[list(frame.columns)]


def _merge_times(values: pd.DataFrame, key: list[str], col: str) -> pd.DataFrame:
    """Per key, the time kept for ``col``: whole-minute values with a matching precise
    value dropped, then the earliest.  Columns ``key + [col]``, one row per key that has
    any value."""
    v = values.dropna(subset=[col]).drop_duplicates()
    secs = v[col].astype("datetime64[s]").to_numpy().astype("int64")
    v = v.assign(_s=secs)
    whole = (secs % 60) == 0
    minute, precise = v[whole], v[~whole]
    if len(minute) and len(precise):
        pairs = minute[[*key, "_s"]].merge(precise[[*key, "_s"]], on=key, suffixes=("", "_p"))
        gap = pairs["_s_p"] - pairs["_s"]
        covered = pairs.loc[(gap >= -_BEFORE) & (gap < _AFTER), [*key, "_s"]].drop_duplicates()
        if len(covered):
            hit = minute[[*key, "_s"]].merge(covered.assign(_hit=True), on=[*key, "_s"],
                                             how="left")["_hit"].fillna(False).to_numpy(dtype=bool)
            minute = minute[~hit]
    kept = pd.concat([minute, precise], ignore_index=True)
    out = kept.groupby(key, sort=False)["_s"].min().reset_index()
    out[col] = out["_s"].to_numpy().astype("datetime64[s]")
    return out[[*key, col]]
