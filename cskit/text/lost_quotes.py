"""The buyer's evidence quote per lost buyer-day (`cskit lost --examples` / `--list`).

:func:`best_quotes` picks, for every classified buyer(-day), the buyer message that scores
highest for its primary reason.  Everything runs on integer codes: the buyer-day keys are
factorized (days as ``datetime64[D]`` numbers, no Python dates), each *distinct* text is
stripped, tested and scored once, and one ``lexsort`` picks the best row per buyer-day —
no merge or sort over string keys of every message (a year of chats: ~1 M quotes
considered).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.text._regex import contains, distinct

__all__ = ["NOT_A_QUOTE", "best_quotes"]

#: links, image / emoji placeholders: never chosen as a quote
NOT_A_QUOTE = re.compile(r"^(https?://\S+|\[[^\]]{1,8}\]|<[^>]{1,12}>)$")


def _not_a_quote(stripped: pa.Array) -> np.ndarray:
    """``NOT_A_QUOTE.match`` of each text, fast: RE2 finds the candidates (its ``\\S``
    admits a little more than Python's), Python ``re`` confirms only those."""
    cand = np.flatnonzero(contains(stripped, NOT_A_QUOTE.pattern))
    out = np.zeros(len(stripped), dtype=bool)
    if len(cand):
        vals = stripped.take(pa.array(cand)).to_pylist()
        out[cand] = [NOT_A_QUOTE.match(v) is not None for v in vals]
    return out


def _day_numbers(values) -> np.ndarray:
    """Calendar days as int64 day numbers (NaT/None: the int64 minimum, one code)."""
    d = pd.to_datetime(pd.Series(values), errors="coerce").to_numpy()
    return d.astype("datetime64[D]").astype(np.int64)


def _key_codes(classified: pd.DataFrame, messages: pd.DataFrame, keys: list[str],
               msg_days: np.ndarray | None) -> np.ndarray:
    """For every message row, the position of its buyer(-day) in ``classified`` (-1: none).

    Keys are factorized column by column over both frames (no merge of string keys)."""
    n_c = len(classified)
    comb = np.zeros(n_c + len(messages), dtype=np.int64)
    for k in keys:
        if k == "date":
            vals = np.concatenate([_day_numbers(classified["date"]), msg_days])
            _, codes = np.unique(vals, return_inverse=True)
            n = int(codes.max()) + 1 if len(codes) else 0
        else:
            both = pd.concat([classified[k].reset_index(drop=True),
                              messages[k].reset_index(drop=True)], ignore_index=True)
            codes, uniq = pd.factorize(both)
            n = len(uniq)
            codes = np.where(codes < 0, n, codes)
            n += 1
        comb = comb * (n + 1) + np.asarray(codes, dtype=np.int64).ravel()
        _, comb = np.unique(comb, return_inverse=True)  # keep it small
        comb = comb.astype(np.int64).ravel()
    n_keys = int(comb.max()) + 1 if len(comb) else 0
    row_of = np.full(n_keys, -1, dtype=np.int64)
    row_of[comb[:n_c]] = np.arange(n_c)
    return row_of[comb[n_c:]]


def best_quotes(classified: pd.DataFrame, messages: pd.DataFrame, lex, keys: list[str],
                evidence_only: bool) -> tuple[pd.DataFrame, str] | None:
    """Per buyer(-day) of ``classified`` its best quote: (frame, text column) or None.

    For a text primary reason: the buyer's message scoring highest for it (latest on ties,
    then the later row); with ``evidence_only`` buyers with no scoring message are dropped,
    otherwise their last message is taken.  For a signal reason / 其他: the last message.
    Links and placeholders are never quoted.  The frame: ``keys``, ``primary_id``,
    ``sent_at``, the text column, ``score`` (rounded to 3 places) and ``_row`` (the
    position in ``classified``), one row per buyer(-day) with a quote, in ``classified``
    order.
    """
    from cskit.text.lost import _text_column, score_texts

    m = messages
    if "sender" in m.columns:
        m = m[(m["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)]
    tcol = _text_column(m)
    if tcol is None:
        raise ValueError("messages need a content or text column")
    if m.empty or classified.empty:
        return None
    t = pd.to_datetime(m["sent_at"], errors="coerce") if "sent_at" in m.columns \
        else pd.Series(pd.NaT, index=m.index)
    t_ns = t.to_numpy().astype("datetime64[ns]").astype(np.int64)  # NaT: the minimum
    days = None
    if "date" in keys:
        days = _day_numbers(m["date"]) if "date" in m.columns else \
            t.to_numpy().astype("datetime64[D]").astype(np.int64)
    row = _key_codes(classified, m, keys, days)

    # each distinct text once: quotable?  its scores?
    mcodes, dic = distinct(m[tcol])
    stripped = pc.utf8_trim_whitespace(dic)
    quotable = np.asarray(pc.greater(pc.utf8_length(stripped), 0).to_numpy(
        zero_copy_only=False), dtype=bool) & ~_not_a_quote(stripped)
    present = m[tcol].notna().to_numpy(dtype=bool)
    ok = (row >= 0) & present & quotable[mcodes]
    idx = np.flatnonzero(ok)
    if not len(idx):
        return None
    used = np.unique(mcodes[idx])
    at = np.full(len(dic), -1, dtype=np.int64)
    at[used] = np.arange(len(used))
    sc = score_texts(dic.take(pa.array(used)), np.arange(len(used)), len(used), lex)

    r = row[idx]
    text_ids = [x.id for x in lex.reasons]
    col_of = {rid: j for j, rid in enumerate(text_ids)}
    pj = classified["primary_id"].map(col_of).to_numpy(dtype=float)[r]
    is_text = ~np.isnan(pj)
    s = np.zeros(len(idx))
    s[is_text] = sc[at[mcodes[idx[is_text]]], pj[is_text].astype(np.int64)]
    s = np.round(s, 3)
    keep = ~is_text | (s > 0) if evidence_only else np.ones(len(idx), dtype=bool)
    idx, r, s = idx[keep], r[keep], s[keep]
    if not len(idx):
        return None
    # best per buyer-day: highest score, then latest time, then the later row
    order = np.lexsort((idx, t_ns[idx], s, r))
    r_sorted = r[order]
    last = np.r_[r_sorted[1:] != r_sorted[:-1], True]
    pick = order[last]
    pick = pick[np.argsort(r[pick], kind="stable")]
    crow = r[pick]
    mrow = idx[pick]
    best = classified.iloc[crow][keys + ["primary_id"]].reset_index(drop=True)
    best["sent_at"] = (m["sent_at"].iloc[mrow].reset_index(drop=True) if "sent_at" in m.columns
                       else pd.NaT)
    best[tcol] = m[tcol].iloc[mrow].reset_index(drop=True)
    best["score"] = s[pick]
    best["_row"] = crow
    return best, tcol
