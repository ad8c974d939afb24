"""Joining messages to orders: shared integer ids and as-of searches (machinery, no rule).

What the conversion metrics (:mod:`cskit.metrics.conversion`) need to be fast, and nothing
they decide: one integer code space for ids that appear in several frames (messages and
orders: :func:`_shared_codes`, only the distinct values are cleaned), the as-of join
(:func:`_asof`, ``pd.merge_asof(by=…)`` semantics as one ``np.searchsorted`` on a dense
(group, time-rank) key, without its fixed cost), and small array idioms (:func:`_take`,
:func:`_max_into`, :func:`_seconds`).  Which message or order an as-of search looks for —
first human reply, order in the lookback or the window, last human reply before an order —
is a rule and lives in :mod:`cskit.metrics.conversion_rules`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.metrics.common import seconds


def _seconds(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~cskit.metrics.common.seconds` with 0 where the time is missing."""
    v, ok = seconds(s)
    return np.where(ok, v, 0), ok


def _raw_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes (-1 = missing) and distinct raw values; categoricals cost nothing."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return (s.cat.codes.to_numpy().astype(np.int64),
                np.asarray(s.cat.categories, dtype=object))
    codes, uniq = pd.factorize(s)
    return np.asarray(codes, np.int64), np.asarray(uniq, dtype=object)


def _clean(values: np.ndarray) -> bool:
    """All distinct ids are non-blank strings without surrounding whitespace (what the
    store holds), so stripping and exact comparison agree."""
    if len(values) == 0:
        return True
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return False
    # what ``astype("string").str.strip()`` (the general path) does, in arrow directly
    u = pa.array(values, type=pa.string())
    return bool(pc.all(pc.equal(pc.utf8_trim_whitespace(u), u)).as_py()) and \
        not bool(pc.any(pc.equal(u, "")).as_py())


def _clean_log(log) -> bool:
    return _clean(log.shop_names) and _clean(log.buyer_of_gid) and \
        _clean(np.asarray(log.agent_names, dtype=object))


def _joined(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=object) + "\x1f" + np.asarray(b, dtype=object)


def _shared_codes(*cols: pd.Series, first: np.ndarray | None = None
                  ) -> tuple[list[np.ndarray], np.ndarray]:
    """Codes of several columns in one id space (-1 = missing or blank), and the distinct
    ids as stripped strings — as :func:`_codes` of their concatenation, without building
    it: only the distinct values are cleaned.  ``first``: clean ids that take the first
    codes (whether or not the columns hold them)."""
    raws = [_raw_codes(c) for c in cols]
    if first is not None:
        raws = [(np.zeros(0, dtype=np.int64), np.asarray(first, dtype=object))] + raws
    uniq = np.concatenate([u for _, u in raws]) if raws else np.empty(0, dtype=object)
    if len(uniq) == 0:
        return [np.full(len(c), -1, dtype=np.int64) for c, _ in raws], np.empty(0, dtype=object)
    u = pd.Series(uniq, dtype=object).astype("string").str.strip()
    head = len(raws[0][1])
    clean = (u.iloc[:head].to_numpy(dtype=object, na_value=None) == raws[0][1]).all() and \
        not (u.iloc[:head] == "").any()
    if clean and (len(raws) == 1 or len(uniq) == head):
        # the first column's distinct values are distinct, stripped, non-blank strings: they
        # are their own codes (the usual case: ids from the store)
        c2, u2 = np.arange(head, dtype=np.int64), raws[0][1]
    elif clean:  # the other columns' values: looked up among the first's, new ones after
        rest = u.iloc[head:].mask(u.iloc[head:] == "")
        r2, ru = pd.factorize(rest)
        at = pd.Index(raws[0][1]).get_indexer(np.asarray(ru, dtype=object))
        new = np.flatnonzero(at < 0)
        at[new] = head + np.arange(len(new))
        u2 = np.concatenate([raws[0][1], np.asarray(ru, dtype=object)[new]])
        c2 = np.concatenate([np.arange(head, dtype=np.int64),
                             _take(at, np.asarray(r2, np.int64), -1)])
    else:
        c2, u2 = pd.factorize(u.mask(u == ""))
        c2 = np.asarray(c2, np.int64)
    out, at = [], 0
    for codes, un in raws:
        out.append(_take(c2[at:at + len(un)], codes, -1))
        at += len(un)
    if first is not None:
        out = out[1:]
    return out, np.asarray(u2, dtype=object)


def _asof(lt: np.ndarray, lg: np.ndarray, rt: np.ndarray, rg: np.ndarray, *, forward: bool,
          tol: int | None, exact: bool = True) -> np.ndarray:
    """An as-of join (what ``pd.merge_asof(..., by=g)`` does, without its fixed cost).

    For every left row, the index of the right row with the same group code that
    is the nearest at/after (``forward``) or at/before (backward) ``lt``, at most
    ``tol`` seconds away (inclusive), or -1; ``exact=False`` excludes equal
    times.  Among right rows with equal (group, time), backward takes the last
    in input order and forward the first.  One sort and one ``searchsorted`` on a
    dense (group, time-rank) key.
    """
    n, m = len(lt), len(rt)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or m == 0:
        return out
    lt, rt = np.asarray(lt, np.int64), np.asarray(rt, np.int64)
    lg, rg = np.asarray(lg, np.int64), np.asarray(rg, np.int64)
    lk, rk = _group_time_keys(lg, lt, rg, rt)
    if m < 2 or bool((rk[1:] >= rk[:-1]).all()):  # already in order (messages are sorted)
        order, rks = np.arange(m), rk
    else:
        order = np.argsort(rk, kind="stable")
        rks = rk[order]
    if forward:
        idx = np.searchsorted(rks, lk, side="left" if exact else "right")
        ok = idx < m
    else:
        idx = np.searchsorted(rks, lk, side="right" if exact else "left") - 1
        ok = idx >= 0
    j = order[np.where(ok, idx, 0)]
    ok &= rg[j] == lg
    if tol is not None:
        ok &= np.abs(rt[j] - lt) <= tol
    out[ok] = j[ok]
    return out


def _group_time_keys(lg, lt, rg, rt) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per (group, time) that sorts as the pair, for two sides at once:
    the values themselves when they fit, else their dense ranks."""
    g = [x for x in (lg, rg) if len(x)]
    t = [x for x in (lt, rt) if len(x)]
    if not g:
        return lg.astype(np.int64), rg.astype(np.int64)
    gmin, gmax = min(int(x.min()) for x in g), max(int(x.max()) for x in g)
    tmin, tmax = min(int(x.min()) for x in t), max(int(x.max()) for x in t)
    span = tmax - tmin + 1
    if (gmax - gmin + 1) < (2 ** 62) // span:
        return (lg - gmin) * span + (lt - tmin), (rg - gmin) * span + (rt - tmin)
    n = len(lg)
    _, ginv = np.unique(np.concatenate([lg, rg]), return_inverse=True)
    _, tinv = np.unique(np.concatenate([lt, rt]), return_inverse=True)
    key = ginv.astype(np.int64).ravel() * (int(tinv.max()) + 1) + tinv.astype(np.int64).ravel()
    return key[:n], key[n:]


def _take(values: np.ndarray, at: np.ndarray, default) -> np.ndarray:
    """values[at] where at >= 0, else default (safe when ``values`` is empty)."""
    if len(values) == 0:
        return np.full(len(at), default, dtype=np.int64)
    return np.where(at >= 0, values[np.where(at >= 0, at, 0)], default)


def _max_into(out: np.ndarray, at: np.ndarray, values: np.ndarray) -> None:
    """``np.maximum.at(out, at, values)``; one ``reduceat`` when ``at`` is sorted (a log's
    messages are in shop order), which is far cheaper than ``ufunc.at`` per element."""
    n = len(at)
    if n == 0:
        return
    if n > 1 and not bool((at[1:] >= at[:-1]).all()):
        np.maximum.at(out, at, values)
        return
    starts = np.flatnonzero(np.concatenate([[True], at[1:] != at[:-1]]))
    keys = at[starts]
    out[keys] = np.maximum(out[keys], np.maximum.reduceat(values, starts))

