"""The thin Typer CLI: parse options, call the library, hand results to render.

``app`` (with the one error boundary) lives in :mod:`cskit.cli.app`, the shared options
in :mod:`cskit.cli.options`, and one module per command group registers its commands;
no command module imports a sibling except ``demo`` (which runs ingest, kpi and answers).
The command modules are imported lazily: :data:`cskit.cli.app.COMMANDS` names each
command's module (a new command is added there), and only the module of the command that
runs is imported (``cskit --help`` imports them all).
"""

from __future__ import annotations

import gc
import signal

from cskit.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `cskit kpi | head` stays quiet
    try:
        app()
    finally:
        # the interpreter's shutdown collects the garbage of every module again and again
        # (pandas' and pyarrow's: about 0.1 s of CPU of a cold `cskit kpi`); frozen, it skips
        # them.  Exit handlers still run and files are closed as before.
        gc.freeze()
