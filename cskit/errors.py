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


class CskitError(Exception):
    """Base class: ``str(err)`` is the one line shown to the user."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # one line, hint appended
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


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


MAPPING_HINT = "name the columns in a mapping file and pass --mapping FILE (see docs/formats-chats.md, docs/formats-orders.md)"
