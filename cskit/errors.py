"""Typed errors and exit codes.

Every user or data problem is raised as a :class:`CskitError` subclass.  The CLI
(``cskit.cli``) is the single place that turns them into one ``Error: …`` line on
stderr and an exit code.  Messages never include row *contents* (they hold
customers' chats): only file names, row numbers, column names and hints.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (see README, "Exit codes")."""

    OK = 0
    INTERNAL = 1  #: a bug in cskit (traceback with --debug)
    USAGE = 2  #: bad option or argument (Typer/Click also uses 2)
    INPUT = 3  #: a file cannot be read or is not a recognised export
    DATA = 4  #: a file was read but too many rows are invalid
    NO_DATA = 5  #: the store holds nothing for the requested range / shop
    STORE = 6  #: the store is missing, corrupt or cannot be written
    PARTIAL = 7  #: ingest: some files or folders were rejected; the others were stored
    ENGINE = 8  #: --engine dask: the scheduler cannot be reached or the cluster failed; a local worker process died


class CskitError(Exception):
    """Base class.  The message and hint are English templates filled with ``params``
    (``UsageError("{path}: the file is empty", path=p)``): ``str(err)`` and
    :attr:`message_en` are English, :meth:`localized` is the line a user reads, in the
    current language (``cskit.i18n``; Chinese templates in ``cskit/data/messages.toml``)."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None, **params):
        self.template = message
        self.hint_template = hint
        self.params = params
        super().__init__(self.message_en)

    @property
    def message_en(self) -> str:
        from cskit.i18n import tr

        return tr(self.template, "en", **self.params)

    @property
    def hint_en(self) -> str | None:
        from cskit.i18n import tr

        return tr(self.hint_template, "en", **self.params) if self.hint_template else None

    # the English message and hint, as before templates
    message = message_en
    hint = hint_en

    def localized(self, lang: str | None = None) -> str:
        """The one line shown to the user, in ``lang`` (default: the current language)."""
        from cskit.i18n import current_lang, normalise, tr

        lang = normalise(lang) or current_lang()
        msg = tr(self.template, lang, **self.params)
        if not self.hint_template:
            return msg
        hint = tr(self.hint_template, lang, **self.params)
        return f"{msg}（提示：{hint}）" if lang == "zh" else f"{msg} (hint: {hint})"

    def __str__(self) -> str:  # one line, hint appended, English
        return self.localized("en")

    def __reduce__(self):  # raised in a Dask worker, shown by the client: template kept
        return (_rebuild, (type(self), self.template, self.hint_template, self.params))


def _rebuild(cls, template, hint, params):
    return cls(template, hint=hint, **params)


class UsageError(CskitError):
    exit_code = ExitCode.USAGE


class InputFileError(CskitError):
    """The file cannot be opened, decoded or recognised."""

    exit_code = ExitCode.INPUT


class BadRowsError(CskitError):
    """Too many rows of a file failed to parse."""

    exit_code = ExitCode.DATA


class NoDataError(CskitError):
    exit_code = ExitCode.NO_DATA


class StoreError(CskitError):
    exit_code = ExitCode.STORE


class EngineError(CskitError):
    """``--engine dask``: the scheduler cannot be reached, or workers kept dying; the local
    engine: one of its worker processes died (:mod:`cskit.local_pool`)."""

    exit_code = ExitCode.ENGINE


MAPPING_HINT = "name the columns in a mapping file and pass --mapping FILE (see docs/formats-chats.md, docs/formats-orders.md)"
