"""Quality inspection (客服质检) of agent messages.

Rules are data (``cskit/data/qc_rules.toml``, see :mod:`cskit.text.lexicon` and
docs/text.md).  Only messages with ``sender == "agent"`` are inspected: a buyer
who writes 加微信 or 在吗, or a robot greeting, is never the agent's violation.

Per text rule the work is vectorised over the agent-message column: the text is
normalised once (NFKC, case-folded, trimmed), the rule's exceptions are blanked
out with one ``str.replace`` (so 保证金 no longer contains a 保证 that counts),
then one compiled alternation of keywords and patterns is tried with
``str.contains``.  The loop is over rules, never over messages.  The ``late``
rule turns the late/unanswered buyer messages of the reply rule into flags on
the attributed agent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from cskit.text._regex import as_arrow, contains, normalise, replace
from cskit.text.lexicon import QCRules, load_qc_rules

__all__ = ["inspect", "qc_summary", "FLAG_COLUMNS"]

FLAG_COLUMNS = ["sent_at", "shop", "buyer_id", "agent_id", "rule_id", "rule", "severity",
                "content", "wait_s"]
_TRIM = " \t\r\n,.!?;:~。…、\"'"
#: emoji codes such as [微笑] / [捂脸] and the polite particles around a "whole" message
_EMOJI = r"\[[^\[\]]{1,6}\]"
_PARTICLES = r"^(?:亲亲|亲爱的|亲|哦|呢|哈|啊|呀|嗯嗯|嗯|~|,)+|(?:亲亲|亲|哦|呢|哈|啊|呀|哟|~|,)+$"
_BLANK = "\x00"


def _rules(rules) -> QCRules:
    return rules if isinstance(rules, QCRules) else load_qc_rules(rules)


def _last_to_buyer(agent: pd.DataFrame) -> np.ndarray:
    """True where no later agent message went to the same buyer on the same day."""
    n = len(agent)
    if n == 0 or not {"shop", "buyer_id", "sent_at"} <= set(agent.columns):
        return np.ones(n, dtype=bool)
    t = pd.to_datetime(agent["sent_at"], errors="coerce")
    f = pd.DataFrame({"shop": agent["shop"].to_numpy(), "buyer": agent["buyer_id"].to_numpy(),
                      "day": t.dt.normalize().to_numpy(), "t": t.to_numpy(),
                      "i": np.arange(n)})
    f = f.sort_values(["shop", "buyer", "day", "t", "i"], kind="stable", na_position="last")
    same = np.zeros(n, dtype=bool)
    s, b, d = (f[c].to_numpy() for c in ("shop", "buyer", "day"))
    if n > 1:
        same[:-1] = (s[1:] == s[:-1]) & (b[1:] == b[:-1]) & (d[1:] == d[:-1])
    out = np.ones(n, dtype=bool)
    out[f["i"].to_numpy()] = ~same
    return out


def inspect(messages: pd.DataFrame, rules: QCRules | str | None = None,
            late: pd.DataFrame | None = None) -> pd.DataFrame:
    """Flagged agent messages, one row per (message, rule).

    ``messages``: sender and content, plus shop, buyer_id, agent_id, sent_at when
    available (missing ones come out empty).  ``rules``: a
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
    """
    qc = _rules(rules)
    order = {r.id: i for i, r in enumerate(qc.rules)}
    frames = []
    if "sender" not in messages.columns or "content" not in messages.columns:
        raise ValueError("messages need sender and content columns")
    agent = messages[(messages["sender"] == "agent").to_numpy(dtype=bool, na_value=False)]
    if len(agent):
        text = pc.utf8_trim(normalise(as_arrow(agent["content"])), _TRIM)
        whole = last = None
        for rule in qc.text_rules():
            pattern = rule.pattern()
            if pattern is None:
                continue
            if rule.match == "whole":
                if whole is None:
                    whole = pc.utf8_trim(replace(replace(text, _EMOJI, ""), _PARTICLES, ""),
                                         _TRIM)
                t = whole
            else:
                t = text
            exc = rule.exception_pattern()
            if exc is not None:
                t = replace(t, exc, _BLANK)
            hit = contains(t, pattern)
            if rule.only_if_last and hit.any():
                if last is None:
                    last = _last_to_buyer(agent)
                hit &= last
            if hit.any():
                sel = agent[hit]
                frames.append(pd.DataFrame({
                    "sent_at": sel["sent_at"].to_numpy() if "sent_at" in sel else pd.NaT,
                    "shop": _col(sel, "shop"), "buyer_id": _col(sel, "buyer_id"),
                    "agent_id": _col(sel, "agent_id"), "rule_id": rule.id, "rule": rule.name,
                    "severity": rule.severity, "content": _col(sel, "content"),
                    "wait_s": np.nan}))
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
                if "wait_s" in part else np.nan}))
    if not frames:
        return pd.DataFrame({
            c: pd.Series([], dtype="datetime64[s]" if c == "sent_at" else
                         float if c == "wait_s" else object) for c in FLAG_COLUMNS})
    out = pd.concat(frames, ignore_index=True)
    out["sent_at"] = pd.to_datetime(out["sent_at"], errors="coerce")
    out["_o"] = out["rule_id"].map(order)
    out = out.sort_values(["shop", "sent_at", "agent_id", "_o"], kind="stable",
                          na_position="last")
    return out[FLAG_COLUMNS].reset_index(drop=True)


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
    flags (descending), agent_id.
    """
    qc = _rules(rules)
    ids = [r.id for r in qc.rules]
    sev = {r.id: r.severity for r in qc.rules}
    keys = ["shop", "agent_id"]
    f = flags.copy()
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
        m = messages[messages["sender"] == "agent"] if "sender" in messages else messages
        counts = (m.assign(shop=m["shop"].astype(object).where(m["shop"].notna(), ""),
                           agent_id=m["agent_id"].astype(object).where(m["agent_id"].notna(), ""))
                  .groupby(keys, sort=False).size().rename("agent_messages").reset_index())
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
    wide["_f"] = -wide["flags"]
    wide = wide.sort_values(["shop", "_f", "agent_id"], kind="stable")
    return wide[cols].reset_index(drop=True)
