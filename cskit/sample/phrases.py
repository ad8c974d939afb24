"""Topics and the phrase table of the simulated conversations.

The texts (phrases, products, nicknames, surnames, places) live in
``cskit/data/sample_phrases.toml``; their order is part of the output (draws are by position).
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib import resources

import numpy as np
import pyarrow as pa

from .shops import ShopSpec

# =============================================================================== phrases
# Buyer and agent phrase lists (shared by the sample and the bulk generator).

PRE_TOPICS = ("price", "shipping", "size", "stock", "logistics", "quality", "returns",
              "payment", "compare")
PRE_TOPIC_WEIGHTS = (0.21, 0.11, 0.15, 0.07, 0.14, 0.12, 0.07, 0.05, 0.08)
AFTER_TOPICS = ("where", "damaged", "exchange", "wrong")
AFTER_TOPIC_WEIGHTS = (0.4, 0.2, 0.25, 0.15)

#: intended lost-sale reason (询单流失原因) per pre-sale topic
LOST_REASON = {"price": "价格", "shipping": "运费/不包邮", "size": "尺码/规格", "stock": "缺货/断码",
               "logistics": "物流时效", "quality": "质量顾虑/正品", "returns": "售后政策",
               "payment": "支付方式", "compare": "货比三家/再看看"}
SERVICE_LATE, SERVICE_NONE = "回复慢", "未回复"

#: base order probability of an inquiring buyer per topic (before service effects)
ORDER_P = {"price": 0.36, "shipping": 0.44, "size": 0.42, "stock": 0.30, "logistics": 0.48,
           "quality": 0.40, "returns": 0.42, "payment": 0.45, "compare": 0.16}



def _tuples(d: dict) -> dict:
    return {k: tuple(v) for k, v in d.items()}


def _by_category(d: dict) -> dict:
    """``{topic: {category: [...]}}`` → ``{(topic, category): (...)}``."""
    return {(t, c): tuple(v) for t, cats in d.items() for c, v in cats.items()}


#: all texts of the sample (phrases, products, names, places), in file order
TEXTS = tomllib.loads(resources.files("cskit").joinpath("data/sample_phrases.toml")
                      .read_text(encoding="utf-8"))
_B, _A = TEXTS["buyer"], TEXTS["agent"]

GREETINGS = tuple(_B["greetings"])
ASK = _tuples(_B["ask"])
ASK_BY_CATEGORY = _by_category(_B["ask_by_category"])
FOLLOW = _tuples(_B["follow"])
CLOSE_YES = tuple(_B["close_yes"])
CLOSE_NO = _tuples(_B["close_no"])
AS_ASK = _tuples(_B["as_ask"])
AS_FOLLOW = tuple(_B["as_follow"])
AS_CLOSE = tuple(_B["as_close"])

A_OPEN = tuple(_A["open"])
A_ANSWER = _tuples(_A["answer"])
A_ANSWER_BY_CATEGORY = _by_category(_A["answer_by_category"])
A_FOLLOW = tuple(_A["follow"])
A_CLOSE_YES = tuple(_A["close_yes"])
A_CLOSE_NO = tuple(_A["close_no"])
A_AS = tuple(_A["after_sale"])
A_AS_CLOSE = tuple(_A["after_sale_close"])
BOT_PHRASES = tuple(TEXTS["bot"]["phrases"])

# message kinds (rows of the phrase table)
(K_GREET, K_ASK, K_FOLLOW, K_CLOSE_YES, K_CLOSE_NO, K_AS_ASK, K_AS_FOLLOW, K_AS_CLOSE,
 K_A_OPEN, K_A_ANSWER, K_A_FOLLOW, K_A_CLOSE_YES, K_A_CLOSE_NO, K_A_AS, K_A_AS_CLOSE,
 K_BOT) = range(16)
N_KINDS = 16


def _phrases(kind: int, shop: ShopSpec, topic: int) -> tuple[str, ...]:
    cat = shop.category
    pre = PRE_TOPICS[topic] if topic < len(PRE_TOPICS) else PRE_TOPICS[0]
    after = AFTER_TOPICS[topic] if topic < len(AFTER_TOPICS) else AFTER_TOPICS[0]
    if kind == K_GREET:
        return GREETINGS
    if kind == K_ASK:
        return ASK_BY_CATEGORY.get((pre, cat), ()) + ASK.get(pre, ())
    if kind == K_FOLLOW:
        return FOLLOW[pre]
    if kind == K_CLOSE_YES:
        return CLOSE_YES
    if kind == K_CLOSE_NO:
        return CLOSE_NO[pre]
    if kind == K_AS_ASK:
        return AS_ASK[after]
    if kind == K_AS_FOLLOW:
        return AS_FOLLOW
    if kind == K_AS_CLOSE:
        return AS_CLOSE
    if kind == K_A_OPEN:
        return A_OPEN
    if kind == K_A_ANSWER:
        return A_ANSWER_BY_CATEGORY.get((pre, cat)) or A_ANSWER.get(pre) or A_FOLLOW
    if kind == K_A_FOLLOW:
        return A_FOLLOW
    if kind == K_A_CLOSE_YES:
        return A_CLOSE_YES
    if kind == K_A_CLOSE_NO:
        return A_CLOSE_NO
    if kind == K_A_AS:
        return A_AS
    if kind == K_A_AS_CLOSE:
        return A_AS_CLOSE
    if kind == K_BOT:
        prefix = "[自动回复]" if shop.platform == "taobao" else ""
        return tuple(prefix + p.format(shop=shop.name) for p in BOT_PHRASES)
    raise ValueError(kind)


def _phrase_table(shops: Sequence[ShopSpec]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """All phrases in one Arrow array plus (kind, shop, topic) → offset / length tables."""
    n_topics = len(PRE_TOPICS)
    pool: list[str] = []
    seen: dict[tuple[str, ...], int] = {}
    offset = np.zeros((N_KINDS, len(shops), n_topics), dtype=np.int64)
    length = np.zeros((N_KINDS, len(shops), n_topics), dtype=np.int64)
    for k in range(N_KINDS):
        for s, shop in enumerate(shops):
            for t in range(n_topics):
                ph = _phrases(k, shop, t)
                if ph not in seen:
                    seen[ph] = len(pool)
                    pool.extend(ph)
                offset[k, s, t] = seen[ph]
                length[k, s, t] = len(ph)
    return pa.array(pool, type=pa.string()), offset, length
