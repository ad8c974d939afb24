"""Digits in quotes shown to people: runs of 7 or more (phone, order and id numbers) become
``***``, as in every quote cskit prints (lost, promises, voice, answers, ratings, the report
page).  The one pattern: :mod:`cskit.text.lost` and the others take it from here."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["DIGITS", "mask_digits"]

DIGITS = re.compile(r"\d{7,}")


def mask_digits(texts: pd.Series) -> pd.Series:
    """``texts`` with 7+ digit runs as ``***`` (missing stays missing)."""
    return texts.astype("string").str.replace(DIGITS, "***", regex=True)
