"""A bound on JSON nesting, checked before parsing.

Python's parser recurses once per level: a file of 100 000 ``[`` ends in a RecursionError
(an "internal error" that names no file). Chat exports nest a few levels (a push envelope,
``from``/``to``, ``info``); :func:`check_depth` refuses anything deeper than
:data:`MAX_DEPTH`, naming the file. The text is scanned in C (regular expressions) and numpy:
strings are blanked out, the brackets left are counted.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from cskit.errors import InputFileError

MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}\n]+")


def max_depth(text: str, per_line: bool = False) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (outside strings); with
    ``per_line`` every line counts from 0 (JSON Lines)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub('""', text)).encode("ascii", "ignore")
    if not brackets:
        return 0
    b = np.frombuffer(brackets, dtype=np.uint8)
    step = np.zeros(len(b), dtype=np.int64)
    step[(b == ord("[")) | (b == ord("{"))] = 1
    step[(b == ord("]")) | (b == ord("}"))] = -1
    depth = np.cumsum(step)
    if per_line:
        nl = b == ord("\n")
        base = np.where(nl, depth, 0)
        last = np.maximum.accumulate(np.where(nl, np.arange(len(b)), -1))
        depth = depth - np.where(last >= 0, base[np.maximum(last, 0)], 0)
    return int(depth.max())


def check_depth(text: str, path: Path) -> None:
    """:class:`InputFileError` when JSON ``text`` nests deeper than :data:`MAX_DEPTH` (as one
    document and line by line alike)."""
    if max_depth(text) > MAX_DEPTH and max_depth(text, per_line=True) > MAX_DEPTH:
        raise_too_deep(path)


def raise_too_deep(path: Path):
    raise InputFileError("{path}: the JSON is nested more than {limit} levels deep; not read",
                         hint="chat exports nest a few levels; check that this is the export file",
                         path=path, limit=MAX_DEPTH)
