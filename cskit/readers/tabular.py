"""Tabular files (CSV, TSV, Excel workbooks) as a :class:`Table` of strings.

Holds what turns a file into rows and named columns: header normalisation
(:func:`norm_header`, :func:`find_column`), finding the header row below any title rows,
parsing CSV/TSV text with pyarrow's multi-threaded reader (straight from a UTF-8 file
without decoding it, :func:`table_from_utf8`, else from decoded text), the python csv
fallback for ragged rows, blank and structurally broken rows left out (with their file
row numbers), Excel workbooks through calamine, and :func:`one_chunk`.  It does not decide
encodings (:mod:`cskit.readers.encoding`) nor clean or interpret cells
(:mod:`cskit.readers.cells`); mapping headers to canonical columns is the readers' own
work.  Names are re-exported by :mod:`cskit.readers.common`.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from cskit.errors import InputFileError
from cskit.readers import cells as _cells  # its THREADS knob, read at call time
from cskit.readers.csvcheck import broken_rows, ragged
from cskit.readers.encoding import (
    ENCODINGS,
    HEAD_CHARS,
    NotFast,
    file_start,
    may_be_utf8,
    read_text,
    utf8_head,
)

# --------------------------------------------------------------------------- headers

_HEADER_JUNK = re.compile(r"[\s\"'`\ufeff\u200b]+")
_FULLWIDTH = str.maketrans({"（": "(", "）": ")", "：": ":", "，": ",", "　": ""})


def norm_header(name: object) -> str:
    """Normalise a header cell: strip spaces/quotes/BOM, full-width brackets → ASCII, lower-case."""
    s = "" if name is None else str(name)
    s = s.translate(_FULLWIDTH)
    s = _HEADER_JUNK.sub("", s)
    return s.lower()


def find_column(headers: list[str], synonyms: tuple[str, ...] | list[str]) -> str | None:
    """First header (already normalised) equal to one of ``synonyms`` (normalised here)."""
    wanted = [norm_header(s) for s in synonyms]
    for w in wanted:
        if w in headers:
            return w
    return None


# --------------------------------------------------------------------------- tabular files

CSV_BLOCK = 8 << 20  #: bytes per block of pyarrow's (parallel) CSV parser
TABULAR_EXT = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods"}
EXCEL_EXT = {".xlsx", ".xlsm", ".xls", ".ods"}


@dataclass
class Table:
    """A tabular file as strings: normalised headers, rows as str (None for empty)."""

    frame: pd.DataFrame  #: columns = normalised headers; all values str or None
    raw_headers: list[str]
    header_row: int  #: 1-based row number of the header line in the file
    encoding: str | None = None
    sheet: str | None = None
    row_numbers: np.ndarray | None = None  #: file row of each frame row (blank rows skipped)
    notes: list = field(default_factory=list)  #: cskit.i18n.Msg notes to show
    #: rows left out because the file's structure is broken there: ``(file row, reason)``
    #: (a reader adds them to its rejects; see :mod:`cskit.readers.csvcheck`)
    rejects: list[tuple[int, str]] = field(default_factory=list)

    def rows(self) -> pd.Series:
        """1-based file row number of each data row."""
        if self.row_numbers is not None and len(self.row_numbers) == len(self.frame):
            return pd.Series(self.row_numbers, index=self.frame.index, dtype="int64")
        return pd.Series(np.arange(len(self.frame), dtype="int64") + self.header_row + 1,
                         index=self.frame.index)


def _drop_blank_rows(tbl: "Table", bad: dict[int, str] | None = None) -> "Table":
    """Remove all-empty rows, remembering the file row number of the others; rows at the
    positions in ``bad`` are removed too and listed in ``tbl.rejects`` with their reason."""
    numbers = np.arange(len(tbl.frame), dtype="int64") + tbl.header_row + 1
    keep = ~all_missing(tbl.frame) if tbl.frame.shape[1] else np.ones(len(numbers), bool)
    if bad:
        keep = keep.copy()
        pos = np.fromiter(bad, dtype=np.int64, count=len(bad))
        keep[pos] = False
        tbl.rejects = [(int(numbers[i]), why) for i, why in sorted(bad.items())]
    if not keep.all():  # (no copy of the frame when every row has a value)
        tbl.frame = tbl.frame.loc[keep].reset_index(drop=True)
    tbl.row_numbers = numbers[keep]
    return tbl


def all_missing(frame: pd.DataFrame) -> np.ndarray:
    """Per row: every cell is missing (``frame.isna().all(axis=1)``), without looking at
    every column when one of them has no missing cell."""
    blank = np.ones(len(frame), dtype=bool)
    for i in range(frame.shape[1]):
        na = frame.iloc[:, i].isna().to_numpy()
        if not na.any():
            return np.zeros(len(frame), dtype=bool)
        blank &= na
    return blank


def _records_to_table(records: list[list[object]], known: set[str], path: Path,
                      encoding: str | None, sheet: str | None = None,
                      delim: str | None = None) -> Table:
    """Find the header row (skipping title rows above it) and build a string frame."""
    header_idx = 0
    best = -1
    for i, row in enumerate(records[:30]):
        cells = [norm_header(c) for c in row]
        score = sum(1 for c in cells if c in known)
        nonempty = sum(1 for c in cells if c)
        if score > best or (best <= 0 and score == best and nonempty > 2 and header_idx == 0 and i == 0):
            best, header_idx = score, i
    if not records:
        raise InputFileError("{path}: the file is empty", path=path)
    raw_headers = ["" if c is None else str(c) for c in records[header_idx]]
    headers = [norm_header(c) for c in raw_headers]
    # de-duplicate header names (keep first as-is)
    seen: dict[str, int] = {}
    uniq = []
    for h in headers:
        if h in seen:
            seen[h] += 1
            uniq.append(f"{h}.{seen[h]}")
        else:
            seen[h] = 0
            uniq.append(h)
    body = records[header_idx + 1:]
    width = len(uniq)
    # CSV text: a record whose field count is not the header's is a rejected row
    bad = ragged(body, width) if delim is not None else {}
    body = [list(r[:width]) + [None] * (width - len(r)) for r in body]
    frame = pd.DataFrame(body, columns=uniq, dtype=object)
    frame = frame.map(_cell_to_str) if len(frame) else frame
    if delim is not None:
        bad = {**broken_rows(frame, delim), **bad}
    return _drop_blank_rows(Table(frame=frame, raw_headers=raw_headers, header_row=header_idx + 1,
                                  encoding=encoding, sheet=sheet), bad)


def _cell_to_str(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(v, "strftime") and hasattr(v, "year"):
        return v.strftime("%Y-%m-%d %H:%M:%S") if hasattr(v, "hour") else v.strftime("%Y-%m-%d")
    s = str(v)
    return s if s != "" else None


def load_table(path: Path, known_headers: set[str], encoding: str | None = None) -> Table:
    """Read a CSV/TSV/XLSX file into a :class:`Table` of strings.

    ``known_headers`` (normalised) is used to locate the header row below any
    title rows.  Raises :class:`InputFileError` with a one-line reason.
    """
    ext = path.suffix.lower()
    if ext in EXCEL_EXT:
        _check_workbook_bytes(path, ext)
        return _load_excel(path, known_headers)
    try:
        return table_from_utf8(path, known_headers, encoding)
    except NotFast:
        pass
    text, enc = read_text(path, encoding)
    return table_from_text(text, path, known_headers, enc)


def table_from_text(text: str, path: Path, known_headers: set[str], enc: str | None) -> Table:
    """Parse CSV/TSV text: find the header row in the first records (skipping title rows),
    then parse the body with pyarrow's multi-threaded CSV reader, every column as text."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputFileError("{path}: the file is empty", path=path)
    return _parse_table(text[:HEAD_CHARS], lambda: pa.BufferReader(text.encode("utf-8")),
                        lambda: text, path, known_headers, enc)


def table_from_utf8(path: Path, known_headers: set[str], encoding: str | None) -> Table:
    """:func:`table_from_text` for a UTF-8 file, without decoding it: pyarrow's CSV reader
    reads the file itself (never held whole) and checks every cell is UTF-8.

    Gives exactly the table ``table_from_text(text, path, known_headers, encoding)`` gives
    for the text :func:`read_text` decodes; raises :class:`NotFast` when that is not known
    to hold — the file is not UTF-8, or has rows the CSV parser refuses, … — and the caller
    then takes that path.  Every byte is checked: the head (where title rows and the header
    are) is decoded strictly here, the cells after it by the parser; the rest of a CSV file
    is ASCII delimiters, quotes and line breaks."""
    start, bom, whole = file_start(path)
    if not may_be_utf8(start, encoding):
        raise NotFast
    head = utf8_head(start[bom:], whole)
    if not head.strip():
        if whole:  # valid UTF-8 (just decoded) and blank
            raise InputFileError("{path}: the file is empty", path=path)
        raise NotFast

    def body():
        fh = pa.OSFile(str(path))
        opened.append(fh)
        fh.seek(bom)
        return fh

    def not_here():
        raise NotFast

    opened: list = []
    try:
        return _parse_table(head, body, not_here, path, known_headers, encoding or ENCODINGS[0],
                            whole_head=whole)
    finally:
        for fh in opened:
            fh.close()


def _parse_table(head: str, body_bytes, body_text, path: Path, known_headers: set[str],
                 enc: str | None, whole_head: bool = True) -> Table:
    """The shared CSV parsing; ``body_bytes()`` / ``body_text()`` give the whole file
    (BOM removed) as a binary stream of UTF-8 / as text; ``head`` is its first characters
    (``whole_head`` when that is all of it)."""
    first = head.splitlines()[0] if head else ""
    delim = "\t" if first.count("\t") > max(first.count(","), 0) else ","
    try:
        head_records = list(itertools.islice(csv.reader(io.StringIO(head), delimiter=delim), 30))
    except csv.Error as exc:
        raise InputFileError("{path}: not a readable CSV file ({reason})", path=path, reason=exc) from None
    tbl = _records_to_table(head_records, known_headers, path, enc)
    if not whole_head and len(head_records) <= tbl.header_row:
        body_text()  # the header row may run past the head: the general path decides
    names = list(tbl.frame.columns)
    try:
        body = pacsv.read_csv(
            body_bytes(),
            read_options=pacsv.ReadOptions(skip_rows=tbl.header_row, column_names=names,
                                           block_size=CSV_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names}, strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""]),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # ragged rows (summary lines, blank lines): the python csv module copes
        try:
            records = list(csv.reader(io.StringIO(body_text()), delimiter=delim))
        except csv.Error as exc:
            raise InputFileError("{path}: not a readable CSV file ({reason})", path=path, reason=exc) from None
        return _records_to_table(records, known_headers, path, enc, delim=delim)
    parsed = [body]
    del body
    tbl.frame = one_chunk(parsed).to_pandas()
    return _drop_blank_rows(tbl, broken_rows(tbl.frame, delim))


def one_chunk(table: pa.Table | list[pa.Table]) -> pa.Table:
    """``table`` with every column in one chunk (the CSV parser makes one per block; ``take``
    on a chunked column concatenates it each time).  Given the table in a one-item list
    (which is emptied), each column's chunks are freed as soon as it is combined, so at most
    one column exists twice — or, for a large table, one per thread: its columns are then
    combined on :data:`cskit.readers.cells.THREADS` threads (arrow copies without the GIL)."""
    if isinstance(table, list):
        table = table.pop()
    if all(col.num_chunks <= 1 for col in table.columns):
        return table
    sch = table.schema
    cols: list = [table.column(i) for i in range(table.num_columns)]
    del table

    def combine(i: int) -> None:
        col = cols[i]
        if col.num_chunks > 1:
            cols[i] = pa.chunked_array([col.combine_chunks()], type=col.type)

    threads = _cells.THREADS  # the readers' one thread knob (set it there)
    if threads > 1 and len(cols) > 1 and cols[0].length() >= PARALLEL_COMBINE:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(combine, range(len(cols))))
    else:
        for i in range(len(cols)):
            combine(i)
    return pa.Table.from_arrays(cols, schema=sch)


#: from this many rows :func:`one_chunk` combines columns on several threads
PARALLEL_COMBINE = 50_000


#: how workbooks begin: zip (xlsx, xlsm, ods) and OLE compound files (xls, encrypted xlsx)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def _check_workbook_bytes(path: Path, ext: str) -> None:
    """A file named like a workbook that holds text (a CSV or TSV saved as ``.xls``, an
    HTML table) is said to be text, not reported as a broken or encrypted workbook."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return  # the workbook reader says why
    if not head or head.startswith(_WORKBOOK_MAGIC) or b"\x00" in head:
        return
    raise InputFileError("{path}: named {ext} but holds text (CSV, TSV or HTML), not an Excel workbook",
                         hint="rename it to .csv (or .tsv) if it is comma- or tab-separated, or open "
                              "it in Excel and save it as .xlsx", path=path, ext=ext)


def _load_excel(path: Path, known_headers: set[str]) -> Table:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - dependency declared in pyproject
        raise InputFileError("{path}: reading Excel needs python-calamine", path=path) from None
    from cskit.readers.xlsx_guard import check_workbook

    check_workbook(path)  # before calamine: an oversized sheet aborts the process
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if "password" in msg.lower() or "encrypt" in msg.lower() or "cfb" in msg.lower():
            raise InputFileError("{path}: the workbook is encrypted and cannot be read",
                                 hint="open it in Excel, remove the password and save a copy", path=path) from None
        raise InputFileError("{path}: not a readable Excel workbook ({msg})", path=path, msg=msg) from None
    from cskit.readers.sheets import combine_sheets

    tables: list[Table] = []
    for name in wb.sheet_names:
        try:
            records = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - an unreadable sheet is named below
            raise InputFileError("{path}: sheet {sheet} cannot be read", path=path,
                                 sheet=name) from None
        if not records or not any(c not in (None, "") for r in records for c in r):
            continue
        tables.append(_records_to_table(records, known_headers, path, None, sheet=name))
    if not tables:
        raise InputFileError("{path}: the workbook has no data", path=path)
    return combine_sheets(tables, known_headers, path)
