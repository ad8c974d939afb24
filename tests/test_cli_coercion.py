"""cskit.cli.coercion: option values converted without pydantic are exactly what typer's own
conversion gives, and whatever it does not convert (errors included) is typer's."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import pytest
import typer
from typer.testing import CliRunner

import cskit.cli  # noqa: F401 - installs the conversion
from cskit.cli import app, coercion
from tests.chatlog import chat_store

typer_core = pytest.importorskip("typer.core")
pytestmark = pytest.mark.skipif(coercion.TYPER_BUILD is None,
                                reason="this typer has no build_runtime_param hook")


class Colour(str, Enum):
    red = "red"
    blue = "blue"


def _both(annotation, value, **info):
    """(cskit's conversion, typer's) of ``value`` for an option of ``annotation``."""
    from typer._coercion import resolve_type_descriptor
    from typer.models import OptionInfo

    d = resolve_type_descriptor(annotation, OptionInfo(**info))
    ours = typer_core.build_runtime_param(d)
    assert type(ours).__name__ == "CskitRuntimeParam"
    theirs = coercion.TYPER_BUILD(d)
    ctx = typer.Context(typer.main.get_command(app))
    param = _param(annotation)
    return ours.coerce(value, param=param, ctx=ctx), theirs.coerce(value, param=param, ctx=ctx)


def _param(annotation):
    """What a runtime param asks of its option: whether it takes several values."""
    return SimpleNamespace(multiple=annotation == list[str], nargs=1)


@pytest.mark.parametrize("annotation,value,info", [
    (Colour, "red", {}), (Colour, Colour.blue, {}), (Colour, "RED", {"case_sensitive": False}),
    (str, "2026-W47", {}), (str, "", {}), (str, None, {}),
    (bool, True, {}), (bool, "yes", {}),
    (int, "3", {}), (int, "-12", {}), (int, 4, {"min": 1}), (int, "007", {}), (int, " 5", {}),
    (float, "2.5", {}), (float, "3", {"min": 0}), (float, 3, {}), (float, "1e2", {}),
    (float, "0.000001", {}),
    (Path, "some/dir", {}), (Path, ".", {}), (Path, "", {}), (Path, Path("x"), {}),
    (list[str], ("店A", "店B"), {}), (list[str], None, {}),
    (Optional[int], "8", {}),  # noqa: UP045 - typer unwraps Optional itself
])
def test_same_value_as_typer(annotation, value, info):
    ours, theirs = _both(annotation, value, **info)
    assert ours == theirs
    assert type(ours) is type(theirs)


@pytest.mark.parametrize("annotation,value,info", [
    (Colour, "green", {}), (int, "0", {"min": 1}), (int, "x", {}), (float, "-1", {"min": 0}),
    (float, "abc", {}),
])
def test_same_error_as_typer(annotation, value, info):
    with pytest.raises(typer.BadParameter) as ours:
        _both(annotation, value, **info)
    from typer._coercion import resolve_type_descriptor
    from typer.models import OptionInfo

    d = resolve_type_descriptor(annotation, OptionInfo(**info))
    ctx = typer.Context(typer.main.get_command(app))
    with pytest.raises(typer.BadParameter) as theirs:
        coercion.TYPER_BUILD(d).coerce(value, param=_param(annotation), ctx=ctx)
    assert str(ours.value) == str(theirs.value)


def test_cli_errors_are_typers(tmp_path):
    """A bad choice and a value below --workers' minimum: typer's messages, exit 2."""
    store = chat_store(tmp_path, ["店A,pdd,c1,b1,,buyer,2026-11-02 10:00:00,在吗,text,m1"])
    r = CliRunner().invoke(app, ["kpi", "--store", str(store), "--by", "bogus"])
    assert r.exit_code == 2 and "'bogus' is not one of" in r.output
    r = CliRunner().invoke(app, ["kpi", "--store", str(store), "--workers", "0"])
    assert r.exit_code == 2 and "--workers" in r.output
