"""Quality inspection (客服质检) of agent messages.

Rules are data (``cskit/data/qc_rules.toml``, see :mod:`cskit.text.lexicon` and
docs/text.md).  Only messages with ``sender == "agent"`` are inspected: a buyer
who writes 加微信 or 在吗, or a robot greeting, is never the agent's violation.

Per text rule the work is vectorised over the DISTINCT agent texts (a year of chats
repeats its quick phrases millions of times; each distinct text is matched once, then
mapped back): the text is normalised once (NFKC, case-folded, trimmed), the rule's
exceptions and allow-list phrases are blanked out with one regex replace (so 保证金 no
longer contains a 保证 that counts, 财源滚滚 no 滚), then one alternation of keywords and
patterns is tried.  The loop is over rules, never over messages.

A rule may state its context (docs/text.md): ``buyer_before`` — one of the buyer's
messages since the agent's previous reply (same shop, buyer, day) must be, say, a real
question or request (只回复"在": 在的 after a bare 在吗 is fine; the question asked before
在吗 still counts); ``greeting`` — with ``match = "whole"``, a message made only of
greeting parts matches, and a greeting the agent went straight on from is no reply (a
greeting sent as several messages is judged once, on its last part); ``buyer_settled`` —
the buyer's last message closed the matter (…好吧); ``cleared_by`` — a reason or an
alternative in the message itself or in the agent's next message clears it (否定需求), and
``cleared_before`` — in the agent's previous message (a refusal that repeats the reason,
or the refusal, just given is not bare); ``unless_followed`` — not flagged when the
agent's next message follows straight away; ``answered_within_s`` — nor when it comes
within so many seconds.  The neighbours come from one sort and vectorised group shifts
(the buyer's messages in a window by a running count), computed only when some message
matched.

The ``late`` rule turns the late/unanswered buyer messages of the reply rule into flags
on the attributed agent (长时间未回复 is a log signal, not text).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.readers.qianniu_text import AUTO_REPLY_RE
from cskit.text._regex import as_arrow, contains, distinct, normalise, replace
from cskit.text.lexicon import QCRule, QCRules, load_qc_rules

__all__ = ["inspect", "qc_summary", "FLAG_COLUMNS", "TIERS"]

FLAG_COLUMNS = ["sent_at", "shop", "buyer_id", "agent_id", "rule_id", "rule", "severity",
                "content", "wait_s"]
#: a flag's tier (column ``tier`` with ``inspect(review=True)``): ``confident`` — evidence
#: strong enough to put to the agent, the default results; ``review`` (待复核) — weaker
#: evidence (the rules' ``review_keywords``/``review_patterns``), listed only on request
TIERS = ("confident", "review")
_TRIM = " \t\r\n,.!?;:~。…、\"'"
#: emoji codes such as [微笑] / [捂脸] and the polite particles around a "whole" message
_EMOJI = r"\[[^\[\]]{1,6}\]"
_PARTICLES = r"^(?:亲亲|亲爱的|亲|哦|呢|哈|啊|呀|嗯嗯|嗯|~|,)+|(?:亲亲|亲|哦|呢|哈|啊|呀|哟|~|,)+$"
_BLANK = "\x00"
#: what a greeting may be padded with but never consists of alone (嗯嗯 = yes, 哦 = I see)
_FILLER = r"[呢哈啊呀哟啦噢哦的哒滴嗯\s,.!?~。、]"


def _empty(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.equal(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False),
                      dtype=bool)


def _rules(rules) -> QCRules:
    return rules if isinstance(rules, QCRules) else load_qc_rules(rules)


def _texts(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(codes, distinct texts normalised and trimmed): each distinct text is matched once
    (one arrow dictionary encoding; a missing text is the empty string)."""
    codes, texts = distinct(values)  # a categorical keeps its codes
    return codes, pc.utf8_trim(normalise(texts), _TRIM)


def _hits(rule: QCRule, text: pa.Array, whole: list, tier: str = "confident") -> np.ndarray:
    """Per distinct text: does the rule's text part match (exceptions blanked)?  A
    ``whole`` rule with ``greeting`` parts also matches a text made only of them.
    ``tier = "review"``: the review-tier evidence instead (greetings are confident)."""
    if rule.match == "whole":
        if not whole:
            whole.append(pc.utf8_trim(replace(replace(text, _EMOJI, ""), _PARTICLES, ""), _TRIM))
        t = whole[0]
    else:
        t = text
    exc = rule.exception_pattern()
    if exc is not None:
        t = replace(t, exc, _BLANK)
    pat = rule.pattern(tier)
    hit = contains(t, pat) if pat is not None else np.zeros(len(t), dtype=bool)
    greet = rule.greeting_pattern()
    if rule.match == "whole" and greet is not None and tier == "confident":
        # brackets are punctuation too: 请问有什么可以帮到您呢?(人工客服哦)
        rest = pc.utf8_trim(replace(t, greet, ""), _TRIM + "\u3000~!()[]【】")
        core = replace(t, _FILLER, "")  # 嗯嗯 / 哦 / 的 alone is an answer, not a greeting
        hit = hit | (_empty(rest) & ~_empty(core))
    return hit


def inspect(messages: pd.DataFrame, rules: QCRules | str | None = None,
            late: pd.DataFrame | None = None, review: bool = False) -> pd.DataFrame:
    """Flagged agent messages, one row per (message, rule).

    ``messages``: sender and content, plus shop, buyer_id, agent_id, sent_at when
    available (missing ones come out empty).  Pass the buyers' messages too: rules with
    a context (``buyer_before``, ``cleared_by``, ``unless_followed``, ``only_if_last`` …)
    look at the buyer's messages before and the agent's messages around, within the same
    shop, buyer and day; without them such a rule flags nothing that needs the buyer's
    question (unknown is not a violation).  ``rules``: a
    :class:`~cskit.text.lexicon.QCRules`, a TOML path, or None (packaged).
    ``late`` (optional): late or unanswered buyer messages as from
    :func:`cskit.metrics.unreplied_list` — shop, buyer_id, sent_at, ``agent`` or
    ``agent_id`` (the attributed agent), wait_s (NaN = never answered), and
    optionally content — flagged under the rules' ``source = "late"`` rule; a buyer-day
    whose every late message is a closing remark (好的/谢谢/没有了, needs content) under
    the ``source = "late_closing"`` rule instead (low severity), when the rules have one.

    Columns: sent_at, shop, buyer_id, agent_id, rule_id, rule, severity, content
    (the agent's message; for late rows the buyer's message if given), wait_s
    (late rows only).  Sorted by shop, sent_at, agent_id, rule order.

    ``review``: also the review-tier flags (待复核: a message matching only a rule's
    ``review_keywords``/``review_patterns``, with the same context), and a last column
    ``tier`` (:data:`TIERS`; late rows are ``confident``: a log signal).  Without it only the
    confident flags, and no ``tier`` column.
    """
    qc = _rules(rules)
    order = {r.id: i for i, r in enumerate(qc.rules)}
    frames = []
    if "sender" not in messages.columns or "content" not in messages.columns:
        raise ValueError("messages need sender and content columns")
    is_agent = (messages["sender"] == "agent").to_numpy(dtype=bool, na_value=False)
    agent_rows = np.flatnonzero(is_agent)
    if len(agent_rows):
        codes, text = _texts(messages["content"].iloc[agent_rows])
        auto = contains(text, AUTO_REPLY_RE)  # an auto-reply left under the agent: a robot's
        if auto.any():                        # message, neither inspected nor a reply
            mine = ~auto[codes]
            is_agent = is_agent.copy()
            is_agent[agent_rows[~mine]] = False
            agent_rows, codes = agent_rows[mine], codes[mine]
        whole: list = []
        matched = []
        for r in qc.text_rules():
            strong = _hits(r, text, whole) if r.pattern() is not None else None
            if strong is not None:
                matched.append((r, strong[codes], "confident"))
            if review and r.pattern("review") is not None:
                weak = _hits(r, text, whole, "review")
                if strong is not None:
                    weak &= ~strong
                matched.append((r, weak[codes], "review"))
        need = np.zeros(len(agent_rows), dtype=bool)
        for rule, hit, _tier in matched:
            if rule.needs_context():
                need |= hit
        ctx = _Context(messages, is_agent, need) if need.any() else None
        for rule, hit, tier in matched:
            if rule.needs_context() and hit.any():
                hit = hit & ctx.keep(rule, hit)
            if hit.any():
                sel = messages.iloc[agent_rows[hit]]
                frames.append(pd.DataFrame({
                    "sent_at": sel["sent_at"].to_numpy() if "sent_at" in sel else pd.NaT,
                    "shop": _col(sel, "shop"), "buyer_id": _col(sel, "buyer_id"),
                    "agent_id": _col(sel, "agent_id"), "rule_id": rule.id, "rule": rule.name,
                    "severity": rule.severity, "content": _col(sel, "content"),
                    "wait_s": np.nan, "tier": tier}))
    lr, cr = qc.late_rule(), qc.late_closing_rule()
    if (lr is not None or cr is not None) and late is not None and len(late):
        who = "agent_id" if "agent_id" in late.columns else "agent"
        closing = _closing_only(late) if cr is not None else np.zeros(len(late), dtype=bool)
        for rule, sel in ((lr, ~closing), (cr, closing)):
            if rule is None or not sel.any():
                continue
            part = late[sel]
            frames.append(pd.DataFrame({
                "sent_at": part["sent_at"].to_numpy() if "sent_at" in part else pd.NaT,
                "shop": _col(part, "shop"), "buyer_id": _col(part, "buyer_id"),
                "agent_id": _col(part, who), "rule_id": rule.id, "rule": rule.name,
                "severity": rule.severity, "content": _col(part, "content"),
                "wait_s": pd.to_numeric(part["wait_s"], errors="coerce").to_numpy(dtype=float)
                if "wait_s" in part else np.nan, "tier": "confident"}))
    cols = FLAG_COLUMNS + (["tier"] if review else [])
    if not frames:
        return pd.DataFrame({
            c: pd.Series([], dtype="datetime64[s]" if c == "sent_at" else
                         float if c == "wait_s" else object) for c in cols})
    out = pd.concat(frames, ignore_index=True)
    out["sent_at"] = pd.to_datetime(out["sent_at"], errors="coerce")
    out["_o"] = out["rule_id"].map(order)
    out = out.sort_values(["shop", "sent_at", "agent_id", "_o"], kind="stable",
                          na_position="last")
    return out[cols].reset_index(drop=True)


class _Context:
    """Per agent message (in the order of the agent rows): its neighbours in the same
    shop, buyer and day — the buyer's last message before it, the agent's previous and
    next messages, whether the next message is the agent's, whether it is the agent's last,
    the seconds to the agent's next message — and, per rule, the buyer's messages since the
    agent's previous reply.  Built once per call from integer codes with one lexsort and
    running max/min (no loop over messages, no strings moved); texts are looked up only for
    the rows a rule needs."""

    def __init__(self, messages: pd.DataFrame, is_agent: np.ndarray, need: np.ndarray):
        """``need``: per agent row, whether a rule needs its context; only the buyers of
        those rows are looked at (the others keep the defaults: nothing around them)."""
        is_buyer = (messages["sender"] == "buyer").to_numpy(dtype=bool, na_value=False)
        self.content = messages["content"]
        self.agent_rows = np.flatnonzero(is_agent)
        talk = is_agent | is_buyer
        if "buyer_id" in messages.columns and not need.all():
            b = as_arrow(messages["buyer_id"])  # arrow is_in: no Python loop (a missing
            wanted = pc.unique(b.take(pa.array(self.agent_rows[need])))  # id is "")
            talk &= np.asarray(pc.is_in(b, value_set=wanted).to_numpy(zero_copy_only=False),
                               dtype=bool)
        keep = np.flatnonzero(talk)
        n = self.n = len(keep)
        na = len(self.agent_rows)
        self.prev_buyer = np.full(na, -1, dtype=np.int64)
        self.prev_agent = np.full(na, -1, dtype=np.int64)
        self.next_agent = np.full(na, -1, dtype=np.int64)
        self.followed = np.zeros(na, dtype=bool)
        self.last = np.ones(na, dtype=bool)
        self.next_gap_s = np.full(na, np.nan)
        self.spos = np.full(na, -1, dtype=np.int64)  # sorted position of each agent row
        if n == 0:
            return

        def codes(name: str) -> np.ndarray:
            if name not in messages.columns:
                return np.zeros(n, dtype=np.int64)
            return pd.factorize(messages[name].iloc[keep])[0]

        known_t = np.zeros(n, dtype=bool)
        if "sent_at" in messages.columns:
            t = pd.to_datetime(messages["sent_at"].iloc[keep], errors="coerce")
            known_t = t.notna().to_numpy()
            tv = t.to_numpy(dtype="datetime64[ns]").astype(np.int64)
            day = tv // 86_400_000_000_000
        else:
            tv = day = np.zeros(n, dtype=np.int64)
        shop, buyer = codes("shop"), codes("buyer_id")
        order = np.lexsort((np.arange(n), tv, day, buyer, shop))
        shop, buyer, day = shop[order], buyer[order], day[order]
        tv, known_t = tv[order], known_t[order]
        new = np.ones(n, dtype=bool)
        new[1:] = (shop[1:] != shop[:-1]) | (buyer[1:] != buyer[:-1]) | (day[1:] != day[:-1])
        g = self.g = np.cumsum(new)
        self.gstart = np.flatnonzero(new)[g - 1]  # sorted position where each group starts
        ag = self.ag = is_agent[keep][order]
        pos = np.arange(n)

        first = np.minimum.accumulate(np.where(ag, pos, n)[::-1])[::-1]
        nxt = np.empty(n, dtype=np.int64)
        nxt[-1:], nxt[:-1] = n, first[1:]
        nxt = np.where((nxt < n) & (g[np.minimum(nxt, n - 1)] == g), nxt, -1)
        followed = np.zeros(n, dtype=bool)
        followed[:-1] = ag[1:] & (g[1:] == g[:-1])
        rows = self.rows = keep[order]  # sorted position -> row of ``messages``

        def as_rows(p: np.ndarray) -> np.ndarray:
            return np.where(p >= 0, rows[np.maximum(p, 0)], -1)

        inv = np.empty(n, dtype=np.int64)
        inv[order] = pos
        kept_agent = is_agent[keep]
        mine = inv[kept_agent]  # sorted positions of the kept agent rows, in their order
        at = np.searchsorted(self.agent_rows, keep[kept_agent])  # their agent-row index
        self.spos[at] = mine
        self.prev_buyer[at] = as_rows(self.before(~ag)[mine])
        self.prev_agent[at] = as_rows(self.before(ag)[mine])
        self.next_agent[at] = as_rows(nxt[mine])
        self.followed[at] = followed[mine]
        self.last[at] = nxt[mine] < 0
        nm = nxt[mine]
        has = (nm >= 0) & known_t[mine] & known_t[np.maximum(nm, 0)]
        gap = (tv[np.maximum(nm, 0)] - tv[mine]) / 1e9
        self.next_gap_s[at] = np.where(has, gap, np.nan)

    def before(self, mask: np.ndarray) -> np.ndarray:
        """Sorted position of the last ``mask`` row before each row in its group, or -1."""
        n, g = self.n, self.g
        last = np.maximum.accumulate(np.where(mask, np.arange(n), -1))
        prev = np.empty(n, dtype=np.int64)
        prev[0], prev[1:] = -1, last[:-1]
        return np.where((prev >= 0) & (g[np.maximum(prev, 0)] == g), prev, -1)

    def _text(self, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        """(normalised texts, known) of the given ``messages`` rows (-1 = none)."""
        known = rows >= 0
        vals = np.full(len(rows), None, dtype=object)
        if known.any():
            vals[known] = self.content.iloc[rows[known]].astype(object).to_numpy()
        return _norm(vals), known & pd.notna(vals)

    def asked(self, rule: QCRule, hit: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per agent row in ``rows``: did the buyer ask (``buyer_before``, after
        ``buyer_ignore``) in any message since the agent's previous reply that day?  With
        ``greeting`` parts, a greeting-only agent message (``hit`` of a whole rule) that the
        agent went straight on from is no reply: the buyer's question before it still
        counts for the message that follows (a greeting sent as several messages is judged
        once, on its last part).  A greeting the buyer had to answer ends the turn: it is
        judged itself, and the buyer's question before it is not counted twice."""
        sp = self.spos[rows]
        res = np.zeros(len(rows), dtype=bool)
        ok = sp >= 0
        if not ok.any():
            return res
        sp = sp[ok]
        reply = self.ag.copy()
        if rule.greeting and rule.match == "whole":
            # a greeting the agent went straight on from (the next message is the agent's,
            # or came within answered_within_s) is part of the reply that follows it
            on = self.followed | (self.next_gap_s <= rule.answered_within_s)
            greet = np.zeros(self.n, dtype=bool)
            kept = self.spos >= 0
            greet[self.spos[kept]] = (hit & on)[kept]
            reply &= ~greet
        start = self.before(reply)[sp]  # the window is (start, sp), exclusive
        start = np.where(start >= 0, start, self.gstart[sp] - 1)
        mark = np.zeros(self.n + 1, dtype=np.int64)  # buyer rows inside some window
        np.add.at(mark, start + 1, 1)
        np.add.at(mark, sp, -1)
        inside = (np.cumsum(mark[:-1]) > 0) & ~self.ag
        where = np.flatnonzero(inside)
        q = np.zeros(self.n, dtype=bool)
        if len(where):
            codes, texts = distinct(self.content.iloc[self.rows[where]])
            t = normalise(texts)
            if rule.buyer_ignore:
                t = replace(t, "|".join(f"(?:{p})" for p in rule.buyer_ignore), _BLANK)
            q[where] = contains(t, "|".join(f"(?:{p})" for p in rule.buyer_before))[codes]
        c = np.zeros(self.n + 1, dtype=np.int64)
        c[1:] = np.cumsum(q)
        res[np.flatnonzero(ok)] = (c[sp] - c[start + 1]) > 0
        return res

    def keep(self, rule: QCRule, hit: np.ndarray) -> np.ndarray:
        """Which of the ``hit`` rows the rule's context still flags."""
        ok = hit.copy()
        if rule.only_if_last:
            ok &= self.last
        if rule.unless_followed:
            ok &= ~self.followed
        if rule.answered_within_s:
            ok &= ~(self.next_gap_s <= rule.answered_within_s)
        rows = np.flatnonzero(ok)
        if rule.buyer_settled and len(rows):
            t, known = self._text(self.prev_buyer[rows])
            pat = "|".join(f"(?:{p})" for p in rule.buyer_settled)
            ok[rows[known & contains(t, pat)]] = False
            rows = np.flatnonzero(ok)
        if rule.buyer_before and len(rows):
            ok[rows[~self.asked(rule, hit, rows)]] = False
            rows = np.flatnonzero(ok)
        if rule.cleared_by and len(rows):
            pat = "|".join(f"(?:{p})" for p in rule.cleared_by)
            cleared = np.zeros(len(rows), dtype=bool)
            for side in (self.agent_rows[rows], self.next_agent[rows]):
                t, known = self._text(side)
                cleared |= known & contains(t, pat)
            ok[rows[cleared]] = False
            rows = np.flatnonzero(ok)
        if rule.cleared_before and len(rows):
            pat = "|".join(f"(?:{p})" for p in rule.cleared_before)
            t, known = self._text(self.prev_agent[rows])
            ok[rows[known & contains(t, pat)]] = False
        return ok


def _norm(values: np.ndarray) -> pa.Array:
    return normalise(as_arrow(pd.Series(values, dtype=object)))


def _closing_only(late: pd.DataFrame) -> np.ndarray:
    """Per late row: its buyer-day's late messages are all closing remarks (好的/谢谢/没有了,
    :mod:`cskit.metrics.closing`).  False everywhere without ``content`` (unknown: such
    rows stay under the late rule)."""
    n = len(late)
    if "content" not in late.columns or not {"shop", "buyer_id", "sent_at"} <= set(late.columns):
        return np.zeros(n, dtype=bool)
    from cskit.metrics.closing import is_closing

    c = is_closing(late["content"].reset_index(drop=True))
    day = pd.to_datetime(late["sent_at"], errors="coerce").dt.normalize().to_numpy()
    f = pd.DataFrame({"shop": late["shop"].to_numpy(), "buyer": late["buyer_id"].to_numpy(),
                      "day": day, "c": c})
    return f.groupby(["shop", "buyer", "day"], sort=False, dropna=False)["c"] \
        .transform("all").to_numpy(dtype=bool)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return frame[name].astype(object).to_numpy()
    return np.full(len(frame), None, dtype=object)


def qc_summary(flags: pd.DataFrame, rules: QCRules | str | None = None,
               messages: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per agent: flag counts by rule.

    One row per (shop, agent_id) with flags (and, when ``messages`` is given, per
    agent with ≥ 1 agent message, flagged or not).  Columns: shop, agent_id,
    [agent_messages], flags (all rules), high / medium / low (by severity), then
    one count column per rule, named by its id, in rule order.  Sorted by shop,
    flags (descending), agent_id.  ``flags`` with a ``tier`` column (``inspect(review=True)``):
    the review-tier flags are in none of those counts but in a last column ``review``.
    """
    qc = _rules(rules)
    ids = [r.id for r in qc.rules]
    sev = {r.id: r.severity for r in qc.rules}
    keys = ["shop", "agent_id"]
    f = flags.copy()
    weak = None
    if "tier" in f.columns:  # review-tier flags: counted apart, in no rule column
        is_weak = (f["tier"] == "review").to_numpy(dtype=bool)
        weak, f = f[is_weak].copy(), f[~is_weak]
    for k in keys:
        f[k] = f[k].astype(object).where(f[k].notna(), "")
    if len(f):
        wide = pd.crosstab([f["shop"], f["agent_id"]], f["rule_id"])
    else:
        wide = pd.DataFrame(index=pd.MultiIndex.from_arrays([[], []], names=keys))
    wide = wide.reindex(columns=ids, fill_value=0)
    wide.columns = list(ids)
    wide = wide.reset_index()
    if messages is not None:
        m = messages[(messages["sender"] == "agent").to_numpy(dtype=bool, na_value=False)] \
            if "sender" in messages else messages
        # group on the columns as they are (arrow strings stay arrow), fill the keys after
        counts = (m.groupby([m["shop"], m["agent_id"]], sort=False, dropna=False).size()
                  .rename("agent_messages").reset_index())
        for k in keys:
            counts[k] = counts[k].astype(object).where(counts[k].notna(), "")
        counts = counts.groupby(keys, sort=False, as_index=False)["agent_messages"].sum()
        wide = counts.merge(wide, on=keys, how="outer")
        wide["agent_messages"] = wide["agent_messages"].fillna(0).astype(np.int64)
    for rid in ids:
        wide[rid] = wide[rid].fillna(0).astype(np.int64)
    wide["flags"] = wide[ids].sum(axis=1).astype(np.int64) if ids else 0
    for level in ("high", "medium", "low"):
        cols = [r for r in ids if sev[r] == level]
        wide[level] = wide[cols].sum(axis=1).astype(np.int64) if cols else 0
    cols = keys + (["agent_messages"] if messages is not None else []) + \
        ["flags", "high", "medium", "low"] + ids
    if weak is not None:
        for k in keys:
            weak[k] = weak[k].astype(object).where(weak[k].notna(), "")
        n = weak.groupby(keys, sort=False).size().rename("review").reset_index()
        wide = wide.merge(n, on=keys, how="outer")
        for c in ids + ["flags", "high", "medium", "low"] + \
                (["agent_messages"] if messages is not None else []):
            wide[c] = wide[c].fillna(0).astype(np.int64)
        wide["review"] = wide["review"].fillna(0).astype(np.int64)
        cols.append("review")
    wide["_f"] = -wide["flags"]
    wide = wide.sort_values(["shop", "_f", "agent_id"], kind="stable")
    return wide[cols].reset_index(drop=True)
