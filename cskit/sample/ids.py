"""Buyer ids in each platform's style."""

from __future__ import annotations

import numpy as np

from .base import _base36, _cat, _digits
from .shops import ShopSpec

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
        words = np.array(["快乐的小熊", "sunny", "晴天", "木子李", "阿狸", "summer", "橙子味",
                          "小鱼儿", "追风少年", "momo", "糖果屋", "lucky", "一只猫", "星星点灯",
                          "lemon", "奶茶不加糖", "小太阳", "ada", "苏小暖", "kk"], dtype=object)
        w = words[rng.integers(0, len(words), n)]
        num = np.asarray(_digits(_unique(rng, n, 10**6), 6), dtype=object)
        return np.where(rng.random(n) < 0.55, tb, _cat(w, "_", num))
    prefix = "jd_" if shop.platform == "jd" else "dy_"
    return _cat(prefix, _base36(_unique(rng, n, 36**10), 10))


_NICK_A = np.array(["爱吃鱼的", "快乐", "安静的", "会飞的", "小小", "温柔", "元气", "懒洋洋的"], dtype=object)
_NICK_B = np.array(["猫", "小兔", "向日葵", "橘子", "小熊", "饭团", "麦穗", "云朵"], dtype=object)
