"""The buyers' voice (意见反馈): buyer messages routed to the departments that must act on
them (运营/宣传, 财务/发票, 产品/质量, 物流/配送, 仓储/品控, 其他).

Rules are data (``cskit/data/voice.toml``, :mod:`cskit.text.voice_rules`, docs/text.md).
Only buyer messages are classified.  The work is vectorised over the DISTINCT texts: each
distinct text is normalised once (NFKC, case-folded), the ``[ignore]`` patterns and then
each department's exceptions are blanked out, and one alternation of the department's
words and patterns is tried (RE2 through pyarrow); the loop is over departments, never
over messages.  A message may go to several departments; a ``fallback`` department (其他)
takes a message only when no other department did.

Nothing here prints: :mod:`cskit.cli.voice` renders.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from cskit.text._regex import as_arrow, contains, normalise, replace
from cskit.text.lost import _NOT_A_QUOTE, _QUOTE_MASK
from cskit.text.voice_rules import VoiceRules, load_voice_rules

__all__ = ["route_texts", "classify", "weekly_summary", "voice_list", "week_label",
           "FEEDBACK_COLUMNS", "SUMMARY_COLUMNS", "LIST_COLUMNS", "mask_quote"]

_BLANK = "\x00"
#: one row per (buyer message, department) it is feedback for
FEEDBACK_COLUMNS = ["shop", "buyer_id", "sent_at", "date", "week", "department_id", "content"]
#: :func:`weekly_summary` (CSV/JSON keys; docs/text.md)
SUMMARY_COLUMNS = ["shop", "week", "department_id", "department", "buyers", "messages",
                   "buyers_prev", "buyers_change", "top_quotes"]
#: :func:`voice_list`
LIST_COLUMNS = ["shop", "date", "buyer_id", "agent_id", "department_id", "department", "quote",
                "sent_at"]
#: how quotes are joined in one cell of the summary
QUOTE_SEP = " | "
#: spaces and punctuation dropped from a wording before counting "the same thing said"
_WORDING_STRIP = r"[\s,.!?;:~、。…\"'“”‘’()（）【】<>《》|/_=+*#@&^%$-]+"


def mask_quote(values: pd.Series) -> pd.Series:
    """Quotes as people see them: runs of 7+ digits (phones, order numbers) as ``***``,
    as ``cskit lost`` shows them."""
    return values.astype(str).str.replace(_QUOTE_MASK, "***", regex=True)


def route_texts(values, rules: VoiceRules | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, hits): ``hits[k, j]`` tells whether distinct text ``k`` is feedback for
    department ``j`` (in ``rules.departments`` order); ``codes[i]`` is the distinct text of
    ``values[i]``.  Each distinct text is matched once."""
    vr = load_voice_rules(rules)
    enc = pc.dictionary_encode(as_arrow(values))
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    text = normalise(enc.dictionary)
    ign = vr.ignore_pattern()
    if ign is not None:
        text = replace(text, ign, _BLANK)
    hits = np.zeros((len(text), len(vr.departments)), dtype=bool)
    for j, d in enumerate(vr.departments):
        if d.fallback:
            continue
        t = text if d.exception_pattern() is None else replace(text, d.exception_pattern(), _BLANK)
        hits[:, j] = contains(t, d.pattern())
    any_hit = hits.any(axis=1)
    for j, d in enumerate(vr.departments):
        if d.fallback and (~any_hit).any():
            rest = np.flatnonzero(~any_hit)
            t = text.take(rest)
            if d.exception_pattern() is not None:
                t = replace(t, d.exception_pattern(), _BLANK)
            hits[rest, j] = contains(t, d.pattern())
    return codes, hits


def week_label(dates) -> np.ndarray:
    """ISO week ``YYYY-Www`` of each date (datetime64-like), object array (None for NaT)."""
    d = pd.to_datetime(pd.Series(dates), errors="coerce")
    iso = d.dt.isocalendar()
    lab = iso["year"].astype("string") + "-W" + iso["week"].astype("string").str.zfill(2)
    return lab.astype(object).where(d.notna(), None).to_numpy(dtype=object)


def classify(messages: pd.DataFrame, rules: VoiceRules | str | None = None) -> pd.DataFrame:
    """Buyer messages that are feedback: one row per (message, department) — columns
    :data:`FEEDBACK_COLUMNS` plus ``row`` (the position in ``messages``).  ``messages``:
    sender (only ``buyer`` rows are read; without it every row is a buyer's), content,
    and shop, buyer_id, sent_at when available."""
    vr = load_voice_rules(rules)
    if "sender" in messages.columns:
        rows = np.flatnonzero((messages["sender"] == "buyer").to_numpy(dtype=bool, na_value=False))
    else:
        rows = np.arange(len(messages))
    if len(rows) == 0:
        return _empty_feedback()
    codes, hits = route_texts(messages["content"].iloc[rows], vr)
    ids = np.array(vr.ids(), dtype=object)
    k, j = np.nonzero(hits)  # distinct text k is feedback for department j
    if len(k) == 0:
        return _empty_feedback()
    # messages whose distinct text has any hit, then one row per (message, department)
    fed = hits.any(axis=1)[codes]
    mrow = np.flatnonzero(fed)
    per = hits[codes[mrow]]
    mi, dj = np.nonzero(per)
    pos = rows[mrow[mi]]
    sel = messages.iloc[pos]
    sent = pd.to_datetime(sel["sent_at"], errors="coerce") if "sent_at" in sel else \
        pd.Series(pd.NaT, index=sel.index)
    day = sent.dt.normalize()
    out = pd.DataFrame({
        "shop": _col(sel, "shop"), "buyer_id": _col(sel, "buyer_id"),
        "sent_at": sent.to_numpy(), "date": day.to_numpy(), "week": week_label(day.to_numpy()),
        "department_id": ids[dj], "content": _col(sel, "content"), "row": pos})
    return out


def _empty_feedback() -> pd.DataFrame:
    return pd.DataFrame({"shop": pd.Series([], dtype=object), "buyer_id": pd.Series([], dtype=object),
                         "sent_at": pd.Series([], dtype="datetime64[ns]"),
                         "date": pd.Series([], dtype="datetime64[ns]"),
                         "week": pd.Series([], dtype=object),
                         "department_id": pd.Series([], dtype=object),
                         "content": pd.Series([], dtype=object), "row": pd.Series([], dtype=np.int64)})


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return frame[name].astype(object).to_numpy()
    return np.full(len(frame), None, dtype=object)


def _quotable(content: pd.Series) -> np.ndarray:
    txt = content.astype(object).where(content.notna(), "").astype(str).str.strip()
    return ((txt != "") & ~txt.str.match(_NOT_A_QUOTE)).to_numpy(dtype=bool)


def top_quotes(feedback: pd.DataFrame, by: list[str], n: int = 3) -> pd.DataFrame:
    """Per group: up to ``n`` quotes, the most frequent normalised wording first (ties: the
    latest said first); each wording shown once, in the words a buyer used most recently,
    digits masked.  Columns: ``by`` + ``quotes`` (a list)."""
    f = feedback[_quotable(feedback["content"])] if len(feedback) else feedback
    if f.empty or n <= 0:
        return pd.DataFrame({**{b: pd.Series([], dtype=object) for b in by},
                             "quotes": pd.Series([], dtype=object)})
    enc = pc.dictionary_encode(as_arrow(f["content"]))
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    wording = replace(replace(normalise(enc.dictionary), _QUOTE_MASK.pattern, "#"),
                      _WORDING_STRIP, "")
    w = np.asarray(wording.to_numpy(zero_copy_only=False), dtype=object)[codes]
    g = f[by].copy()
    for b in by:
        g[b] = g[b].astype(object)
    g["_w"] = w
    g["_t"] = pd.to_datetime(f["sent_at"], errors="coerce").to_numpy()
    g["_q"] = f["content"].astype(object).to_numpy()
    g = g[g["_w"] != ""]
    cnt = g.groupby(by + ["_w"], sort=False, dropna=False).agg(_n=("_w", "size"), _t=("_t", "max"))
    g = g.sort_values("_t", kind="stable", na_position="first")
    last = g.drop_duplicates(by + ["_w"], keep="last").set_index(by + ["_w"])["_q"]
    cnt = cnt.join(last).reset_index()
    cnt["_n"] = -cnt["_n"]
    cnt = cnt.sort_values(by + ["_n", "_t", "_w"], ascending=[True] * len(by) + [True, False, True],
                          kind="stable", na_position="last")
    cnt = cnt.groupby(by, sort=False, dropna=False).head(n)
    cnt["_q"] = mask_quote(cnt["_q"].astype(str).str.strip())
    return cnt.groupby(by, sort=False, dropna=False)["_q"].agg(list).rename("quotes").reset_index()


def weekly_summary(feedback: pd.DataFrame, weeks: pd.DataFrame,
                   rules: VoiceRules | str | None = None, *, lang: str = "zh",
                   top: int = 3) -> pd.DataFrame:
    """Per shop, ISO week and department: buyers (distinct buyers with ≥ 1 feedback message
    for it), messages, the previous week's buyers and the change, the top quotes.

    ``feedback``: :func:`classify` rows, including those of the week before the first
    reported week.  ``weeks``: one row per shop and week to report — shop, week,
    ``report`` (the week is in the period), ``comparable`` (the week is whole inside the
    period and the data, so it can be compared), ``has_data`` (buyers wrote anything that
    week).  ``buyers_prev`` / ``buyers_change`` are unknown (None) when the previous week
    has no buyer messages at all or the week is not whole — never 0.  Every department of
    the rules gets a row per reported week that has data (0 buyers is a real 0 then).
    Sorted by shop, week, department order.  Columns :data:`SUMMARY_COLUMNS`."""
    vr = load_voice_rules(rules)
    ids = list(vr.ids())
    names = vr.names(lang)
    rep = weeks[weeks["report"].astype(bool) & weeks["has_data"].astype(bool)]
    grid = rep[["shop", "week", "comparable"]].merge(pd.DataFrame({"department_id": ids}), how="cross")
    keys = ["shop", "week", "department_id"]
    if len(feedback):
        fb = feedback.assign(**{k: feedback[k].astype(object) for k in keys})
        agg = fb.groupby(keys, sort=False).agg(buyers=("buyer_id", "nunique"),
                                               messages=("buyer_id", "size")).reset_index()
    else:
        agg = pd.DataFrame({k: pd.Series([], dtype=object) for k in keys}).assign(buyers=0, messages=0)
    out = grid.merge(agg, on=keys, how="left")
    for c in ("buyers", "messages"):
        out[c] = out[c].fillna(0).astype(np.int64)
    # the previous week: its buyers where it has data (0 is real then), else unknown
    prev_week = pd.Series([_prev_week(w) for w in out["week"]], index=out.index, dtype=object)
    with_data = weeks[weeks["has_data"].astype(bool)][["shop", "week"]].assign(_d=True)
    prev = pd.DataFrame({"shop": out["shop"], "week": prev_week, "department_id": out["department_id"]})
    prev = prev.merge(with_data, on=["shop", "week"], how="left").merge(
        agg[keys + ["buyers"]].rename(columns={"buyers": "_pb"}), on=keys, how="left")
    known = prev["_d"].fillna(False).astype(bool).to_numpy() & \
        out["comparable"].astype(bool).to_numpy()
    pb = prev["_pb"].fillna(0).to_numpy(dtype=float)
    out["buyers_prev"] = pd.array(np.where(known, pb, np.nan), dtype="Int64")
    out["buyers_change"] = pd.array(np.where(known, out["buyers"].to_numpy() - pb, np.nan),
                                    dtype="Int64")
    q = top_quotes(feedback, keys, top) if len(feedback) else None
    out["top_quotes"] = None
    if q is not None and len(q):
        q["top_quotes"] = q["quotes"].map(QUOTE_SEP.join)
        out = out.drop(columns="top_quotes").merge(q[keys + ["top_quotes"]], on=keys, how="left")
    out["department"] = out["department_id"].map(names)
    order = {d: i for i, d in enumerate(ids)}
    out["_o"] = out["department_id"].map(order)
    out = out.sort_values(["shop", "week", "_o"], kind="stable")
    out["top_quotes"] = out["top_quotes"].astype(object).where(out["top_quotes"].notna(), None)
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def _prev_week(label) -> str | None:
    if not isinstance(label, str):
        return None
    y, w = label.split("-W")
    d = dt.date.fromisocalendar(int(y), int(w), 1) - dt.timedelta(days=7)
    iy, iw, _ = d.isocalendar()
    return f"{iy}-W{iw:02d}"


def voice_list(feedback: pd.DataFrame, agents: np.ndarray | None = None,
               rules: VoiceRules | str | None = None, *, lang: str = "zh",
               department: str | None = None) -> pd.DataFrame:
    """The rows to forward: one per (feedback message, department) — shop, date, buyer,
    the agent who served the buyer (``agents``, aligned with ``feedback``; None = unknown),
    department, the quote (digits masked), sent_at.  Only ``department`` (an id) when
    given.  Sorted by department order, shop, sent_at, buyer."""
    vr = load_voice_rules(rules)
    f = feedback.copy()
    f["agent_id"] = agents if agents is not None else None
    if department is not None:
        f = f[(f["department_id"] == department).to_numpy(dtype=bool)]
    f["department"] = f["department_id"].map(vr.names(lang))
    f["quote"] = mask_quote(f["content"]) if len(f) else f["content"]
    f["date"] = pd.to_datetime(f["date"]).dt.date if len(f) else f["date"]
    order = {d: i for i, d in enumerate(vr.ids())}
    f["_o"] = f["department_id"].map(order)
    f = f.sort_values(["_o", "shop", "sent_at", "buyer_id"], kind="stable")
    return f[LIST_COLUMNS].reset_index(drop=True)


def serving_agents(msgs: pd.DataFrame, feedback: pd.DataFrame) -> np.ndarray:
    """Per feedback row (``row``: position in ``msgs``): the agent who answered the buyer
    next that day, else the last agent before it that day; None when no agent wrote to
    the buyer that day (unknown, never guessed).  Only the feedback buyers' days are
    sorted."""
    out = np.full(len(feedback), None, dtype=object)
    if feedback.empty or "agent_id" not in msgs.columns:
        return out
    b_code, _ = pd.factorize(msgs["buyer_id"])
    mine = np.isin(b_code, np.unique(b_code[feedback["row"].to_numpy(dtype=np.int64)]))
    pos = np.flatnonzero(mine)
    sub = msgs.iloc[pos]
    t = pd.to_datetime(sub["sent_at"], errors="coerce").to_numpy(dtype="datetime64[ns]")
    day = t.astype("datetime64[D]").astype(np.int64)
    shop = pd.factorize(sub["shop"])[0] if "shop" in sub else np.zeros(len(sub), dtype=np.int64)
    order = np.lexsort((np.arange(len(sub)), t.astype(np.int64), day, b_code[pos], shop))
    s = sub.iloc[order]
    is_agent = (s["sender"] == "agent").to_numpy(dtype=bool, na_value=False) & \
        s["agent_id"].notna().to_numpy()
    group = pd.Series(shop[order]).astype(str) + "\x1f" + pd.Series(b_code[pos][order]).astype(str) \
        + "\x1f" + pd.Series(day[order]).astype(str)
    ag = pd.Series(np.where(is_agent, s["agent_id"].astype(object).to_numpy(), None), dtype=object)
    g = ag.groupby(group.to_numpy(), sort=False)
    nxt, prv = g.bfill(), g.ffill()
    who = nxt.where(nxt.notna(), prv).to_numpy(dtype=object)
    at = np.empty(len(msgs), dtype=np.int64)
    at[pos[order]] = np.arange(len(order))
    return who[at[feedback["row"].to_numpy(dtype=np.int64)]]


def safe_file_name(name: str) -> str:
    """``name`` as a file name every system accepts (Windows too): no reserved characters,
    no control characters, no trailing dots or spaces, not a reserved device name."""
    s = re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f]+', "_", name).strip(" .")
    if re.fullmatch(r"(?i)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?", s) or not s:
        s = "_" + s
    return s[:80]
