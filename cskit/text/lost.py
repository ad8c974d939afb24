"""Lost-sale reasons (询单流失原因) from buyers' chat text plus log signals.

Pipeline (docs/text.md has the full description and the lexicon format):

1. Each buyer message is normalised (NFKC, case-folded) and split into clauses at
   punctuation, spaces, message boundaries and ``clause_breaks`` words (但是, 就是 …).
2. Distinct messages, then distinct clauses, are scored once each.  The distinct
   clauses holding some lexicon word are joined with newlines and segmented by
   jieba **once** (one ``lcut`` call; the lexicon's words are in jieba's
   dictionary, so "太贵", "运费险", "再看看" come out whole).  Tokens are mapped to
   lexicon hits through their distinct values (a dictionary lookup per distinct
   token, not per row); regex patterns run column-wide (RE2 via pyarrow).
3. Per clause: is it a question (``?``, 吗/不/没 endings, question words, 贵不贵 /
   包不包邮 forms, 不会…吧)?  Is an evaluative word negated (a negator within
   ``negation_window`` tokens before it: 不贵, 不是太贵, 质量没问题)?  In a statement
   a negated evaluative word, a waived topic (不用运费险) or a reassurance (价格还行)
   cancels the clause; in a question it is a worry and counts (不会掉色吧).
4. A reason's score = Σ over clauses of its distinct matched words/patterns'
   weights × (``question_factor`` for questions).  ``fallback`` words (再看看)
   only count when no other text reason reached ``min_score``.  Log signals
   (未回复, 回复慢, 下单未付款) add their fixed scores.
5. Reasons with score ≥ ``min_score`` are listed (highest first); the primary is
   the highest, ties broken by the lexicon's ``priority``; ``其他`` when nothing.

Everything after segmentation is numpy/pandas over token and clause arrays.

Modules: steps 1-4 (the lexicon compiled, clauses, jieba once, the vectorised scorer) are
:mod:`cskit.text.lost_scoring`; the conversation rules (pre-sale days, agent context,
take-over) :mod:`cskit.text.lost_grammar`; evidence quotes :mod:`cskit.text.lost_quotes`.
This module holds :func:`classify` (step 5) and what uses it: service signals, summaries,
examples and the lost list.  Every name stays importable from here.
"""


from __future__ import annotations

import numpy as np
import pandas as pd

from cskit.text.lexicon import LostLexicon, load_lost_lexicon
from cskit.text.lost_grammar import _agent_context, _take_over, presale_days
from cskit.text.lost_quotes import NOT_A_QUOTE as _NOT_A_QUOTE  # noqa: F401 (voice uses it)
from cskit.text.lost_quotes import best_quotes
from cskit.text.lost_scoring import (  # noqa: F401 (re-exported: answers, tests, benchmarks)
    MEMO_MAX, _Compiled, _clause_scores, _compile, _is_question, _lookup, _message_scores,
    _scores_of, score_texts, split_clauses)
from cskit.text.mask import DIGITS as _QUOTE_MASK  # phone / order numbers in quotes

__all__ = ["classify", "reason_summary", "examples", "lost_list", "service_signals", "score_texts",
           "split_clauses", "KEY_COLUMNS", "SIGNAL_COLUMNS", "LIST_COLUMNS"]

KEY_COLUMNS = ("shop", "buyer_id", "date")
#: boolean signal columns of ``classify(signals=…)`` and the signal id they feed
SIGNAL_COLUMNS = {"unanswered": "unanswered", "slow": "slow", "unpaid_order": "unpaid"}
_SIGNAL_ALIASES = {"had_unpaid_order": "unpaid_order", "unpaid": "unpaid_order"}
_TEXT_COLUMNS = ("text", "texts", "content")


# ======================================================================================
# classify
# ======================================================================================
def _text_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in _TEXT_COLUMNS if c in frame.columns), None)


def _keys_of(*frames) -> list[str]:
    cols = None
    for f in frames:
        if f is None:
            continue
        missing = [k for k in ("shop", "buyer_id") if k not in f.columns]
        if missing:
            raise ValueError(f"frame lacks column(s): {', '.join(missing)}")
        have = [k for k in KEY_COLUMNS if k in f.columns]
        cols = have if cols is None else [k for k in cols if k in have]
    return cols or ["shop", "buyer_id"]


def _unit_codes(frames: list[pd.DataFrame], keys: list[str], n_defining: int
                ) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """The units (distinct keys of the first ``n_defining`` frames, sorted by key, NaN
    last) and, for every frame, the unit of each row (-1: a key no defining frame has).

    Keys are factorized column by column (sorted codes, combined into one integer and
    re-ranked after each column), not merged: string and date keys of millions of
    messages are hashed once each."""
    lens = [len(f) for f in frames]
    bounds = np.concatenate([[0], np.cumsum(lens)])
    comb = np.zeros(int(bounds[-1]), dtype=np.int64)
    for k in keys:
        vals = pd.concat([f[k] for f in frames], ignore_index=True)
        codes, uniq = pd.factorize(vals, sort=True)
        codes = np.where(codes < 0, len(uniq), codes).astype(np.int64)
        comb = comb * (len(uniq) + 1) + codes
        _, comb = np.unique(comb, return_inverse=True)  # keep it small, order kept
        comb = comb.astype(np.int64).ravel()
    n_all = int(comb.max()) + 1 if len(comb) else 0
    present = np.zeros(n_all, dtype=bool)
    present[comb[:bounds[n_defining]]] = True
    new = np.where(present, np.cumsum(present) - 1, -1)
    first = np.full(n_all, -1, dtype=np.int64)
    order = np.arange(len(comb))[::-1]
    first[comb[order]] = order  # first row of every key
    rows = first[present]
    allkeys = pd.concat([f[keys] for f in frames], ignore_index=True)
    units = allkeys.iloc[rows].reset_index(drop=True)
    return units, [new[comb[bounds[i]:bounds[i + 1]]] for i in range(len(frames))]


def _signal_frame(signals: pd.DataFrame | None, keys: list[str]) -> pd.DataFrame | None:
    if signals is None:
        return None
    s = signals.rename(columns={a: b for a, b in _SIGNAL_ALIASES.items()
                                if a in signals.columns and b not in signals.columns})
    for col in SIGNAL_COLUMNS:
        if col in s.columns:
            s[col] = s[col].fillna(False).astype(bool)
        else:
            s[col] = False
    extra = [col for col in s.columns if col not in keys and col not in SIGNAL_COLUMNS]
    agg = {col: "any" for col in SIGNAL_COLUMNS}
    agg.update({col: "first" for col in extra})
    return s.groupby(keys, sort=False, dropna=False).agg(agg).reset_index()


def classify(buyer_texts: pd.DataFrame, signals: pd.DataFrame | None = None,
             lexicon: LostLexicon | str | None = None) -> pd.DataFrame:
    """Lost-sale reasons per buyer (per buyer-day when a ``date`` column is given).

    ``buyer_texts``: columns shop, buyer_id, [date], and the text in ``text``,
    ``texts`` (lists) or ``content``; one row per message or per buyer.  With a
    ``sender`` column the buyer-day is one conversation: ``sender == "buyer"`` rows carry
    the concern, ``sender == "agent"`` rows are context (× ``grammar.agent_factor`` or the
    reason's own ``agent_factor``, only
    where the buyer raised something; a reason only the agent raised is listed only as
    the primary), other senders are ignored.  ``signals``
    (optional): shop, buyer_id, [date] and booleans ``slow``, ``unanswered``,
    ``unpaid_order`` (``had_unpaid_order`` is accepted); its other columns (for
    example ``agent_id``) are passed through.  ``lexicon``: a
    :class:`~cskit.text.lexicon.LostLexicon`, a TOML path, or None (packaged).

    One row per key found in either input, sorted by the key: the key columns,
    passed-through columns, ``reasons`` (display names, ';'-joined, highest score
    first), ``reason_ids`` (the same as ids), ``primary`` / ``primary_id`` (``其他``
    / ``other`` when nothing scored), ``n_reasons`` and ``score_<id>`` per reason
    and signal (floats).  A row with a date key of NaN/None is kept as such.
    """
    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    c = _compile(lex)
    keys = _keys_of(buyer_texts, signals)
    tcol = _text_column(buyer_texts)
    if tcol is None:
        raise ValueError("buyer_texts needs a text, texts or content column")
    bt = buyer_texts
    at = None  # the agents' turns: context, weighted by grammar.agent_factor
    if "sender" in bt.columns:
        is_buyer = (bt["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)
        if lex.grammar.agent_factor > 0:  # 0 reads buyer turns only, for every reason
            is_agent = (bt["sender"] == "agent").to_numpy(dtype=bool, na_value=False)
            at = bt[is_agent][keys + [tcol]]
        bt = bt[is_buyer]
    bt = bt[keys + [tcol]]
    if tcol == "texts":
        bt = bt.explode("texts")
        at = at.explode("texts") if at is not None else None
    sig = _signal_frame(signals, keys)

    # the units: keys with buyer text or a signal (an agent alone makes no unit)
    frames = [bt, sig if sig is not None else bt.iloc[:0]] + ([at] if at is not None else [])
    units, codes = _unit_codes(frames, keys, 2)
    n_units = len(units)
    ucode = codes[0]
    text_scores = score_texts(bt[tcol].reset_index(drop=True), ucode, n_units, lex)
    own = _take_over(text_scores, lex) > 0  # reasons the buyer raised themselves
    pre = presale_days(bt[tcol].reset_index(drop=True), ucode, n_units, lex)
    if at is not None and len(at):
        acode = codes[2]
        known = acode >= 0
        # …or the agent invites the buyer to buy (放心购买, 欢迎下单)
        pre |= presale_days(at[tcol].reset_index(drop=True), acode, n_units, lex,
                            lex.grammar.agent_presale_patterns)
        if known.any():
            ctx = score_texts(at[tcol].reset_index(drop=True)[known], acode[known], n_units, lex)
            text_scores = text_scores + _agent_context(ctx, text_scores, pre, lex)
    text_scores = _take_over(text_scores, lex)
    pf = np.array([r.presale_factor for r in lex.reasons])
    if n_units and (pf != 1).any():  # the buyer has not bought yet: reasons' presale_factor
        text_scores[pre] *= pf[None, :]
    # a reason the buyer never raised is listed only when it is the day's topic (the
    # primary): the agent's boilerplate (七天无理由, 运费险) adds no secondary reasons
    top = np.zeros_like(own)
    if n_units and text_scores.shape[1]:
        top[np.arange(n_units), text_scores.argmax(axis=1)] = True
    text_listed = (text_scores >= lex.grammar.min_score) & (own | top)

    k_sig = len(lex.signals)
    sig_scores = np.zeros((n_units, k_sig))
    out = units.copy()
    if sig is not None:
        scode = codes[1]  # one signal row per unit at most (grouped by key)
        for j, s in enumerate(lex.signals):
            col = next(k for k, v in SIGNAL_COLUMNS.items() if v == s.id)
            flag = np.zeros(n_units, dtype=bool)
            flag[scode] = sig[col].to_numpy(dtype=bool)
            sig_scores[flag, j] = s.score
        extra = [col for col in sig.columns if col not in keys and col not in SIGNAL_COLUMNS]
        for col in extra:
            vals = np.full(n_units, None, dtype=object)
            vals[scode] = sig[col].to_numpy(dtype=object)
            out[col] = vals
    S = np.concatenate([text_scores, sig_scores], axis=1)
    listed = np.concatenate([text_listed, sig_scores > 0], axis=1)

    ids = np.array(lex.ids, dtype=object)
    names = np.array([lex.name_of(i) for i in lex.ids], dtype=object)
    # order per row: score desc, then priority rank
    rank = np.broadcast_to(c.rank, S.shape)

    def _order(lst: np.ndarray) -> np.ndarray:
        key = np.where(lst, S, -np.inf)
        return np.lexsort((rank, -key), axis=-1) if S.size else np.zeros(S.shape, dtype=np.int64)

    order = _order(listed)
    as_other = np.array([r.counts_as_other for r in lex.reasons] + [False] * k_sig, dtype=bool)
    if as_other.any() and n_units:
        # platform/account/merchant business: a buyer-day it tops is 其他 (nothing
        # listed); elsewhere it is never listed itself
        won = listed.any(axis=1) & as_other[order[:, 0]]
        listed = listed & ~as_other[None, :]
        listed[won] = False
        order = _order(listed)
    srt_listed = np.take_along_axis(listed, order, axis=1)
    n_listed = listed.sum(axis=1)
    primary_col = order[:, 0] if S.shape[1] else np.zeros(n_units, dtype=np.int64)
    # the listed reasons in order, as one code row per buyer-day (-1 pads); the strings
    # are built once per distinct combination, not per buyer-day
    combo = np.where(srt_listed, order, -1)
    if n_units:
        uniq, inv = _distinct_rows(combo)
        u_names = np.array([";".join(names[c] for c in row if c >= 0) for row in uniq], dtype=object)
        u_ids = np.array([";".join(ids[c] for c in row if c >= 0) for row in uniq], dtype=object)
        reasons, rids = pd.Series(u_names[inv]), pd.Series(u_ids[inv])
    else:
        reasons = rids = pd.Series([], dtype=object)
    none = n_listed == 0
    out["reasons"] = reasons.where(~none, lex.other).to_numpy(dtype=object)
    out["reason_ids"] = rids.where(~none, "other").to_numpy(dtype=object)
    out["primary"] = np.where(none, lex.other, names[primary_col]).astype(object)
    out["primary_id"] = np.where(none, "other", ids[primary_col]).astype(object)
    out["n_reasons"] = n_listed.astype(np.int64)
    for j, rid in enumerate(lex.ids):
        out[f"score_{rid}"] = np.round(S[:, j], 3)
    return out


def _distinct_rows(combo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, row → distinct row) of a small-int matrix (-1 pads): each row as one
    int64 key and a 1-D unique (``np.unique(axis=0)`` sorts structured rows: slow)."""
    n, k = combo.shape
    base = k + 1
    if k and base ** k < 2 ** 62:
        weights = base ** np.arange(k - 1, -1, -1, dtype=np.int64)
        key = (combo.astype(np.int64) + 1) @ weights
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        return combo[first], np.asarray(inv).ravel()
    uniq, inv = np.unique(combo, axis=0, return_inverse=True)
    return uniq, np.asarray(inv).ravel()


# ======================================================================================
# signals from the reply annotation
# ======================================================================================
def service_signals(annotated: pd.DataFrame, threshold_s: float = 300,
                    counted_only: bool = True) -> pd.DataFrame:
    """Per buyer-day ``slow`` and ``unanswered`` from :func:`cskit.metrics.annotate`.

    ``unanswered``: the buyer's first (counted) message of the day never got a
    human reply — nobody answered them.  ``slow``: some counted message was
    answered, but after more than ``threshold_s`` seconds.  A message left
    unanswered at the end of a conversation that had been answered before
    ("好的谢谢") makes neither.  ``counted_only`` keeps to the rule's window and
    leaves out excluded buyers, as the reply-rate KPI does.
    Columns: shop, buyer_id, date, slow, unanswered.
    """
    a = annotated
    if counted_only and "counted" in a.columns:
        a = a[a["counted"].astype(bool)]
    cols = ["shop", "buyer_id", "date", "slow", "unanswered"]
    if a.empty:
        return pd.DataFrame({c: pd.Series([], dtype=bool if c in ("slow", "unanswered")
                                          else object) for c in cols})
    # integer codes and one lexsort instead of sorting and grouping string/date keys
    s_code, _ = pd.factorize(a["shop"])
    b_code, _ = pd.factorize(a["buyer_id"])
    t = a["sent_at"].to_numpy()
    if "date" in a.columns and np.issubdtype(t.dtype, np.datetime64) and not np.isnat(t).any():
        # annotate's date is the calendar day of sent_at: a day number, no date objects hashed
        d_code = t.astype("datetime64[D]").astype(np.int64)
        d_code = d_code - d_code.min()
    else:
        d_code, _ = pd.factorize(a["date"])
    order = np.lexsort((t, d_code, b_code, s_code))
    k = (s_code.astype(np.int64) * (b_code.max() + 2) + b_code) * (d_code.max() + 2) + d_code
    k = k[order]
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])  # first (earliest) row per buyer-day
    wait = pd.to_numeric(a["wait_s"], errors="coerce").to_numpy(dtype=float)[order]
    slow = np.maximum.reduceat((wait > threshold_s).astype(np.int8), start).astype(bool) \
        if len(start) else np.zeros(0, dtype=bool)
    rows = order[start]
    out = pd.DataFrame({"shop": a["shop"].to_numpy(dtype=object)[rows],
                        "buyer_id": a["buyer_id"].to_numpy(dtype=object)[rows],
                        "date": a["date"].to_numpy(dtype=object)[rows], "slow": slow,
                        "unanswered": np.isnan(wait[start])})
    return out.sort_values(["shop", "buyer_id", "date"], kind="stable").reset_index(drop=True)[cols]


# ======================================================================================
# summary and examples
# ======================================================================================
def _week_label(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates, errors="coerce")
    iso = d.dt.isocalendar()
    lab = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
    return lab.astype(object).where(d.notna(), None)


def reason_summary(classified: pd.DataFrame, by=("shop",),
                   lexicon: LostLexicon | str | None = None) -> pd.DataFrame:
    """Counts and shares of reasons per group.

    ``by``: columns of ``classified`` (``shop``, ``agent_id``, ``date`` …; ``week``
    is derived from ``date`` when absent).  One row per group and reason that is
    anybody's primary or listed reason: the group columns, ``reason_id``,
    ``reason``, ``lost_buyers`` (rows in the group), ``buyers`` (rows whose
    primary reason it is), ``share`` (buyers / lost_buyers), ``mentions`` (rows
    listing it at all) and ``mention_share``.  Sorted by group, then buyers
    (descending), then the lexicon's priority.
    """
    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    by = [by] if isinstance(by, str) else list(by)
    cl = classified.copy()
    if "week" in by and "week" not in cl.columns:
        if "date" not in cl.columns:
            raise ValueError("grouping by week needs a date column")
        cl["week"] = _week_label(cl["date"])
    missing = [b for b in by if b not in cl.columns]
    if missing:
        raise ValueError(f"classified frame lacks column(s): {', '.join(missing)}")
    cols = by + ["reason_id", "reason", "lost_buyers", "buyers", "share", "mentions",
                 "mention_share"]
    if cl.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    for b in by:
        cl[b] = cl[b].astype(object).where(cl[b].notna(), "")
    grp = cl.groupby(by, sort=True, dropna=False).size().rename("lost_buyers").reset_index()
    prim = cl.groupby(by + ["primary_id"], sort=False).size().rename("buyers").reset_index()
    prim = prim.rename(columns={"primary_id": "reason_id"})
    # mentions: split each distinct reason list once (per group), weighted by its rows
    comb = cl.groupby(by + ["reason_ids"], sort=False).size().rename("_n").reset_index()
    ex = comb.assign(reason_id=comb["reason_ids"].str.split(";")).explode("reason_id")
    ment = ex.groupby(by + ["reason_id"], sort=False)["_n"].sum().rename("mentions").reset_index()
    out = ment.merge(prim, on=by + ["reason_id"], how="outer").merge(grp, on=by, how="left")
    out["buyers"] = out["buyers"].fillna(0).astype(np.int64)
    out["mentions"] = out["mentions"].fillna(0).astype(np.int64)
    out["lost_buyers"] = out["lost_buyers"].astype(np.int64)
    out["share"] = out["buyers"] / out["lost_buyers"]
    out["mention_share"] = out["mentions"] / out["lost_buyers"]
    names = lex.names()
    out["reason"] = out["reason_id"].map(names).fillna(out["reason_id"])
    prio = {rid: i for i, rid in enumerate(names)}
    out["_p"] = out["reason_id"].map(prio).fillna(len(prio))
    out["_b"] = -out["buyers"]
    out = out.sort_values(by + ["_b", "_p"], kind="stable").reset_index(drop=True)
    return out[cols]


def examples(classified: pd.DataFrame, messages: pd.DataFrame, n: int = 3,
             lexicon: LostLexicon | str | None = None) -> pd.DataFrame:
    """Up to ``n`` real buyer quotes per primary reason.

    ``messages``: shop, buyer_id, content, and sent_at (a ``date`` is derived from it
    when the classified frame has a date key), optionally sender (only buyer rows
    are quoted).  For a text reason the quote is the buyer's message that scores
    highest for it; for 未回复 / 回复慢 / 下单未付款 / 其他 it is the buyer's last
    message.  Links and placeholders such as ``[图片]`` are never quoted, and a
    quote appears once per reason.  Buyers are taken by quote score (highest
    first), then by key.  Runs of 7+ digits (phones, order numbers) are masked
    as ``***``.  Columns:
    reason_id, reason, shop, buyer_id, date, sent_at, quote, score.
    """
    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    cols = ["reason_id", "reason", "shop", "buyer_id", "date", "sent_at", "quote", "score"]
    empty = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    if classified.empty or messages.empty or n <= 0:
        return empty
    keys = [k for k in KEY_COLUMNS if k in classified.columns]
    found = best_quotes(classified, messages, lex, keys, evidence_only=True)
    if found is None:
        return empty
    best, tcol = found
    best = best.sort_values(["primary_id", "score"] + keys, ascending=[True, False] +
                            [True] * len(keys), kind="stable")
    best = best.drop_duplicates(["primary_id", tcol])  # distinct quotes per reason
    best = best.groupby("primary_id", sort=False).head(n)
    names = lex.names()
    best = best.assign(reason_id=best["primary_id"], reason=best["primary_id"].map(names),
                       quote=best[tcol].astype(str).str.replace(_QUOTE_MASK, "***", regex=True))
    prio = {rid: i for i, rid in enumerate(names)}
    best = best.assign(_p=best["reason_id"].map(prio), _s=-best["score"])
    best = best.sort_values(["_p", "_s"] + keys, kind="stable")
    if "date" not in best.columns:
        best["date"] = None
    return best[cols].reset_index(drop=True)


#: columns of :func:`lost_list` (CSV/JSON keys; docs/text.md)
LIST_COLUMNS = ("shop", "date", "buyer_id", "agent_id", "outcome", "reason", "reasons", "quote",
                "sent_at", "reason_id", "reason_ids")


def lost_list(classified: pd.DataFrame, messages: pd.DataFrame,
              lexicon: LostLexicon | str | None = None) -> pd.DataFrame:
    """One row per lost buyer-day (the 回访 follow-up list).

    ``classified``: :func:`classify` output, optionally with the passed-through
    ``agent_id`` (first human replier) and ``outcome`` (``no_order`` 未下单 /
    ``unpaid_order`` 下单未付款) columns; ``messages``: as for :func:`examples`.
    Columns (:data:`LIST_COLUMNS`): shop, date, buyer_id, agent_id, outcome, reason
    (the primary, display name), reasons (all, ';'-joined, highest first), quote (one
    evidence message of the buyer: the one scoring highest for the primary reason, else
    the last one; links and placeholders never; 7+ digit runs as ``***``; None when the
    buyer wrote nothing quotable), sent_at (of the quote), reason_id, reason_ids.  A
    missing ``agent_id`` / ``outcome`` is None (unknown), never guessed.  Sorted by
    shop, date, buyer.
    """
    lex = lexicon if isinstance(lexicon, LostLexicon) else load_lost_lexicon(lexicon)
    keys = [k for k in KEY_COLUMNS if k in classified.columns]
    out = classified.copy()
    for col in ("agent_id", "outcome", "date"):
        if col not in out.columns:
            out[col] = None
    out = out.rename(columns={"primary_id": "reason_id"})
    out["reason"] = out["primary"]
    out["quote"] = None
    out["sent_at"] = pd.NaT
    if len(out) and not messages.empty:
        found = best_quotes(classified, messages, lex, keys, evidence_only=False)
        if found is not None:
            best, tcol = found
            out = out.reset_index(drop=True)
            rows = best["_row"].to_numpy()
            quote = np.full(len(out), None, dtype=object)
            quote[rows] = best[tcol].astype(str).str.replace(_QUOTE_MASK, "***",
                                                             regex=True).to_numpy(dtype=object)
            out["quote"] = quote
            at = pd.Series(pd.NaT, index=out.index, dtype=best["sent_at"].dtype) \
                if len(best) else out["sent_at"]
            at.iloc[rows] = best["sent_at"].to_numpy()
            out["sent_at"] = at
    out = out.sort_values([k for k in ("shop", "date", "buyer_id") if k in keys],
                          kind="stable", na_position="last")
    return out[list(LIST_COLUMNS)].reset_index(drop=True)
