"""Option values converted without pydantic, for the option types cskit uses.

typer (0.2x) converts every option value of the command it runs through a pydantic
``TypeAdapter`` it builds for that option, even for an option left unset.  For a cold
`cskit kpi` that is an import of pydantic and some 25 adapters: about 0.1-0.2 s, more
than computing the KPIs of 100,000 messages.

:func:`install` wraps typer's ``build_runtime_param``: for the plain cases below the value
is converted here, to exactly what the adapter would return; anything else (another type,
a custom parser, a value of another shape, a value out of range, a choice that does not
match) goes to typer's own conversion, so its result and every error message stay
typer's.  A typer without that hook (older or newer) is left alone: only slower.

The plain cases: an ``Enum`` choice (typer's own ``coerce_cli_choice``, which the adapter
calls), a ``str``, a ``bool``, an ``int`` or ``float`` (decimal digits, within ``min`` /
``max``), a ``Path`` (``Path(value)``, then typer's own ``coerce_cli_path`` checks) and a
list of ``str``.  tests/test_cli_coercion.py compares each with typer's conversion.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path

_INT = re.compile(r"-?(?:0|[1-9][0-9]{0,17})")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]{0,15})(?:\.[0-9]{1,15})?")
_installed = False
#: typer's own ``build_runtime_param`` (once :func:`install` found it)
TYPER_BUILD = None


class _Unsupported(Exception):
    """This value is left to typer's own conversion."""


def _in_range(x, info) -> bool:
    return ((info.min is None or x >= info.min) and (info.max is None or x <= info.max)
            and not info.clamp)


def _fast(annotation, info, value, param, ctx):
    """``value`` converted as typer's adapter for ``annotation`` would, or _Unsupported."""
    t = type(value)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        from typer._param_types import coerce_cli_choice

        try:
            return coerce_cli_choice(value, choices=tuple(annotation),
                                     case_sensitive=info.case_sensitive, ctx=ctx)
        except ValueError:
            raise _Unsupported from None  # typer says which choices there are
    if (annotation is str and t is str) or (annotation is bool and t is bool):
        return value
    if annotation is int:
        if t is str and _INT.fullmatch(value):
            value, t = int(value), int
        if t is int and _in_range(value, info):
            return value
    elif annotation is float:
        if (t is str and _FLOAT.fullmatch(value)) or t is int:
            value, t = float(value), float
        if t is float and _in_range(value, info):
            return value
    elif annotation is Path and info.path_type is None and t is str and value:
        from typer._param_types import coerce_cli_path

        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    elif annotation == list[str] and t in (list, tuple) and all(type(v) is str for v in value):
        return list(value)
    raise _Unsupported


def install() -> None:
    """Route typer's option conversion through :func:`_fast` (once; a typer without the
    hook is left as it is)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from typer import core
        from typer._coercion import RuntimeParam
    except ImportError:
        return
    typer_build = getattr(core, "build_runtime_param", None)
    if typer_build is None:
        return
    global TYPER_BUILD
    TYPER_BUILD = typer_build

    class CskitRuntimeParam(RuntimeParam):
        """The plain cases here; the rest by the runtime param typer builds (once, when
        first needed)."""

        def __init__(self, descriptor):
            object.__setattr__(self, "annotation", descriptor.annotation)
            object.__setattr__(self, "parameter_info", descriptor.parameter_info)
            object.__setattr__(self, "_descriptor", descriptor)
            object.__setattr__(self, "_typer", None)

        def _coerce_value(self, value, param, ctx):
            try:
                return _fast(self.annotation, self.parameter_info, value, param, ctx)
            except _Unsupported:
                pass
            if self._typer is None:
                object.__setattr__(self, "_typer", typer_build(self._descriptor))
            return self._typer._coerce_value(value, param=param, ctx=ctx)

    def build_runtime_param(descriptor):
        info = descriptor.parameter_info
        if descriptor.file_annotation is not None or getattr(info, "parser", None) is not None:
            return typer_build(descriptor)
        return CskitRuntimeParam(descriptor)

    core.build_runtime_param = build_runtime_param
