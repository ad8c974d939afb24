"""Lexicons as data: lost-sale reasons and quality-inspection rules (TOML).

The packaged defaults are ``cskit/data/lost_reasons.toml`` and
``cskit/data/qc_rules.toml``; ``--lexicon FILE`` / ``--rules FILE`` load a file
of the same shape instead.  A file with ``extends = "default"`` at the top is
merged into the packaged default (its tables add to or override the default's
keys; a QC rule with an existing ``id`` replaces that rule) — handy for adding
a few shop-specific words.

Every problem is a :class:`cskit.errors.UsageError` with one line naming the
file and the offending key, e.g. ``shop.toml: reasons.price.terms.贵: weight
must be a positive number``.  The format is documented in docs/text.md.
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cskit.errors import UsageError
from cskit.i18n import Msg
from cskit.text._regex import escape

__all__ = ["LostLexicon", "Reason", "Signal", "Grammar", "QCRule", "QCRules", "SIGNAL_IDS",
           "SEVERITIES", "load_lost_lexicon", "load_qc_rules", "default_path", "normalize_term"]

#: reasons measured from the log itself (boolean inputs of classify)
SIGNAL_IDS = ("unanswered", "slow", "unpaid")
SEVERITIES = ("high", "medium", "low")
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TERM_TABLES = ("terms", "negatable", "patterns", "fallback")


def default_path(name: str) -> Path:
    """Path of a packaged data file (``lost_reasons.toml``, ``qc_rules.toml``, …)."""
    return Path(str(resources.files("cskit") / "data" / name))


def normalize_term(text: str) -> str:
    """How lexicon words and chat text are compared: NFKC (full-width → half-width) and
    case-folded (``ＸＬ`` → ``xl``)."""
    return unicodedata.normalize("NFKC", text).casefold()


# ======================================================================================
# reading and generic checks
# ======================================================================================
class _Src:
    """The file being validated: every error names it and the key."""

    def __init__(self, label: str):
        self.label = label

    def fail(self, key: str, problem: str, **params) -> UsageError:
        where = f"{self.label}: {key}: " if key else f"{self.label}: "
        return UsageError("{where}{problem}",
                          hint="see docs/text.md for the lexicon format", where=where, problem=Msg(problem,
                          **params))

    def table(self, doc: dict, key: str, path: str, required: bool = False) -> dict:
        v = doc.get(key)
        if v is None:
            if required:
                raise self.fail(_join(path, key), "missing table")
            return {}
        if not isinstance(v, dict):
            raise self.fail(_join(path, key), "must be a table")
        return v

    def string(self, doc: dict, key: str, path: str, required: bool = True,
               default: str | None = None) -> str:
        v = doc.get(key, default)
        if v is None and not required:
            return ""
        if not isinstance(v, str) or not v.strip():
            raise self.fail(_join(path, key), "must be a non-empty string")
        return v.strip()

    def strings(self, doc: dict, key: str, path: str, default: list | None = None) -> list[str]:
        v = doc.get(key, default)
        if v is None:
            return []
        if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
            raise self.fail(_join(path, key), "must be a list of non-empty strings")
        return [x.strip() for x in v]

    def number(self, doc: dict, key: str, path: str, default: float, lo: float = 0.0,
               hi: float | None = None, positive: bool = False) -> float:
        v = doc.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < lo or \
                (positive and v <= 0) or (hi is not None and v > hi):
            rng = f"> {lo:g}" if positive else f"≥ {lo:g}"
            if hi is not None:
                rng += f" and ≤ {hi:g}"
            raise self.fail(_join(path, key), "must be a number {range}", range=rng)
        return float(v)

    def regex(self, pattern: str, key: str) -> re.Pattern:
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise self.fail(key, "not a valid regular expression ({error} at position "
                                 "{pos})", error=exc.msg, pos=exc.pos) from None

    def unknown(self, doc: dict, allowed: tuple[str, ...], path: str) -> None:
        for k in doc:
            if k not in allowed:
                raise self.fail(_join(path, k), "unknown key (allowed: {allowed})", allowed=", ".join(allowed))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _read_toml(path: Path | str) -> tuple[dict, str]:
    p = Path(path)
    label = str(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise UsageError("{label}: cannot read lexicon file ({reason})",
                         label=label, reason=exc.strerror or exc) from None
    try:
        return tomllib.loads(raw.decode("utf-8-sig")), label
    except UnicodeDecodeError:
        raise UsageError("{label}: not UTF-8 text", hint="save the file as UTF-8", label=label) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError("{label}: not valid TOML ({reason})",
                         hint="see docs/text.md for the lexicon format", label=label, reason=exc) from None


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


# ======================================================================================
# lost-sale reasons
# ======================================================================================
@dataclass(frozen=True)
class Reason:
    """One text reason.  Weights are per distinct term per clause."""

    id: str
    name: str
    #: topic words: count whether or not a negator precedes them (不包邮, 没有货 …)
    terms: dict[str, float]
    #: evaluative words: a negator just before them (不贵, 质量没问题) cancels the clause
    negatable: dict[str, float]
    #: regular expressions over a clause's text (normalised), weight per pattern
    patterns: dict[str, float]
    #: words that count only when no other text reason reached ``min_score`` (再看看)
    fallback: dict[str, float]
    #: reason ids whose hits are dropped from a clause in which this reason has a hit
    #: (stock absorbs size: "m码什么时候补货" is about stock, the 码 says which one)
    absorbs: tuple[str, ...] = ()
    #: reason ids whose scores this reason takes over for the whole buyer-day once its own
    #: score reaches ``takes_over_at`` (an existing order makes "什么时候到" service talk)
    takes_over: tuple[str, ...] = ()
    takes_over_at: float = 0.0
    #: a topic that is no purchase concern (platform, account or merchant business): it
    #: scores like a reason, but a buyer-day it tops is 其他 with no reason listed, and it
    #: is never listed itself
    counts_as_other: bool = False
    #: weight of the agent's turns for this reason (None: ``grammar.agent_factor``; a
    #: grammar agent_factor of 0 still reads buyer turns only): the agent's 您的订单 /
    #: 订单号发我 says the talk is about an existing order
    agent_factor: float | None = None
    #: > 0: the agent's turns alone may raise this reason, on a buyer-day where the buyer's
    #: own words raised nothing and showed no pre-sale marker (``grammar.presale_patterns``),
    #: once their weighted score reaches this value: a 在吗 answered with 您的订单已出库 is a
    #: service contact, not a lost sale.  0: never (the agent alone is no reason)
    agent_alone: float = 0.0
    #: weight of this reason's whole score on a pre-sale day (``grammar.presale_patterns``:
    #: the buyer says they have not bought yet): 1 = unchanged; the packaged ``aftersale``
    #: 0.5 — service talk about an order is less likely from a buyer who has none
    presale_factor: float = 1.0


@dataclass(frozen=True)
class Signal:
    id: str  #: unanswered | slow | unpaid
    name: str
    score: float


@dataclass(frozen=True)
class Grammar:
    negators: tuple[str, ...]
    negation_window: int
    question_factor: float
    min_score: float
    question_endings: tuple[str, ...]
    question_tail: tuple[str, ...]
    question_words: tuple[str, ...]
    worry_endings: tuple[str, ...]
    clause_breaks: tuple[str, ...]
    #: negators that cancel topic words too (不用运费险, 无所谓快慢)
    waivers: tuple[str, ...] = ()
    #: statement clauses with one of these score nothing (价格还行, 质量挺好的)
    reassurances: tuple[str, ...] = ()
    #: weight of the agent's turns of the same buyer-day (context: 亲，今天就发货 tells the
    #: topic); 0 = buyer turns only
    agent_factor: float = 0.0
    #: regular expressions whose matches are blanked before scoring: quoted product text,
    #: order cards, links (a product title's 包邮 is not the buyer's concern)
    quote_patterns: tuple[str, ...] = ()
    #: regular expressions over the buyer's (normalised, unblanked) messages that show the
    #: buyer has not bought yet: a product page's link, 还没下单, 打算买.  On such a day a
    #: reason's own ``agent_factor`` and ``agent_alone`` do not apply (the agent's 订单 /
    #: 申请售后 boilerplate then answers a pre-sale question)
    presale_patterns: tuple[str, ...] = ()
    #: the same over the agents' turns: the agent invites the buyer to buy (放心购买,
    #: 欢迎下单, 建议您下单), so the buyer has not bought yet
    agent_presale_patterns: tuple[str, ...] = ()

    @property
    def words(self) -> frozenset[str]:
        """Grammar words the tokenizer must keep whole."""
        return frozenset(self.negators + self.waivers + self.reassurances)


@dataclass(frozen=True)
class LostLexicon:
    source: str
    grammar: Grammar
    reasons: tuple[Reason, ...]
    signals: tuple[Signal, ...]
    other: str
    #: ids (reasons and signals) in tie-break order, highest priority first
    priority: tuple[str, ...]
    _cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    @property
    def ids(self) -> tuple[str, ...]:
        """Reason ids then signal ids (the order of score columns)."""
        return tuple(r.id for r in self.reasons) + tuple(s.id for s in self.signals)

    def name_of(self, rid: str) -> str:
        for r in self.reasons:
            if r.id == rid:
                return r.name
        for s in self.signals:
            if s.id == rid:
                return s.name
        if rid == "other":
            return self.other
        raise KeyError(rid)

    def names(self) -> dict[str, str]:
        """id → display name, in priority order, ending with ``other``."""
        out = {i: self.name_of(i) for i in self.priority}
        out["other"] = self.other
        return out

    def vocabulary(self) -> frozenset[str]:
        """Words the tokenizer must keep whole: every term, negatable and fallback word."""
        words = set()
        for r in self.reasons:
            words.update(r.terms)
            words.update(r.negatable)
            words.update(r.fallback)
        return frozenset(words) | self.grammar.words


_LOST_TOP = ("version", "extends", "grammar", "signals", "reasons")
_GRAMMAR_KEYS = ("negators", "negation_window", "question_factor", "min_score",
                 "question_endings", "question_tail", "question_words", "worry_endings",
                 "clause_breaks", "waivers", "reassurances", "other", "priority",
                 "agent_factor", "quote_patterns", "presale_patterns",
                 "agent_presale_patterns")


def _weights(src: _Src, doc: dict, key: str, path: str, regex: bool = False) -> dict[str, float]:
    tab = src.table(doc, key, path)
    out: dict[str, float] = {}
    for term, w in tab.items():
        k = f"{path}.{key}.{term}"
        if not term.strip():
            raise src.fail(k, "empty term")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w <= 0:
            raise src.fail(k, "weight must be a positive number")
        if regex:
            src.regex(term, k)
            out[term] = float(w)
        else:
            out[normalize_term(term.strip())] = float(w)
    return out


def _parse_lost(doc: dict, label: str) -> LostLexicon:
    src = _Src(label)
    src.unknown(doc, _LOST_TOP, "")
    g = src.table(doc, "grammar", "")
    src.unknown(g, _GRAMMAR_KEYS, "grammar")
    window = src.number(g, "negation_window", "grammar", 3, lo=0, hi=10)
    if window != int(window):
        raise src.fail("grammar.negation_window", "must be a whole number")
    grammar = Grammar(
        negators=tuple(normalize_term(x) for x in src.strings(g, "negators", "grammar", [])),
        negation_window=int(window),
        question_factor=src.number(g, "question_factor", "grammar", 0.6, lo=0, hi=1),
        min_score=src.number(g, "min_score", "grammar", 1.0, positive=True),
        question_endings=tuple(normalize_term(x) for x in
                               src.strings(g, "question_endings", "grammar", ["吗", "?"])),
        question_tail=tuple(normalize_term(x) for x in src.strings(g, "question_tail", "grammar", [])),
        question_words=tuple(normalize_term(x) for x in src.strings(g, "question_words", "grammar", [])),
        worry_endings=tuple(normalize_term(x) for x in src.strings(g, "worry_endings", "grammar", [])),
        clause_breaks=tuple(normalize_term(x) for x in src.strings(g, "clause_breaks", "grammar", [])),
        waivers=tuple(normalize_term(x) for x in src.strings(g, "waivers", "grammar", [])),
        reassurances=tuple(normalize_term(x) for x in src.strings(g, "reassurances", "grammar", [])),
        agent_factor=src.number(g, "agent_factor", "grammar", 0.0, lo=0, hi=1),
        quote_patterns=tuple(src.strings(g, "quote_patterns", "grammar", [])),
        presale_patterns=tuple(src.strings(g, "presale_patterns", "grammar", [])),
        agent_presale_patterns=tuple(src.strings(g, "agent_presale_patterns", "grammar", [])),
    )
    for key in ("quote_patterns", "presale_patterns", "agent_presale_patterns"):
        for i, qp in enumerate(getattr(grammar, key)):
            src.regex(qp, f"grammar.{key}[{i}]")
    other = src.string(g, "other", "grammar", default="其他")

    reasons = []
    rtab = src.table(doc, "reasons", "", required=True)
    if not rtab:
        raise src.fail("reasons", "needs at least one reason")
    for rid, body in rtab.items():
        path = f"reasons.{rid}"
        if not _ID.match(rid):
            raise src.fail(path, "reason ids must be lower-case ASCII words (a-z, 0-9, _)")
        if rid in SIGNAL_IDS or rid == "other":
            raise src.fail(path, "{rid!r} is reserved", rid=rid)
        if not isinstance(body, dict):
            raise src.fail(path, "must be a table")
        src.unknown(body, ("name", "absorbs", "takes_over", "takes_over_at", "counts_as_other",
                           "agent_factor", "agent_alone", "presale_factor") + _TERM_TABLES,
                    path)
        as_other = body.get("counts_as_other", False)
        if not isinstance(as_other, bool):
            raise src.fail(f"{path}.counts_as_other", "must be true or false")
        r = Reason(id=rid, name=src.string(body, "name", path),
                   terms=_weights(src, body, "terms", path),
                   negatable=_weights(src, body, "negatable", path),
                   patterns=_weights(src, body, "patterns", path, regex=True),
                   fallback=_weights(src, body, "fallback", path),
                   absorbs=tuple(src.strings(body, "absorbs", path)),
                   takes_over=tuple(src.strings(body, "takes_over", path)),
                   takes_over_at=src.number(body, "takes_over_at", path, 0.0),
                   counts_as_other=as_other,
                   agent_factor=(src.number(body, "agent_factor", path, 0.0, lo=0, hi=1)
                                 if "agent_factor" in body else None),
                   agent_alone=src.number(body, "agent_alone", path, 0.0),
                   presale_factor=src.number(body, "presale_factor", path, 1.0, lo=0, hi=1))
        if not (r.terms or r.negatable or r.patterns or r.fallback):
            raise src.fail(path, "has no terms, negatable, patterns or fallback words")
        reasons.append(r)

    signals = []
    stab = src.table(doc, "signals", "")
    src.unknown(stab, SIGNAL_IDS, "signals")
    defaults = {"unanswered": ("未回复", 10.0), "slow": ("回复慢", 3.0), "unpaid": ("下单未付款", 1.0)}
    for sid in SIGNAL_IDS:
        body = stab.get(sid, {})
        path = f"signals.{sid}"
        if not isinstance(body, dict):
            raise src.fail(path, "must be a table like {{ name = \"回复慢\", score = 3 }}")
        src.unknown(body, ("name", "score"), path)
        signals.append(Signal(sid, src.string(body, "name", path, default=defaults[sid][0]),
                              src.number(body, "score", path, defaults[sid][1])))

    names = [r.name for r in reasons] + [s.name for s in signals] + [other]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise src.fail("reasons", "display name {name!r} is used twice", name=dup[0])

    rids = {r.id for r in reasons}
    for r in reasons:
        for key in ("absorbs", "takes_over"):
            for a in getattr(r, key):
                if a not in rids or a == r.id:
                    raise src.fail(f"reasons.{r.id}.{key}", "{id!r} is not another reason id", id=a)
    ids = [r.id for r in reasons] + [s.id for s in signals]
    prio = src.strings(g, "priority", "grammar", [])
    for p in prio:
        if p not in ids:
            raise src.fail("grammar.priority", "unknown reason id {id!r}", id=p)
    if len(set(prio)) != len(prio):
        raise src.fail("grammar.priority", "lists an id twice")
    priority = tuple(prio) + tuple(i for i in ids if i not in prio)
    return LostLexicon(source=label, grammar=grammar, reasons=tuple(reasons),
                       signals=tuple(signals), other=other, priority=priority)


@functools.lru_cache(maxsize=1)
def _default_lost() -> LostLexicon:
    doc, _ = _read_toml(default_path("lost_reasons.toml"))
    return _parse_lost(doc, "lost_reasons.toml (packaged)")


def load_lost_lexicon(path: Path | str | None = None) -> LostLexicon:
    """The packaged lost-reason lexicon, or the one in ``path`` (validated)."""
    if path is None:
        return _default_lost()
    doc, label = _read_toml(path)
    if doc.get("extends") not in (None, "default"):
        raise _Src(label).fail("extends", 'the only value allowed is "default"')
    if doc.get("extends") == "default":
        base, _ = _read_toml(default_path("lost_reasons.toml"))
        doc = _deep_merge(base, {k: v for k, v in doc.items() if k != "extends"})
    return _parse_lost(doc, label)


# ======================================================================================
# quality-inspection rules
# ======================================================================================
@dataclass(frozen=True)
class QCRule:
    id: str
    name: str
    severity: str
    penalty: str
    keywords: tuple[str, ...]
    patterns: tuple[str, ...]
    exceptions: tuple[str, ...]
    #: ``any`` — a keyword/pattern anywhere; ``whole`` — the whole message (trimmed of
    #: punctuation, spaces and emoji codes) is one of the keywords/patterns
    match: str = "any"
    #: ``text`` — agent message contents; ``late`` — the late/unanswered input frame;
    #: ``late_closing`` — its buyer-days whose every late message is a closing remark
    #: (好的/谢谢/没有了, cskit/data/closing_remarks.toml), flagged by this rule instead
    source: str = "text"
    #: flag only when the agent sent that buyer nothing after it the same day
    #: (只回复"在": "在的" followed by a real answer is fine)
    only_if_last: bool = False
    #: literal allow-list phrases (normalised), blanked like ``exceptions``: 微信零钱, 财源滚滚
    allow: tuple[str, ...] = ()
    #: context: the buyer's last message before it (same buyer, same day), with
    #: ``buyer_ignore`` blanked out, must match one of these (no buyer message: not flagged)
    buyer_before: tuple[str, ...] = ()
    buyer_ignore: tuple[str, ...] = ()
    #: context: not flagged when the message itself or the agent's next message
    #: to that buyer the same day matches one of these (a reason or an alternative offered)
    cleared_by: tuple[str, ...] = ()
    #: context: not flagged when the agent's previous message to that buyer the same day
    #: matches one of these (the reason was given just before)
    cleared_before: tuple[str, ...] = ()
    #: context: not flagged when the very next message of the buyer-day is the agent's
    #: (the greeting was followed straight away by the answer)
    unless_followed: bool = False
    #: the parts a greeting is made of (您好, 在的, 我是客服…, 很高兴为您服务, 请问有什么可以
    #:帮您): with ``match = "whole"`` a message made only of them (emoji codes, punctuation
    #: and 亲/哦/呢 aside) matches too; in context an agent message that is only a greeting
    #: does not end the buyer's turn (the buyer's question before it still counts)
    greeting: tuple[str, ...] = ()
    #: context: not flagged when the agent's next message to that buyer the same day comes
    #: within this many seconds (the answer was on its way while the buyer wrote again);
    #: 0 = off; unknown times never clear
    answered_within_s: float = 0.0
    #: context: not flagged when the buyer's last message before it matches one of these
    #: (the buyer closed the matter: …好吧 / 谢谢 / 没有了 at its end)
    buyer_settled: tuple[str, ...] = ()
    #: the second tier (待复核 / to review): weaker evidence, flagged only when asked for
    #: (``cskit qc --all``) and never counted in the default results — a message that
    #: matches only these and not ``keywords``/``patterns`` is a review-tier flag
    review_keywords: tuple[str, ...] = ()
    review_patterns: tuple[str, ...] = ()

    def needs_context(self) -> bool:
        return bool(self.buyer_before or self.cleared_by or self.cleared_before
                    or self.unless_followed or self.answered_within_s or self.buyer_settled
                    or self.only_if_last)

    def greeting_pattern(self) -> str | None:
        """One alternation of the greeting parts (None without any)."""
        return "|".join(f"(?:{p})" for p in self.greeting) if self.greeting else None

    def pattern(self, tier: str = "confident") -> str | None:
        """One alternation of keywords (escaped) and patterns; None for ``late`` rules
        (and for a tier the rule has no evidence in).  ``tier = "review"``: the
        review-tier keywords and patterns instead."""
        kw, pats = (self.keywords, self.patterns) if tier == "confident" else \
            (self.review_keywords, self.review_patterns)
        parts = [escape(k) for k in sorted(kw, key=len, reverse=True)]
        parts += [f"(?:{p})" for p in pats]
        if not parts:
            return None
        body = "|".join(parts)
        return f"^(?:{body})$" if self.match == "whole" else body

    def exception_pattern(self) -> str | None:
        """Exceptions and allow-list phrases (longest first), one alternation."""
        parts = [escape(a) for a in sorted(self.allow, key=len, reverse=True)]
        parts += [f"(?:{p})" for p in self.exceptions]
        return "|".join(parts) if parts else None


@dataclass(frozen=True)
class QCRules:
    source: str
    rules: tuple[QCRule, ...]

    def text_rules(self) -> tuple[QCRule, ...]:
        return tuple(r for r in self.rules if r.source == "text")

    def late_rule(self) -> QCRule | None:
        return next((r for r in self.rules if r.source == "late"), None)

    def late_closing_rule(self) -> QCRule | None:
        return next((r for r in self.rules if r.source == "late_closing"), None)

    def by_id(self) -> dict[str, QCRule]:
        return {r.id: r for r in self.rules}


_QC_KEYS = ("id", "name", "severity", "penalty", "keywords", "patterns", "exceptions", "match",
            "source", "only_if_last", "allow", "buyer_before", "buyer_ignore", "cleared_by",
            "cleared_before",
            "unless_followed", "greeting", "answered_within_s", "buyer_settled",
            "review_keywords", "review_patterns")


def _parse_qc(doc: dict, label: str) -> QCRules:
    src = _Src(label)
    src.unknown(doc, ("version", "extends", "rules"), "")
    items = doc.get("rules")
    if not isinstance(items, list) or not items:
        raise src.fail("rules", "needs at least one [[rules]] entry")
    rules, seen = [], set()
    for i, body in enumerate(items):
        path = f"rules[{i}]"
        if not isinstance(body, dict):
            raise src.fail(path, "must be a table")
        rid = body.get("id")
        if isinstance(rid, str) and rid:
            path = f"rules.{rid}"
        src.unknown(body, _QC_KEYS, path)
        rid = src.string(body, "id", path)
        if not _ID.match(rid):
            raise src.fail(f"{path}.id", "rule ids must be lower-case ASCII words (a-z, 0-9, _)")
        if rid in seen:
            raise src.fail(f"{path}.id", "duplicate rule id")
        seen.add(rid)
        sev = src.string(body, "severity", path)
        if sev not in SEVERITIES:
            raise src.fail(f"{path}.severity", "must be one of {choices}", choices=", ".join(SEVERITIES))
        match = src.string(body, "match", path, default="any")
        if match not in ("any", "whole"):
            raise src.fail(f"{path}.match", 'must be "any" or "whole"')
        source = src.string(body, "source", path, default="text")
        if source not in ("text", "late", "late_closing"):
            raise src.fail(f"{path}.source", 'must be "text", "late" or "late_closing"')
        keywords = tuple(normalize_term(k) for k in src.strings(body, "keywords", path))
        patterns = tuple(src.strings(body, "patterns", path))
        exceptions = tuple(src.strings(body, "exceptions", path))
        for j, p in enumerate(patterns):
            src.regex(p, f"{path}.patterns[{j}]")
        for j, p in enumerate(exceptions):
            src.regex(p, f"{path}.exceptions[{j}]")
        review_kw = tuple(normalize_term(k) for k in src.strings(body, "review_keywords", path))
        review_pat = tuple(src.strings(body, "review_patterns", path))
        for j, p in enumerate(review_pat):
            src.regex(p, f"{path}.review_patterns[{j}]")
        allow = tuple(normalize_term(a) for a in src.strings(body, "allow", path))
        context = {}
        for key in ("buyer_before", "buyer_ignore", "cleared_by", "cleared_before", "greeting",
                    "buyer_settled"):
            context[key] = tuple(src.strings(body, key, path))
            for j, p in enumerate(context[key]):
                src.regex(p, f"{path}.{key}[{j}]")
        if source == "text" and not (keywords or patterns or review_kw or review_pat):
            raise src.fail(path, "a text rule needs keywords or patterns")
        if source != "text" and (keywords or patterns or exceptions or allow or review_kw
                                 or review_pat
                                 or any(context.values())):
            raise src.fail(path, "a late rule takes no keywords, patterns or exceptions")
        flags = {}
        for key in ("only_if_last", "unless_followed"):
            flags[key] = body.get(key, False)
            if not isinstance(flags[key], bool):
                raise src.fail(f"{path}.{key}", "must be true or false")
        within = body.get("answered_within_s", 0)
        if isinstance(within, bool) or not isinstance(within, (int, float)) or within < 0:
            raise src.fail(f"{path}.answered_within_s", "must be a number of seconds >= 0")
        flags["answered_within_s"] = float(within)
        rules.append(QCRule(id=rid, name=src.string(body, "name", path), severity=sev,
                            penalty=src.string(body, "penalty", path, required=False),
                            keywords=keywords, patterns=patterns, exceptions=exceptions,
                            match=match, source=source, allow=allow, review_keywords=review_kw,
                            review_patterns=review_pat, **flags, **context))
    for kind in ("late", "late_closing"):
        if sum(r.source == kind for r in rules) > 1:
            raise src.fail("rules", 'only one rule may have source = "{kind}"', kind=kind)
    return QCRules(source=label, rules=tuple(rules))


@functools.lru_cache(maxsize=1)
def _default_qc() -> QCRules:
    doc, _ = _read_toml(default_path("qc_rules.toml"))
    return _parse_qc(doc, "qc_rules.toml (packaged)")


def load_qc_rules(path: Path | str | None = None) -> QCRules:
    """The packaged QC rules, or the ones in ``path`` (validated)."""
    if path is None:
        return _default_qc()
    doc, label = _read_toml(path)
    if doc.get("extends") not in (None, "default"):
        raise _Src(label).fail("extends", 'the only value allowed is "default"')
    if doc.get("extends") == "default":
        base, _ = _read_toml(default_path("qc_rules.toml"))
        mine = doc.get("rules", [])
        if not isinstance(mine, list):
            raise _Src(label).fail("rules", "must be a list of [[rules]] tables")
        ids = {r.get("id") for r in mine if isinstance(r, dict)}
        doc = {"rules": [r for r in base["rules"] if r.get("id") not in ids] + mine}
    return _parse_qc(doc, label)
