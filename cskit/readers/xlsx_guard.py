"""A workbook is checked before python-calamine opens it.

calamine allocates each sheet as a dense grid sized by the sheet's ``<dimension>`` and its
furthest cell: a 1.5 KB file claiming ``A1:XFD1048576`` aborts the process (a Rust panic,
exit 134, no Python exception), and one far cell at ``XFD2000`` costs 23 s and 1.4 GB.
:func:`check_workbook` streams each worksheet's XML out of the zip (never held whole),
reads the ``<dimension ref>`` and every ``<row r>`` / ``<c r>`` reference, and refuses a
sheet whose grid would exceed :data:`MAX_COLS` columns or :data:`MAX_CELLS` cells, naming
the file and the sheet. Files that are not zip workbooks (``.xls``) pass through.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

from cskit.errors import InputFileError

#: widest sheet read (real exports have a few dozen columns; Excel's limit is 16384)
MAX_COLS = 1024
#: largest grid (rows x columns) read: a million rows of 40 columns
MAX_CELLS = 40_000_000
#: a grid this large must be at least 1/SPARSE_RATIO full: a few cells far away (row 5 000 000)
#: would make the reader allocate the whole empty grid
SPARSE_FROM = 2_000_000
SPARSE_RATIO = 50
#: largest uncompressed worksheet XML in one workbook (a zip bomb guard)
MAX_XML_BYTES = 4 << 30

_CHUNK = 1 << 20
_DIM = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([A-Z$]*\d*)(?::([A-Z$]*\d*))?\"")
# every pattern starts with a literal (fast to search for); other spellings are rewritten first
_LONG_COL = re.compile(rb' r="\$?([A-Z]{2,4})\$?\d')
_ROW = re.compile(rb'<row\b[^>]*? r="(\d+)"')
_ODD_SPACE = re.compile(rb'[\t\r\n]+r="')
_PREFIXED = re.compile(rb"<\w+:(row|c)\b")
_REF = re.compile(r"\$?([A-Z]{1,4})\$?(\d{0,9})")

GUARD_HINT = "open the workbook in Excel or WPS, delete the empty rows and columns after the data and save a copy"


def col_number(letters: str) -> int:
    """``A`` → 1, ``Z`` → 26, ``AA`` → 27, ``XFD`` → 16384."""
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def _ref(ref: str) -> tuple[int, int]:
    """(column, row) of a cell reference (row 0 when the reference is a whole column)."""
    m = _REF.fullmatch(ref or "")
    if not m:
        return 0, 0
    return col_number(m.group(1)), int(m.group(2) or 0)


def _sheet_extent(stream) -> tuple[int, int, int, int, int]:
    """(dimension columns, dimension rows, furthest cell column, furthest row, cells) of a
    worksheet XML stream, read in chunks; tags cut by a chunk edge are read with the next.

    Kept cheap (a fraction of what reading the sheet costs): single-letter columns are
    found by substring search, longer ones by a regex that only matches them; cell rows are
    taken from the ``<row r>`` tags, and from a cell reference only when it has more digits
    than the furthest row tag (a cell placed far below its row)."""
    dim_cols = dim_rows = max_col = max_row = n_cells = 0
    seen_dim = False
    tail = b""
    while True:
        chunk = stream.read(_CHUNK)
        data = tail + chunk
        cut = len(data)
        if chunk:  # keep an unfinished tag for the next round
            cut = data.rfind(b">") + 1
            if len(data) - cut > _CHUNK:  # no tag ends in a whole chunk: text, not a tag
                cut = len(data)
        part, tail = data[:cut], data[cut:]
        if not seen_dim:
            m = _DIM.search(part)
            if m:
                seen_dim = True
                c1, r1 = _ref(m.group(1).decode("ascii"))
                c2, r2 = _ref((m.group(2) or m.group(1)).decode("ascii"))
                dim_cols, dim_rows = max(c1, c2), max(r1, r2)
        if b'\nr="' in part or b'\tr="' in part or b'\rr="' in part:
            part = _ODD_SPACE.sub(b' r="', part)
        if b":row" in part or b":c " in part or b":c>" in part:  # <x:row …>, <x:c …>
            part = _PREFIXED.sub(rb"<\1", part)
        n_cells += part.count(b"<c ") + part.count(b"<c>")
        rows = _ROW.findall(part)
        if rows:
            max_row = max(max_row, int(max(set(rows), key=_num_key)))
        far = re.findall(rb' r="\$?[A-Z]{1,4}\$?0*(\d{%d,})"' % (len(str(max_row)) + 1), part)
        if far:
            max_row = max(max_row, int(max(set(far), key=_num_key)))
        longer = _LONG_COL.findall(part)
        if longer:
            max_col = max(max_col, max(col_number(c.decode("ascii")) for c in set(longer)))
        if max_col < 26:  # single letters beyond the furthest column so far
            one = re.findall(rb' r="\$?([%c-Z])\$?\d' % (65 + max_col), part)
            if one:
                max_col = max(max_col, max(c[0] - 64 for c in set(one)))
        if not chunk:
            break
    return dim_cols, dim_rows, max_col, max_row, n_cells


def _num_key(d: bytes) -> tuple[int, bytes]:
    d = d.lstrip(b"0")
    return len(d), d


_TAG = re.compile(r"<(?:\w+:)?(sheet|Relationship)\b([^>]*)>")
_ATTR = re.compile(r"([\w:]+)=\"([^\"]*)\"")


def _tags(xml: str, name: str) -> list[dict[str, str]]:
    return [dict(_ATTR.findall(attrs)) for tag, attrs in _TAG.findall(xml) if tag == name]


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    """worksheet part (``xl/worksheets/sheet1.xml``) → the sheet's tab name, when known."""
    try:
        book = zf.read("xl/workbook.xml").decode("utf-8", "replace")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    except (KeyError, OSError, zipfile.BadZipFile, RuntimeError):
        return {}
    target = {}
    for rel in _tags(rels, "Relationship"):
        t = rel.get("Target", "").lstrip("/")
        target[rel.get("Id")] = t if t.startswith("xl/") else "xl/" + t
    return {target[s["r:id"]]: html.unescape(s.get("name", "")) for s in _tags(book, "sheet")
            if s.get("r:id") in target}


def check_workbook(path: Path) -> None:
    """Raise :class:`InputFileError` if a sheet of the workbook at ``path`` is too large to
    read safely; do nothing for files that are not zip workbooks (calamine judges those)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        return
    with zf:
        sheets = [i for i in zf.infolist()
                  if (i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"))
                  or i.filename == "content.xml"]
        if sum(i.file_size for i in sheets) > MAX_XML_BYTES:
            raise InputFileError("{path}: the workbook's sheets unpack to more than {limit} GB",
                                 hint=GUARD_HINT, path=path, limit=MAX_XML_BYTES >> 30)
        names = _sheet_names(zf)
        for info in sheets:
            if info.filename == "content.xml":
                continue  # .ods: calamine reads the cells listed, no dimension record
            try:
                with zf.open(info) as fh:
                    dim_cols, dim_rows, max_col, max_row, n_cells = _sheet_extent(fh)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError):
                raise InputFileError("{path}: not a readable Excel workbook ({msg})", path=path,
                                     msg=info.filename) from None
            cols, rows = max(dim_cols, max_col), max(dim_rows, max_row)
            sheet = names.get(info.filename, Path(info.filename).stem)
            if cols > MAX_COLS:
                raise InputFileError(
                    "{path}: sheet {sheet} claims {cols} columns (more than {limit}); not read",
                    hint=GUARD_HINT, path=path, sheet=sheet, cols=cols, limit=MAX_COLS)
            grid = cols * rows
            if grid > SPARSE_FROM and grid > SPARSE_RATIO * max(n_cells, 1):
                raise InputFileError(
                    "{path}: sheet {sheet} claims {rows} rows × {cols} columns but holds {cells} cells; not read",
                    hint=GUARD_HINT, path=path, sheet=sheet, rows=rows, cols=cols, cells=n_cells)
            if grid > MAX_CELLS:
                raise InputFileError(
                    "{path}: sheet {sheet} claims {rows} rows × {cols} columns (more than {limit} cells); not read",
                    hint=GUARD_HINT, path=path, sheet=sheet, rows=rows, cols=cols, limit=MAX_CELLS)
