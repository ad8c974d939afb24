"""CSV structure checks (issue 13 item 3): rows whose field count does not match the header,
and rows that an unbalanced quote merged with the lines after it.

Both are rejected rows (with their numbers), never padded, cut or stored merged.  The checks
run on the parsed table, so the pyarrow path and the Python ``csv`` path agree.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.readers.timeparse import DATE_ONLY

TOO_MANY = "more fields than the header (an unquoted comma or delimiter in a cell?)"
TOO_FEW = "fewer fields than the header (a cut or short row)"
SWALLOWED = "a quote is not closed: this row swallowed the lines after it"
NOT_UTF8 = "not valid UTF-8"
#: what :func:`cskit.readers.common.decode_bytes` puts where a UTF-8 file has bytes that are
#: not UTF-8 (a noncharacter: never in real text)
INVALID_MARK = "\uffff"
MIXED = "UTF-8 text in a GB18030 file (mixed encodings)"
#: put at the start of a line that is UTF-8 in a file read as GB18030 (another noncharacter)
MIXED_MARK = "\ufffe"
#: each mark and the reason a row holding it is rejected
MARKS = {INVALID_MARK: NOT_UTF8, MIXED_MARK: MIXED}


def mark_reason(text: str) -> str | None:
    """Why a line holding a mark is rejected (None: no mark)."""
    for mark, why in MARKS.items():
        if mark in text:
            return why
    return None

_DATE_LINE = re.compile("^" + DATE_ONLY + "$")
_SUMMARY = ("汇总", "合计", "总计", "均值", "平均")
_DIGIT = re.compile(r"\d")


def ragged(body: list[list], width: int) -> dict[int, str]:
    """Positions (in ``body``) of records whose field count does not match ``width``, with
    the reason.  Not rejected: blank records, extra fields that are all empty, and short
    records that are a summary line (合计 …) or a date line (``2026-11-20`` alone)."""
    out: dict[int, str] = {}
    lengths = np.fromiter((len(r) for r in body), dtype=np.int64, count=len(body))
    for i in np.flatnonzero(lengths != width).tolist():
        r = body[i]
        cells = [str(c).strip() for c in r if c is not None and str(c).strip()]
        if not cells:
            continue
        if len(r) > width:
            if all(c is None or not str(c).strip() for c in r[width:]):
                continue
            out[i] = TOO_MANY
        else:
            if any("\n" in str(c) for c in r[-1:]):
                out[i] = SWALLOWED  # the quote ran to the end of the file
            elif cells[0].startswith(_SUMMARY) or (len(cells) == 1 and _DATE_LINE.match(cells[0])):
                continue
            else:
                out[i] = TOO_FEW
    return out


def _shape(s: pd.Series) -> pd.Series:
    return s.str.replace(r"\d", "9", regex=True)


def _value_bytes(arr) -> list[np.ndarray] | None:
    """The UTF-8 bytes behind a string column, per chunk, as numpy views (no copy); None
    for any other layout (then the caller searches the cells).  A sliced chunk's buffer
    may hold bytes outside the slice: a search in them can find more than the column
    holds, never less, so it only decides whether to look closer."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    out = []
    for ch in getattr(arr, "chunks", [arr]):
        data = ch.buffers()[2] if len(ch) else None
        if data is not None and data.size:
            out.append(np.frombuffer(data, dtype=np.uint8))
    return out


def _marks_in(arr) -> set[str]:
    """The :data:`MARKS` that may be in the column: U+FFFE and U+FFFF are EF BF BE and
    EF BF BF in UTF-8.  One pass over the bytes instead of a substring search per mark."""
    chunks = _value_bytes(arr)
    if chunks is None:
        return set(MARKS)
    found = set()
    for a in _pieces(chunks, overlap=2):
        p = np.flatnonzero(a[:-2] == 0xEF)
        if not len(p):
            continue
        p = p[a[p + 1] == 0xBF]
        last = a[p + 2]
        if (last == 0xBF).any():
            found.add(INVALID_MARK)
        if (last == 0xBE).any():
            found.add(MIXED_MARK)
    return found


#: bytes scanned at a time: the comparison's temporary stays in the CPU cache
_PIECE = 1 << 20


def _pieces(chunks: list[np.ndarray], overlap: int = 0):
    """Views of ``chunks`` of at most ``_PIECE + overlap`` bytes, each starting where the
    last one's first ``_PIECE`` bytes end: a pattern of up to ``overlap + 1`` bytes lies
    whole within one of them."""
    for a in chunks:
        for lo in range(0, max(len(a) - overlap, 1), _PIECE):
            yield a[lo:lo + _PIECE + overlap]


def _may_hold_newline(arr) -> bool:
    chunks = _value_bytes(arr)
    return chunks is None or any((a == 0x0A).any() for a in _pieces(chunks))


def broken_rows(frame: pd.DataFrame, delim: str) -> dict[int, str]:
    """Positions of rows holding bytes that were not UTF-8 (:data:`INVALID_MARK`) or merged
    by an unbalanced quote (:func:`swallowed`), with the reason."""
    bad = {int(i): SWALLOWED for i in np.flatnonzero(swallowed(frame, delim))}
    if frame.shape[1]:
        from cskit.readers.common import arrow_str, to_bool

        cols = [arrow_str(frame.iloc[:, i]) for i in range(frame.shape[1])]
        maybe = [_marks_in(a) for a in cols]  # a column without the bytes is not searched
        for mark, why in MARKS.items():
            marked = np.zeros(len(frame), dtype=bool)
            for arr, there in zip(cols, maybe):
                if mark in there:
                    marked |= to_bool(pc.match_substring(arr, mark))
            bad.update((int(i), why) for i in np.flatnonzero(marked))
    return bad


def swallowed(frame: pd.DataFrame, delim: str) -> np.ndarray:
    """Per row: a cell holds a line break followed by a line that looks like a row of this
    file — it starts like the first column of the other rows when those share one shape
    (a timestamp or an id, e.g. ``2026-05-01 10:01:00,``) and has a delimiter; else it has
    as many delimiters as a whole row.

    A legitimate multi-line message is left alone unless one of its lines looks like that."""
    n = len(frame)
    hit = np.zeros(n, dtype=bool)
    if not n or not frame.shape[1]:
        return hit
    from cskit.readers.common import arrow_str, to_bool  # (common imports this module)

    width = frame.shape[1]
    multi = []
    for i in range(width):  # found in arrow: no copy of a column without line breaks
        arr = arrow_str(frame.iloc[:, i])
        if not _may_hold_newline(arr):  # no 0x0A byte at all: no cell has a line break
            continue
        has = pc.match_substring(arr, "\n")
        if pc.any(has).as_py():
            multi.append((i, to_bool(has)))
    if not multi:
        return hit
    first = frame.iloc[:, 0].astype("string")
    sample = first[~first.str.contains("\n", regex=False).fillna(True)].head(2000)
    shape = None
    if len(sample):
        shapes = _shape(sample)
        top = shapes.value_counts()
        if len(top) and top.iloc[0] >= 0.9 * len(sample) and top.index[0].count("9") >= 4:
            shape = top.index[0]
    esc = re.escape(delim)
    for i, has in multi:
        cells = frame.iloc[:, i].astype("string")[has]
        lines = cells.str.split("\n").explode().astype("string")
        later = lines[lines.index.duplicated(keep="first")]  # every line after a cell's first
        if later.empty:
            continue
        if shape is not None:  # the first column has a shape: a line starting with it
            head = later.str.split(delim, n=1).str[0].str.strip()
            row_like = (_shape(head) == shape) & later.str.contains(delim, regex=False)
        else:  # else a line with as many delimiters as a whole row
            row_like = later.str.count(esc) >= width - 1
        bad = row_like.fillna(False).groupby(level=0).any()
        pos = frame.index.get_indexer(bad[bad].index)
        hit[pos] = True
    return hit
