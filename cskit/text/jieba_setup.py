"""One jieba tokenizer for cskit: lazy, silent, cached, with the domain dictionary.

jieba builds a prefix dictionary the first time it is used (about a second) and
pickles it to a cache file.  cskit keeps its own :class:`jieba.Tokenizer`
instances (the global ``jieba.dt`` and other users of jieba are left alone):

* the base tokenizer is built once per process, on first use, under a lock;
* its cache lives in ``$CSKIT_CACHE_DIR`` (default ``<tempdir>/cskit-jieba``;
  a private temporary directory if that one cannot be written);
* jieba's logger is set to WARNING, so its "Building prefix dict …" chatter
  never reaches stderr;
* the domain user dictionary ``cskit/data/userdict.txt`` (包邮, 运费险, 七天无理由,
  断码, 花呗 …) is loaded into it;
* :func:`tokenizer` with extra words (a lexicon's terms, so that phrases such as
  "太贵" or "运费贵" come out as one token) returns a *copy* of the base
  tokenizer with those words added; copies are cached by word set, so a custom
  lexicon never changes how the default one segments.

Segmentation is done without jieba's HMM (``HMM=False``): faster, deterministic,
and unknown character runs come out as single characters, which is what the
term matcher wants.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path

__all__ = ["tokenizer", "cache_dir", "userdict_path", "userdict_words", "cut"]

_LOCK = threading.Lock()
_BASE = None
_COPIES: "OrderedDict[frozenset[str], object]" = OrderedDict()
_MAX_COPIES = 4


def cache_dir() -> Path:
    """The directory jieba's prefix-dictionary cache is written to."""
    env = os.environ.get("CSKIT_CACHE_DIR")
    return Path(env) if env else Path(tempfile.gettempdir()) / "cskit-jieba"


def userdict_path() -> Path:
    """The packaged domain user dictionary (one word a line, optional frequency)."""
    return Path(str(resources.files("cskit") / "data" / "userdict.txt"))


def userdict_words() -> list[str]:
    """Words of the packaged user dictionary (comments and blank lines skipped)."""
    words = []
    for line in userdict_path().read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line.split()[0])
    return words


def _writable_dir() -> Path:
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        probe = d / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return d
    except OSError:
        return Path(tempfile.mkdtemp(prefix="cskit-jieba-"))


def _base():
    global _BASE
    if _BASE is not None:
        return _BASE
    with _LOCK:
        if _BASE is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tok = jieba.Tokenizer()
            tok.tmp_dir = str(_writable_dir())
            tok.initialize()
            for line in userdict_path().read_text(encoding="utf-8").splitlines():
                parts = line.split()
                if not parts or parts[0].startswith("#"):
                    continue
                freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
                tok.add_word(parts[0], freq)
            _BASE = tok
    return _BASE


def tokenizer(extra_words=()):
    """The shared tokenizer, or a cached copy of it that also knows ``extra_words``."""
    base = _base()
    words = frozenset(w for w in extra_words if w)
    if not words:
        return base
    with _LOCK:
        tok = _COPIES.get(words)
        if tok is not None:
            _COPIES.move_to_end(words)
            return tok
        import jieba

        tok = jieba.Tokenizer()
        tok.FREQ = dict(base.FREQ)
        tok.total = base.total
        tok.tmp_dir = base.tmp_dir
        tok.dictionary = base.dictionary
        tok.initialized = True
        # deterministic order, short words first; add_word without a frequency raises a
        # known word's frequency just enough for it to beat its own parts
        for w in sorted(words, key=lambda x: (len(x), x)):
            tok.add_word(w)
        _COPIES[words] = tok
        while len(_COPIES) > _MAX_COPIES:
            _COPIES.popitem(last=False)
    return tok


def cut(text: str, extra_words=()) -> list[str]:
    """Segment one string (no HMM)."""
    return tokenizer(extra_words).lcut(text, HMM=False)
