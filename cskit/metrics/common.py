"""Helpers shared by the metric families (reply, conversion): dates and array idioms."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from cskit.errors import UsageError

EPOCH = _dt.date(1970, 1, 1)


def day_number(x, what: str) -> int | None:
    """A date-like value → days since 1970-01-01 (None for None/NaT); bad → UsageError."""
    if x is None:
        return None
    try:
        ts = pd.Timestamp(x)
    except (ValueError, TypeError):
        raise UsageError("{what} {x!r} is not a date",
                         hint="write dates as YYYY-MM-DD", what=what, x=x) from None
    if ts is pd.NaT:
        return None
    return (ts.date() - EPOCH).days


def require(frame: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks column(s): {', '.join(missing)}")


def runs(*keys: np.ndarray) -> np.ndarray:
    """True where any key differs from the previous element (start of a run)."""
    n = len(keys[0])
    s = np.ones(n, dtype=bool)
    if n > 1:
        s[1:] = False
        for k in keys:
            s[1:] |= k[1:] != k[:-1]
    return s


def epoch_seconds(x) -> int:
    """A date or time → wall-clock seconds since the epoch (a date: its midnight; an aware
    time: its wall clock, the zone dropped)."""
    t = pd.Timestamp(x)
    if t.tzinfo is not None:
        t = t.tz_localize(None)
    return int((t - pd.Timestamp(0)) // pd.Timedelta(seconds=1))


def seconds(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A time column as whole wall-clock seconds since the epoch, and a validity mask
    (invalid entries hold an unspecified value)."""
    if not pd.api.types.is_datetime64_any_dtype(s):
        s = pd.to_datetime(s, errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    v = s.to_numpy().astype("datetime64[s]")
    ok = ~np.isnat(v)
    return v.view(np.int64), ok


def ts(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype("datetime64[s]")


def in_range(day: np.ndarray, lo: int | None, hi: int | None) -> np.ndarray:
    m = np.ones(len(day), dtype=bool)
    if lo is not None:
        m &= day >= lo
    if hi is not None:
        m &= day <= hi
    return m


def pooled_sums(sums: list[pd.DataFrame], maxima: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """Per-group sums of several batches (frames with ``shop``, ``_k`` and sum columns) as
    one frame indexed by (shop, _k), in order of first appearance; the ``maxima`` columns
    take the largest value instead of the sum.  None when no batch has a row."""
    sums = [s for s in sums if len(s)]
    if not sums:
        return None
    if len(sums) == 1:
        return sums[0].set_index(["shop", "_k"])
    tab = pd.concat(sums, ignore_index=True).groupby(["shop", "_k"], sort=False)
    if not maxima:
        return tab.sum()
    return tab.agg({c: "max" if c in maxima else "sum" for c in sums[0].columns
                    if c not in ("shop", "_k")})


def ratio(num, den) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
