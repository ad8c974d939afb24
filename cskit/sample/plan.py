"""The full sample plan: :func:`generate` (chats, orders, excluded buyers and the truth)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

from .base import (
    AGENT,
    BUYER,
    DAY,
    DEFAULT_SEED,
    DEFAULT_START,
    SENDER_NAMES,
    SYSTEM,
    WINDOW,
    _cat,
    _digits,
    _to_dt,
)
from .ids import _NICK_A, _NICK_B, _buyer_ids
from .layout import (
    FMT_CANONICAL,
    FMT_GBK_CSV,
    FMT_PDD_JSON,
    FMT_QIANNIU,
    FMT_XLSX,
    SampleData,
    _day_format,
    _message_file,
)
from .orders import (
    _is_excluded,
    _lost_reasons,
    _order_files,
    _plan_excluded,
    _plan_orders,
)
from .answers import plant_answers
from .phrases import AFTER_TOPICS, GREETINGS, PRE_TOPICS, _phrase_table
from .promises import plant_promises
from .products import plant_products
from .shops import _MAIN, _TINY, ShopSpec, _spec
from .simulation import SPECIALS, _content_index, _conversation_ids, _Sim, _simulate


def generate(seed: int = DEFAULT_SEED, *, shops: int = 2, agents_per_shop: int = 3,
             days: int = 14, start: date = DEFAULT_START, buyers: int = 3000,
             tiny_shops: bool = True) -> SampleData:
    """Plan ``days`` days of chats, orders and excluded buyers (fully deterministic).

    ``shops`` (1 or 2) main shops — 花语家居旗舰店 (pdd) and 潮流服饰专营店 (taobao) —
    share ``buyers`` chatting buyers; ``tiny_shops`` adds a small JD and a small
    Douyin shop (about 3 % of that traffic each) so every supported format appears.
    """
    if not 1 <= shops <= len(_MAIN):
        raise ValueError(f"shops must be 1..{len(_MAIN)}")
    if days < 1 or buyers < 10 or agents_per_shop < 1:
        raise ValueError("days ≥ 1, buyers ≥ 10 and agents_per_shop ≥ 1 are required")
    rng = np.random.default_rng(seed)
    specs = [_spec(r, agents_per_shop) for r in _MAIN[:shops]]
    if tiny_shops:
        specs += [_spec(r, 2) for r in _TINY]
    main_share = np.array([s.share for s in specs[:shops]])
    n_main = np.round(buyers * main_share / main_share.sum()).astype(np.int64)
    n_tiny = [max(12, int(round(buyers * s.share))) for s in specs[shops:]]
    n_buyers = np.concatenate([n_main, np.array(n_tiny, dtype=np.int64)])
    sim = _simulate(rng, specs, n_buyers, start, days, specials=True)

    # ---- buyer ids (chatting buyers first, then silent buyers per shop)
    B = len(sim.buyer_shop)
    buyer_id = np.empty(B, dtype=object)
    nick = np.empty(B, dtype=object)
    spare = []  # ids for silent buyers and old 黑名单 entries, drawn with the chat buyers'
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(sim.buyer_shop == s)
        ids = _buyer_ids(rng, spec, len(sel) + len(sel) // 2 + 20, nicknames=True)
        buyer_id[sel] = ids[: len(sel)]
        spare.append(ids[len(sel):])
        nick[sel] = _cat(_NICK_A[rng.integers(0, len(_NICK_A), len(sel))],
                         _NICK_B[rng.integers(0, len(_NICK_B), len(sel))])

    truth_bd = _truth_buyer_days(sim, buyer_id)
    excluded = _plan_excluded(rng, specs, truth_bd, start, spare)
    truth_bd["excluded"] = _is_excluded(truth_bd, excluded)
    orders, order_extra, truth_orders, ordered_conv = _plan_orders(rng, sim, specs, buyer_id,
                                                                   truth_bd, start, days, spare)
    truth_bd = _lost_reasons(truth_bd, truth_orders)

    # ---- messages
    pool, offset, length = _phrase_table(specs)
    cidx = _content_index(rng, sim, offset, length, ordered_conv)
    pool, cidx, answers = plant_answers(seed, sim, pool, cidx, truth_bd, orders)  # issue 16
    messages, notes, files, mextra = _sample_messages(rng, sim, specs, buyer_id, nick, pool,
                                                      cidx, start, days)
    messages, promises = plant_promises(seed, messages, mextra["conv"].to_numpy(),
                                        np.asarray(sim.c_after_sale, dtype=bool), orders)
    messages, product_refs = plant_products(seed, specs, messages, mextra["conv"].to_numpy(),
                                            truth_bd, truth_orders, orders)
    truth_bd = truth_bd.drop(columns=["_conv"])
    from .voice import plant_voice  # the buyers' voice (issue 15): replaced buyer lines
    truth_voice = plant_voice(messages, truth_bd, seed)
    from .dunning import plant_dunning  # 催付 (issue 18): orders created inside the chat
    messages, orders, order_extra, truth_orders, dunning = plant_dunning(
        seed, messages, mextra["conv"].to_numpy(), orders, order_extra, truth_orders, truth_bd)
    order_files = _order_files(orders, specs)
    slug_of = {s.name: s.slug for s in specs}
    excl_files = (excluded["shop"].map(slug_of) + "/黑名单.csv").astype(object)
    return SampleData(seed=seed, start=start, days=days, shops=specs, messages=messages,
                      orders=orders, excluded=excluded,
                      truth={"buyer_days": truth_bd, "orders": truth_orders,
                             "promises": promises, "answers": answers,
                             "product_refs": product_refs, "voice": truth_voice,
                             "dunning": dunning},
                      notes=notes, message_files=files, message_extra=mextra,
                      order_files=order_files,
                      excluded_files=excl_files, order_extra=order_extra)


def _truth_buyer_days(sim: _Sim, buyer_id: np.ndarray) -> pd.DataFrame:
    """Per conversation (= buyer-day): the PDD-rule outcome computed from the plan."""
    b = sim.m_sender == BUYER
    conv = sim.m_conv[b]
    t = sim.m_time[b]
    reply = sim.r_reply[sim.m_round[b]]
    tod = t % DAY
    in_win = (tod >= WINDOW[0]) & (tod < WINDOW[1])
    wait = np.where(reply >= 0, reply - t, -1)
    C = len(sim.c_shop)
    late_msg = in_win & ((reply < 0) | (wait > 300))
    f = pd.DataFrame({"conv": conv, "in_win": in_win, "late": late_msg,
                      "wait": np.where(in_win & (reply >= 0), wait, np.nan),
                      "t": t})
    g = f.groupby("conv")
    in_window = g["in_win"].any().reindex(range(C), fill_value=False).to_numpy()
    late = g["late"].any().reindex(range(C), fill_value=False).to_numpy()
    max_wait = g["wait"].max().reindex(range(C)).to_numpy()
    n_buyer_msgs = g.size().reindex(range(C), fill_value=0).to_numpy()
    first_t = g["t"].min().reindex(range(C)).to_numpy()
    # first human reply of the conversation and who gave it; last agent
    ag = sim.m_sender == AGENT
    fa = pd.DataFrame({"conv": sim.m_conv[ag], "t": sim.m_time[ag], "agent": sim.m_agent[ag]})
    fa = fa.sort_values(["conv", "t"], kind="stable")
    ga = fa.groupby("conv")
    first_agent = ga["agent"].first().reindex(range(C), fill_value=-1).to_numpy()
    last_agent = ga["agent"].last().reindex(range(C), fill_value=-1).to_numpy()
    first_reply = ga["t"].first().reindex(range(C), fill_value=-1).to_numpy()
    last_msg = pd.Series(sim.m_time).groupby(sim.m_conv).max().reindex(range(C)).to_numpy()
    rounds_slow = pd.Series(sim.r_class == 2).groupby(sim.r_conv).any().reindex(
        range(C), fill_value=False).to_numpy()
    aid = np.append(sim.agent_ids, None)
    names = np.array([s.name for s in sim.shops], dtype=object)
    platforms = np.array([s.platform for s in sim.shops], dtype=object)
    topics = np.where(sim.c_after_sale, np.array(AFTER_TOPICS, dtype=object)[
        np.minimum(sim.c_topic, len(AFTER_TOPICS) - 1)],
        np.array(PRE_TOPICS, dtype=object)[sim.c_topic])
    special = np.where(sim.c_special >= 0,
                       np.array([s[0] for s in SPECIALS] + [""], dtype=object)[sim.c_special], None)
    return pd.DataFrame({
        "shop": names[sim.c_shop], "platform": platforms[sim.c_shop],
        "buyer_id": buyer_id[sim.c_buyer],
        "date": (np.datetime64(sim.start, "D") + sim.c_day).astype("datetime64[s]"),
        "conversation_id": _conversation_ids(sim),
        "first_msg_at": _to_dt(first_t),
        "last_msg_at": _to_dt(last_msg),
        "in_window": in_window,
        "after_sale": sim.c_after_sale,
        "excluded": False,
        "late": late,  # PDD default rule: an in-window message waited > 300 s or got no reply
        "never_answered": sim.c_never.copy(),
        "planned_slow": rounds_slow,
        "max_wait_s": max_wait,
        "first_response_s": np.where(first_reply >= 0, first_reply - first_t, np.nan),
        "agent_id": aid[np.where(first_agent >= 0, first_agent, len(aid) - 1)],
        "last_agent_id": aid[np.where(last_agent >= 0, last_agent, len(aid) - 1)],
        "n_rounds": sim.c_rounds, "n_buyer_msgs": n_buyer_msgs,
        "bot_replied": sim.c_bot.copy(), "transferred": sim.c_transfer.copy(),
        "topic": topics, "special": special,
        "_conv": np.arange(C),
    })


def _sample_messages(rng: np.random.Generator, sim: _Sim, specs: Sequence[ShopSpec],
                     buyer_id: np.ndarray, nick: np.ndarray, pool: pa.Array, cidx: np.ndarray,
                     start: date, days: int):
    """Canonical messages (as the files carry them), Qianniu noise notes, file layout."""
    n = len(sim.m_conv)
    shop_idx = sim.c_shop[sim.m_conv]
    conv_day = sim.c_day[sim.m_conv]
    fmt_table = np.array([[_day_format(s, d, days) for d in range(days)] for s in specs],
                         dtype=object)
    file_table = np.array([[_message_file(s, fmt_table[i, d], start + timedelta(days=d), days,
                                          start) for d in range(days)]
                           for i, s in enumerate(specs)], dtype=object)
    fmt = fmt_table[shop_idx, conv_day]
    # a transfer notice in a Qianniu transcript carries the time of the header above it
    t = sim.m_time.copy()
    sys_q = (sim.m_sender == SYSTEM) & (fmt == FMT_QIANNIU)
    if sys_q.any():
        bsel = sim.m_sender == BUYER
        last_b = pd.Series(sim.m_time[bsel]).groupby(sim.m_round[bsel]).max()
        t[sys_q] = last_b.reindex(sim.m_round[sys_q]).to_numpy()
    # sort: shop, time, then construction order (buyer < bot < system < agent)
    order = np.lexsort((np.arange(n), t, shop_idx))
    conv = sim.m_conv[order]
    sender = sim.m_sender[order]
    t = t[order]
    shop_idx = shop_idx[order]
    fmt = fmt[order]
    agent = sim.m_agent[order]
    files = file_table[shop_idx, conv_day[order]]
    content = np.asarray(pool.take(pa.array(np.maximum(cidx[order], 0))), dtype=object)
    aid = np.append(sim.agent_ids, None)
    agent_id = aid[np.where(agent >= 0, agent, len(aid) - 1)]
    robots = np.array([s.robot_id for s in specs], dtype=object)
    agent_id = np.where(agent == -2, robots[shop_idx], agent_id)
    sysm = sender == SYSTEM
    if sysm.any():
        content[sysm] = _cat("由 ", sim.agent_ids[sim.c_agent1[conv[sysm]]], " 转交给 ",
                             sim.agent_ids[sim.c_agent2[conv[sysm]]])
    platform = np.array([s.platform for s in specs], dtype=object)[shop_idx]
    pdd = fmt == FMT_PDD_JSON
    can = fmt == FMT_CANONICAL
    # images: a few buyer messages on PDD (a picture URL) and in the canonical CSV ("[图片]")
    img = (sender == BUYER) & (rng.random(n) < 0.04) & (pdd | can)
    img &= ~np.isin(content, np.array(GREETINGS, dtype=object)) & ~(sim.c_special[conv] >= 0)

    # ids the formats carry: PDD msg_id, 消息序号 of the tabular exports, canonical ids
    msg_id = np.full(n, None, dtype=object)
    for s, spec in enumerate(specs):
        sel = np.flatnonzero(shop_idx == s)
        if spec.platform == "pdd":
            ids = 7_301_234_000_000_000_000 + np.arange(len(sel), dtype=np.int64) * 1000 + \
                rng.integers(0, 1000, len(sel))
            msg_id[sel] = np.asarray(pa.array(ids).cast(pa.string()), dtype=object)
        elif spec.platform in ("jd", "douyin"):
            msg_id[sel] = _cat(spec.platform, "-", np.asarray(_digits(np.arange(len(sel)) + 1, 7)))
    tab = np.isin(fmt, [FMT_XLSX, FMT_GBK_CSV])
    seq = pd.Series(np.ones(n, dtype=np.int64)).groupby(conv).cumsum().to_numpy()
    msg_id = np.where(tab, seq.astype(str).astype(object), msg_id)
    conversation_id = np.where(can, _conversation_ids(sim)[conv], None)

    msg_type = np.full(n, "text", dtype=object)
    msg_type[pdd] = "0"
    msg_type[pdd & img] = "1"
    msg_type[pdd & sysm] = "31"
    msg_type[(fmt == FMT_QIANNIU) & sysm] = "transfer"
    msg_type[can & img] = "image"
    msg_type[can & sysm] = "transfer"
    if (pdd & img).any():
        day_of = pd.Series(_to_dt(t[pdd & img])).dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
        content[pdd & img] = _cat("https://img.pddpic.com/mms-material-img/", day_of, "/",
                                  msg_id[pdd & img], ".jpeg")
    content[can & img] = "[图片]"

    names = np.array([s.name for s in specs], dtype=object)
    messages = pd.DataFrame({
        "shop": names[shop_idx], "platform": platform, "conversation_id": conversation_id,
        "buyer_id": buyer_id[sim.c_buyer[conv]], "agent_id": agent_id,
        "sender": SENDER_NAMES[sender], "sent_at": _to_dt(t), "content": content,
        "msg_type": msg_type, "msg_id": msg_id,
    })
    files = pd.Series(files, index=messages.index, dtype=object)
    extra = pd.DataFrame({"nick": nick[sim.c_buyer[conv]], "conv": conv}, index=messages.index)

    # Qianniu noise lines (not messages): recalls after a buyer message, 当前用户来自 before
    # the first message of a conversation
    q = fmt == FMT_QIANNIU
    recall = np.flatnonzero(q & (sender == BUYER) & (rng.random(n) < 0.03))
    first = np.flatnonzero(q & ~pd.Series(conv).duplicated().to_numpy() & (rng.random(n) < 0.2))
    notes = pd.DataFrame({
        "file": np.concatenate([files.to_numpy()[recall], files.to_numpy()[first]]),
        "row": np.concatenate([recall, first]),
        "where": ["after"] * len(recall) + ["before"] * len(first),
        "text": np.concatenate([
            _cat(buyer_id[sim.c_buyer[conv[recall]]], " 撤回了一条消息") if len(recall) else
            np.array([], dtype=object),
            np.where(rng.random(len(first)) < 0.7, "当前用户来自 手机淘宝", "当前用户来自 淘宝网页版")
            .astype(object)]),
    })
    return messages, notes, files, extra
