"""Date helpers shared by the metric families."""

from __future__ import annotations

import datetime as _dt

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
        raise UsageError(f"{what} {x!r} is not a date", hint="write dates as YYYY-MM-DD") from None
    if ts is pd.NaT:
        return None
    return (ts.date() - EPOCH).days
