"""Excel workbooks (``-f xlsx``, ``report --excel``), written with XlsxWriter.

The same column specs as the CSV/JSON writers (:class:`cskit.render.Column`) drive a
sheet: headers are the labels (Chinese by default), the header row is frozen and
filtered, widths follow the content.  Cells keep their type so Excel neither guesses
nor loses anything:

* text (ids: order, buyer, agent) is written as text — a 19-digit order id stays
  exactly as exported, a cell that starts with ``=`` is never a formula;
* rates are numbers with a percentage format (0.853 shows as 85.3%), seconds and
  ratios numbers with one or two decimals, money with ``¥``, counts whole numbers;
* dates and times are Excel dates (``yyyy-mm-dd`` / ``yyyy-mm-dd hh:mm:ss``);
* true/false flags read 是/否 (yes/no with ``lang="en"``); agents are named within their
  shop (the shop column says it), as in every table;
* an unknown value is an empty cell, never 0.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pandas as pd
from rich.cells import cell_len

from cskit.render import Column, display_frame, human_value

__all__ = ["Sheet", "write_xlsx", "xlsx_bytes", "sheet_name", "NUMBER_FORMATS"]

#: Excel number format per column unit
NUMBER_FORMATS = {
    "rate": "0.0%",
    "seconds": "0.0",
    "points": "0.0",
    "ratio": "0.00",
    "yuan": '"¥"#,##0.00',
    "count": "#,##0",
    "int": "0",
    "date": "yyyy-mm-dd",
    "time": "yyyy-mm-dd hh:mm:ss",
    "text": "@",
}
NUMERIC_UNITS = ("rate", "seconds", "ratio", "yuan", "count", "int", "points")
MAX_WIDTH = 60
_WIDTH_SAMPLE = 2000  #: rows measured for a column's width
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


@dataclass
class Sheet:
    name: str
    frame: pd.DataFrame
    cols: list[Column]


def sheet_name(name: str, taken: set[str] | None = None) -> str:
    """A valid, unused sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "Sheet"
    base = base[:31]
    taken = taken if taken is not None else set()
    out, n = base, 2
    while out.lower() in {t.lower() for t in taken}:
        suffix = f" ({n})"
        out, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(out)
    return out


def _is_flag(s: pd.Series) -> bool:
    if s.dtype == bool or str(s.dtype) == "boolean":
        return True
    if s.dtype != object:
        return False
    vals = s.dropna()
    return len(vals) > 0 and vals.map(lambda v: isinstance(v, (bool, np.bool_))).all()


def _values(s: pd.Series, unit: str, lang: str) -> tuple[list, str]:
    """(cell values with None for unknown, the kind: flag | number | datetime | text)."""
    missing = s.isna().to_numpy()
    if _is_flag(s):
        yes, no = ("yes", "no") if lang == "en" else ("是", "否")
        vals = np.where(s.fillna(False).astype(bool).to_numpy(), yes, no).astype(object)
        vals[missing] = None
        return vals.tolist(), "flag"
    if unit in NUMERIC_UNITS:
        num = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
        bad = ~np.isfinite(num)
        vals = num.astype(object)
        if unit in ("count", "int"):
            whole = ~bad & (num == np.floor(num))
            vals[whole] = num[whole].astype(np.int64)
        vals[bad] = None
        return vals.tolist(), "number"
    if unit in ("date", "time"):
        if s.dtype.kind == "M" or isinstance(s.dtype, pd.DatetimeTZDtype):
            t = s.dt.tz_localize(None) if isinstance(s.dtype, pd.DatetimeTZDtype) else s
            vals = np.array(t.dt.to_pydatetime(), dtype=object)
            vals[missing] = None
            return vals.tolist(), "datetime"
        if s.map(lambda v: isinstance(v, (dt.date, pd.Timestamp)) or v is None
                 or (isinstance(v, float) and np.isnan(v))).all():
            vals = np.array(s.astype(object).to_numpy(), dtype=object, copy=True)
            vals[missing] = None
            return vals.tolist(), "datetime"
    # text: ids and names exactly as exported, never a number, a date or a formula
    vals = np.array(s.astype(str).to_numpy(dtype=object), dtype=object, copy=True)
    vals[missing] = None
    return vals.tolist(), "text"


def _width(label: str, shown: list[str]) -> int:
    w = max([cell_len(label)] + [cell_len(x) for x in shown])
    return min(w + 2, MAX_WIDTH)


def write_xlsx(out: BinaryIO | str, sheets: list[Sheet], *, lang: str = "zh") -> None:
    """One workbook with a sheet per table to ``out`` (a path or a binary file)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"strings_to_numbers": False, "strings_to_formulas": False,
                                     "strings_to_urls": False, "remove_timezone": True,
                                     "constant_memory": False})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1,
                              "text_wrap": True, "valign": "top"})
    formats = {u: book.add_format({"num_format": f}) for u, f in NUMBER_FORMATS.items()}
    taken: set[str] = set()
    for sh in sheets:
        ws = book.add_worksheet(sheet_name(sh.name, taken))
        frame = sh.frame if sh.frame is not None else pd.DataFrame()
        frame = display_frame(frame, sh.cols, lang)  # agents named within their shop, as in tables
        for j, c in enumerate(sh.cols):
            ws.write_string(0, j, c.label(lang), header)
            s = frame[c.key] if c.key in frame.columns else pd.Series([None] * len(frame), dtype=object)
            vals, kind = _values(s.reset_index(drop=True), c.unit, lang)
            if kind == "number":
                fmt = formats[c.unit]
            elif kind == "datetime":
                fmt = formats["date" if c.unit == "date" else "time"]
            else:
                fmt = formats["text"]
            for i, v in enumerate(vals, start=1):
                if v is None:
                    continue  # unknown: an empty cell
                if kind == "text" or kind == "flag":
                    ws.write_string(i, j, v, fmt)
                elif kind == "number":
                    ws.write_number(i, j, v, fmt)
                else:
                    ws.write_datetime(i, j, v, fmt)
            shown = [human_value(v, c.unit) if kind == "number" else
                     (human_value(pd.Timestamp(v), c.unit) if kind == "datetime" else str(v))
                     for v in vals[:_WIDTH_SAMPLE] if v is not None]
            ws.set_column(j, j, _width(c.label(lang), shown))
        ws.freeze_panes(1, 0)
        if sh.cols:
            ws.autofilter(0, 0, max(len(frame), 1), len(sh.cols) - 1)
    book.close()


def xlsx_bytes(sheets: list[Sheet], *, lang: str = "zh") -> bytes:
    buf = io.BytesIO()
    write_xlsx(buf, sheets, lang=lang)
    return buf.getvalue()
