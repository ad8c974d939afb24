"""Which sheets of a workbook are read.

Browser-extension chat exports write a 导出汇总 summary sheet and then one sheet per
customer, all with the same headers. Every sheet whose recognised headers are those of the
best-matching sheet is read (rows keep their row numbers within their sheet); a summary or
notes sheet (汇总/合计/统计/说明… in its name or title) or a sheet without data rows is skipped
with a note; a sheet that holds data under other headers is never ignored silently: the file
is refused, naming the sheet.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cskit.errors import InputFileError
from cskit.i18n import Msg
from cskit.readers.common import Table

SUMMARY_SHEET = re.compile(r"汇总|合计|总计|统计|概览|概况|说明|目录|summary|overview|readme|notes?$",
                           re.IGNORECASE)


def _known(t: Table, known: set[str]) -> frozenset[str]:
    return frozenset(c for c in t.frame.columns if c in known)


def _is_summary(t: Table) -> bool:
    title = next((h for h in t.raw_headers if h and h.strip()), "")
    return bool(SUMMARY_SHEET.search(t.sheet or "") or SUMMARY_SHEET.search(title))


def _holds_data(t: Table) -> bool:
    """Some row has at least two non-empty cells."""
    if t.frame.empty:
        return False
    return bool((t.frame.notna().sum(axis=1) >= 2).any())


def combine_sheets(tables: list[Table], known: set[str], path: Path) -> Table:
    """One table from the sheets of a workbook (``tables`` in workbook order, empty sheets
    left out); see the module docstring."""
    scores = [len(_known(t, known)) for t in tables]
    best = tables[int(np.argmax(scores))]
    want = _known(best, known)
    if not want:  # nothing recognised anywhere: the sheet the reader will name
        return best
    read: list[Table] = []
    notes: list[Msg] = []
    for t in tables:
        if _known(t, known) == want:
            read.append(t)
        elif _is_summary(t) or not _holds_data(t):
            notes.append(Msg("{path}: sheet {sheet} skipped (a summary or notes sheet, no message or order rows)",
                             path=path, sheet=t.sheet))
        else:
            raise InputFileError(
                "{path}: sheet {sheet} holds data under other headers than sheet {first}; the workbook is not read",
                hint="put each kind of table in its own file", path=path, sheet=t.sheet,
                first=best.sheet)
    if len(read) == 1:
        best.notes = notes
        return best
    cols = list(dict.fromkeys(c for t in read for c in t.frame.columns))
    frame = pd.concat([t.frame.reindex(columns=cols) for t in read], ignore_index=True)
    frame = frame.astype(object).where(frame.notna(), None)
    rows = np.concatenate([t.rows().to_numpy() for t in read]).astype("int64")
    notes.append(Msg("{path}: read {n} sheets with the same headers ({sheets}); row numbers are within each sheet",
                     path=path, n=len(read), sheets=", ".join(str(t.sheet) for t in read)))
    # sheet=None: one sheet's name never dates another sheet's time-only cells; each
    # sheet's structural rejects are kept
    return Table(frame=frame, raw_headers=best.raw_headers, header_row=best.header_row,
                 encoding=None, sheet=None, row_numbers=rows, notes=notes,
                 rejects=[r for t in read for r in t.rejects])
