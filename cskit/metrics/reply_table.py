"""Partial sums to the reply KPI table: columns, rates, means, medians and P90s.

Holds the table's columns per rule and grouping (:func:`output_columns`, keys then KPIs
in registry order), :func:`_finish` (pooled sums of one or more batches into rates and
means, group keys, sorted rows), the linear-interpolation quantiles from the pooled
histograms (:func:`_hist_quantiles`) and the empty table with the right dtypes.

It does not read messages or take sums (:mod:`cskit.metrics.reply_sums`); nothing prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.errors import UsageError
from cskit.metrics.common import pooled_sums
from cskit.metrics.common import ratio as _ratio
from cskit.metrics.registry import column_order
from cskit.metrics.reply_log import _BIG
from cskit.metrics.reply_rule import _resolve_rule
from cskit.metrics.reply_sums import _Part
from cskit.metrics.rules import RuleConfig

BY_CHOICES = ("day", "week", "shop", "agent", "hour")

_KEY_COLS = {"day": ["shop", "date"], "week": ["shop", "week"], "shop": ["shop"],
             "agent": ["shop", "agent_id"], "hour": ["shop", "hour"]}


def _headline_columns(rule: RuleConfig) -> list[str]:
    if rule.unit == "buyer":
        return ["consult_buyers", "unreplied_buyers", "unreplied_closing_buyers", "reply_rate"]
    return ["consult_buyers", f"{rule.unit}s", f"{rule.unit}s_on_time", "reply_rate"]


_OTHER_COLUMNS = ["first_response_s_mean", "first_response_s_median", "first_response_s_p90",
                  "response_s_mean", "response_s_median",
                  "response_s_p90", "response_s_capped_mean", "answer_ratio", "answered_30s_rate",
                  "slow_buyers", "buyer_messages", "agent_messages", "bot_messages"]
_HOUR_COLUMNS = ["buyer_messages", "messages", "late_messages", "unanswered_messages",
                 "slow_messages", "agent_messages", "bot_messages"]
#: counts that are unknown (NA) when the input lacks what they need (message texts)
_NULLABLE_COLUMNS = {"unreplied_closing_buyers"}
_FLOAT_COLUMNS = {"reply_rate", "first_response_s_mean", "first_response_s_median",
                  "first_response_s_p90", "response_s_mean", "response_s_median",
                  "response_s_p90", "response_s_capped_mean", "answer_ratio",
                  "answered_30s_rate"}


def output_columns(rule: RuleConfig | str | None = None, by: str = "day") -> list[str]:
    """The columns :func:`reply_kpis` returns for this rule and grouping."""
    rule = _resolve_rule(rule)
    if by not in BY_CHOICES:
        raise UsageError("unknown grouping {by!r}",
                         hint="one of {choices}", by=by, choices=", ".join(BY_CHOICES))
    kpis = _HOUR_COLUMNS if by == "hour" else _headline_columns(rule) + _OTHER_COLUMNS
    return _KEY_COLS[by] + column_order(kpis)


_MEANS = ("first_response_s_mean", "response_s_mean", "response_s_capped_mean")
#: measure of a histogram → (column, quantile) computed from it
_QUANTILES = {"response": (("response_s_median", 0.5), ("response_s_p90", 0.9)),
              "first_response": (("first_response_s_median", 0.5),
                                 ("first_response_s_p90", 0.9))}


def _finish(parts: list[_Part], by: str, rule: RuleConfig) -> pd.DataFrame:
    """The KPI table from the partial sums of one or more batches of events."""
    columns = output_columns(rule, by)
    tab = pooled_sums([p.sums for p in parts])
    if tab is None:
        return _empty_kpis(columns)
    cols = {c: tab[c].to_numpy() for c in tab.columns if "#" not in c}
    if by != "hour":
        for name in _MEANS:
            cols[name] = _ratio(tab[name + "#s"].to_numpy(), tab[name + "#n"].to_numpy())
        rows = _part_rows(tab.index, parts)
        for measure, qs in _QUANTILES.items():
            cols.update(_hist_quantiles(len(tab), rows, parts, measure, qs))
        if "unreplied_closing_buyers" in columns:  # nullable: NA when no content was read
            cols["unreplied_closing_buyers"] = pd.array(
                cols.get("unreplied_closing_buyers", [pd.NA] * len(tab)), dtype="Int64")
        if rule.unit == "buyer":
            cols["reply_rate"] = _ratio(cols["consult_buyers"] - cols["unreplied_buyers"],
                                        cols["consult_buyers"])
        else:
            cols["reply_rate"] = _ratio(cols[f"{rule.unit}s_on_time"], cols[f"{rule.unit}s"])
        cols["answer_ratio"] = _ratio(cols["agent_messages"], cols["buyer_messages"])
        cols["answered_30s_rate"] = _ratio(cols["_fast"], cols["_win"])

    second = tab.index.get_level_values("_k").to_numpy()
    keys: dict[str, np.ndarray] = {"shop": tab.index.get_level_values("shop").to_numpy(object)}
    if by == "day":
        keys["date"] = np.asarray(second, dtype=np.int64).astype("datetime64[D]").astype(object)
    elif by == "week":
        keys["week"] = np.array([f"{w // 100}-W{w % 100:02d}" for w in second], dtype=object)
    elif by == "agent":
        keys["agent_id"] = np.asarray(second, dtype=object)
    elif by == "hour":
        keys["hour"] = np.asarray(second, dtype=np.int64)
    out = pd.DataFrame({**keys, **cols})[columns]
    for c in _KEY_COLS[by]:
        if c != "hour":
            out[c] = out[c].astype(object)
    return out.sort_values(_KEY_COLS[by], kind="stable").reset_index(drop=True)


def _part_rows(index: pd.MultiIndex, parts: list[_Part]) -> list[np.ndarray]:
    """Per part, the row of the pooled table (``index``) of each of its sums' rows: one
    lookup for all the parts."""
    have = [p.sums for p in parts if len(p.sums)]
    if not have:
        return [np.zeros(0, dtype=np.int64) for _ in parts]
    keys = pd.MultiIndex.from_arrays(
        [np.concatenate([s["shop"].to_numpy(object) for s in have]),
         np.concatenate([s["_k"].to_numpy() for s in have])])
    at = np.asarray(index.get_indexer(keys), dtype=np.int64)
    out, i = [], 0
    for p in parts:
        n = len(p.sums)
        out.append(at[i:i + n])
        i += n
    return out


def _hist_quantiles(nr: int, rows: list[np.ndarray], parts: list[_Part], measure: str,
                    quantiles) -> dict[str, np.ndarray]:
    """Linear-interpolation quantiles (as numpy/pandas) per row of the pooled table (``nr``
    rows; ``rows``: :func:`_part_rows`) from the (value, count) pairs of ``measure``'s
    histograms; ``quantiles``: (column, q) pairs."""
    out = {name: np.full(nr, np.nan) for name, _ in quantiles}
    hists = [(r, p.hist[measure]) for r, p in zip(rows, parts)
             if measure in p.hist and len(p.hist[measure][0])]
    if not hists:
        return out
    # (row, value, count) of every batch; equal values of a row need not be merged
    row = np.concatenate([r[h[0]] for r, h in hists])
    v = np.concatenate([h[1] for _, h in hists])
    n = np.concatenate([h[2] for _, h in hists])
    vmax = int(v.max()) + 1 if len(v) else 1
    if len(v) and int(v.min()) >= 0 and nr < _BIG // vmax:
        order = np.argsort(row * vmax + v)  # one key: (row, value) pairs in order
    else:
        order = np.lexsort((v, row))
    row, v, n = row[order], v[order].astype(float), n[order]
    cnt = np.bincount(row, weights=n, minlength=nr).astype(np.int64)
    cum = np.cumsum(n)
    start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
    has = cnt > 0
    c, s = cnt[has], start[has]
    for name, q in quantiles:
        p = q * (c - 1)
        lo = np.floor(p).astype(np.int64)
        hi = np.minimum(lo + 1, c - 1)
        v_lo = v[np.searchsorted(cum, s + lo, side="right")]
        v_hi = v[np.searchsorted(cum, s + hi, side="right")]
        out[name][has] = v_lo + (p - lo) * (v_hi - v_lo)
    return out


def _empty_kpis(columns: list[str]) -> pd.DataFrame:
    data = {}
    for c in columns:
        if c == "hour":
            data[c] = pd.Series([], dtype=np.int64)
        elif c in ("shop", "date", "week", "agent_id"):
            data[c] = pd.Series([], dtype=object)
        elif c in _FLOAT_COLUMNS:
            data[c] = pd.Series([], dtype=float)
        elif c in _NULLABLE_COLUMNS:
            data[c] = pd.Series([], dtype="Int64")
        else:
            data[c] = pd.Series([], dtype=np.int64)
    return pd.DataFrame(data)
