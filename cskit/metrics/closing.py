"""Closing remarks (结束语): buyer messages such as 好的 / 谢谢 / 没有了 / 👌 that end a
conversation and need no answer.

The phrases are data (``cskit/data/closing_remarks.toml``).  A message is a closing remark
when, normalised (NFKC, lower case, spaces and punctuation other than ``?`` removed, emoji
skin tones dropped), the whole message is one or more phrases followed by optional
particles.  Vectorised: one RE2 pass (pyarrow) over the distinct texts — a dictionary's
values, or a categorical's categories — never a Python loop over messages.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.errors import UsageError

__all__ = ["ClosingRemarks", "load_closing_remarks", "closing_mask", "is_closing"]

#: spaces, emoji variation selectors / joiners / skin tones, and punctuation except "?"
_STRIP = r"[\p{Z}\s\x{FE0F}\x{200D}\x{1F3FB}-\x{1F3FF}~]|[^\P{P}?]"
#: longer normalised texts are never closing remarks (skips the regex for most messages)
_MAX_CHARS = 24


class ClosingRemarks:
    """The phrases and particles of a closing-remarks lexicon, and its whole-message regex."""

    def __init__(self, phrases, particles=(), source: str = ""):
        self.phrases = self._norm_all(phrases)
        self.particles = self._norm_all(particles)
        self.source = source
        if not self.phrases:
            raise UsageError("{source}: no phrases", source=source or "closing remarks")
        from cskit.text._regex import alternation

        ph = alternation(self.phrases)
        pa_ = alternation(self.particles)
        self.pattern = f"^(?:{ph})+" + (f"(?:{pa_})*" if pa_ else "") + "$"

    @staticmethod
    def _norm_all(texts) -> tuple[str, ...]:
        """The distinct non-empty normalised ``texts``, in order: one vectorised pass (the
        regex is compiled once, not once per phrase: that took ~0.1 s of a cold kpi)."""
        texts = [str(t) for t in texts]
        if not texts:
            return ()
        normed = _normalise(pa.array(texts, type=pa.large_string())).to_pylist()
        return tuple(dict.fromkeys(n for n in normed if n))


def _normalise(arr: pa.Array) -> pa.Array:
    arr = pc.utf8_lower(pc.utf8_normalize(arr, "NFKC"))
    return pc.replace_substring_regex(arr, _STRIP, "")


def _path(name: str) -> Path:
    from importlib import resources

    return Path(str(resources.files("cskit") / "data" / name))


@functools.lru_cache(maxsize=8)
def load_closing_remarks(path: str | None = None) -> ClosingRemarks:
    """The lexicon at ``path`` (TOML), or the packaged one."""
    p = Path(path) if path else _path("closing_remarks.toml")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError("{path}: cannot read closing remarks ({strerror})", path=p,
                         strerror=exc.strerror) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("{path}: not valid TOML ({why})", path=p, why=str(exc)) from None
    phrases, particles = doc.get("phrases", []), doc.get("particles", [])
    if not isinstance(phrases, list) or not all(isinstance(x, str) for x in phrases) or \
            not isinstance(particles, list) or not all(isinstance(x, str) for x in particles):
        raise UsageError("{path}: phrases and particles must be lists of strings", path=p)
    return ClosingRemarks(phrases, particles, source=str(p))


def _distinct_mask(values: pa.Array, lex: ClosingRemarks) -> np.ndarray:
    """Closing flag per string of ``values`` (null → False)."""
    n = len(values)
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    values = values.cast(pa.large_string()) if values.type != pa.large_string() else values
    short = pc.fill_null(pc.less_equal(pc.utf8_length(values), _MAX_CHARS), False)
    at = np.flatnonzero(short.to_numpy(zero_copy_only=False))
    if len(at):
        sub = _normalise(values.take(pa.array(at)))
        hit = pc.fill_null(pc.match_substring_regex(sub, lex.pattern), False)
        out[at] = hit.to_numpy(zero_copy_only=False)
    return out


def closing_mask(values, lexicon: ClosingRemarks | None = None) -> np.ndarray:
    """Closing flag per element of an arrow array / chunked array (dictionary-encoded or
    not): the regex runs once per distinct text of a dictionary."""
    lex = lexicon or load_closing_remarks()
    if isinstance(values, pa.ChunkedArray) and values.num_chunks > 1 and \
            pa.types.is_dictionary(values.type):
        # one dictionary for all chunks (a store read has one per part file, mostly the
        # same texts): the regex runs once per distinct text of the read, not of each file
        values = values.unify_dictionaries()
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = []
    seen = flags = None
    for c in chunks:
        if pa.types.is_dictionary(c.type):
            if seen is None or not (c.dictionary is seen or c.dictionary.equals(seen)):
                seen, flags = c.dictionary, _distinct_mask(c.dictionary, lex)
            idx = c.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            parts.append(np.where(idx >= 0, flags[np.maximum(idx, 0)] if len(flags) else False,
                                  False))
        else:
            parts.append(_distinct_mask(c, lex))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)


def is_closing(content: pd.Series, lexicon: ClosingRemarks | None = None) -> np.ndarray:
    """Closing flag per message text (a categorical is judged once per category)."""
    lex = lexicon or load_closing_remarks()
    from cskit.text._regex import as_arrow

    if isinstance(content.dtype, pd.CategoricalDtype):
        flags = _distinct_mask(as_arrow(pd.Series(content.cat.categories, dtype=object)), lex)
        codes = content.cat.codes.to_numpy()
        return np.where(codes >= 0, flags[np.maximum(codes, 0)] if len(flags) else False, False)
    return closing_mask(as_arrow(content).dictionary_encode(), lex)
