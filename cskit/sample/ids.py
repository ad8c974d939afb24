"""Buyer ids in each platform's style."""

from __future__ import annotations

import numpy as np

from .base import _base36, _cat, _digits
from .phrases import TEXTS
from .shops import ShopSpec

#: Taobao nickname words (cskit/data/sample_phrases.toml)
_TAOBAO_WORDS = np.array(TEXTS["names"]["taobao_nick_words"], dtype=object)

# =============================================================================== ids

def _unique(rng: np.random.Generator, n: int, modulus: int) -> np.ndarray:
    """``n`` distinct random integers in [0, modulus)."""
    return rng.choice(modulus, n, replace=False).astype(np.int64)


def _buyer_ids(rng: np.random.Generator, shop: ShopSpec, n: int, nicknames: bool) -> np.ndarray:
    """``n`` distinct buyer ids in the platform's style (one call per shop, so no clashes)."""
    if shop.platform == "pdd":  # numeric uid
        return np.asarray(_digits(1_000_000_000 + _unique(rng, n, 9_000_000_000), 10),
                          dtype=object)
    if shop.platform == "taobao":
        tb = _cat("tb", np.asarray(_digits(_unique(rng, n, 10**10), 10), dtype=object))
        if not nicknames:
            return tb
        words = _TAOBAO_WORDS
        w = words[rng.integers(0, len(words), n)]
        num = np.asarray(_digits(_unique(rng, n, 10**6), 6), dtype=object)
        return np.where(rng.random(n) < 0.55, tb, _cat(w, "_", num))
    prefix = "jd_" if shop.platform == "jd" else "dy_"
    return _cat(prefix, _base36(_unique(rng, n, 36**10), 10))


_NICK_A = np.array(TEXTS["names"]["nick_a"], dtype=object)
_NICK_B = np.array(TEXTS["names"]["nick_b"], dtype=object)
