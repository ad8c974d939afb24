"""The language of what a person reads: Chinese by default, English on request.

Errors, notes, hints, progress text and titles are written in code as English
templates (``"{path}: the file is empty"``) and looked up, when shown, in the
catalogue ``cskit/data/messages.toml`` (``"English template" = "中文模板"``); a
template missing from it is shown in English.  Machine keys (CSV headers, JSON keys,
exit codes, the ``Error:`` prefix) never change with the language.

The language is, first to last: the one set for the running command (``--lang``, see
``cskit.cli.app``), ``$CSKIT_LANG`` (``en``/``zh``), else ``zh``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import string
import tomllib
from importlib import resources

LANGS = ("zh", "en")
DEFAULT = "zh"

_current: str | None = None


def normalise(value: str | None) -> str | None:
    """``en``, ``en_US.UTF-8``, ``EN`` → ``en``; ``zh``, ``zh-CN`` → ``zh``; else None."""
    if not value:
        return None
    v = str(getattr(value, "value", value)).strip().lower()
    for lang in LANGS:
        if v.startswith(lang):
            return lang
    return None


def current_lang() -> str:
    """The language messages are shown in now."""
    return _current or normalise(os.environ.get("CSKIT_LANG")) or DEFAULT


def set_lang(lang: str | None) -> str | None:
    """Set the language for what follows (None: back to $CSKIT_LANG / zh); returns the old one."""
    global _current
    old = _current
    _current = normalise(lang)
    return old


@contextlib.contextmanager
def use_lang(lang: str | None):
    """Show messages in ``lang`` inside the block."""
    old = set_lang(lang)
    try:
        yield
    finally:
        set_lang(old)


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    """English template → Chinese template (``cskit/data/messages.toml``)."""
    text = resources.files("cskit").joinpath("data/messages.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text).get("messages", {}))


def fields(template: str) -> set[str]:
    """The placeholder names of a template (``{path}``, ``{n:,}`` → path, n)."""
    try:
        return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError:
        return set()


def tr(template: str, lang: str | None = None, /, **params) -> str:
    """``template`` in ``lang`` (default: the current language), filled with ``params``.

    Never raises: a template that cannot be filled is shown as written."""
    lang = normalise(lang) or current_lang()
    text = catalogue().get(template, template) if lang == "zh" else template
    with use_lang(lang):  # nested texts (Msg, Period) follow the same language
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError, AttributeError):
            try:
                return template.format(**params)
            except (KeyError, IndexError, ValueError, AttributeError):
                return template


class Msg:
    """A translatable text used as a parameter of another one (``{want}`` = "a chat log").

    It is rendered, in the language of the text it is put into, when formatted."""

    __slots__ = ("template", "params")

    def __init__(self, template: str, /, **params):
        self.template = template
        self.params = params

    def __format__(self, spec: str) -> str:
        return format(tr(self.template, **self.params), spec)

    def __str__(self) -> str:
        return tr(self.template, **self.params)

    def __repr__(self) -> str:
        return f"Msg({self.template!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Msg) and (self.template, self.params) == (other.template, other.params)

    def __hash__(self) -> int:
        return hash(self.template)


_COLUMN_NOTE = re.compile(r"^(?P<why>.*) \(column (?P<column>.+)\)$")


def reject_reason(why: str, lang: str | None = None) -> str:
    """A reader's reason for rejecting a row (``"bad timestamp"``, ``"order id missing
    (column 订单号)"``) in ``lang``: a trailing ``(column X)`` keeps the header as found."""
    lang = normalise(lang) or current_lang()
    if lang == "en" or why in catalogue():
        return tr(why, lang)
    m = _COLUMN_NOTE.match(why)
    head = m["why"] if m else None
    if head in catalogue():
        return tr("{why} (column {column})", lang, why=Msg(head), column=m["column"])
    return why


class RejectedRows:
    """``row 4: bad timestamp; row 9: missing buyer`` in the language of the message it is
    put into (a parameter of an error or a warning)."""

    __slots__ = ("rejects", "sep")

    def __init__(self, rejects, sep: str = "; "):
        self.rejects = list(rejects)
        self.sep = sep

    def __format__(self, spec: str) -> str:
        text = self.sep.join(tr("row {row}: {why}", row=r, why=reject_reason(str(why)))
                             for r, why in self.rejects)
        return format(text, spec)

    __str__ = lambda self: format(self, "")  # noqa: E731
