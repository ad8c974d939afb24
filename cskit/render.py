"""Rendering: rich tables for people, CSV / JSON for machines.

One column spec (key, Chinese label, English label, unit) drives all three
outputs: table headers use the labels, CSV headers and JSON keys use the
stable snake_case key.  Machine output never depends on the terminal: no
colour codes, rates as fractions in [0, 1], seconds as numbers, times as
``YYYY-MM-DD HH:MM:SS``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Iterable, TextIO

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

FORMATS = ("table", "csv", "json")
UNITS = ("count", "rate", "seconds", "ratio", "yuan", "text", "date", "time", "int")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label_zh: str
    label_en: str
    unit: str = "text"

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_zh


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def _console(file: TextIO) -> Console:
    tty = file.isatty()
    # non-TTY: no colour, no markup surprises, wide enough for CJK tables
    return Console(file=file, force_terminal=None, no_color=not tty or bool(os.environ.get("NO_COLOR")),
                   width=None if tty else 240, highlight=False, soft_wrap=False)


# --------------------------------------------------------------------------- values


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    return isinstance(v, float) and math.isnan(v)


def machine_value(v: object, unit: str):
    """A value as it appears in CSV/JSON."""
    if _is_missing(v):
        return None
    if isinstance(v, (pd.Timestamp,)):
        return v.strftime("%Y-%m-%d %H:%M:%S") if unit != "date" else v.strftime("%Y-%m-%d")
    if hasattr(v, "isoformat") and not isinstance(v, str):
        return v.isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        if unit in ("count", "int") and f.is_integer():
            return int(f)
        return round(f, 6)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def human_value(v: object, unit: str) -> str:
    """A value as shown in a table."""
    if _is_missing(v):
        return "—"
    if unit == "rate":
        return f"{float(v) * 100:.1f}%"
    if unit == "seconds":
        return f"{float(v):.1f}"
    if unit == "ratio":
        return f"{float(v):.2f}"
    if unit == "yuan":
        return f"¥{float(v):,.2f}"
    if unit in ("count", "int"):
        return f"{int(v):,}" if not isinstance(v, str) else v
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if unit == "date" else v.strftime("%Y-%m-%d %H:%M:%S")
    return str(v)


# --------------------------------------------------------------------------- writers


def machine_column(s: pd.Series, unit: str) -> list:
    """``[machine_value(v, unit) for v in s.tolist()]``, a column at a time: plain numpy
    columns (float, integer, bool, datetime) skip the per-value type dispatch."""
    kind = s.dtype.kind if isinstance(s.dtype, np.dtype) else None
    if kind == "f":
        arr = s.to_numpy()
        vals = arr.tolist()
        nan = np.isnan(arr)
        if unit in ("count", "int"):
            whole = ~nan & (arr == np.floor(arr)) & (np.abs(arr) < 2.0 ** 62)
            if whole.all():
                return arr.astype(np.int64).tolist()
            return [None if m else int(v) if v.is_integer() else round(v, 6)
                    for v, m in zip(vals, nan.tolist())]
        if not nan.any():
            return [round(v, 6) for v in vals]
        return [None if m else round(v, 6) for v, m in zip(vals, nan.tolist())]
    if kind in ("i", "u", "b"):
        return s.tolist()
    if kind == "M":
        out = s.dt.strftime("%Y-%m-%d" if unit == "date" else "%Y-%m-%d %H:%M:%S")
        return [None if isinstance(v, float) or v is None else v for v in out.tolist()]
    return [machine_value(v, unit) for v in s.tolist()]


def _columns(frame: pd.DataFrame, cols: list[Column]) -> list[list]:
    return [machine_column(frame[c.key], c.unit) if c.key in frame.columns else [None] * len(frame)
            for c in cols]


def _records(frame: pd.DataFrame, cols: list[Column]) -> Iterable[list]:
    return zip(*_columns(frame, cols))


def excel_safe(v: object) -> object:
    """Escape a text cell that Excel would run as a formula."""
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def write_csv(frame: pd.DataFrame, cols: list[Column], out: TextIO, *, excel: bool = False,
              lang: str = "zh") -> None:
    """CSV with snake_case keys; ``excel`` adds a BOM, uses labels and escapes formulas."""
    if excel:
        out.write("\ufeff")
    w = csv.writer(out, lineterminator="\n")
    w.writerow([c.label(lang) if excel else c.key for c in cols])
    columns = _columns(frame, cols)
    if excel:
        columns = [[excel_safe(v) for v in col] if any(isinstance(v, str) for v in col) else col
                   for col in columns]
    w.writerows(zip(*columns))  # None is written as an empty field


def to_json_obj(frame: pd.DataFrame, cols: list[Column]) -> list[dict]:
    keys = [c.key for c in cols]
    return [dict(zip(keys, rec)) for rec in _records(frame, cols)]


def write_json(frame: pd.DataFrame, cols: list[Column], out: TextIO, meta: dict | None = None) -> None:
    rows = to_json_obj(frame, cols)
    doc = rows if meta is None else {**meta, "rows": rows}
    json.dump(doc, out, ensure_ascii=False, indent=1)
    out.write("\n")


def rich_table(frame: pd.DataFrame, cols: list[Column], *, lang: str = "zh", title: str | None = None,
               total_row: dict | None = None) -> Table:
    t = Table(title=title, show_lines=False, header_style="bold", title_justify="left")
    for c in cols:
        t.add_column(c.label(lang), justify="left" if c.unit in ("text", "date", "time") else "right",
                     no_wrap=c.unit != "text")
    arrays = [frame[c.key].tolist() if c.key in frame.columns else [None] * len(frame) for c in cols]
    for row in zip(*arrays):
        t.add_row(*[human_value(v, c.unit) for v, c in zip(row, cols)])
    if total_row:
        t.add_section()
        t.add_row(*[human_value(total_row.get(c.key), c.unit) if c.key in total_row else ""
                    for c in cols], style="bold")
    return t


def emit(frame: pd.DataFrame, cols: list[Column], fmt: str, *, out: TextIO | None = None,
         lang: str = "zh", title: str | None = None, meta: dict | None = None,
         total_row: dict | None = None, excel: bool = False) -> None:
    """Write ``frame`` in ``fmt`` to ``out`` (stdout by default)."""
    out = out or sys.stdout
    if fmt == "csv":
        write_csv(frame, cols, out, excel=excel, lang=lang)
    elif fmt == "json":
        write_json(frame, cols, out, meta=meta)
    else:
        console = _console(out) if out in (sys.stdout, sys.stderr) else Console(
            file=out, no_color=True, width=240, highlight=False, soft_wrap=False)
        console.print(rich_table(frame, cols, lang=lang, title=title, total_row=total_row))


def to_string(frame: pd.DataFrame, cols: list[Column], fmt: str, **kw) -> str:
    buf = io.StringIO()
    emit(frame, cols, fmt, out=buf, **kw)
    return buf.getvalue()
