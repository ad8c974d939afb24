"""Cell cleaning: columns of exported cells made into clean values, vectorised.

Holds the column work every reader does after a file is a table of strings: arrow string
columns (:func:`arrow_str`, without copies), Excel guards and empty markers stripped
(:func:`clean_str`), ids (Excel's scientific notation flagged), amounts, timestamps (the
spellings themselves are :mod:`cskit.readers.timeparse`), summary rows (汇总/合计),
low-cardinality columns computed once per distinct value (:func:`per_value`), and column
jobs run on threads (:func:`run_jobs`).  Everything runs in pyarrow compute over whole
columns; no per-row Python loops over messages.  It does not read files
(:mod:`cskit.readers.encoding`, :mod:`cskit.readers.tabular`).  Names are re-exported by
:mod:`cskit.readers.common`, except the tuning knobs (:data:`DICT_SAMPLE`,
:data:`DICT_MAX`, :data:`THREADS`): set those here.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.readers.timeparse import DEFAULT_TZ, parse_timestamps

EMPTY_MARKERS = {"", "-", "--", "null", "NULL", "None", "nan", "NaN", "****", "N/A", "n/a", "无"}
_EMPTY_MAX_BYTES = max(len(m.encode("utf-8")) for m in EMPTY_MARKERS)
SUMMARY_WORDS = ("汇总", "合计", "总计", "均值", "平均")


def arrow_str(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as arrow strings, as they are: arrow-backed text comes back without a copy
    (possibly chunked, as the CSV parser made it)."""
    try:
        arr = pa.array(s, from_pandas=True)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string()) if not pa.types.is_null(arr.type) else \
                pa.nulls(len(arr), pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed objects
        obj = s.astype(object)
        arr = pa.array([None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                        else str(v) for v in obj], type=pa.string())
    return arr


def to_arrow_str(s: pd.Series) -> pa.Array:
    """A column as one arrow string array (zero-copy for single-chunk arrow-backed text)."""
    arr = arrow_str(s)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def from_arrow_str(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """An arrow string array as a pandas ``string`` Series (pd.NA for missing)."""
    return pd.Series(pd.array(arr, dtype="string"), index=index)


def to_bool(arr: pa.Array | pa.ChunkedArray | pd.Series | np.ndarray) -> np.ndarray:
    """A boolean column as numpy ``bool`` with missing values as False."""
    if isinstance(arr, (pa.Array, pa.ChunkedArray)):
        arr = pc.fill_null(arr, False)
        return np.asarray(arr.to_numpy(zero_copy_only=False) if isinstance(arr, pa.Array)
                          else arr.to_numpy(), dtype=bool)
    if isinstance(arr, pd.Series):
        return np.asarray(arr.fillna(False), dtype=bool)
    return np.asarray(arr, dtype=bool)


#: a column with at most this many distinct values among its first DICT_SAMPLE values is
#: cleaned once per distinct value (see :func:`per_value`)
DICT_SAMPLE = 8192
DICT_MAX = 256


def per_value(arr: pa.Array | pa.ChunkedArray, fn):
    """``fn(arr)`` for an element-wise ``fn`` (returning an array or a tuple of arrays).

    Low-cardinality columns (shop, platform, role, agent, …) are computed once per
    distinct value and spread back with ``take``: the same result, a fraction of the work."""
    n = len(arr)
    if n > DICT_SAMPLE and pc.count_distinct(arr.slice(0, DICT_SAMPLE), mode="all").as_py() \
            <= DICT_MAX:
        uniq = pc.unique(arr)
        if len(uniq) <= n // 16:
            out = fn(uniq)
            outs = out if isinstance(out, tuple) else (out,)
            idx = None
            res = []
            for o in outs:
                if _same(o, uniq):  # fn changes no value: the column as it is
                    res.append(arr)
                elif pa.types.is_boolean(o.type) and not pc.any(o).as_py():
                    res.append(pa.array(np.zeros(n, dtype=bool)))
                else:
                    if idx is None:
                        idx = pc.index_in(arr, value_set=uniq)
                    res.append(pc.take(o, idx))
            return tuple(res) if isinstance(out, tuple) else res[0]
    return fn(arr)


def _same(a: pa.Array, b: pa.Array) -> bool:
    """Same values (string/large_string alike), missing in the same places."""
    if a.type != b.type:
        if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)) or \
                not (pa.types.is_string(b.type) or pa.types.is_large_string(b.type)):
            return False
        a = a.cast(b.type)
    return a.equals(b)


THREADS = min(4, os.cpu_count() or 1)


def run_jobs(jobs: dict[str, tuple], parallel: bool = True) -> dict[str, object]:
    """``{name: fn(*args)}`` for ``jobs = {name: (fn, *args)}``; a job whose first argument
    is None gives None.  With ``parallel``, on a thread pool: meant for column work in
    pyarrow compute, which releases the GIL.  The first failure is re-raised."""
    todo = {k: v for k, v in jobs.items() if v[1] is not None}
    out: dict[str, object] = dict.fromkeys(jobs)
    if not parallel or THREADS < 2 or len(todo) < 2:
        out.update({k: fn(*args) for k, (fn, *args) in todo.items()})
        return out
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = {k: pool.submit(fn, *args) for k, (fn, *args) in todo.items()}
    out.update({k: f.result() for k, f in futures.items()})
    return out


def _trim(arr):
    """``utf8_trim_whitespace``, returning ``arr`` itself when nothing was trimmed."""
    out = pc.utf8_trim_whitespace(arr)
    if pc.sum(pc.binary_length(out)).as_py() == pc.sum(pc.binary_length(arr)).as_py():
        return arr
    return out


_EMPTY_SET = None


def _empty_set(typ: pa.DataType) -> pa.Array:
    global _EMPTY_SET
    if _EMPTY_SET is None:
        _EMPTY_SET = pa.array(sorted(EMPTY_MARKERS), type=pa.string())
    return _EMPTY_SET.cast(typ)


def clean_arrow(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`clean_str` on arrow strings. The regex passes only run when some cell needs
    them; nothing is copied when no cell changes."""
    arr = _trim(arr)
    if pc.any(pc.starts_with(arr, '="')).as_py():
        arr = pc.replace_substring_regex(arr, r'^="(.*)"$', r"\1")
    if pc.any(pc.or_(pc.starts_with(arr, "\t"), pc.starts_with(arr, "'"))).as_py():  # ^[\t']
        arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"^[\t']+", ""))
    shortest = pc.min(pc.binary_length(arr)).as_py()
    if shortest is not None and shortest > _EMPTY_MAX_BYTES:
        return arr  # every cell is longer than any empty marker
    empty = pc.is_in(arr, value_set=_empty_set(arr.type))
    if pc.any(empty).as_py():
        arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return arr


def clean_str(s: pd.Series) -> pd.Series:
    """Strip whitespace, Excel guards (``="…"``, leading tab/apostrophe) and empty markers.

    Runs in pyarrow compute; the regex passes only run when some cell needs them."""
    return from_arrow_str(per_value(arrow_str(s), clean_arrow), s.index)


_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def sci_mangled(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Boolean: the (cleaned) id is Excel's scientific notation (``1.23E+18``)."""
    return pc.fill_null(pc.match_substring_regex(arr, _SCI.pattern), False)


def _id_arrow(arr):
    arr = clean_arrow(arr)
    if pc.any(pc.ends_with(arr, ".0")).as_py():
        arr = pc.replace_substring_regex(arr, r"\.0$", "")
    return arr


def clean_id_arrow(arr: pa.Array | pa.ChunkedArray, *, bad: bool = True):
    """:func:`clean_id` on arrow strings: ``(ids, mangled)``; ``mangled`` is None unless
    ``bad``."""
    if not bad:
        return per_value(arr, _id_arrow), None
    return per_value(arr, lambda a: (lambda ids: (ids, sci_mangled(ids)))(_id_arrow(a)))


def clean_id(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean an id column. Returns (ids, bad) where ``bad`` marks ids mangled by
    Excel into scientific notation (``1.23E+18``) — unrecoverable."""
    ids, bad = clean_id_arrow(arrow_str(s))
    return from_arrow_str(ids, s.index), pd.Series(to_bool(bad), index=s.index)


def parse_amount(s: pd.Series) -> pd.Series:
    """'¥1,234.50元' → 1234.5; empty markers → NaN."""
    t = clean_str(s)
    t = t.str.replace(r"[¥￥元,，\s]", "", regex=True).str.replace("RMB", "", regex=False)
    return pd.to_numeric(t, errors="coerce").astype("float64")


def parse_datetime(s: pd.Series, tz: str = DEFAULT_TZ) -> pd.Series:
    """Parse the timestamp spellings seen in exports into datetime64[s] (NaT if unparseable).

    Handles ``2026-05-03 09:05:07``, ``2026/5/3 9:05`` (seconds lost by Excel),
    ``2026年5月3日 09:05:07``, ISO ``T``, fractional seconds (dropped), zone suffixes
    (converted to ``tz``) and epoch seconds / milliseconds; impossible dates and years
    outside 2000–2100 are NaT (see :mod:`cskit.readers.timeparse`).
    """
    return parse_clean_datetime(clean_str(s), tz)


def parse_clean_datetime(t: pd.Series, tz: str = DEFAULT_TZ) -> pd.Series:
    """:func:`parse_datetime` of a column already cleaned by :func:`clean_str`."""
    return parse_timestamps(t, tz)[0]


def is_summary_row(frame: pd.DataFrame) -> pd.Series:
    """Rows whose first non-empty cell is a summary word (汇总/合计/…)."""
    if frame.empty:
        return pd.Series(False, index=frame.index)
    # first non-empty cell of each row: coalesce the columns in order, up to the first one
    # without missing cells (bfill(axis=1) transposes the frame and takes minutes)
    cols = []
    for i in range(frame.shape[1]):
        cols.append(arrow_str(frame.iloc[:, i]))
        if cols[-1].null_count == 0:
            break
    first = cols[0] if len(cols) == 1 else pc.coalesce(*cols)

    def summary(a):
        a = pc.utf8_trim_whitespace(a)
        hit = pc.starts_with(a, SUMMARY_WORDS[0])
        for w in SUMMARY_WORDS[1:]:
            hit = pc.or_(hit, pc.starts_with(a, w))
        return hit

    return pd.Series(to_bool(per_value(first, summary)), index=frame.index)
