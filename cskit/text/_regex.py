"""Column-wide regular expressions: RE2 through pyarrow when the pattern allows it.

``pyarrow.compute`` runs RE2 (a linear-time automaton, in C++) over a whole
string column.  RE2 has no look-around and no back-references; a pattern that
uses them falls back to Python ``re`` through pandas' ``str`` accessor.  Which
patterns RE2 accepts is remembered.  Semantics differ only in corner cases
(RE2's ``\\d``/``\\w`` are ASCII; text here is NFKC-normalised first, so
full-width digits are ASCII already).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["as_arrow", "distinct", "contains", "replace", "normalise", "escape", "alternation"]

_META = re.compile(r"([\\.^$|?*+()\[\]{}])")


def escape(word: str) -> str:
    """Escape regex metacharacters only (valid for both RE2 and Python re)."""
    return _META.sub(r"\\\1", word)


def alternation(words) -> str | None:
    """An alternation of literal words, longest first (None for no words)."""
    words = sorted(set(words), key=lambda w: (-len(w), w))
    return "|".join(escape(w) for w in words) if words else None


_RE2_OK: dict[str, bool] = {}


def as_arrow(values) -> pa.Array:
    """A large_string arrow array (None/NaN → empty string)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    else:
        s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        try:
            arr = pa.array(s, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # non-string objects: as text
            s = s.astype(object).where(s.notna(), "")
            arr = pa.array(s.astype(str).tolist(), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pc.fill_null(arr, "")


def distinct(values) -> tuple[np.ndarray, pa.Array]:
    """(codes, texts): ``texts`` holds each distinct value once (a large_string array,
    None/NaN as the empty string) and ``codes[i]`` is row ``i``'s index into it, so a
    classifier works once per distinct text.  A pandas categorical is taken as it is:
    only its used categories are looked at (its codes are the encoding already, no
    string is hashed); anything else is dictionary-encoded by arrow."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype=np.int64)
        cats = np.asarray(values.cat.categories, dtype=object)
        used = np.bincount(codes + 1, minlength=len(cats) + 1) > 0  # slot 0: missing
        keep = np.flatnonzero(used[1:])
        vals = cats[keep]
        if used[0]:
            vals = np.concatenate([vals, np.array([None], dtype=object)])
        enc = pc.dictionary_encode(as_arrow(pd.Series(vals, dtype=object)))
        slot = np.full(len(cats) + 1, -1, dtype=np.int64)  # category (+1) -> row of vals
        slot[keep + 1] = np.arange(len(keep))
        if used[0]:
            slot[0] = len(keep)
        idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return idx[slot[codes + 1]], enc.dictionary
    enc = pc.dictionary_encode(as_arrow(values))
    return np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64), enc.dictionary


def normalise(arr: pa.Array) -> pa.Array:
    """NFKC (full-width → half-width) and lower case (ＸＬ → xl)."""
    return pc.utf8_lower(pc.utf8_normalize(arr, "NFKC"))


def _re2_ok(pattern: str) -> bool:
    ok = _RE2_OK.get(pattern)
    if ok is None:
        try:
            pc.match_substring_regex(pa.array([""], type=pa.large_string()), pattern)
            ok = True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            ok = False
        _RE2_OK[pattern] = ok
    return ok


def contains(arr: pa.Array, pattern: str) -> np.ndarray:
    """Boolean numpy array: does ``pattern`` occur in each string?"""
    if len(arr) == 0:
        return np.zeros(0, dtype=bool)
    if _re2_ok(pattern):
        res = pc.match_substring_regex(arr, pattern)
        return np.asarray(pc.fill_null(res, False).to_numpy(zero_copy_only=False), dtype=bool)
    s = pd.Series(arr.to_pylist(), dtype=object)
    with warnings.catch_warnings():  # "has match groups": wanted for back-references
        warnings.simplefilter("ignore", UserWarning)
        return s.str.contains(re.compile(pattern), regex=True).to_numpy(dtype=bool,
                                                                          na_value=False)


def replace(arr: pa.Array, pattern: str, repl: str) -> pa.Array:
    """Replace every match of ``pattern`` by the literal ``repl`` (no group references)."""
    if len(arr) == 0:
        return arr
    if _re2_ok(pattern):
        return pc.replace_substring_regex(arr, pattern, repl.replace("\\", "\\\\"))
    s = pd.Series(arr.to_pylist(), dtype=object)
    out = s.str.replace(re.compile(pattern), lambda m: repl, regex=True)
    return pa.array(out.tolist(), type=pa.large_string())
