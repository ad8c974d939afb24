"""What the module-split tests share: a module says what it holds, and stays a size a
reader can hold (the developers' guide: one idea per module, ~800 lines at most)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

MAX_LINES = 800


def lines_of(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def assert_one_idea(mod: ModuleType, *, max_lines: int = MAX_LINES, min_doc: int = 100) -> None:
    """``mod`` has a docstring of at least ``min_doc`` characters and fewer than
    ``max_lines`` lines."""
    assert mod.__doc__ and len(mod.__doc__) > min_doc, mod.__name__
    n = lines_of(Path(mod.__file__))
    assert n < max_lines, (mod.__name__, n)
