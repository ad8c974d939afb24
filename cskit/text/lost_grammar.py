"""Conversation-level rules of lost-sale reasons (per buyer-day, over the scores of
:mod:`cskit.text.lost_scoring`): a reason that takes over others (:func:`_take_over`),
pre-sale days (:func:`presale_days`: the buyer has not bought yet, from the buyer's or the
agents' words) and what the agents' turns add as context (:func:`_agent_context`).
All vectorised over buyer-days; the rules' words and factors are data (``grammar`` in the
lost lexicon TOML).  :func:`cskit.text.lost.classify` applies them.
"""

from __future__ import annotations

import numpy as np

from cskit.text._regex import contains, distinct, normalise
from cskit.text.lexicon import LostLexicon

__all__ = ["presale_days"]


def _take_over(scores: np.ndarray, lex: LostLexicon) -> np.ndarray:
    """Buyer-days where a reason with ``takes_over`` reached ``takes_over_at``: the scores
    of the reasons it takes over move to it (vectorised over buyer-days)."""
    ids = [r.id for r in lex.reasons]
    for j, r in enumerate(lex.reasons):
        if not r.takes_over:
            continue
        on = scores[:, j] >= max(r.takes_over_at, lex.grammar.min_score)
        if not on.any():
            continue
        cols = [ids.index(t) for t in r.takes_over]
        scores = scores.copy()
        scores[on, j] += scores[np.ix_(on, cols)].sum(axis=1)
        scores[np.ix_(on, cols)] = 0.0
    return scores


def presale_days(texts, unit: np.ndarray, n_units: int, lex: LostLexicon,
                 pats: tuple[str, ...] | None = None) -> np.ndarray:
    """Units (buyer-days) where some buyer message matches ``grammar.presale_patterns``
    (a product page's link, 还没下单 …): the buyer has not bought yet.  Each distinct
    message is tested once, on its normalised but unblanked text.  ``pats``: other
    patterns (the agents' ``grammar.agent_presale_patterns`` over their turns)."""
    pats = lex.grammar.presale_patterns if pats is None else pats
    out = np.zeros(n_units, dtype=bool)
    if not pats or len(texts) == 0 or n_units == 0:
        return out
    mcodes, dictionary = distinct(texts)
    hit = contains(normalise(dictionary), "|".join(f"(?:{p})" for p in pats))
    unit = np.asarray(unit, dtype=np.int64)
    ok = unit >= 0
    out[unit[ok & hit[mcodes]]] = True
    return out


def _agent_context(ctx: np.ndarray, own: np.ndarray, pre: np.ndarray,
                   lex: LostLexicon) -> np.ndarray:
    """What the agents' turns (scores ``ctx``) add to the buyer's own scores ``own``.

    Context weighs in where the buyer raised something themselves (an agent's words alone
    are no reason), × ``grammar.agent_factor`` or the reason's own ``agent_factor``; a
    reason with ``agent_alone`` also where the buyer raised nothing.  On a pre-sale day
    (``grammar.presale_patterns``) the reasons' own factors and ``agent_alone`` do not
    apply; ``agent_alone`` needs the agent's weighted score to reach its value: the agent's 订单 / 申请售后 words then answer a question before buying."""
    n_units = own.shape[0]
    g = lex.grammar
    spoke = own.max(axis=1, initial=0.0) > 0
    base = np.full(len(lex.reasons), g.agent_factor)
    af = np.array([g.agent_factor if r.agent_factor is None else r.agent_factor
                   for r in lex.reasons])
    add = ctx * np.where(pre[:, None], base[None, :], af[None, :])
    at = np.array([r.agent_alone for r in lex.reasons])
    alone = (at > 0) & (g.agent_factor > 0)
    gate = spoke[:, None] | (alone[None, :] & ~pre[:, None] & (add >= at[None, :]))
    return add * gate
