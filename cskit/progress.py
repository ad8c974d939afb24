"""Progress reporting on stderr that vanishes when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from typing import Callable, Iterator

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


@contextlib.contextmanager
def file_progress(label: str) -> Iterator[Callable[[str], None]]:
    """Yield a ``tick(name)`` callback; draws a transient spinner on a TTY only."""
    if not sys.stderr.isatty():
        yield lambda name: None
        return
    from cskit.i18n import tr
    from cskit.render import stderr_console

    prog = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False), BarColumn(),
                    TextColumn("{task.completed} " + tr("files")), TimeElapsedColumn(),
                    console=stderr_console(), transient=True)
    with prog:
        task = prog.add_task(label, total=None)

        def tick(name: str) -> None:
            prog.update(task, advance=1, description=f"{label} {name[-50:]}")

        yield tick
