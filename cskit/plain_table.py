"""A boxed table as plain text, character for character what rich draws for
:func:`cskit.render.print_table` on a console without styles (a pipe or a file), when
every cell fits its column on one line.

rich lays out, wraps and measures every cell of every row; a kpi table of a few hundred
rows spends most of a cold `cskit kpi` there.  Here a row is one string join.  Anything
this module does not draw exactly as rich does (a cell or header line wider than its
column, a line break in a cell, a title wider than the table or the console) returns
None and the caller lets rich draw it.  tests/test_plain_table.py compares the two.
"""

from __future__ import annotations

from rich.cells import cell_len

#: rich's HEAVY_HEAD box (a table with a header) and SQUARE (without one)
_HEAVY_TOP = ("┏", "━", "┳", "┓")
_HEAVY_HEAD = ("┃", "┃", "┃")
_HEAVY_HEAD_RULE = ("┡", "━", "╇", "┩")
_ROW = ("│", "│", "│")
_SECTION = ("├", "─", "┼", "┤")
_BOTTOM = ("└", "─", "┴", "┘")
_SQUARE_TOP = ("┌", "─", "┬", "┐")


def _rule(widths: list[int], chars: tuple[str, str, str, str]) -> str:
    left, line, cross, right = chars
    return left + cross.join(line * (w + 2) for w in widths) + right


def _pad(text: str, width: int, right: bool) -> str | None:
    n = cell_len(text)
    if n > width or "\n" in text:
        return None
    space = " " * (width - n)
    return space + text if right else text + space


def _row(cells: list[str], widths: list[int], right: list[bool],
         chars: tuple[str, str, str]) -> str | None:
    out = []
    for text, w, r in zip(cells, widths, right):
        p = _pad(text, w, r)
        if p is None:
            return None
        out.append(p)
    left, mid, end = chars
    return left + " " + (" " + mid + " ").join(out) + " " + end


def plain_text(lay, lang: str, title: str | None, console_width: int, groups: list[tuple[str, list[int]]] | None,
               headers: list[str], total_cells: list[str] | None) -> str | None:
    """The text rich prints for ``lay`` (its parts, each followed by a line break), or None
    when this module cannot promise the same characters.

    ``groups``: per heading the row positions under it (None: one table); ``headers``:
    each shown column's header text (lines joined by ``\\n``); ``total_cells``: the
    total row's cells."""
    from cskit.render import KEY_UNITS, safe_text

    shown = lay.shown
    if not shown:
        return None
    widths = [lay.widths[c.key] for c in shown]
    right = [c.unit not in KEY_UNITS for c in shown]
    table_w = sum(widths) + 3 * len(widths) + 1
    columns = [lay.cells[c.key] for c in shown]
    n = len(columns[0])

    head_lines = [h.split("\n") for h in headers]
    height = max(len(h) for h in head_lines)
    head = []
    for i in range(height):
        # rich aligns header cells to the bottom
        line = _row([h[i - height + len(h)] if i >= height - len(h) else "" for h in head_lines],
                    widths, right, _HEAVY_HEAD)
        if line is None:
            return None
        head.append(line)

    body: list[str | None] = [_row([col[i] for col in columns], widths, right, _ROW)
                              for i in range(n)]
    if any(r is None for r in body):
        return None
    total = None
    if total_cells is not None:
        total = _row(total_cells, widths, right, _ROW)
        if total is None:
            return None

    def table(rows: list[str], header: bool = True, section: str | None = None) -> list[str]:
        if header:
            out = [_rule(widths, _HEAVY_TOP), *head, _rule(widths, _HEAVY_HEAD_RULE)]
        else:
            out = [_rule(widths, _SQUARE_TOP)]
        out += rows
        if section is not None:  # rich draws no section rule above the first row
            out += [_rule(widths, _SECTION), section] if rows else [section]
        out.append(_rule(widths, _BOTTOM))
        return out

    lines: list[str] = []
    if groups is None:
        if title:
            t = safe_text(title)
            if cell_len(t) > table_w or "\n" in t:
                return None
            lines.append(t + " " * (table_w - cell_len(t)))
        lines += table(body, section=total)  # type: ignore[arg-type]
        return "\n".join(lines) + "\n"
    if title:
        t = safe_text(title)
        if cell_len(t) > console_width or "\n" in t:
            return None
        lines.append(t)
    label = "店铺" if lang != "en" else "Shop"
    for name, positions in groups:
        heading = f"{label}: {name}"
        if cell_len(heading) > console_width or "\n" in heading:
            return None
        lines.append(heading)
        lines += table([body[i] for i in positions])  # type: ignore[misc]
    if total is not None:
        lines += table([total], header=False)
    return "\n".join(lines) + "\n"
