"""The conversation simulation (:class:`_Sim`, :func:`_simulate`) and message contents."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .base import (
    AGENT,
    BOT,
    BUYER,
    DAY,
    SYSTEM,
    WINDOW,
    _cat,
    _choice,
    _digits,
    _epoch,
    _group_excl_cumsum,
    _pos_in_group,
    _starts,
    _uniform,
)
from .phrases import (
    AFTER_TOPIC_WEIGHTS,
    AFTER_TOPICS,
    K_A_ANSWER,
    K_A_AS,
    K_A_AS_CLOSE,
    K_A_CLOSE_NO,
    K_A_CLOSE_YES,
    K_A_FOLLOW,
    K_A_OPEN,
    K_AS_ASK,
    K_AS_CLOSE,
    K_AS_FOLLOW,
    K_ASK,
    K_BOT,
    K_CLOSE_NO,
    K_CLOSE_YES,
    K_FOLLOW,
    K_GREET,
    PRE_TOPIC_WEIGHTS,
    PRE_TOPICS,
)
from .shops import ShopSpec

# =============================================================================== simulation


HOUR_WEIGHTS = np.array([0.6, 0.3, 0.15, 0.1, 0.1, 0.15, 0.35, 0.9, 2.2, 4.0, 6.5, 6.6, 4.2,
                         3.8, 4.2, 4.4, 4.2, 3.8, 3.7, 4.6, 6.5, 7.0, 5.8, 1.6])
# agent shifts [start, end) by local index; profile = P(fast), P(medium), P(slow) per round
SHIFTS = ((8, 17), (14, 24), (10, 20), (8, 24), (12, 22), (9, 18))
PROFILES = ((0.80, 0.15, 0.05), (0.62, 0.23, 0.15), (0.90, 0.08, 0.02), (0.74, 0.17, 0.09),
            (0.85, 0.11, 0.04), (0.70, 0.20, 0.10))


def _day_weights(start: date, days: int) -> np.ndarray:
    w = np.ones(days)
    for i in range(days):
        d = start + timedelta(days=i)
        if d.weekday() >= 5:
            w[i] = 1.25
        if (d.month, d.day) in ((11, 11), (6, 18), (12, 12)):
            w[i] = 1.9  # 双十一 / 618 / 双十二
    return w / w.sum()


@dataclass
class _Sim:
    """Arrays of one simulation (conversation, round and message level)."""

    shops: list[ShopSpec]
    start: date
    days: int
    # agents (global index)
    agent_shop: np.ndarray
    agent_local: np.ndarray
    agent_ids: np.ndarray  # object
    # buyers
    buyer_shop: np.ndarray
    buyer_after_sale: np.ndarray
    # conversations
    c_shop: np.ndarray
    c_buyer: np.ndarray
    c_day: np.ndarray
    c_start: np.ndarray  # absolute local epoch seconds
    c_topic: np.ndarray
    c_after_sale: np.ndarray
    c_agent1: np.ndarray
    c_agent2: np.ndarray
    c_transfer: np.ndarray  # bool (effective)
    c_transfer_round: np.ndarray
    c_bot: np.ndarray
    c_never: np.ndarray
    c_greet: np.ndarray
    c_rounds: np.ndarray  # effective number of rounds
    c_special: np.ndarray  # -1 or index into SPECIALS
    # rounds
    r_conv: np.ndarray
    r_k: np.ndarray
    r_start: np.ndarray
    r_reply: np.ndarray  # absolute reply time, -1 when unanswered
    r_agent: np.ndarray  # serving agent (global index)
    r_class: np.ndarray  # 0 fast, 1 medium, 2 slow, 3 night, 4 fixed
    r_last: np.ndarray
    r_sys: np.ndarray  # absolute time of the transfer notice, -1 if none
    # messages (construction order: buyers, bots, systems, agents)
    m_conv: np.ndarray
    m_round: np.ndarray
    m_sender: np.ndarray
    m_time: np.ndarray
    m_pos: np.ndarray  # position among the same sender's messages in the round
    m_agent: np.ndarray  # global agent index, -1 for buyer, -2 for bot


#: planted edge cases (start second-of-day, buyer-message offsets, reply after the last
#: buyer message or None = never, robot greeting) — each applied to one conversation per
#: main shop on day ``SPECIAL_DAY``
SPECIALS = (
    ("exactly_300s", 10 * 3600, (0,), 300, False),
    ("301s", 10 * 3600 + 1800, (0,), 301, False),
    ("2258_reply_2302", 22 * 3600 + 58 * 60, (0,), 240, False),
    ("2258_reply_2304", 22 * 3600 + 58 * 60 + 30, (0,), 360, False),
    ("at_2300_never", 23 * 3600, (0,), None, False),
    ("at_0759_never", 8 * 3600 - 1, (0,), None, False),
    ("at_0800_400s", 8 * 3600, (0,), 400, False),
    ("bot_only", 15 * 3600, (0,), None, True),
    ("first_of_three_waits_320s", 16 * 3600, (0, 150, 290), 30, False),
)
SPECIAL_DAY = 9  # 2026-11-18 with the default start


def _simulate(rng: np.random.Generator, shops: Sequence[ShopSpec], n_buyers: np.ndarray,
              start: date, days: int, *, after_sale_rate: float = 0.035,
              specials: bool = False) -> _Sim:
    S = len(shops)
    shops = list(shops)
    base = _epoch(start)

    # ---- agents
    n_ag = np.array([len(s.agents) for s in shops])
    agent_shop = np.repeat(np.arange(S), n_ag)
    agent_local = _pos_in_group(n_ag)
    agent_ids = np.array([a for s in shops for a in s.agent_ids()], dtype=object)
    A = len(agent_shop)
    hours = np.arange(24)
    eff = np.clip(hours, 8, 23)
    lo = np.array([SHIFTS[i % len(SHIFTS)][0] for i in agent_local])
    hi = np.array([SHIFTS[i % len(SHIFTS)][1] for i in agent_local])
    single = n_ag[agent_shop] == 1
    lo = np.where(single, 0, lo)
    hi = np.where(single, 24, hi)
    on = (eff[:, None] >= lo[None, :]) & (eff[:, None] < hi[None, :])  # (24, A)
    W = (agent_shop[None, None, :] == np.arange(S)[:, None, None]) & on[None, :, :]  # (S,24,A)
    empty = ~W.any(-1)  # fallback: everyone of the shop
    W[empty] = np.broadcast_to((agent_shop[None, :] == np.arange(S)[:, None])[:, None, :],
                               (S, 24, A))[empty]
    # candidates on shift per (shop, hour): count and the agents in a padded table
    n_cand = W.sum(-1)  # (S, 24)
    cand = np.argsort(~W, axis=-1, kind="stable")  # on-shift agents first, in index order
    prof = np.array([PROFILES[i % len(PROFILES)] for i in agent_local])  # (A, 3)

    # ---- buyers and their visits (≥ 2 days apart, so conversations never touch)
    B = int(n_buyers.sum())
    buyer_shop = np.repeat(np.arange(S), n_buyers)
    buyer_after_sale = rng.random(B) < after_sale_rate
    visits = _choice(rng, [1, 2, 3], [0.80, 0.15, 0.05], B)
    first_day = rng.choice(days, B, p=_day_weights(start, days))
    c_buyer = np.repeat(np.arange(B), visits)
    gap = _uniform(rng, 2, 5, len(c_buyer))
    gap[_pos_in_group(visits) == 0] = 0
    c_day = first_day[c_buyer] + np.cumsum(gap) - np.repeat(
        np.cumsum(gap)[_starts(visits)], visits)
    keep = c_day < days
    c_buyer, c_day = c_buyer[keep], c_day[keep]
    C = len(c_buyer)
    c_shop = buyer_shop[c_buyer]
    hour = rng.choice(24, C, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    # second of day; the last two minutes are left free so a burst of buyer messages
    # never runs past midnight (every buyer message belongs to its conversation's day)
    sod = np.minimum(hour * 3600 + rng.integers(0, 3600, C), DAY - 120)

    # order conversations by (shop, day, start)
    order = np.lexsort((sod, c_day, c_shop))
    c_buyer, c_day, c_shop, sod, hour = (c_buyer[order], c_day[order], c_shop[order],
                                         sod[order], hour[order])

    c_after_sale = buyer_after_sale[c_buyer]
    c_topic = np.where(c_after_sale,
                       rng.choice(len(AFTER_TOPICS), C, p=np.array(AFTER_TOPIC_WEIGHTS)),
                       rng.choice(len(PRE_TOPICS), C, p=np.array(PRE_TOPIC_WEIGHTS)))
    # agents on shift at the start hour
    u = rng.random(C)
    c_agent1 = cand[c_shop, hour, (u * n_cand[c_shop, hour]).astype(np.int64)]
    n_loc = n_ag[c_shop]
    other = (agent_local[c_agent1] + rng.integers(1, np.maximum(n_loc, 2), C)) % n_loc
    c_agent2 = _starts(n_ag)[c_shop] + other

    early = sod < WINDOW[0]
    late_night = sod >= WINDOW[1]
    night = early | late_night
    c_rounds = np.where(night, 1, _choice(rng, [1, 2, 3], [0.55, 0.30, 0.15], C))
    bot_rate = np.array([s.bot_rate for s in shops])[c_shop]
    c_bot = rng.random(C) < np.where(night, np.minimum(1.0, bot_rate * 2.2), bot_rate)
    never_p = np.where(early, 0.45, np.where(late_night, 0.5, 0.03))
    c_never = rng.random(C) < never_p
    c_transfer = (rng.random(C) < 0.035) & ~night & (n_loc > 1)
    c_transfer_round = (rng.random(C) * c_rounds).astype(np.int64)
    c_greet = rng.random(C) < 0.35
    c_special = np.full(C, -1, dtype=np.int64)

    if specials and days > SPECIAL_DAY:
        for s in range(min(S, 2)):
            cand = np.flatnonzero((c_shop == s) & (c_day == SPECIAL_DAY) & ~c_after_sale)
            # one conversation per special, buyers with a single visit
            single_visit = np.bincount(c_buyer, minlength=B)[c_buyer[cand]] == 1
            cand = cand[single_visit][: len(SPECIALS)]
            for j, ci in enumerate(cand):
                at, bot = SPECIALS[j][1], SPECIALS[j][4]
                sod[ci] = at
                c_special[ci] = j
                c_rounds[ci] = 1
                c_bot[ci] = bot
                c_never[ci] = SPECIALS[j][3] is None
                c_transfer[ci] = False
                c_greet[ci] = False
        # keep the (shop, day, start) order after moving the special conversations
        order = np.lexsort((sod, c_day, c_shop))
        (c_buyer, c_day, c_shop, sod, hour, c_after_sale, c_topic, c_agent1, c_agent2, c_rounds,
         c_bot, c_never, c_transfer, c_transfer_round, c_greet, c_special) = (
            a[order] for a in (c_buyer, c_day, c_shop, sod, hour, c_after_sale, c_topic, c_agent1,
                               c_agent2, c_rounds, c_bot, c_never, c_transfer, c_transfer_round,
                               c_greet, c_special))
        early = sod < WINDOW[0]
        late_night = sod >= WINDOW[1]
    c_transfer_round = np.minimum(c_transfer_round, c_rounds - 1)
    c_start = base + c_day * DAY + sod

    # ---- rounds
    R = int(c_rounds.sum())
    r_conv = np.repeat(np.arange(C), c_rounds)
    r_k = _pos_in_group(c_rounds)
    r_nb = _choice(rng, [1, 2, 3, 4], [0.45, 0.30, 0.17, 0.08], R)
    spec_r = c_special[r_conv]
    is_spec = spec_r >= 0
    if is_spec.any():
        r_nb[is_spec] = [len(SPECIALS[j][2]) for j in spec_r[is_spec]]
    r_transfer_here = c_transfer[r_conv] & (r_k == c_transfer_round[r_conv])
    r_agent = np.where(c_transfer[r_conv] & (r_k >= c_transfer_round[r_conv]),
                       c_agent2[r_conv], c_agent1[r_conv])
    u = rng.random(R)
    p = prof[r_agent]
    r_class = (u >= p[:, 0]).astype(np.int64) + (u >= p[:, 0] + p[:, 1])
    d = np.select([r_class == 0, r_class == 1],
                  [_uniform(rng, 3, 40, R), _uniform(rng, 60, 200, R)],
                  _uniform(rng, 320, 1500, R))
    sys_off = np.where(r_transfer_here, _uniform(rng, 8, 30, R), -1)
    # buyer messages of each round
    NB = int(r_nb.sum())
    b_round = np.repeat(np.arange(R), r_nb)
    b_pos = _pos_in_group(r_nb)
    b_gap = _uniform(rng, 4, 25, NB)
    b_gap[b_pos == 0] = 0
    b_off = np.cumsum(b_gap) - np.repeat(np.cumsum(b_gap)[_starts(r_nb)], r_nb)
    if is_spec.any():
        rows = np.flatnonzero(is_spec[b_round])
        b_off[rows] = [SPECIALS[spec_r[b_round[i]]][2][b_pos[i]] for i in rows]
    span_b = b_off[_starts(r_nb) + r_nb - 1]
    # reply offset from the round start
    reply_off = span_b + np.where(r_transfer_here, sys_off, 0) + d
    r_early = early[r_conv] & (r_k == 0)
    night_reply = np.maximum(WINDOW[0] - (sod[r_conv] + span_b), 0) + _uniform(rng, 30, 1200, R)
    reply_off = np.where(r_early, span_b + night_reply, reply_off)
    r_class = np.where(r_early, 3, r_class)
    if is_spec.any():
        fixed = np.array([SPECIALS[j][3] if SPECIALS[j][3] is not None else 0
                          for j in spec_r[is_spec]], dtype=np.int64)
        reply_off[is_spec] = span_b[is_spec] + fixed
        r_class[is_spec] = 4
    r_na = _choice(rng, [1, 2, 3], [0.6, 0.33, 0.07], R)
    r_na = np.where(c_greet[r_conv] & (r_k == 0), np.maximum(r_na, 2), r_na)  # hello + answer
    NA = int(r_na.sum())
    a_gap = _uniform(rng, 4, 30, NA)
    a_gap[_pos_in_group(r_na) == 0] = 0
    a_off = np.cumsum(a_gap) - np.repeat(np.cumsum(a_gap)[_starts(r_na)], r_na)
    span_a = a_off[_starts(r_na) + r_na - 1]
    cont = _uniform(rng, 15, 240, R)
    comeback = _uniform(rng, 900, 7200, R)
    next_gap = np.where((rng.random(R) < 0.3) & (sod[r_conv] < 15 * 3600), comeback, cont)
    length = reply_off + span_a
    r_start = c_start[r_conv] + _group_excl_cumsum(length + next_gap, c_rounds)

    # drop rounds that would start after the conversation's day ends
    day_end = base + (c_day[r_conv] + 1) * DAY
    keep_r = r_start < day_end - 120
    keep_r[r_k == 0] = True
    c_rounds = np.bincount(r_conv[keep_r], minlength=C).astype(np.int64)
    c_transfer = c_transfer & (c_transfer_round < c_rounds)
    r_last = r_k == (c_rounds[r_conv] - 1)
    never_round = c_never[r_conv] & r_last
    # a transfer into an unanswered round is dropped (keeps the plan simple)
    c_transfer &= ~np.bincount(r_conv[never_round & r_transfer_here & keep_r], minlength=C
                               ).astype(bool)
    r_transfer_here = c_transfer[r_conv] & (r_k == c_transfer_round[r_conv])
    r_agent = np.where(c_transfer[r_conv] & (r_k >= c_transfer_round[r_conv]),
                       c_agent2[r_conv], c_agent1[r_conv])
    r_reply = np.where(never_round, -1, r_start + reply_off)
    r_sys = np.where(r_transfer_here, r_start + span_b + sys_off, -1)

    # ---- messages
    b_keep = keep_r[b_round]
    bm_round = b_round[b_keep]
    bm_time = r_start[bm_round] + b_off[b_keep]
    bm_pos = b_pos[b_keep]
    bot_r = np.flatnonzero(keep_r & (r_k == 0) & c_bot[r_conv])
    bot_time = r_start[bot_r] + _uniform(rng, 1, 3, len(bot_r))
    sys_r = np.flatnonzero(keep_r & r_transfer_here)
    ag_r_mask = keep_r & ~never_round
    a_round = np.repeat(np.arange(R), r_na)
    a_keep = ag_r_mask[a_round]
    am_round = a_round[a_keep]
    am_time = r_reply[am_round] + a_off[a_keep]
    am_pos = _pos_in_group(r_na)[a_keep]

    m_round = np.concatenate([bm_round, bot_r, sys_r, am_round])
    m_sender = np.concatenate([np.full(len(bm_round), BUYER), np.full(len(bot_r), BOT),
                               np.full(len(sys_r), SYSTEM), np.full(len(am_round), AGENT)]
                              ).astype(np.int8)
    m_time = np.concatenate([bm_time, bot_time, r_sys[sys_r], am_time])
    m_pos = np.concatenate([bm_pos, np.zeros(len(bot_r), np.int64), np.zeros(len(sys_r), np.int64),
                            am_pos])
    m_agent = np.concatenate([np.full(len(bm_round), -1), np.full(len(bot_r), -2),
                              c_agent2[r_conv[sys_r]], r_agent[am_round]])
    m_conv = r_conv[m_round]

    # compact the round arrays to the kept rounds
    idx = np.flatnonzero(keep_r)
    remap = np.full(R, -1, dtype=np.int64)
    remap[idx] = np.arange(len(idx))
    m_round = remap[m_round]
    return _Sim(
        shops=shops, start=start, days=days,
        agent_shop=agent_shop, agent_local=agent_local, agent_ids=agent_ids,
        buyer_shop=buyer_shop, buyer_after_sale=buyer_after_sale,
        c_shop=c_shop, c_buyer=c_buyer, c_day=c_day, c_start=c_start, c_topic=c_topic,
        c_after_sale=c_after_sale, c_agent1=c_agent1, c_agent2=c_agent2, c_transfer=c_transfer,
        c_transfer_round=c_transfer_round, c_bot=c_bot, c_never=c_never, c_greet=c_greet,
        c_rounds=c_rounds, c_special=c_special,
        r_conv=r_conv[idx], r_k=r_k[idx], r_start=r_start[idx], r_reply=r_reply[idx],
        r_agent=r_agent[idx], r_class=r_class[idx], r_last=r_last[idx], r_sys=r_sys[idx],
        m_conv=m_conv, m_round=m_round, m_sender=m_sender, m_time=m_time, m_pos=m_pos,
        m_agent=m_agent,
    )


def _conversation_ids(sim: _Sim) -> np.ndarray:
    """Plan conversation ids ``<folder>-YYYYMMDD-NNNN`` (numbered per shop and day)."""
    slugs = np.array([s.slug for s in sim.shops], dtype=object)[sim.c_shop]
    day_str = pd.Series(np.datetime64(sim.start, "D") + sim.c_day).dt.strftime("%Y%m%d").to_numpy(
        dtype=object)
    conv_no = pd.Series(np.ones(len(sim.c_shop), np.int64)).groupby(
        [sim.c_shop, sim.c_day]).cumsum().to_numpy()
    return _cat(slugs, "-", day_str, "-", np.asarray(_digits(conv_no, 4)))


def _content_index(rng: np.random.Generator, sim: _Sim, offset: np.ndarray, length: np.ndarray,
                   ordered_conv: np.ndarray) -> np.ndarray:
    """Index into the phrase pool for every message (systems get -1)."""
    conv = sim.m_conv
    rnd = sim.m_round
    k = sim.r_k[rnd]
    last = sim.r_last[rnd]
    multi = sim.c_rounds[conv] > 1
    after = sim.c_after_sale[conv]
    ordered = ordered_conv[conv]
    sender = sim.m_sender
    pos = sim.m_pos
    first_round = k == 0
    closing = last & multi & ~first_round
    b = sender == BUYER
    a = sender == AGENT
    kind = np.full(len(conv), K_A_FOLLOW, dtype=np.int64)
    # buyers
    kind = np.where(b & first_round & (pos == 0) & sim.c_greet[conv], K_GREET, kind)
    kind = np.where(b & first_round & ~((pos == 0) & sim.c_greet[conv]),
                    np.where(after, K_AS_ASK, K_ASK), kind)
    kind = np.where(b & ~first_round & ~closing, np.where(after, K_AS_FOLLOW, K_FOLLOW), kind)
    kind = np.where(b & closing, np.where(after, K_AS_CLOSE,
                                          np.where(ordered, K_CLOSE_YES, K_CLOSE_NO)), kind)
    # agents
    kind = np.where(a & first_round & (pos == 0) & sim.c_greet[conv] & ~after, K_A_OPEN, kind)
    kind = np.where(a & first_round & ~((pos == 0) & sim.c_greet[conv] & ~after),
                    np.where(after, K_A_AS, K_A_ANSWER), kind)
    kind = np.where(a & ~first_round & ~closing,
                    np.where(after, K_A_AS, np.where(pos == 0, K_A_FOLLOW, K_A_ANSWER)), kind)
    kind = np.where(a & closing, np.where(after, K_A_AS_CLOSE,
                                          np.where(ordered, K_A_CLOSE_YES, K_A_CLOSE_NO)), kind)
    kind = np.where(sender == BOT, K_BOT, kind)
    topic = sim.c_topic[conv]
    shop = sim.c_shop[conv]
    off = offset[kind, shop, topic]
    ln = length[kind, shop, topic]
    # consecutive messages of a round walk through the list (no immediate repeats)
    r0 = rng.integers(0, 1 << 20, len(sim.r_conv))[rnd] + 7 * sender
    idx = off + (r0 + pos) % ln
    return np.where(sender == SYSTEM, -1, idx)
