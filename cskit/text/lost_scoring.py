"""The lost-sale scorer: lexicon words and patterns → a score per reason per text unit.

Steps 1-4 of the pipeline described in :mod:`cskit.text.lost` (docs/text.md has the
lexicon format): the lexicon compiled once (:func:`_compile`), messages split into
clauses (:func:`split_clauses`), the clause grammar (questions, negators within
``negation_window``, waivers, reassurances, 贵不贵 forms) and the vectorised machinery
that makes it fast: distinct messages, then distinct clauses, scored once each; jieba
called once over the clauses holding some lexicon word; sums back to units with
``np.bincount`` (:func:`score_texts`).  Conversation-level rules (pre-sale days, agent
context, take-over) are in :mod:`cskit.text.lost_grammar`; classify and the lists that
use these scores in :mod:`cskit.text.lost`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.text._regex import alternation, as_arrow, contains, distinct, escape, normalise, replace
from cskit.text.jieba_setup import tokenizer
from cskit.text.lexicon import LostLexicon, load_lost_lexicon

__all__ = ["MEMO_MAX", "score_texts", "split_clauses"]

#: clause separators (after NFKC: ，→, ！→! ；→; ：→:); "?" stays with its clause
_SEP = r"[,!;~、\s:。.…\"'“”()（）\[\]【】<>《》|/\x1f]+"
_QMARK, _DOT = "\x1f", "\x1e"



# ======================================================================================
# compiled lexicon
# ======================================================================================
@dataclass
class _Compiled:
    lex: LostLexicon
    n_text: int  # number of text reasons (columns 0..n_text-1; signals follow)
    words: frozenset
    term_table: dict  # token → list of (reason index, weight, kind, term id)
    negator_prefixes: tuple  # longest first, for tokens such as 不贵 jieba may keep whole
    neg_kind: dict  # token → 1 negator, 2 waiver
    reassure: frozenset
    patterns: list  # (reason index, weight, pattern string, term id)
    question: str  # regex (RE2-compatible) of question clauses
    a_not_a: re.Pattern  # 贵不贵 / 包不包邮 / 有没有 (needs a back-reference: Python re)
    breaks: str | None  # regex of clause_breaks words
    candidate: str | None  # regex: any lexicon word (clauses without one skip jieba)
    rank: np.ndarray  # priority rank per column (signals included)
    absorbs: list  # (absorbing reason index, absorbed reason index)
    sub_rx: re.Pattern | None  # multi-character words, for compound tokens (优惠活动)
    #: scores of the distinct messages seen so far (:func:`_scores_of`): shops, weeks and
    #: agents repeat their quick phrases, each is scored once per process
    memo: dict = field(default_factory=dict)


_KIND_TOPIC, _KIND_NEG, _KIND_FALLBACK = 0, 1, 2


def _compile(lex: LostLexicon) -> _Compiled:
    c = lex._cache.get("compiled")
    if c is not None:
        return c
    g = lex.grammar
    table: dict[str, list] = {}
    tid = 0
    for ri, r in enumerate(lex.reasons):
        for kind, words in ((_KIND_TOPIC, r.terms), (_KIND_NEG, r.negatable),
                            (_KIND_FALLBACK, r.fallback)):
            for w, weight in words.items():
                table.setdefault(w, []).append((ri, weight, kind, tid))
                tid += 1
    patterns = []
    for ri, r in enumerate(lex.reasons):
        for p, weight in r.patterns.items():
            patterns.append((ri, weight, p, tid))
            tid += 1
    neg_kind = {w: 1 for w in g.negators}
    neg_kind.update({w: 2 for w in g.waivers})
    tail = "".join(escape(t) for t in g.question_tail if len(t) == 1)
    tail_re = f"[{tail}]*" if tail else ""
    parts = [r"\?"]
    if g.question_endings:
        parts.append(f"(?:{alternation(g.question_endings)}){tail_re}$")
    if g.question_words:
        parts.append(alternation(g.question_words))
    negs = sorted(set(g.negators) | set(g.waivers), key=len, reverse=True)
    if g.worry_endings and negs:
        parts.append(f"(?:{alternation(negs)}).*(?:{alternation(g.worry_endings)}){tail_re}$")
    ids = list(lex.ids)
    c = _Compiled(
        lex=lex, n_text=len(lex.reasons), words=lex.vocabulary(), term_table=table,
        negator_prefixes=tuple(negs), neg_kind=neg_kind, reassure=frozenset(g.reassurances),
        patterns=patterns, question="|".join(f"(?:{p})" for p in parts),
        a_not_a=re.compile(r"([^不没\W\d])[不没]\1"),
        breaks=alternation(g.clause_breaks), candidate=alternation(table),
        rank=np.array([lex.priority.index(i) for i in ids], dtype=np.int64),
        absorbs=[(ri, ids.index(a)) for ri, r in enumerate(lex.reasons) for a in r.absorbs],
        sub_rx=re.compile(alternation(w for w in table if len(w) >= 2) or "(?!)"))
    lex._cache["compiled"] = c
    return c


def _lookup(c: _Compiled, tok: str):
    """Hits of one distinct token: its own; or (negated) those of the word after a
    negator prefix that jieba kept attached (不贵 → negated 贵); or, for a compound
    of 3+ characters that jieba's own dictionary keeps whole (优惠活动, 质量问题),
    those of the multi-character words inside it."""
    hits = c.term_table.get(tok)
    if hits:
        return hits, False
    for p in c.negator_prefixes:
        if len(tok) > len(p) and tok.startswith(p):
            rest = c.term_table.get(tok[len(p):])
            if rest:
                return rest, True
    if len(tok) >= 3 and tok not in c.neg_kind:
        found = c.sub_rx.findall(tok)
        if found:
            return [h for w in dict.fromkeys(found) for h in c.term_table[w]], False
    return None, False


# ======================================================================================
# the scorer: texts grouped into units → score matrix
# ======================================================================================
def score_texts(texts, unit: np.ndarray, n_units: int,
                lexicon: LostLexicon | None = None) -> np.ndarray:
    """Text-reason scores, shape (n_units, n_reasons): ``texts[i]`` belongs to unit
    ``unit[i]`` (0 ≤ unit < n_units).  Fallback words are already applied.

    Work is done once per *distinct* message and, inside those, once per distinct
    clause (chats repeat themselves: 在吗, 包邮吗, 好的); only clauses holding some
    lexicon word are segmented; sums go back to units with ``np.bincount``.
    """
    lex = lexicon or load_lost_lexicon()
    c = _compile(lex)
    k = c.n_text
    scores = np.zeros((n_units, k))
    fb = np.zeros((n_units, k))
    if len(texts) == 0 or n_units == 0:
        return scores
    mcodes, dictionary = distinct(texts)  # a categorical keeps its codes
    main_m, fb_m = _scores_of(dictionary, c)
    unit = np.asarray(unit, dtype=np.int64)
    for j in range(k):
        scores[:, j] = np.bincount(unit, weights=main_m[mcodes, j], minlength=n_units)
        fb[:, j] = np.bincount(unit, weights=fb_m[mcodes, j], minlength=n_units)
    weak = scores.max(axis=1) < lex.grammar.min_score
    scores[weak] += fb[weak]
    return scores


#: distinct messages whose scores :func:`_scores_of` keeps (about 200 bytes each)
MEMO_MAX = 400_000


def _scores_of(texts: pa.Array, c: _Compiled) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_message_scores` of distinct ``texts``, each text scored once per process:
    texts met in an earlier call (another shop, the quotes of `lost --list`) are looked
    up (one arrow ``index_in``), only the new ones are scored.  A text's score does not
    depend on the other texts of the call, so this changes no result."""
    memo = c.memo
    known = memo.get("texts")
    if known is None or len(texts) == 0:
        main, fb = _message_scores(texts, c)
        if len(texts) <= MEMO_MAX:
            memo.update(texts=texts, main=main, fb=fb)
        return main, fb
    at = pc.fill_null(pc.index_in(texts, value_set=known), -1)
    at = np.asarray(at.to_numpy(zero_copy_only=False), dtype=np.int64)
    hit = at >= 0
    main = np.zeros((len(texts), c.n_text))
    fb = np.zeros((len(texts), c.n_text))
    main[hit], fb[hit] = memo["main"][at[hit]], memo["fb"][at[hit]]
    new = np.flatnonzero(~hit)
    if len(new):
        fresh = texts.take(pa.array(new))
        main[new], fb[new] = m2, f2 = _message_scores(fresh, c)
        if len(known) + len(new) <= MEMO_MAX:
            memo.update(texts=pa.concat_arrays([known, fresh]), main=np.vstack([memo["main"], m2]),
                        fb=np.vstack([memo["fb"], f2]))
    return main, fb


def split_clauses(msgs, c: _Compiled | None = None) -> tuple[pa.Array, np.ndarray]:
    """Normalised clauses of each message and the message index of every clause."""
    c = c or _compile(load_lost_lexicon())
    t = normalise(as_arrow(msgs))
    for qp in c.lex.grammar.quote_patterns:  # quoted product text, order cards, links
        t = replace(t, qp, ",")
    if c.breaks:
        t = pc.replace_substring_regex(t, c.breaks, ",\\0")
    t = pc.replace_substring_regex(t, r"([0-9])\.([0-9])", "\\1" + _DOT + "\\2")
    t = pc.replace_substring_regex(t, r"\?+", "\\0" + _QMARK)
    parts = pc.split_pattern_regex(t, _SEP)
    flat = pc.replace_substring(pc.list_flatten(parts), _DOT, ".")
    parent = pc.list_parent_indices(parts).to_numpy(zero_copy_only=False).astype(np.int64)
    keep = pc.greater(pc.utf8_length(flat), 0)
    flat = pc.filter(flat, keep)
    parent = parent[keep.to_numpy(zero_copy_only=False)]
    return flat, parent


def _message_scores(msgs: pa.Array, c: _Compiled) -> tuple[np.ndarray, np.ndarray]:
    """(main, fallback) score matrices per distinct message."""
    n_m, k = len(msgs), c.n_text
    main, fb = np.zeros((n_m, k)), np.zeros((n_m, k))
    clauses, cl_msg = split_clauses(msgs, c)
    if len(clauses) == 0:
        return main, fb
    enc = pc.dictionary_encode(clauses)
    ccodes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    main_c, fb_c = _clause_scores(enc.dictionary, c)
    for j in range(k):
        main[:, j] = np.bincount(cl_msg, weights=main_c[ccodes, j], minlength=n_m)
        fb[:, j] = np.bincount(cl_msg, weights=fb_c[ccodes, j], minlength=n_m)
    return main, fb


def _is_question(clauses: pa.Array, c: _Compiled) -> np.ndarray:
    q = contains(clauses, c.question)
    maybe = np.flatnonzero(~q & contains(clauses, "[不没]"))
    if len(maybe):
        sub = pd.Series(clauses.take(pa.array(maybe)).to_pylist(), dtype=object)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            q[maybe] = sub.str.contains(c.a_not_a, regex=True).to_numpy(dtype=bool)
    return q


def _clause_scores(clauses: pa.Array, c: _Compiled) -> tuple[np.ndarray, np.ndarray]:
    """(main, fallback) score matrices per distinct clause (question factor applied)."""
    lex = c.lex
    k = c.n_text
    n_cl = len(clauses)
    main = np.zeros((n_cl, k))
    fbm = np.zeros((n_cl, k))
    question = _is_question(clauses, c)
    statement = ~question
    cancel = np.zeros(n_cl, dtype=bool)
    parts_c, parts_r, parts_w, parts_k, parts_t = [], [], [], [], []

    # ---- segmentation: one jieba call over the clauses holding some lexicon word -------
    cand = np.flatnonzero(contains(clauses, c.candidate)) if c.candidate else np.zeros(0, int)
    if len(cand):
        tok = tokenizer(c.words)
        text = "\n".join(clauses.take(pa.array(cand)).to_pylist())
        tokens = np.array(tok.lcut(text, HMM=False), dtype=object)
        is_nl = tokens == "\n"
        clause_of = cand[np.cumsum(is_nl)]  # clause of each token (a newline: the next)
        codes, uniq = pd.factorize(tokens)
        nu = len(uniq)
        u_neg = np.zeros(nu, dtype=np.int8)
        u_reassure = np.zeros(nu, dtype=bool)
        rows = []  # (distinct token, reason, weight, kind, term id, intrinsically negated)
        for i, w in enumerate(uniq.tolist()):
            kind = c.neg_kind.get(w)
            if kind:
                u_neg[i] = kind
            if w in c.reassure:
                u_reassure[i] = True
            hits, negated = _lookup(c, w)
            if hits:
                for ri, weight, hk, tid in hits:
                    rows.append((i, ri, weight, hk, tid, negated))

        n = len(tokens)
        pos = np.arange(n)
        run_start = np.maximum.accumulate(np.where(np.r_[True, is_nl[:-1]], pos, 0))
        neg = u_neg[codes]
        # 贵不贵 / 喜不喜欢: a negator between two tokens sharing a first character asks
        at = np.flatnonzero(neg > 0)
        if len(at):
            prev = np.where(at > 0, at - 1, at)
            nxt = np.where(at < n - 1, at + 1, at)
            same = (prev != at) & (nxt != at) & ~is_nl[prev] & ~is_nl[nxt] & ~is_nl[at]
            first_p = pd.Series(tokens[prev], dtype=object).str[:1].to_numpy(dtype=object)
            first_n = pd.Series(tokens[nxt], dtype=object).str[:1].to_numpy(dtype=object)
            neg[at[same & (first_p == first_n)]] = 0
        W = lex.grammar.negation_window

        def window_any(flag: np.ndarray, p: np.ndarray) -> np.ndarray:
            cs = np.concatenate([[0], np.cumsum(flag)])
            lo = np.maximum(p - W, run_start[p])
            return (cs[p] - cs[lo]) > 0

        if rows:
            h = np.array(rows, dtype=object)
            h_u = h[:, 0].astype(np.int64)
            has = np.bincount(h_u, minlength=nu)
            tp = np.flatnonzero(has[codes] > 0)  # token positions with ≥ 1 hit
            order = np.argsort(h_u, kind="stable")
            h, h_u = h[order], h_u[order]
            first = np.searchsorted(h_u, np.arange(nu))
            cnt = has[codes[tp]]
            hp = np.repeat(tp, cnt)  # one row per (token position, hit)
            off = np.arange(len(hp)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            hi = first[codes[hp]] + off
            r_ = h[hi, 1].astype(np.int64)
            w_ = h[hi, 2].astype(float)
            k_ = h[hi, 3].astype(np.int64)
            t_ = h[hi, 4].astype(np.int64)
            intrinsic = h[hi, 5].astype(bool)
            cl = clause_of[hp]
            waived = window_any(neg == 2, hp)
            negated = window_any(neg == 1, hp) | waived | intrinsic
            # a negated evaluative word or a waived topic: in a statement it cancels the
            # clause (不贵, 质量没问题, 不用运费险); in a question it is a worry and counts
            kill = ((k_ == _KIND_NEG) & negated) | ((k_ == _KIND_TOPIC) & waived)
            cancel[cl[kill & statement[cl]]] = True
            keep = ~(kill & statement[cl]) & ~((k_ == _KIND_TOPIC) & waived)
            parts_c.append(cl[keep])
            parts_r.append(r_[keep])
            parts_w.append(w_[keep])
            parts_k.append(k_[keep])
            parts_t.append(t_[keep])
        # reassurances (not themselves negated) cancel statement clauses
        rp = np.flatnonzero(u_reassure[codes])
        if len(rp):
            rc = clause_of[rp[~window_any(neg > 0, rp)]]
            cancel[rc[statement[rc]]] = True

    # ---- pattern hits (regex over clause text) ----------------------------------------
    for ri, weight, pattern, tid in c.patterns:
        m = np.flatnonzero(contains(clauses, pattern))
        if len(m):
            parts_c.append(m)
            parts_r.append(np.full(len(m), ri))
            parts_w.append(np.full(len(m), weight))
            parts_k.append(np.full(len(m), _KIND_TOPIC))
            parts_t.append(np.full(len(m), tid))
    if not parts_c:
        return main, fbm
    cl = np.concatenate(parts_c)
    r_ = np.concatenate(parts_r)
    w_ = np.concatenate(parts_w)
    k_ = np.concatenate(parts_k)
    t_ = np.concatenate(parts_t)
    ok = ~cancel[cl]
    if c.absorbs:
        present = np.zeros((n_cl, k), dtype=bool)
        present[cl[ok], r_[ok]] = True
        for a, b in c.absorbs:
            ok &= ~((r_ == b) & present[cl, a])
    cl, r_, w_, k_, t_ = cl[ok], r_[ok], w_[ok], k_[ok], t_[ok]
    # each distinct word/pattern counts once per clause
    ntid = int(t_.max()) + 1 if len(t_) else 1
    _, first = np.unique(cl.astype(np.int64) * ntid + t_, return_index=True)
    cl, r_, w_, k_ = cl[first], r_[first], w_[first], k_[first]
    w_ = np.where(question[cl], w_ * lex.grammar.question_factor, w_)
    is_main = k_ != _KIND_FALLBACK
    np.add.at(main, (cl[is_main], r_[is_main]), w_[is_main])
    np.add.at(fbm, (cl[~is_main], r_[~is_main]), w_[~is_main])
    return main, fbm

