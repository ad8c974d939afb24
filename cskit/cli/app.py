"""The Typer app, its one error boundary and the helpers every command module uses.

The one error boundary lives in :func:`boundary`: a :class:`CskitError` prints
one ``Error: …`` line on stderr and exits with its documented code; any other
exception prints a one-line internal error (traceback only with ``--debug``).
Local variables are never shown: they hold customers' chats.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup

from cskit import __version__
from cskit.cli import coercion
from cskit.errors import CskitError, ExitCode
from cskit.i18n import tr

coercion.install()  # option values without pydantic where typer's result is plain

#: every command, in the order `cskit --help` lists them, and the module that registers it
#: (``@app.command``).  A module is imported when one of its commands is looked up: a
#: command runs with its own module only (``cskit kpi`` never imports answers', lost's or
#: chart's module); ``cskit --help`` imports them all to list them.
COMMANDS = {
    "answers": "cskit.cli.answers", "ingest": "cskit.cli.ingest", "kpi": "cskit.cli.kpi",
    "unpaid": "cskit.cli.kpi", "promises": "cskit.cli.promises",
    "products": "cskit.cli.products", "demo": "cskit.cli.demo", "ratings": "cskit.cli.ratings",
    "chart": "cskit.cli.report", "report": "cskit.cli.report", "score": "cskit.cli.score",
    "lost": "cskit.cli.text", "qc": "cskit.cli.text", "voice": "cskit.cli.voice",
    "workload": "cskit.cli.workload",
}


class LazyGroup(TyperGroup):
    """cskit's command group: click's lazy-loading group pattern on typer's group.  The
    commands are listed from :data:`COMMANDS`; a command's module is imported, and the
    commands it registered on :data:`app` are built, the first time it is looked up.  An
    unknown name loads them all first, so typer's "did you mean" suggestions are the same."""

    def list_commands(self, ctx) -> list[str]:
        return list(dict.fromkeys([*COMMANDS, *self.commands]))

    def get_command(self, ctx, cmd_name: str):
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            importlib.import_module(COMMANDS[cmd_name])
            self._build_registered()
        return self.commands.get(cmd_name)

    def resolve_command(self, ctx, args):
        if args and args[0] not in COMMANDS:
            for module in dict.fromkeys(COMMANDS.values()):
                importlib.import_module(module)
            self._build_registered()
        return super().resolve_command(ctx, args)

    def _build_registered(self) -> None:
        """The click commands of the commands registered on :data:`app` since the group
        was built, made as typer makes them (:func:`typer.main.get_command_from_info`)."""
        from typer.main import get_command_from_info, get_command_name

        for info in app.registered_commands:
            name = info.name or get_command_name(info.callback.__name__)
            if name not in self.commands:
                self.commands[name] = get_command_from_info(
                    info, pretty_exceptions_short=app.pretty_exceptions_short,
                    rich_markup_mode=self.rich_markup_mode)


app = typer.Typer(
    name="cskit",
    cls=LazyGroup,
    help="cskit — 电商客服数据工具. Ingest chat and order exports (拼多多/淘宝千牛/京东/抖店) "
         "into a Parquet store and compute customer-service KPIs (5分钟回复率, 响应时长, 询单转化).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

state = {"debug": False, "lang": None}


def _set_command_lang(kwargs: dict) -> None:
    """The language of the running command: its own ``--lang`` when given, else the global
    ``cskit --lang``, else ``$CSKIT_LANG``, else zh.  A command's ``lang`` argument left
    unset (None) receives it, so the command body always sees a language."""
    from cskit import i18n
    from cskit.cli.options import Lang

    lang = kwargs.get("lang")
    if lang is None:
        lang = Lang(state["lang"] or i18n.current_lang())
        if "lang" in kwargs:
            kwargs["lang"] = lang
    i18n.set_lang(getattr(lang, "value", lang))


def boundary(fn):
    """The single error boundary of every command."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from cskit import i18n

        old = i18n.set_lang(None)
        try:
            _set_command_lang(kwargs)
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except CskitError as exc:
            if state["debug"]:
                raise
            _error(exc.localized())
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            _error(tr("interrupted"))
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - a bug: say so, without locals
            if state["debug"]:
                raise
            _error(tr("internal error ({error}); rerun with --debug for the traceback and report it",
                      error=type(exc).__name__))
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        finally:
            i18n.set_lang(old)

    return wrapper


def import_paused(*modules: str) -> None:
    """Import a command's library ``modules`` (pandas and pyarrow come with them) with the
    cyclic garbage collector paused, then freeze (:func:`gc.freeze`) what is loaded.

    Those imports create a few hundred thousand objects that live until the process ends.
    With the collector running, the heap growing by a quarter triggered a full collection
    of all of them, again and again (about 50 ms of CPU of a cold `cskit kpi`); frozen,
    later collections skip them (and forked workers, :mod:`cskit.local_pool`, do not touch
    their pages).  Whatever garbage the imports left stays frozen: a few module-level
    cycles at most.  Nothing is done when the modules are loaded already (a second command
    in one process, the tests)."""
    if all(m in sys.modules for m in modules):
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        for m in modules:
            importlib.import_module(m)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _error(msg: str) -> None:
    """``Error: …`` in every language (scripts grep the prefix), the text after it localised."""
    print(f"Error: {msg}", file=sys.stderr)


def _version(value: bool) -> None:
    if value:
        print(f"cskit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    lang: Annotated[Optional[str], typer.Option(
        "--lang", help="Language of messages, notes and titles: zh (default) or en; also $CSKIT_LANG. "
                       "A command's own --lang wins. 语言", show_default=False)] = None,
) -> None:
    from cskit.i18n import normalise

    state["debug"] = debug or bool(os.environ.get("CSKIT_DEBUG"))
    if lang is not None and normalise(lang) is None:
        raise typer.BadParameter("zh or en", param_hint="--lang")
    state["lang"] = normalise(lang)


@contextlib.contextmanager
def output_file(output: Path | None, fmt: str | None = None):
    """``-o FILE`` opened for writing (closed afterwards), or None for stdout.  ``-f xlsx``
    needs a file (a workbook is not text for a terminal) and opens it in binary mode.

    A regular file is written to a temporary file beside it and renamed over it only when
    the command succeeds: a command that fails half-way leaves no empty or half-written
    file, and an older file of that name stays as it was.  A FIFO or device (``-o
    /dev/stdout``) is written directly."""
    import tempfile

    from cskit.errors import UsageError

    fmt = getattr(fmt, "value", fmt)
    if fmt == "xlsx" and output is None:
        raise UsageError("-f xlsx writes an Excel workbook: give the file with -o FILE.xlsx")
    if output is None:
        yield None
        return
    output = Path(output)
    mode = "wb" if fmt == "xlsx" else "w"
    text = {} if fmt == "xlsx" else {"encoding": "utf-8", "newline": ""}
    special = output.exists() and not output.is_file()
    try:
        if special:
            fh = open(output, mode, **text)  # noqa: SIM115 - closed below
            tmp = None
        else:
            fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".part",
                                       dir=output.parent)
            fh = os.fdopen(fd, mode, **text)
    except OSError as exc:
        raise UsageError("{output}: cannot write output file ({strerror})",
                         output=output, strerror=exc.strerror) from None
    try:
        with fh:
            yield fh
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
    if tmp is not None:
        try:
            if output.exists():
                os.chmod(tmp, output.stat().st_mode & 0o777)
            else:
                umask = os.umask(0)
                os.umask(umask)
                os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, output)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise UsageError("{output}: cannot write output file ({strerror})",
                             output=output, strerror=exc.strerror) from None


def open_store(path: Path | None, *, write: bool = False):
    """The store at ``--store`` (or ``$CSKIT_STORE``): a local directory, or an fsspec URL
    such as ``s3://bucket/store`` (read-only, :mod:`cskit.remote`: ``write`` refuses it)."""
    from cskit.remote import RemoteStore
    from cskit.remote import open_store as _open

    store = _open(path)
    if write and isinstance(store, RemoteStore):
        store.writing()  # raises: ingest writes a local store only
    return store


