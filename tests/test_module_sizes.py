"""Every module of cskit stays under the size the developers' guide sets (~800 lines) and,
past a few lines, says in a docstring what it holds."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.modules import MAX_LINES, lines_of

PACKAGE = Path(__file__).resolve().parents[1] / "cskit"


def test_every_module_is_a_size_a_reader_can_hold():
    sizes = {p.relative_to(PACKAGE).as_posix(): lines_of(p) for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 50  # it did find the package
    assert {p: n for p, n in sizes.items() if n >= MAX_LINES} == {}


def test_every_module_past_a_few_lines_has_a_docstring():
    missing = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if lines_of(p) > 10 and not ast.get_docstring(ast.parse(p.read_text("utf-8")))]
    assert missing == []
