"""Store → text frames: the lost buyer-days and the agent messages that `cskit lost`,
`cskit qc` and the weekly report classify.  Reads the store one shop at a time."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cskit import schema
from cskit.errors import NoDataError
from cskit.metrics.horizon import ATTRIBUTION_LEAD_DAYS, REPLY_HORIZON_DAYS

__all__ = ["lost_frames", "qc_frames", "classify_lost_days", "TEXT_MESSAGE_COLUMNS", "WINDOW_DAYS", "LOOKBACK_DAYS"]

#: messages columns the text commands read
TEXT_MESSAGE_COLUMNS = ["shop", "conversation_id", "buyer_id", "agent_id", "sender", "sent_at",
                        "content", "source_file", "source_row"]
#: replies may come after the range ends (up to the reply horizon); the lead-in before it
#: tells a buyer's last agent (cskit/metrics/horizon.py), as `cskit kpi` reads them
REPLY_SLACK = dt.timedelta(days=REPLY_HORIZON_DAYS)
#: attribution window and after-sale lookback of `cskit lost` (days)
WINDOW_DAYS = 3
LOOKBACK_DAYS = 15


def _read_messages(store, shop: str, period, slack: dt.timedelta = REPLY_SLACK) -> pd.DataFrame:
    since = None if period.since is None else \
        period.since - dt.timedelta(days=ATTRIBUTION_LEAD_DAYS)
    # text columns as categoricals: each distinct text (and id) is held and classified once
    return store.read(schema.MESSAGES, shops=[shop], since=since, until=period.until,
                      columns=TEXT_MESSAGE_COLUMNS, time_slack=slack, categorical=True)


def _in_period(ts: pd.Series, period) -> np.ndarray:
    d = pd.to_datetime(ts, errors="coerce").dt.normalize()
    m = d.notna().to_numpy(dtype=bool).copy()
    if period.since is not None:
        m &= (d >= pd.Timestamp(period.since)).to_numpy(dtype=bool, na_value=False)
    if period.until is not None:
        m &= (d <= pd.Timestamp(period.until)).to_numpy(dtype=bool, na_value=False)
    return m


def _no_messages(store, period) -> NoDataError:
    return NoDataError("no chat messages for {period} in {store}",
                       hint="check --since/--until/--week and --shop; `cskit ingest` first", period=period, store=store.root)


def _lost_population(msgs: pd.DataFrame, orders: pd.DataFrame, period,
                     as_of=None, excluded=None) -> tuple[pd.DataFrame, str]:
    """Lost buyer-days: shop, buyer_id, date, agent_id, had_unpaid_order; and the method.
    ``as_of``: the store's data end (pending windows are judged against it)."""
    try:
        from cskit.metrics.conversion import lost_buyers
    except ImportError:
        lost_buyers = None
    if lost_buyers is not None:
        lost = lost_buyers(msgs, orders, period.since, period.until, window_days=WINDOW_DAYS,
                           lookback_days=LOOKBACK_DAYS, anchor="order", as_of=as_of,
                           excluded=excluded)
        if "pending" in lost.columns:  # the window is still open: not lost (yet)
            lost = lost[~lost["pending"].astype(bool)]
        return lost.reset_index(drop=True), "conversion"
    return _served_without_orders(msgs, orders, period), "served-no-order"


def _served_without_orders(msgs: pd.DataFrame, orders: pd.DataFrame, period) -> pd.DataFrame:
    """Fallback: buyer-days with ≥1 human agent message and no order of the buyer at all."""
    m = msgs[msgs["sender"].isin(["buyer", "agent"]).to_numpy(dtype=bool, na_value=False)]
    m = m[_in_period(m["sent_at"], period)]
    m = m.assign(date=pd.to_datetime(m["sent_at"]).dt.date)
    keys = ["shop", "buyer_id", "date"]
    buyer_days = m.loc[m["sender"] == "buyer", keys].drop_duplicates()
    agent = m[m["sender"] == "agent"].sort_values("sent_at", kind="stable")
    served = agent.groupby(keys, sort=False)["agent_id"].last().reset_index()
    lost = buyer_days.merge(served, on=keys, how="inner")
    if len(orders):
        ordered = orders[["shop", "buyer_id"]].dropna().drop_duplicates()
        lost = lost.merge(ordered.assign(_o=True), on=["shop", "buyer_id"], how="left")
        lost = lost[lost["_o"].isna()].drop(columns="_o")
    lost["had_unpaid_order"] = False
    return lost.sort_values(["shop", "date", "buyer_id"], kind="stable").reset_index(drop=True)


def lost_frames(store, *, shops=None, period, lexicon=None, rule=None, left_out=None):
    """Per shop: read, find lost buyer-days, classify.  Returns (classified, buyer
    messages of the lost buyer-days, method).

    A shop whose orders cannot tell whether a buyer bought (no buyer ids, or no orders
    covering the period: :mod:`cskit.metrics.coverage`) is left out; ``left_out`` (a
    dict) then gets ``{shop: {"reason", "last", "buyer_days"}}``, ``buyer_days`` the
    served buyer-days without a known order that were not counted as lost."""
    from cskit.kpi import data_ends, explain_unknown, read_excluded, select_shops
    from cskit.metrics import get_rule
    from cskit.metrics.coverage import shop_unknown
    from cskit.text.lexicon import LostLexicon, load_lost_lexicon

    # a bad --lexicon fails before any reading
    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    rule = rule or get_rule("pdd5")
    shops = select_shops(store, shops)
    keys = ["shop", "buyer_id", "date"]
    classified, texts, method, seen = [], [], "served-no-order", 0
    for shop in shops:
        # messages up to the end of the last attribution window: replies, and the data
        # end that tells a closed window from a pending one
        msgs = _read_messages(store, shop, period,
                              max(REPLY_SLACK, dt.timedelta(days=WINDOW_DAYS + 1)))
        if msgs.empty:
            continue
        seen += int(_in_period(msgs["sent_at"], period).sum())
        since = period.since - dt.timedelta(days=LOOKBACK_DAYS + 1) if period.since else None
        orders = store.read(schema.ORDERS, shops=[shop], since=since, until=period.until,
                            time_slack=dt.timedelta(days=WINDOW_DAYS + 1))
        lost, method = _lost_population(msgs, orders, period, data_ends(store, [shop])[shop],
                                        read_excluded(store, shop))
        unknown = shop_unknown(msgs, orders, shop, period.since, period.until)
        if unknown is not None:
            unknown = explain_unknown(store, {shop: unknown}).get(shop)
        if unknown is not None:
            if left_out is not None and len(lost):
                left_out[shop] = {**unknown, "buyer_days": int(len(lost))}
            continue
        if lost.empty:
            continue
        cl, buyer_texts = classify_lost_days(msgs, lost, read_excluded(store, shop), lex, rule)
        classified.append(cl)
        texts.append(buyer_texts)
        del msgs
    if seen == 0:
        raise _no_messages(store, period)
    if not classified:
        return pd.DataFrame(columns=keys + ["agent_id", "outcome", "reasons", "reason_ids",
                                            "primary", "primary_id", "n_reasons"]), \
            pd.DataFrame(columns=["shop", "buyer_id", "sent_at", "content"]), method
    return (pd.concat(classified, ignore_index=True), pd.concat(texts, ignore_index=True),
            method)


def classify_lost_days(msgs: pd.DataFrame, lost: pd.DataFrame, excluded, lex, rule):
    """Classify the lost buyer-days ``lost`` (shop, buyer_id, date, agent_id,
    had_unpaid_order) of one shop's messages ``msgs``, with the service signals (slow,
    unanswered) of ``rule``: (classified, the buyer messages of those days).  `cskit lost`
    and `cskit products` share it."""
    from cskit.metrics import annotate
    from cskit.text.lost import service_signals

    keys = ["shop", "buyer_id", "date"]
    # the reply annotation is per shop and buyer: only the lost buyers' messages
    mine = msgs["buyer_id"].isin(pd.unique(lost["buyer_id"])).to_numpy(dtype=bool)
    ann = annotate(msgs if mine.all() else msgs[mine], rule, excluded)
    sig = service_signals(ann, rule.threshold_s)
    lost = lost[keys + ["agent_id", "had_unpaid_order"]].merge(sig, on=keys, how="left")
    lost = lost.rename(columns={"had_unpaid_order": "unpaid_order"})
    for c in ("slow", "unanswered", "unpaid_order"):
        lost[c] = lost[c].astype("boolean").fillna(False).astype(bool)
    # 未下单 / 下单未付款: passed through classify as an extra column
    lost["outcome"] = np.where(lost["unpaid_order"].to_numpy(dtype=bool), "unpaid_order",
                               "no_order").astype(object)
    # the buyer's turns carry the concern; the agents' turns that day are context.
    # Classified per shop (memory stays one shop's); a text met in an earlier shop is
    # not scored again (cskit.text.lost keeps the distinct texts' scores)
    return _classify_lost(msgs, lost, keys, lex)


def _classify_lost(msgs: pd.DataFrame, lost: pd.DataFrame, keys: list[str], lex):
    """Classify one shop's lost buyer-days: (classified, the buyer messages of those days)."""
    return _classify_days([_lost_days(msgs, lost, keys, 0)], keys, lex)


def _lost_days(msgs: pd.DataFrame, lost: pd.DataFrame, keys: list[str], offset: int,
               shop_code: int = 0):
    """One shop's lost buyer-days as integer codes: (chat, signals, buyer ids, buyer texts,
    shop name).

    ``chat``: the buyer and agent messages of those days — shop (``shop_code``; shops
    are taken in order), buyer_id (an integer code, ``offset`` on: codes stay distinct
    over shops), date (a day number), sender,
    content (categoricals as read); ``signals``: ``lost`` with the same codes; the ids of
    the codes (from ``offset``); the buyer messages with their ids, for quotes.

    Speed (3 M messages): buyers are integer codes and days datetime64 integers while
    joining and classifying; only the classified buyer-days get their ids and Python
    dates back."""
    is_chat = msgs["sender"].isin(["buyer", "agent"]).to_numpy(dtype=bool, na_value=False)
    chat = msgs.loc[is_chat, ["shop", "buyer_id", "sender", "sent_at", "content"]]
    b_code, b_uniq = pd.factorize(chat["buyer_id"])
    b_uniq = np.asarray(b_uniq, dtype=object)
    day = chat["sent_at"].to_numpy().astype("datetime64[D]").astype(np.int64)
    l_code = pd.Index(b_uniq).get_indexer(lost["buyer_id"])
    no_chat = l_code < 0  # lost buyer-days without a message here: codes of their own
    l_code[no_chat] = len(b_uniq) + np.arange(int(no_chat.sum()))
    ids = np.concatenate([b_uniq, lost["buyer_id"].to_numpy(dtype=object)[no_chat]])
    l_day = pd.to_datetime(lost["date"]).to_numpy().astype("datetime64[D]").astype(np.int64)
    c_key = b_code.astype(np.int64) * 100_000 + day
    keep = (b_code >= 0) & np.isin(c_key, l_code * 100_000 + l_day)
    chat = chat[keep]
    shop = lost["shop"].iloc[0] if len(lost) else None
    frame = pd.DataFrame({"shop": np.full(int(keep.sum()), shop_code, dtype=np.int64),
                          "buyer_id": b_code[keep].astype(np.int64) + offset, "date": day[keep],
                          "sender": chat["sender"].reset_index(drop=True),
                          "content": chat["content"].reset_index(drop=True)})
    sig = lost.drop(columns=["shop", "buyer_id", "date"]).assign(
        shop=shop_code, buyer_id=l_code + offset, date=l_day)
    buyer = (chat["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)
    texts = chat.loc[buyer, ["shop", "buyer_id", "sent_at", "content"]]
    return frame, sig[keys + [c for c in sig.columns if c not in keys]], ids, \
        texts.astype({c: "str" for c in ("shop", "buyer_id", "content")}), shop


def _concat_codes(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Row-wise concat that keeps categoricals categorical (their categories united; a
    plain concat of categoricals with different categories makes Python strings)."""
    from pandas.api.types import union_categoricals

    if len(frames) == 1:
        return frames[0]
    out = {}
    for col in frames[0].columns:
        parts = [f[col] for f in frames]
        if all(isinstance(p.dtype, pd.CategoricalDtype) for p in parts):
            out[col] = pd.Series(union_categoricals(parts, ignore_order=True))
        else:
            out[col] = pd.concat(parts, ignore_index=True)
    return pd.DataFrame(out)


def _classify_days(days: list, keys: list[str], lex):
    """Classify the lost buyer-days of :func:`_lost_days` (all shops in one call):
    (classified with ids and dates back, the buyer messages of those days)."""
    from cskit.text.lost import classify

    frame = _concat_codes([d[0] for d in days])
    sig = pd.concat([d[1] for d in days], ignore_index=True)
    ids = np.concatenate([d[2] for d in days])
    shops = np.array([d[4] for d in days], dtype=object)
    cl = classify(frame, sig, lexicon=lex)
    cl["shop"] = shops[cl["shop"].to_numpy(dtype=np.int64)]
    cl["buyer_id"] = ids[cl["buyer_id"].to_numpy(dtype=np.int64)]
    cl["date"] = pd.to_datetime(cl["date"].to_numpy(dtype=np.int64).astype("datetime64[D]")).date
    return cl, pd.concat([d[3] for d in days], ignore_index=True)


def qc_frames(store, *, shops=None, period, rules=None, rule=None, review=False):
    """Per shop: flags and the agent messages inspected.  Returns (flags, agent messages).
    ``review``: the review-tier flags too, with a ``tier`` column (:func:`cskit.text.qc.inspect`)."""
    from cskit.kpi import read_excluded, select_shops
    from cskit.metrics import get_rule
    from cskit.metrics.reply import late_annotation
    from cskit.text.lexicon import QCRules, load_qc_rules
    from cskit.text.qc import inspect

    qc = rules if isinstance(rules, QCRules) else load_qc_rules(rules)
    rule = rule or get_rule("pdd5")
    flags, agents, seen = [], [], 0
    for shop in select_shops(store, shops):
        msgs = _read_messages(store, shop, period)
        if msgs.empty:
            continue
        inside = _in_period(msgs["sent_at"], period)
        seen += int(inside.sum())
        agent = msgs.loc[inside & (msgs["sender"] == "agent").to_numpy(dtype=bool, na_value=False),
                         ["shop", "agent_id", "sender"]]
        late = None
        if qc.late_rule() is not None:
            ann = late_annotation(msgs, rule, read_excluded(store, shop))  # counted & late
            late = ann[_in_period(ann["sent_at"], period)][["shop", "buyer_id", "sent_at",
                                                             "wait_s", "agent"]]
            late = late.assign(content=msgs.loc[late.index, "content"].to_numpy())
        # buyers' messages too: the context rules look at the buyer's question before
        flags.append(inspect(msgs if inside.all() else msgs[inside], qc, late=late,
                             review=review))
        agents.append(agent)
    if seen == 0:
        raise _no_messages(store, period)
    f = pd.concat(flags, ignore_index=True) if flags else inspect(
        pd.DataFrame(columns=["sender", "content"]), qc, review=review)
    a = pd.concat(agents, ignore_index=True) if agents else \
        pd.DataFrame(columns=["shop", "agent_id", "sender"])
    return f, a
