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
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, TextIO

# numpy, pandas and rich are imported where they are used, not here: every CLI module
# imports this one for :class:`Column`, and `cskit --help` must not pay for them
if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

FORMATS = ("table", "csv", "json", "xlsx")
UNITS = ("count", "rate", "seconds", "ratio", "yuan", "text", "date", "time", "int", "points")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label_zh: str
    label_en: str
    unit: str = "text"
    #: free text (a message, a quote): wraps to the room left and is the first to go;
    #: every other text/date/time column is a key column and is never cut
    wrap: bool = False
    #: a detail a person can do without (a machine code, a secondary figure): dropped
    #: first when a table does not fit; a number ranks details (the highest goes first,
    #: then the next; True is 1)
    optional: bool | int = False
    #: names of coded values, ``(code, zh, en)``: tables and workbooks show the name in
    #: their language, CSV/JSON the code (qc severity, lost outcome)
    labels: tuple[tuple[str, str, str], ...] = ()

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_zh


def stdout_console() -> Console:
    return _console(sys.stdout)


def stderr_console() -> Console:
    return _console(sys.stderr)


def _plain_file(file: TextIO) -> bool:
    """Whether rich would print to ``file`` without styles, as it is: not a terminal, no
    colour or terminal forced by the environment, not inside a notebook."""
    try:
        tty = bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file: rich says no terminal
        tty = False
    return (not tty and not any(os.environ.get(v) for v in ("FORCE_COLOR", "TTY_COMPATIBLE"))
            and "IPython" not in sys.modules)


class _PipeConsole:
    """What :func:`print_table` asks of a console printing to a pipe or a file (240 columns,
    no styles), without rich's Console: the table is written as text by
    :mod:`cskit.plain_table`; whatever that cannot draw goes to a real rich Console made
    then (same width, same settings as :func:`_console`)."""

    color_system = None
    record = False

    def __init__(self, file: TextIO):
        self.file = file
        self.width = _PIPE_WIDTH
        self._rich = None

    def print(self, *objects, **kw) -> None:
        if (len(objects) == 1 and isinstance(objects[0], str) and kw.get("markup") is False
                and set(kw) <= {"markup", "style"}):
            text = objects[0]
            if len(text) * 2 <= self.width and text.isprintable() and text.strip() == text \
                    and text.count(":") <= 1:
                self.file.write(text + "\n")  # a style prints nothing on a pipe
                return
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(file=self.file, force_terminal=None, no_color=True,
                                 width=self.width, highlight=False, soft_wrap=False,
                                 markup=False)
        self._rich.width = self.width
        self._rich.print(*objects, **kw)


def print_line(text: str, file: TextIO | None = None) -> None:
    """``text`` and a line break on ``file`` (stderr by default) as
    ``_console(file).print(text, markup=False)`` prints it.  A line that rich would print
    as it is (not a terminal, no colour forced, printable, no leading or trailing space, no
    ``:name:`` rich could read as an emoji code, surely narrower than the console) is
    written directly: a note needs no rich (about 30 ms of imports on a cold start)."""
    file = file or sys.stderr
    if _plain_file(file):
        _PipeConsole(file).print(text, markup=False)
        return
    _console(file).print(text, markup=False)


#: the width of a table printed to a pipe or a file (wide enough for CJK tables)
_PIPE_WIDTH = 240


def _console(file: TextIO) -> Console:
    from rich.console import Console

    tty = file.isatty()
    # non-TTY: no colour, wide enough for CJK tables; never markup: data is never interpreted
    # (a shop named "[/red]店" is printed as written)
    return Console(file=file, force_terminal=None, no_color=not tty or bool(os.environ.get("NO_COLOR")),
                   width=None if tty else _PIPE_WIDTH, highlight=False, soft_wrap=False, markup=False)


#: control characters (C0 but the newline, DEL, C1): ESC in a name or a message would
#: start a terminal escape sequence (colours, cursor moves, a fake prompt)
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def safe_text(s: str) -> str:
    """``s`` as it may be shown on a terminal: a tab becomes a space, every other control
    character U+FFFD (�), so it is visible and never acts."""
    if not _CONTROL.search(s):
        return s
    return _CONTROL.sub(lambda m: " " if m.group() == "\t" else "\ufffd", s)


# --------------------------------------------------------------------------- values


def _is_missing(v: object) -> bool:
    import pandas as pd

    if v is None or v is pd.NaT or v is pd.NA:
        return True
    return isinstance(v, float) and math.isnan(v)


def machine_value(v: object, unit: str):
    """A value as it appears in CSV/JSON."""
    import numpy as np
    import pandas as pd

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
    import pandas as pd

    if _is_missing(v):
        return "—"
    if unit == "rate":
        return f"{float(v) * 100:.1f}%"
    if unit in ("seconds", "points"):  # points: a score out of 100
        return f"{float(v):.1f}"
    if unit == "ratio":
        return f"{float(v):.2f}"
    if unit == "yuan":
        return f"¥{float(v):,.2f}"
    if unit in ("count", "int"):
        return f"{int(v):,}" if not isinstance(v, str) else v
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d") if unit == "date" else v.strftime("%Y-%m-%d %H:%M:%S")
    return safe_text(str(v))


# --------------------------------------------------------------------------- writers


def machine_column(s: pd.Series, unit: str) -> list:
    """``[machine_value(v, unit) for v in s.tolist()]``, a column at a time: plain numpy
    columns (float, integer, bool, datetime) skip the per-value type dispatch."""
    import numpy as np
    import pandas as pd

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
    if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        # text columns (ids, reasons, quotes): the strings as they are, missing → None,
        # without the per-value type dispatch (a 300 k-row list has millions of cells)
        vals = s.tolist()
        miss = s.isna().to_numpy(dtype=bool)
        if not miss.any():
            return vals
        return [None if m else v for v, m in zip(vals, miss.tolist())]
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


# --------------------------------------------------------------------------- tables for people
#
# A table always fits the console it is printed on (80, 120, 160 columns or a 240-wide
# pipe) without cutting a cell: key columns (text, date and time units: 店铺, 客服, 日期, 周,
# ids, times) get exactly the width of their widest cell; numeric headers may fold onto a
# second line but their values never shrink; what does not fit is dropped, right to left
# (first optional codes, then numbers, free text and later time columns — never a key
# text/date column), with one
# line under the table naming what was dropped and how to see it.  A shop shared by
# several rows is printed once, as a heading above its rows, not in every row.

KEY_UNITS = ("text", "date", "time")
#: the column printed once per group (a heading) when rows repeat it
GROUP_COLUMN = "shop"
#: free-text columns: narrowest and widest they are drawn
WRAP_MIN, WRAP_MAX = 12, 40
_HEADER_LINES = 2
#: headers this wide (two CJK characters: 更新, 严重) are never folded
_SHORT_HEADER = 4


def is_key(c: Column) -> bool:
    return c.unit in KEY_UNITS and not c.wrap


def display_frame(frame: pd.DataFrame, cols: list[Column], lang: str = "zh") -> pd.DataFrame:
    """``frame`` as people see it: agents named within their shop (:mod:`cskit.naming`),
    coded values by their :attr:`Column.labels` name in ``lang``."""
    from cskit.naming import AGENT_KEYS, agent_names

    keys = [c.key for c in cols if c.key in AGENT_KEYS and c.key in frame.columns]
    if GROUP_COLUMN not in frame.columns:
        keys = []
    coded = [c for c in cols if c.labels and c.key in frame.columns]
    if not keys and not coded:
        return frame
    frame = frame.copy()
    for k in keys:
        frame[k] = agent_names(frame[GROUP_COLUMN], frame[k])
    for c in coded:
        names = {code: en if lang == "en" else zh for code, zh, en in c.labels}
        frame[c.key] = frame[c.key].map(names).fillna(frame[c.key])
    return frame


def _cell_texts(frame: pd.DataFrame, c: Column) -> list[str]:
    if c.key not in frame.columns:
        return ["—"] * len(frame)
    return [human_value(v, c.unit) for v in frame[c.key].tolist()]


def _width(texts: Iterable[str]) -> int:
    from rich.cells import cell_len

    return max((cell_len(t) for t in texts), default=0)


def _unit_split(label: str) -> tuple[str, str] | None:
    """``label`` cut before a bracketed unit (``平均响应(秒)`` → ``平均响应``, ``(秒)``)."""
    for br in ("(", "（"):
        i = label.find(br)
        if i > 0:
            return label[:i].rstrip(), label[i:]
    return None


def _fold(label: str, width: int) -> list[str]:
    from rich.text import Text

    # rich's wrap uses its console only to justify, and the default justification does
    # nothing: no Console is needed (importing rich.console costs ~30 ms of a cold start);
    # tests/test_render_fit.py compares this with a wrap on a Console
    return [str(line).strip() for line in Text(label).wrap(None, width, overflow="fold")]


def header_width(label: str) -> int:
    """The narrowest width at which ``label`` fits on at most two lines: cut before a
    bracketed unit when that costs at most two cells more than folding, English words
    never cut inside."""
    from rich.cells import cell_len

    full = cell_len(label)
    if full <= _SHORT_HEADER:
        return full
    shortest = max([cell_len(t) for t in label.split() if t.isascii()] + [1])
    plain = full
    for w in range(max(shortest, -(-full // _HEADER_LINES)), full + 1):
        if len(_fold(label, w)) <= _HEADER_LINES:
            plain = w
            break
    parts = _unit_split(label)
    if parts is not None:
        nice = max(cell_len(p) for p in parts)
        if nice <= plain + 2:
            return nice
    return plain


def header_text(label: str, width: int) -> str:
    """The header drawn in a column ``width`` wide: whole, cut before its unit, or folded."""
    from rich.cells import cell_len

    if cell_len(label) <= width:
        return label
    parts = _unit_split(label)
    if parts is not None and max(cell_len(p) for p in parts) <= width:
        return "\n".join(parts)
    return "\n".join(_fold(label, min(width, header_width(label))))  # balanced lines


def table_width(widths: Iterable[int]) -> int:
    """Width of a boxed table (padding 1 each side, a rule between and around columns)."""
    widths = list(widths)
    return sum(widths) + 3 * len(widths) + 1


@dataclass
class Layout:
    shown: list[Column]
    dropped: list[Column]
    widths: dict[str, int]
    group: str | None = None  #: the key printed as a heading (None: no groups)
    overflow: bool = False  #: key columns alone are wider than the console
    cells: dict[str, list[str]] = field(default_factory=dict, repr=False)


def layout(frame: pd.DataFrame, cols: list[Column], width: int, *, lang: str = "zh",
           total_row: dict | None = None, wide: bool = False) -> Layout:
    """Which columns a table of ``frame`` shows at ``width`` columns, and how wide each is.

    ``frame`` is already :func:`display_frame`'d.  ``wide``: show every column, however
    wide the table gets.
    """
    from rich.cells import cell_len

    group = None
    if (GROUP_COLUMN in frame.columns and any(c.key == GROUP_COLUMN for c in cols)
            and len(cols) > 1 and frame[GROUP_COLUMN].duplicated().any()):
        group = GROUP_COLUMN
    cols = [c for c in cols if c.key != group]
    cells = {c.key: _cell_texts(frame, c) for c in cols}
    need, least = {}, {}
    for c in cols:
        extra = [human_value(total_row.get(c.key), c.unit)] if total_row and c.key in total_row else []
        head, one_line = header_width(c.label(lang)), cell_len(c.label(lang))
        body = _width(cells[c.key] + extra)
        if c.wrap:
            need[c.key] = max(one_line, min(body, WRAP_MAX))
            least[c.key] = max(head, min(body, WRAP_MIN))
        else:
            need[c.key] = max(one_line, body, 1)
            least[c.key] = max(head, body, 1)
    shown = list(cols)
    dropped: list[Column] = []
    if not wide:
        first_time = next((c.key for c in cols if c.unit in ("date", "time") and not c.wrap), None)

        def droppable(c: Column) -> bool:
            return not is_key(c) or c.optional or (c.unit == "time" and c.key != first_time)

        while table_width(least[c.key] for c in shown) > width:
            rank = max(int(c.optional) for c in shown)
            victims = [c for c in shown if rank and int(c.optional) == rank] or \
                [c for c in shown if droppable(c)]
            if not victims or len(shown) == 1:
                break
            shown.remove(victims[-1])
            dropped.insert(0, victims[-1])
    widths = {c.key: least[c.key] for c in shown}
    room = width - table_width(widths.values())
    # what is left: first headers on one line, then free text up to its natural width
    for c in sorted(shown, key=lambda c: c.wrap):
        grow = max(0, need[c.key] - widths[c.key])
        if not c.wrap and grow > room:
            continue  # a header unfolds whole or not at all
        grow = min(grow, room)
        widths[c.key] += grow
        room -= grow
    return Layout(shown, [c for c in cols if c in dropped], widths, group,
                  table_width(widths.values()) > width, cells)


def dropped_note(dropped: list[Column], lang: str = "zh", *, wide_option: bool = True) -> str:
    """The line under a table that left columns out."""
    names = [c.label(lang) for c in dropped]
    if lang == "en":
        how = "--wide or -f csv" if wide_option else "-f csv"
        return f"({len(names)} more column{'s' if len(names) > 1 else ''} not shown: " \
               f"{', '.join(names)}; use {how} to see them all)"
    how = "--wide 或 -f csv" if wide_option else "-f csv"
    return f"(另有 {len(names)} 列未显示: {'、'.join(names)}；用 {how} 查看全部)"


def _new_table(lay: Layout, lang: str, *, header: bool = True, title: str | None = None) -> Table:
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(safe_text(title)) if title else None, show_lines=False,
              header_style="bold", title_justify="left", show_header=header)
    for c in lay.shown:
        w = lay.widths[c.key]
        t.add_column(Text(safe_text(header_text(c.label(lang), w))), justify="left" if c.unit in KEY_UNITS else "right",
                     width=w, min_width=w, max_width=w, overflow="fold", no_wrap=False)
    return t


def _total_cells(lay: Layout, total_row: dict) -> list[str]:
    return [human_value(total_row.get(c.key), c.unit) if c.key in total_row else ""
            for c in lay.shown]


def _groups(frame: pd.DataFrame, lay: Layout) -> list[tuple[str, list[int]]]:
    """Per group heading (in order of first appearance), the row positions under it."""
    import numpy as np
    import pandas as pd

    heads = frame[lay.group].map(lambda v: human_value(v, "text")).to_numpy(dtype=object)
    codes, names = pd.factorize(heads)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    return [(names[codes[order[a]]], order[a:b].tolist())
            for a, b in zip(starts, np.r_[starts[1:], len(order)])]


def rich_tables(frame: pd.DataFrame, cols: list[Column], *, width: int, lang: str = "zh",
                title: str | None = None, total_row: dict | None = None,
                wide: bool = False) -> tuple[list, Layout]:
    """The renderables of one table at ``width`` columns (a heading and a table per shop
    when rows share shops) and its :class:`Layout`."""
    frame = display_frame(frame, cols, lang)
    lay = layout(frame, cols, width, lang=lang, total_row=total_row, wide=wide)
    return _rich_parts(frame, lay, lang, title, total_row), lay


def _rich_parts(frame: pd.DataFrame, lay: Layout, lang: str, title: str | None,
                total_row: dict | None) -> list:
    from rich.text import Text

    # cells as Text: never parsed as markup, whatever console prints them
    rows = list(zip(*[[Text(x) for x in lay.cells[c.key]] for c in lay.shown])) if lay.shown else []
    out: list = []
    if lay.group is None:
        t = _new_table(lay, lang, title=title)
        for r in rows:
            t.add_row(*r)
        if total_row:
            t.add_section()
            t.add_row(*_total_cells(lay, total_row), style="bold")
        return [t]
    if title:
        out.append(Text(safe_text(title), style="italic"))
    shop_label = "店铺" if lang != "en" else "Shop"
    for name, positions in _groups(frame, lay):
        out.append(Text(f"{shop_label}: {name}", style="bold"))
        t = _new_table(lay, lang)
        for i in positions:
            t.add_row(*rows[i])
        out.append(t)
    if total_row:
        t = _new_table(lay, lang, header=False)
        t.add_row(*_total_cells(lay, total_row), style="bold")
        out.append(t)
    return out


def rich_table(frame: pd.DataFrame, cols: list[Column], *, lang: str = "zh", title: str | None = None,
               total_row: dict | None = None) -> Table:
    """One ungrouped table with every column (for callers that lay out themselves)."""
    from rich.table import Table
    from rich.text import Text

    frame = display_frame(frame, cols, lang)
    t = Table(title=Text(safe_text(title)) if title else None, show_lines=False,
              header_style="bold", title_justify="left")
    for c in cols:
        t.add_column(Text(safe_text(c.label(lang))), justify="left" if c.unit in KEY_UNITS else "right",
                     no_wrap=not c.wrap)
    for row in zip(*[_cell_texts(frame, c) for c in cols]):
        t.add_row(*map(Text, row))
    if total_row:
        t.add_section()
        t.add_row(*[human_value(total_row.get(c.key), c.unit) if c.key in total_row else ""
                    for c in cols], style="bold")
    return t


def print_table(console: Console, frame: pd.DataFrame, cols: list[Column], *, lang: str = "zh",
                title: str | None = None, total_row: dict | None = None, wide: bool = False,
                wide_option: bool = True) -> Layout:
    """Print ``frame`` as a table that fits ``console`` (see the comment above); the layout.

    Where the console prints no styles (a pipe or a file) and every cell fits its column on
    one line, the table is written as text directly (:mod:`cskit.plain_table`): the same
    characters rich draws, several times faster for a long table."""
    from cskit.plain_table import plain_text

    frame = display_frame(frame, cols, lang)
    lay = layout(frame, cols, width=console.width, lang=lang, total_row=total_row, wide=wide)
    needed = table_width(lay.widths.values())
    old = console.width
    if needed > old:  # key columns never shrink: print wider, the terminal wraps the lines
        console.width = needed
    try:
        text = None
        if console.color_system is None and not console.record:
            text = plain_text(lay, lang, title, console.width,
                              _groups(frame, lay) if lay.group else None,
                              [safe_text(header_text(c.label(lang), lay.widths[c.key]))
                               for c in lay.shown],
                              _total_cells(lay, total_row) if total_row else None)
        if text is not None:
            console.file.write(text)
        else:
            for p in _rich_parts(frame, lay, lang, title, total_row):
                console.print(p)
        if lay.dropped:
            console.print(dropped_note(lay.dropped, lang, wide_option=wide_option), markup=False,
                          style="dim")
    finally:
        console.width = old
    return lay


def emit(frame: pd.DataFrame, cols: list[Column], fmt: str, *, out: TextIO | None = None,
         lang: str = "zh", title: str | None = None, meta: dict | None = None,
         total_row: dict | None = None, excel: bool = False, wide: bool = False,
         wide_option: bool = True) -> None:
    """Write ``frame`` in ``fmt`` to ``out`` (stdout by default).  Tables fit the
    console (the terminal's width, 240 columns for a pipe or file) unless ``wide``;
    ``wide_option``: the command has ``--wide`` (named in the dropped-columns note)."""
    out = out or sys.stdout
    if fmt == "xlsx":  # ``out``: a binary file (``cskit.cli.app.output_file(..., fmt="xlsx")``)
        from cskit.xlsx import Sheet, xlsx_bytes

        name = (title or "cskit").split(" · ")[0].split(" (")[0]
        out.write(xlsx_bytes([Sheet(name, frame, cols)], lang=lang))
        return
    if fmt == "csv":
        write_csv(frame, cols, out, excel=excel, lang=lang)
    elif fmt == "json":
        write_json(frame, cols, out, meta=meta)
    elif _plain_file(out):  # a pipe or a file: no rich Console unless the table needs it
        print_table(_PipeConsole(out), frame, cols, lang=lang, title=title, total_row=total_row,
                    wide=wide, wide_option=wide_option)
    else:
        from rich.console import Console

        console = _console(out) if out in (sys.stdout, sys.stderr) else Console(
            file=out, no_color=True, width=240, highlight=False, soft_wrap=False, markup=False)
        print_table(console, frame, cols, lang=lang, title=title, total_row=total_row, wide=wide,
                    wide_option=wide_option)


def to_string(frame: pd.DataFrame, cols: list[Column], fmt: str, **kw) -> str:
    buf = io.StringIO()
    emit(frame, cols, fmt, out=buf, **kw)
    return buf.getvalue()
