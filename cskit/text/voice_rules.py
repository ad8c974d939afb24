"""The buyers'-voice rules as data (``cskit/data/voice.toml``): departments and the words
and patterns that route a buyer message to them.

``load_voice_rules(None)`` gives the packaged rules; ``load_voice_rules(FILE)`` a shop's
file.  A file with ``extends = "default"`` adds to the packaged rules: a department with a
new id is added (before the fallback department), one with an existing id gets its words,
patterns and exceptions appended and, when given, its name replaced.  Without
``extends`` the file replaces the packaged rules.  Every problem is a
:class:`cskit.errors.UsageError` naming the file and the key (docs/text.md).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from cskit.text._regex import escape
from cskit.text.lexicon import _ID, _read_toml, _Src, default_path, normalize_term

__all__ = ["Department", "VoiceRules", "load_voice_rules"]

_DEPT_KEYS = ("id", "name", "name_en", "covers", "words", "patterns", "exceptions", "fallback")


@dataclass(frozen=True)
class Department:
    id: str
    name: str
    name_en: str
    covers: str
    words: tuple[str, ...]
    patterns: tuple[str, ...]
    exceptions: tuple[str, ...]
    fallback: bool = False

    def label(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name

    def pattern(self) -> str | None:
        parts = [escape(w) for w in sorted(set(self.words), key=lambda w: (-len(w), w))]
        parts += [f"(?:{p})" for p in self.patterns]
        return "|".join(parts) if parts else None

    def exception_pattern(self) -> str | None:
        return "|".join(f"(?:{p})" for p in self.exceptions) if self.exceptions else None


@dataclass(frozen=True)
class VoiceRules:
    source: str
    departments: tuple[Department, ...]
    ignore: tuple[str, ...] = ()

    def ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.departments)

    def by_id(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    def names(self, lang: str = "zh") -> dict[str, str]:
        return {d.id: d.label(lang) for d in self.departments}

    def ignore_pattern(self) -> str | None:
        return "|".join(f"(?:{p})" for p in self.ignore) if self.ignore else None


def _parse(doc: dict, label: str) -> VoiceRules:
    src = _Src(label)
    src.unknown(doc, ("version", "extends", "ignore", "departments"), "")
    ign = src.table(doc, "ignore", "")
    src.unknown(ign, ("patterns",), "ignore")
    ignore = tuple(src.strings(ign, "patterns", "ignore"))
    for j, p in enumerate(ignore):
        src.regex(p, f"ignore.patterns[{j}]")
    items = doc.get("departments")
    if not isinstance(items, list) or not items:
        raise src.fail("departments", "needs at least one [[departments]] entry")
    depts, seen = [], set()
    for i, body in enumerate(items):
        path = f"departments[{i}]"
        if not isinstance(body, dict):
            raise src.fail(path, "must be a table")
        if isinstance(body.get("id"), str) and body["id"]:
            path = f"departments.{body['id']}"
        src.unknown(body, _DEPT_KEYS, path)
        did = src.string(body, "id", path)
        if not _ID.match(did):
            raise src.fail(f"{path}.id", "department ids must be lower-case ASCII words (a-z, 0-9, _)")
        if did in seen:
            raise src.fail(f"{path}.id", "duplicate department id")
        seen.add(did)
        words = tuple(normalize_term(w) for w in src.strings(body, "words", path))
        patterns = tuple(src.strings(body, "patterns", path))
        exceptions = tuple(src.strings(body, "exceptions", path))
        for key, pats in (("patterns", patterns), ("exceptions", exceptions)):
            for j, p in enumerate(pats):
                src.regex(p, f"{path}.{key}[{j}]")
        if not (words or patterns):
            raise src.fail(path, "a department needs words or patterns")
        fallback = body.get("fallback", False)
        if not isinstance(fallback, bool):
            raise src.fail(f"{path}.fallback", "must be true or false")
        depts.append(Department(
            id=did, name=src.string(body, "name", path),
            name_en=src.string(body, "name_en", path, required=False) or did.replace("_", " "),
            covers=src.string(body, "covers", path, required=False),
            words=words, patterns=patterns, exceptions=exceptions, fallback=fallback))
    # fallback departments are tried last
    depts = [d for d in depts if not d.fallback] + [d for d in depts if d.fallback]
    return VoiceRules(source=label, departments=tuple(depts), ignore=ignore)


def _extend(base: dict, mine: dict, src: _Src) -> dict:
    """The packaged document with a shop's additions merged in (see the module doc)."""
    items = mine.get("departments", [])
    if not isinstance(items, list):
        raise src.fail("departments", "must be a list of [[departments]] tables")
    out = [dict(d) for d in base["departments"]]
    at = {d["id"]: i for i, d in enumerate(out)}
    for i, body in enumerate(items):
        if not isinstance(body, dict):
            raise src.fail(f"departments[{i}]", "must be a table")
        did = body.get("id")
        if did in at:
            d = out[at[did]]
            for key, value in body.items():
                if key in ("words", "patterns", "exceptions") and isinstance(value, list):
                    d[key] = list(d.get(key, [])) + value
                elif key != "id":
                    d[key] = value
        else:
            out.append(dict(body))
    ign = dict(base.get("ignore", {}))
    mine_ign = mine.get("ignore", {})
    if isinstance(mine_ign, dict) and isinstance(mine_ign.get("patterns"), list):
        ign["patterns"] = list(ign.get("patterns", [])) + mine_ign["patterns"]
    elif "ignore" in mine:
        ign = mine["ignore"]
    return {"version": base.get("version", 1), "ignore": ign, "departments": out}


@functools.lru_cache(maxsize=1)
def _default() -> VoiceRules:
    doc, _ = _read_toml(default_path("voice.toml"))
    return _parse(doc, "voice.toml (packaged)")


def load_voice_rules(path: Path | str | None = None) -> VoiceRules:
    """The packaged rules, or a shop's file (validated; ``extends = "default"`` adds)."""
    if path is None:
        return _default()
    if isinstance(path, VoiceRules):
        return path
    doc, label = _read_toml(path)
    src = _Src(label)
    if doc.get("extends") not in (None, "default"):
        raise src.fail("extends", 'the only value allowed is "default"')
    if doc.get("extends") == "default":
        base, _ = _read_toml(default_path("voice.toml"))
        src.unknown(doc, ("version", "extends", "ignore", "departments"), "")
        doc = _extend(base, doc, src)
    return _parse(doc, label)

