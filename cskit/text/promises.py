"""Promises an agent makes to a buyer (日清): detection, deadline and status.

Rules are data (``cskit/data/promises.toml``; every rule in docs/promises.md).  Only
human agent messages (``sender == "agent"``) are read; a robot's or a buyer's words never
make a promise.

Detection is vectorised over the DISTINCT agent texts (one dictionary encoding; each
distinct text is normalised, cut into clauses (:func:`clauses`), its exceptions blanked and
the families tried once, in
RE2 through pyarrow).  The deadline rule is read once per distinct promise text (the
few texts that matched); deadlines per message are then numpy datetime arithmetic.

Status (:func:`promise_status`): **kept** when the shop (the same agent or a colleague)
writes to that buyer again after the promise and by its deadline — a human message,
not a trivial one (稍等/好的) and not part of the same utterance (``min_gap_s``) — or
when the buyer's order shows what was promised (shipped for a ship promise, refunded
for a refund) by the deadline; **open** when the deadline lies after the store's data
end for that shop; **unknown** when only the order data could show it (a ship, refund
or remark promise not followed up) and the buyer has no order to show it (or the
shop's orders carry no buyer ids); **broken** otherwise.  A follow-up after the deadline leaves the
promise broken (``followed_up_at`` shows how late it came).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.text._regex import as_arrow, contains, normalise, replace

__all__ = ["PromiseRules", "load_promise_rules", "detect", "promise_status", "by_agent",
           "PROMISE_COLUMNS", "STATUSES", "KINDS_FULFILMENT", "TIERS"]

#: promise tiers (``[[families]] tier``): confident forms are counted by default; weak ones
#: (a bare agreement, a procedure-like step) only with ``--all``, marked 待确认
TIERS = ("confident", "weak")
#: the statuses, in display order
STATUSES = ("broken", "open", "kept", "unknown")
#: order statuses a ``fulfilled_by`` list may name
KINDS_FULFILMENT = ("follow_up", "shipped", "completed", "refunded")
#: the 日清 list's columns (machine keys)
PROMISE_COLUMNS = ["shop", "agent_id", "buyer_id", "promised_at", "deadline", "kind", "status",
                   "kept_by", "followed_up_at", "quote"]
#: an order this many days before a promise may be the one it is about
ORDER_LOOKBACK_DAYS = 30
#: an order in one of these statuses is one a promise can be about (paid: still owed;
#: unpaid or closed orders owe nothing)
OWED_STATUSES = ("paid", "shipped", "completed", "refunded")
_TRIM = " \t\r\n,.!?;:~。…、\"'"
_BLANK = "。"  # a blanked exception also ends the clause: no pattern reaches across it
_SPACE_BREAK = r"([^\x00-\x7f])\s+([^\x00-\x7f])"
_EMOJI = r"\[[^\[\]]{1,6}\]"
_PARTICLES = r"^(?:亲亲|亲爱的|亲|哦|呢|哈|啊|呀|~|,)+|(?:亲亲|亲|哦|呢|哈|啊|呀|哟|~|,)+$"
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
#: deadline modes (per distinct text): hours after the message, or the end of a day
_HOURS, _DAYS, _WEEKDAY, _NEXT_WEEKDAY, _MONTH_DAY, _DATE = range(6)
_RE_DATE = re.compile(r"([0-9]{1,2})\s*月\s*([0-9]{1,2})\s*[日号]")
_RE_DAY = re.compile(r"(?<![0-9月.:/-])([0-9]{1,2})\s*[日号](?![0-9]|内|以内|之内|左右)")
_RE_WEEKDAY = re.compile(r"(下个?)?(?:周|星期|礼拜)([一二三四五六日天])")
_RE_HOURS = re.compile(r"([0-9]{1,3})\s*个?\s*(?:小时|钟头)\s*(?:内|以内|之内)")
_RE_NDAYS = re.compile(r"([0-9]{1,2})\s*个?\s*(?:工作日|天)\s*(?:内|以内|之内)")


@dataclass(frozen=True)
class Kind:
    id: str
    name: str
    name_en: str
    hours: float
    fulfilled_by: tuple[str, ...]


@dataclass(frozen=True)
class PromiseRules:
    source: str
    exceptions: tuple[str, ...]
    kinds: dict
    families: tuple[tuple[str, str, str], ...]  #: (id, kind id, pattern): confident tier first
    same_day: tuple[str, ...]
    next_day: tuple[str, ...]
    day_after: tuple[str, ...]
    max_days: int
    min_gap_s: float
    trivial: tuple[str, ...]
    clause_breaks: tuple[str, ...] = ()
    #: per family (as ``families``): its tier, "confident" or "weak"
    tiers: tuple[str, ...] = ()
    #: per family (as ``families``): its patterns one by one (benchmarks/promise_families.py)
    patterns: tuple[tuple[str, ...], ...] = ()

    def exception_pattern(self) -> str | None:
        return "|".join(f"(?:{p})" for p in self.exceptions) or None

    def kind_name(self, kind: str, lang: str = "zh") -> str:
        k = self.kinds.get(kind)
        return kind if k is None else (k.name if lang == "zh" else k.name_en)


def _parse(doc: dict, label: str) -> PromiseRules:
    from cskit.text.lexicon import _Src

    src = _Src(label)
    src.unknown(doc, ("version", "clause_breaks", "exceptions", "deadline", "follow_up", "kinds",
                      "families"), "")

    def strings(body, key, path):
        v = body.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise src.fail(f"{path}.{key}" if path else key, "must be a list of strings")
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise src.fail(f"{path}.{key}" if path else key, "bad regular expression {p!r} ({reason})",
                               p=p, reason=exc) from None
        return tuple(v)

    kinds = {}
    for i, k in enumerate(doc.get("kinds", [])):
        path = f"kinds[{i}]"
        src.unknown(k, ("id", "name", "name_en", "hours", "fulfilled_by"), path)
        fb = tuple(k.get("fulfilled_by", ["follow_up"]))
        bad = [x for x in fb if x not in KINDS_FULFILMENT]
        if bad:
            raise src.fail(f"{path}.fulfilled_by", "unknown value {v!r} (allowed: {allowed})", v=bad[0],
                           allowed=", ".join(KINDS_FULFILMENT))
        kinds[str(k["id"])] = Kind(str(k["id"]), str(k.get("name", k["id"])),
                                   str(k.get("name_en", k["id"])), float(k.get("hours", 24)), fb)
    fams = []
    for i, f in enumerate(doc.get("families", [])):
        path = f"families[{i}]"
        src.unknown(f, ("id", "kind", "tier", "patterns"), path)
        if f.get("kind") not in kinds:
            raise src.fail(f"{path}.kind", "unknown kind {v!r}", v=f.get("kind"))
        tier = f.get("tier", "confident")
        if tier not in TIERS:
            raise src.fail(f"{path}.tier", "unknown value {v!r} (allowed: {allowed})", v=tier,
                           allowed=", ".join(TIERS))
        pats = strings(f, "patterns", path)
        if pats:
            fams.append((str(f.get("id", f["kind"])), str(f["kind"]),
                         "|".join(f"(?:{p})" for p in pats), tier, pats))
    # the confident families are tried first (each tier in file order): a message that a
    # confident form matches is a confident promise whatever weak form it also holds
    fams.sort(key=lambda f: TIERS.index(f[3]))
    dl = doc.get("deadline", {})
    src.unknown(dl, ("same_day", "next_day", "day_after", "max_days"), "deadline")
    fu = doc.get("follow_up", {})
    src.unknown(fu, ("min_gap_s", "trivial"), "follow_up")
    return PromiseRules(source=label, exceptions=strings(doc, "exceptions", ""), kinds=kinds,
                        families=tuple(f[:3] for f in fams), tiers=tuple(f[3] for f in fams),
                        patterns=tuple(f[4] for f in fams),
                        same_day=tuple(dl.get("same_day", ())), next_day=tuple(dl.get("next_day", ())),
                        day_after=tuple(dl.get("day_after", ())),
                        max_days=int(dl.get("max_days", 14)),
                        min_gap_s=float(fu.get("min_gap_s", 10)),
                        trivial=tuple(fu.get("trivial", ())),
                        clause_breaks=strings(doc, "clause_breaks", ""))


@functools.lru_cache(maxsize=1)
def _default() -> PromiseRules:
    from cskit.text.lexicon import _read_toml, default_path

    doc, _ = _read_toml(default_path("promises.toml"))
    return _parse(doc, "promises.toml (packaged)")


def load_promise_rules(path: Path | str | None = None) -> PromiseRules:
    """The packaged promise rules, or the ones in ``path`` (validated)."""
    if path is None or isinstance(path, PromiseRules):
        return path or _default()
    from cskit.text.lexicon import _read_toml

    doc, label = _read_toml(path)
    return _parse(doc, label)


def _distinct(values) -> tuple[np.ndarray, pa.Array]:
    enc = pc.dictionary_encode(as_arrow(values))
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, pc.utf8_trim(normalise(enc.dictionary), _TRIM)


def clauses(text: pa.Array, rules: PromiseRules) -> pa.Array:
    """``text`` (normalised) with every clause break made a "。": a run of spaces between two
    non-ASCII characters (a chat export joins an agent's separate sentences with spaces; a
    space next to ASCII, as in ``72 小时``, stays) and each ``clause_breaks`` pattern."""
    if len(text) == 0:
        return text
    for _ in range(2):  # a one-character sentence between two spaces needs a second pass
        text = pc.replace_substring_regex(text, _SPACE_BREAK, "\\1" + _BLANK + "\\2")
    pat = "|".join(f"(?:{p})" for p in rules.clause_breaks)
    return replace(text, pat, _BLANK) if pat else text


def _deadline_spec(text: str, rules: PromiseRules, kind: str) -> tuple[int, int, int]:
    """How one promise text sets its deadline: (mode, a, b)."""
    m = _RE_DATE.search(text)
    if m:
        return _MONTH_DAY, int(m.group(1)), int(m.group(2))
    m = _RE_DAY.search(text)
    if m:
        return _DATE, int(m.group(1)), 0
    m = _RE_WEEKDAY.search(text)
    if m:
        return (_NEXT_WEEKDAY if m.group(1) else _WEEKDAY), _WEEKDAYS[m.group(2)], 0
    m = _RE_HOURS.search(text)
    if m:
        return _HOURS, int(m.group(1)), 0
    m = _RE_NDAYS.search(text)
    if m:
        return _DAYS, int(m.group(1)), 0
    for words, days in ((rules.day_after, 2), (rules.next_day, 1), (rules.same_day, 0)):
        if any(w in text for w in words):
            return _DAYS, days, 0
    return _HOURS, int(round(rules.kinds[kind].hours)), 0


def _deadlines(sent: np.ndarray, mode: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per message, its deadline (datetime64[s]; NaT when the named date does not exist)."""
    sent = sent.astype("datetime64[s]")
    day = sent.astype("datetime64[D]")
    one = np.timedelta64(1, "D")
    end = lambda d: (d + one).astype("datetime64[s]") - np.timedelta64(1, "s")  # noqa: E731
    out = np.full(len(sent), np.datetime64("NaT"), dtype="datetime64[s]")
    sel = mode == _HOURS
    out[sel] = sent[sel] + (a[sel] * 3600).astype("timedelta64[s]")
    sel = mode == _DAYS
    out[sel] = end(day[sel] + a[sel].astype("timedelta64[D]"))
    wd = (day.astype(np.int64) + 3) % 7  # Monday = 0 (1970-01-01 was a Thursday)
    sel = mode == _WEEKDAY
    out[sel] = end(day[sel] + ((a[sel] - wd[sel]) % 7).astype("timedelta64[D]"))
    sel = mode == _NEXT_WEEKDAY
    out[sel] = end(day[sel] + (7 - wd[sel] + a[sel]).astype("timedelta64[D]"))
    # a day of the month: this month's, or next month's when it has passed
    sel = mode == _DATE
    if sel.any():
        month = day[sel].astype("datetime64[M]")
        d = a[sel]
        cand = month.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
        late = cand < day[sel]
        month = np.where(late, month + np.timedelta64(1, "M"), month)
        cand = month.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
        ok = (cand.astype("datetime64[M]") == month) & (d >= 1)
        out[np.flatnonzero(sel)[ok]] = end(cand[ok])
    sel = mode == _MONTH_DAY
    if sel.any():
        year = day[sel].astype("datetime64[Y]")
        m, d = a[sel], b[sel]
        for bump in (0, 1):
            month = (year + np.timedelta64(bump, "Y")).astype("datetime64[M]") + \
                (m - 1).astype("timedelta64[M]")
            cand = month.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")
            ok = (cand.astype("datetime64[M]") == month) & (m >= 1) & (m <= 12) & (d >= 1)
            ok &= cand >= day[sel]
            idx = np.flatnonzero(sel)[ok]
            fresh = np.isnat(out[idx])
            out[idx[fresh]] = end(cand[ok][fresh])
    return out


def detect(messages: pd.DataFrame, rules: PromiseRules | str | None = None,
           tiers: tuple[str, ...] = ("confident",)) -> pd.DataFrame:
    """The promises among ``messages``' human agent messages: one row per promise with
    shop, agent_id, buyer_id, promised_at, deadline, kind, family, tier, content (and the
    message's position ``row`` in ``messages``).  Only promises of ``tiers`` are returned:
    by default the confident ones (a message a confident family matches is confident, one
    only a weak family matches is weak; ``tiers=TIERS`` returns both).  A promise whose
    deadline is more than ``max_days`` days away, or names a date that does not exist, is not
    kept track of."""
    r = load_promise_rules(rules)
    cols = ["row", "shop", "agent_id", "buyer_id", "promised_at", "deadline", "kind", "family",
            "tier", "content"]
    is_agent = (messages["sender"] == "agent").to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(is_agent)
    if not len(rows) or not r.families:
        return pd.DataFrame({c: pd.Series([], dtype="datetime64[s]" if c in ("promised_at", "deadline")
                                          else np.int64 if c == "row" else object) for c in cols})
    codes, text = _distinct(messages["content"].iloc[rows])
    t = clauses(text, r)
    exc = r.exception_pattern()
    t = replace(t, exc, _BLANK) if exc else t
    fam = np.full(len(text), -1, dtype=np.int64)
    fam_tiers = np.array(r.tiers or ["confident"] * len(r.families), dtype=object)
    for i, (_, _, pat) in enumerate(r.families):
        if fam_tiers[i] not in tiers:
            continue
        todo = fam < 0
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        hit = contains(t.take(pa.array(idx)), pat)
        fam[idx[hit]] = i
    # the deadline rule, once per distinct promise text
    mode = np.zeros(len(text), dtype=np.int64)
    a = np.zeros(len(text), dtype=np.int64)
    b = np.zeros(len(text), dtype=np.int64)
    matched = np.flatnonzero(fam >= 0)
    texts = text.take(pa.array(matched)).to_pylist() if len(matched) else []
    for j, s in zip(matched, texts):
        mode[j], a[j], b[j] = _deadline_spec(s, r, r.families[fam[j]][1])
    per = fam[codes]
    hit = per >= 0
    sel = rows[hit]
    picked = messages.iloc[sel]
    sent = pd.to_datetime(picked["sent_at"]).to_numpy().astype("datetime64[s]")
    c = codes[hit]
    deadline = _deadlines(sent, mode[c], a[c], b[c])
    kinds = np.array([k for _, k, _ in r.families], dtype=object)
    ids = np.array([f for f, _, _ in r.families], dtype=object)
    out = pd.DataFrame({
        "row": sel.astype(np.int64),
        "shop": _col(picked, "shop"), "agent_id": _col(picked, "agent_id"),
        "buyer_id": _col(picked, "buyer_id"), "promised_at": sent, "deadline": deadline,
        "kind": kinds[per[hit]], "family": ids[per[hit]], "tier": fam_tiers[per[hit]],
        "content": _col(picked, "content")})
    far = sent + np.timedelta64(int(r.max_days) * 86400, "s")
    keep = ~np.isnat(deadline) & (deadline <= far)
    return out[keep].reset_index(drop=True)


def _col(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return frame[name].astype(object).to_numpy()
    return np.full(len(frame), None, dtype=object)


def _follow_ups(messages: pd.DataFrame, promises: pd.DataFrame, r: PromiseRules) -> pd.DataFrame:
    """The human agent messages to the promises' buyers that count as a follow-up:
    shop, buyer_id, at (sorted by at)."""
    is_agent = (messages["sender"] == "agent").to_numpy(dtype=bool, na_value=False).copy()
    # the promises' buyers first (one hash lookup per message), then the exact shop pairs
    wanted = pa.array(pd.unique(promises["buyer_id"].astype(str)), type=pa.large_string())
    is_agent &= np.asarray(pc.fill_null(pc.is_in(as_arrow(messages["buyer_id"]), value_set=wanted),
                                        False).to_numpy(zero_copy_only=False), dtype=bool)
    m = messages.loc[is_agent, ["shop", "buyer_id", "sent_at", "content"]]
    if promises["shop"].nunique() > 1 or m["shop"].nunique() > 1:
        keyset = pd.MultiIndex.from_frame(promises[["shop", "buyer_id"]].astype(str)).unique()
        idx = pd.MultiIndex.from_arrays([m["shop"].astype(str), m["buyer_id"].astype(str)])
        m = m[idx.isin(keyset)]
    if len(m) and r.trivial:
        codes, text = _distinct(m["content"])
        bare = pc.utf8_trim(replace(replace(text, _EMOJI, ""), _PARTICLES, ""), _TRIM)
        pat = "^(?:" + "|".join(re.escape(w) for w in r.trivial) + ")*$"
        m = m[~contains(bare, pat)[codes]]
    return pd.DataFrame({"shop": m["shop"].astype(str).to_numpy(),
                         "buyer_id": m["buyer_id"].astype(str).to_numpy(),
                         "at": pd.to_datetime(m["sent_at"]).to_numpy().astype("datetime64[ns]")}
                        ).sort_values("at", kind="stable")


def promise_status(promises: pd.DataFrame, messages: pd.DataFrame,
                   orders: pd.DataFrame | None = None, data_end=None,
                   rules: PromiseRules | str | None = None) -> pd.DataFrame:
    """``promises`` (from :func:`detect`) with status (kept / open / broken), kept_by
    (follow_up / order / None) and followed_up_at (the first follow-up after it, also
    when it came after the deadline).  ``messages``: the shop's messages from the
    promises on to their deadlines.  ``orders`` (optional): shop, buyer_id, created_at,
    status.  ``data_end``: a timestamp, or a dict shop → timestamp (the store's data end
    per shop; None = unknown, deadlines then count as passed only by the messages read)."""
    r = load_promise_rules(rules)
    p = promises.copy()
    n = len(p)
    p["followed_up_at"] = pd.Series(pd.NaT, index=p.index, dtype="datetime64[ns]")
    p["kept_by"] = None
    p["status"] = None
    if n == 0:
        return p
    p["_i"] = np.arange(n)
    fu = _follow_ups(messages, p, r)
    left = pd.DataFrame({"_i": p["_i"].to_numpy(), "shop": p["shop"].astype(str).to_numpy(),
                         "buyer_id": p["buyer_id"].astype(str).to_numpy(),
                         "at": (pd.to_datetime(p["promised_at"]).to_numpy().astype("datetime64[ns]")
                                + np.timedelta64(int(r.min_gap_s * 1e9), "ns"))}
                        ).sort_values("at", kind="stable")
    fu = fu.assign(followed=fu["at"])
    joined = pd.merge_asof(left, fu, on="at", by=["shop", "buyer_id"], direction="forward",
                           allow_exact_matches=True).sort_values("_i")
    followed = joined["followed"].to_numpy().astype("datetime64[ns]")
    p["followed_up_at"] = followed
    deadline = pd.to_datetime(p["deadline"]).to_numpy().astype("datetime64[ns]")
    by_fu = ~np.isnat(followed) & (followed <= deadline)
    by_fu &= p["kind"].isin([k.id for k in r.kinds.values() if "follow_up" in k.fulfilled_by]
                            ).to_numpy(dtype=bool)
    by_order = np.zeros(n, dtype=bool)
    has_order = np.zeros(n, dtype=bool)  # the buyer has an order the promise is about
    if orders is not None and len(orders):
        o = orders[["shop", "buyer_id", "created_at", "status"]].dropna(subset=["buyer_id"])
        o = o.assign(shop=o["shop"].astype(str), buyer_id=o["buyer_id"].astype(str),
                     status=o["status"].astype(str))
        pk = p[["_i", "shop", "buyer_id", "kind", "promised_at", "deadline"]].assign(
            shop=p["shop"].astype(str), buyer_id=p["buyer_id"].astype(str))
        j = pk.merge(o, on=["shop", "buyer_id"], how="inner")
        if len(j):
            created = pd.to_datetime(j["created_at"])
            since = pd.to_datetime(j["promised_at"]) - pd.Timedelta(days=ORDER_LOOKBACK_DAYS)
            near = ((created <= pd.to_datetime(j["deadline"])) & (created >= since)
                    & j["status"].isin(OWED_STATUSES)).to_numpy(dtype=bool, na_value=False)
            has_order[np.unique(j.loc[near, "_i"].to_numpy(dtype=np.int64))] = True
            ok = _status_ok(j, r) & near
            by_order[np.unique(j.loc[ok, "_i"].to_numpy(dtype=np.int64))] = True
    kept = by_fu | by_order
    ends = _ends(p["shop"], data_end)
    is_open = ~kept & (np.isnat(ends) | (deadline > ends))
    # fulfilled out of the chat (shipped, refunded …) and no order of the buyer to show it:
    # whether it was kept cannot be known
    by_orders = p["kind"].isin([k.id for k in r.kinds.values()
                                if set(k.fulfilled_by) - {"follow_up"}]).to_numpy(dtype=bool)
    unknown = ~kept & ~is_open & by_orders & ~has_order
    p["status"] = np.select([kept, is_open, unknown], ["kept", "open", "unknown"],
                            "broken").astype(object)
    p["kept_by"] = np.where(by_fu, "follow_up", np.where(by_order, "order", None)).astype(object)
    return p.drop(columns="_i")


def _status_ok(j: pd.DataFrame, r: PromiseRules) -> np.ndarray:
    pairs = {(k.id, s) for k in r.kinds.values() for s in k.fulfilled_by if s != "follow_up"}
    key = j["kind"].astype(str) + "\x1f" + j["status"].astype(str)
    return key.isin({f"{a}\x1f{b}" for a, b in pairs}).to_numpy(dtype=bool)


def _ends(shops: pd.Series, data_end) -> np.ndarray:
    if isinstance(data_end, dict):
        ends = pd.Series({k: pd.Timestamp(v) if v is not None else pd.NaT
                          for k, v in data_end.items()}, dtype="datetime64[ns]")
        return shops.astype(str).map(ends).to_numpy().astype("datetime64[ns]")
    if data_end is None:
        return np.full(len(shops), np.datetime64("NaT"), dtype="datetime64[ns]")
    return np.full(len(shops), np.datetime64(pd.Timestamp(data_end).to_datetime64(), "ns"))


def by_agent(status: pd.DataFrame) -> pd.DataFrame:
    """Per (shop, agent_id): promises, kept, broken, open, unknown (counts)."""
    cols = ["shop", "agent_id", "promises", "kept", "broken", "open", "unknown"]
    if status.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object if c in cols[:2] else np.int64)
                             for c in cols})
    s = status.assign(**{k: (status["status"] == k).to_numpy(dtype=bool)
                         for k in ("kept", "broken", "open", "unknown")}, promises=1)
    g = s.groupby(["shop", "agent_id"], sort=True, dropna=False)[cols[2:]].sum().reset_index()
    return g[cols].astype({c: np.int64 for c in cols[2:]})
