"""Shared parsing helpers for all readers: encodings, headers, ids, times, amounts.

Everything here is vectorised over pandas Series; no per-row Python loops over
messages.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cskit.errors import InputFileError
from cskit.readers.csvcheck import INVALID_MARK, MARKS, MIXED_MARK, broken_rows, ragged
from cskit.readers.timeparse import DEFAULT_TZ, epoch_to_local, parse_timestamps  # noqa: F401

# --------------------------------------------------------------------------- results


@dataclass
class ReadResult:
    """What a reader returns for one file.

    ``frame`` has canonical column names (a subset of ``cskit.schema``), plus
    ``source_row`` (1-based row/line number as the user sees it in the file).
    ``rejects`` lists rows that could not be parsed: ``(source_row, reason)``.
    """

    kind: str
    platform: str
    frame: pd.DataFrame
    rows_read: int
    rejects: list[tuple[int, str]] = field(default_factory=list)
    reader: str = ""
    notes: list = field(default_factory=list)  #: cskit.i18n.Msg notes to show
    #: order lines (``order_items`` frame) read along with the orders of a line-level export
    items: pd.DataFrame | None = None


@dataclass
class ReadOptions:
    encoding: str | None = None  #: forced encoding, else auto (utf-8-sig, then gb18030)
    shop: str | None = None  #: shop name when the file has none
    mapping: dict[str, str] | None = None  #: canonical column -> header in the file
    platform: str | None = None  #: forced platform
    timezone: str = DEFAULT_TZ  #: the shop's local time zone (naive times are taken as local)


# --------------------------------------------------------------------------- encodings

ENCODINGS = ("utf-8-sig", "gb18030")


def read_bytes(path: Path) -> bytes:
    """The whole file as bytes (``InputFileError`` if it cannot be read)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError("{path}: cannot read file ({reason})",
                             path=path, reason=exc.strerror or exc) from None


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a whole text file. Returns (text, encoding used)."""
    return decode_bytes(read_bytes(path), path, encoding)


UTF8_BOM = b"\xef\xbb\xbf"
HEAD_CHARS = 65536  #: what sniffers and header detection see of a text file
CSV_BLOCK = 8 << 20  #: bytes per block of pyarrow's (parallel) CSV parser


class NotFast(Exception):
    """Internal: the UTF-8 fast path does not apply; use the general (decoding) path."""


class NotUtf8(NotFast):
    """Internal: the file is not valid UTF-8."""


def may_be_utf8(start: bytes, encoding: str | None) -> bool:
    """Whether :func:`decode_bytes` would try UTF-8 first on a file starting with ``start``:
    no encoding forced (and no UTF-16 byte-order mark), or a UTF-8 one forced."""
    if encoding:
        try:
            return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")
        except LookupError:
            return False
    return not (start.startswith(b"\xff\xfe") or start.startswith(b"\xfe\xff"))


def _valid_utf8(data) -> bool:
    """pyarrow's UTF-8 validation (the rules of Python's strict decoder) of a bytes-like."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    one = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        one.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _complete(data, end: int) -> int:
    """Where the last complete UTF-8 character of ``data[:end]`` ends (a character cut by
    the end of a block waits for the next one)."""
    for k in range(1, min(3, end) + 1):
        c = data[end - k]
        if c & 0xC0 != 0x80:  # the last lead (or ASCII) byte
            need = 2 if 0xC0 <= c < 0xE0 else 3 if 0xE0 <= c < 0xF0 else 4 if 0xF0 <= c < 0xF8 else 1
            return end - k if need > k else end
    return end


def open_file(path: Path):
    try:
        return open(path, "rb", buffering=0)
    except OSError as exc:
        raise InputFileError("{path}: cannot read file ({reason})",
                             path=path, reason=exc.strerror or exc) from None


def file_start(path: Path, chars: int = HEAD_CHARS) -> tuple[bytes, int, bool]:
    """The first bytes of a file — enough for ``chars`` characters after any byte-order
    marks —, the number of BOM bytes at its start, and whether that is the whole file."""
    want = 4 * chars + 4
    with open_file(path) as fh:
        data = fh.read(want)
        bom = 0
        while data[bom:bom + 3] == UTF8_BOM:
            bom += 3
            if len(data) - bom < want:
                data += fh.read(want - (len(data) - bom))
    return data, bom, len(data) - bom < want


def utf8_head(data: bytes, whole: bool, chars: int = HEAD_CHARS) -> str:
    """The first ``chars`` characters of UTF-8 ``data`` (a file's start after its BOMs;
    ``whole`` if that is the whole file); :class:`NotUtf8` if it is not valid UTF-8."""
    try:
        return data[:len(data) if whole else _complete(data, len(data))].decode("utf-8")[:chars]
    except UnicodeDecodeError:
        raise NotUtf8 from None


def file_is_utf8(path: Path, block: int = 1 << 24) -> bool:
    """The whole file is valid UTF-8 (read block by block into one buffer)."""
    buf = bytearray(block + 4)
    view = memoryview(buf)
    keep = 0  # bytes of a cut character carried to the front of the buffer
    with open_file(path) as fh:
        while True:
            n = fh.readinto(view[keep:keep + block])
            if not n:
                return keep == 0
            end = keep + n
            cut = _complete(buf, end)
            if not _valid_utf8(view[:cut]):
                return False
            keep = end - cut
            view[:keep] = view[cut:end]


def decode_bytes(raw: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputFileError(
                "{path}: cannot decode as {encoding} ({error})",
                hint="check --encoding; exports are usually utf-8 or gb18030", path=path, encoding=encoding, error=type(exc).__name__,
            ) from None
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8-sig"), "utf-8-sig"
    except UnicodeDecodeError:
        pass
    view = _Utf8View.of(raw.removeprefix(UTF8_BOM))
    text = _mostly_utf8(view)
    if text is not None:
        return text, "utf-8"
    text = _gb18030(raw, view)
    if text is not None:
        return text, "gb18030"
    raise InputFileError(
        "{path}: not valid UTF-8 or GB18030 text",
        hint="pass --encoding ENC if you know the file's encoding", path=path,
    )


_INVALID_CHAR = re.compile(r"[\udc80-\udcff]")
_INVALID_RUN = re.compile(r"[\udc80-\udcff]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_PAIR = re.compile(r"[\u4e00-\u9fff]{2}")
_CJK_MANY = re.compile(r"[\u4e00-\u9fff]{3}|[\u4e00-\u9fff]{2}.*[\u4e00-\u9fff]{2}")


@dataclass
class _Utf8View:
    """A file that is not valid UTF-8, decoded as UTF-8 with its bad bytes escaped
    (``surrogateescape``), line by line: which lines have non-ASCII text, which bad bytes."""

    text: str
    lines: list[str]
    nonascii: np.ndarray
    bad: np.ndarray

    @classmethod
    def of(cls, raw: bytes) -> _Utf8View:
        text = raw.decode("utf-8", errors="surrogateescape")
        lines = text.split("\n")
        nonascii = np.fromiter((not ln.isascii() for ln in lines), dtype=bool, count=len(lines))
        idx = np.flatnonzero(nonascii).tolist()
        bad = np.zeros(len(lines), dtype=bool)
        bad[idx] = np.fromiter((_INVALID_CHAR.search(lines[i]) is not None for i in idx),
                               dtype=bool, count=len(idx))
        return cls(text, lines, nonascii, bad)


def _mostly_utf8(view: _Utf8View) -> str | None:
    """Evidence for a file that is not valid UTF-8 as a whole: is it UTF-8 with a few bad
    byte sequences (a GBK cell pasted into a UTF-8 export), or another encoding?

    UTF-8 when at least as many lines with non-ASCII text are valid UTF-8 as are not — a
    GBK file's Chinese lines are almost never valid UTF-8 —, or when its valid UTF-8
    Chinese characters are at least twice its runs of bad bytes.  Then the text is returned
    with each run of bad bytes replaced by :data:`INVALID_MARK`, so the rows holding them
    are rejected ("not valid UTF-8") instead of the whole file being decoded as GB18030
    and every Chinese character garbled; else None."""
    bad = int(view.bad.sum())
    good = int(view.nonascii.sum()) - bad
    if good < bad or good == 0:
        # no line says so (e.g. one line holding both): valid UTF-8 Chinese characters at
        # least twice as many as runs of bad bytes (GBK text: 0 of 20,000 random samples of
        # a few words; a file with many bad lines is not such a case)
        if bad > 100:
            return None
        cjk = len(_CJK.findall(view.text))
        if cjk < 2 or cjk < 2 * len(_INVALID_RUN.findall(view.text)):
            return None
    return _INVALID_RUN.sub(INVALID_MARK, view.text)


def _gb18030(raw: bytes, view: _Utf8View) -> str | None:
    """``raw`` decoded as GB18030 (None if it is not), for a file most of whose non-ASCII
    lines are not UTF-8.  Lines that are valid UTF-8 with non-ASCII text, or hold UTF-8
    Chinese next to other bytes, are (partly) the other encoding (a UTF-8 cell pasted into
    a GBK export, or the reverse — a GBK line of Chinese text is almost never valid UTF-8):
    they are decoded as UTF-8 (bad bytes escaped) and start with :data:`MIXED_MARK`, so
    their rows are rejected instead of stored garbled.  (Byte 0x0A never occurs inside a
    GB18030 or UTF-8 character: the lines of both decodings match.)"""
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if raw.startswith(UTF8_BOM):
        return text
    lines = view.lines
    utf8 = view.nonascii & ~view.bad
    raw_lines = None
    # a line holding UTF-8 Chinese next to other bytes: three valid UTF-8 CJK characters
    # in a row, or two pairs (GBK text happens to form that in about 2 lines of 300,000);
    # a single pair (a UTF-8 shop name such as 好店 in a GBK row) when the line read as
    # GB18030 has a character outside GB2312 (濂藉簵) — GBK text: 1 line in 10,000
    starts = np.cumsum([0] + [len(ln) + 1 for ln in lines[:-1]])
    paired = np.zeros(len(lines), dtype=bool)
    at = [m.start() for m in _CJK_PAIR.finditer(view.text)]
    paired[np.searchsorted(starts, at, side="right") - 1] = True
    for i in np.flatnonzero(view.bad & paired).tolist():
        if _CJK_MANY.search(lines[i]):
            utf8[i] = True
            continue
        if raw_lines is None:
            raw_lines = raw.split(b"\n")
        utf8[i] = _outside_gb2312(raw_lines[i])
    if not utf8.any():
        return text
    out = []
    for line, is_utf8, u in zip(raw.split(b"\n"), utf8.tolist(), lines):
        if is_utf8:
            out.append(MIXED_MARK + u.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
            continue
        try:
            out.append(line.decode("gb18030"))
        except UnicodeDecodeError:
            return None
    return "\n".join(out)


def _outside_gb2312(line: bytes) -> bool:
    """The line read as GB18030 has a Chinese character outside GB2312 (or is not GB18030)."""
    try:
        text = line.decode("gb18030")
    except UnicodeDecodeError:
        return True
    for ch in _CJK.findall(text):
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return True
    return False


def no_invalid_bytes(text: str, path: Path) -> str:
    """``text`` when no line of it held bytes that are not UTF-8 (see :func:`_mostly_utf8`);
    else :class:`InputFileError` naming the first such line (for readers that cannot reject
    single rows: a JSON document, a chat transcript)."""
    found = [at for at in (text.find(m) for m in MARKS) if at >= 0]
    if not found:
        return text
    at = min(found)
    raise InputFileError("{path}: line {line} is in another encoding than the rest of the file",
                         hint="re-save the file as UTF-8, or pass --encoding ENC if you know its encoding",
                         path=path, line=text.count("\n", 0, at) + 1)


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
    combined on :data:`THREADS` threads (arrow copies without the GIL)."""
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

    if THREADS > 1 and len(cols) > 1 and cols[0].length() >= PARALLEL_COMBINE:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
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


# --------------------------------------------------------------------------- cell cleaning

EMPTY_MARKERS = {"", "-", "--", "null", "NULL", "None", "nan", "NaN", "****", "N/A", "n/a", "无"}
_EMPTY_MAX_BYTES = max(len(m.encode("utf-8")) for m in EMPTY_MARKERS)
SUMMARY_WORDS = ("汇总", "合计", "总计", "均值", "平均")


def arrow_str(s: pd.Series) -> pa.Array | pa.ChunkedArray:
    """A column as arrow strings, as they are: arrow-backed text comes back without a copy
    (possibly chunked, as the CSV parser made it)."""
    try:
        arr = pa.array(s, from_pandas=True)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string()) if not pa.types.is_null(arr.type) else \
                pa.nulls(len(arr), pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed objects
        obj = s.astype(object)
        arr = pa.array([None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                        else str(v) for v in obj], type=pa.string())
    return arr


def to_arrow_str(s: pd.Series) -> pa.Array:
    """A column as one arrow string array (zero-copy for single-chunk arrow-backed text)."""
    arr = arrow_str(s)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def from_arrow_str(arr: pa.Array | pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """An arrow string array as a pandas ``string`` Series (pd.NA for missing)."""
    return pd.Series(pd.array(arr, dtype="string"), index=index)


def to_bool(arr: pa.Array | pa.ChunkedArray | pd.Series | np.ndarray) -> np.ndarray:
    """A boolean column as numpy ``bool`` with missing values as False."""
    if isinstance(arr, (pa.Array, pa.ChunkedArray)):
        arr = pc.fill_null(arr, False)
        return np.asarray(arr.to_numpy(zero_copy_only=False) if isinstance(arr, pa.Array)
                          else arr.to_numpy(), dtype=bool)
    if isinstance(arr, pd.Series):
        return np.asarray(arr.fillna(False), dtype=bool)
    return np.asarray(arr, dtype=bool)


#: a column with at most this many distinct values among its first DICT_SAMPLE values is
#: cleaned once per distinct value (see :func:`per_value`)
DICT_SAMPLE = 8192
DICT_MAX = 256


def per_value(arr: pa.Array | pa.ChunkedArray, fn):
    """``fn(arr)`` for an element-wise ``fn`` (returning an array or a tuple of arrays).

    Low-cardinality columns (shop, platform, role, agent, …) are computed once per
    distinct value and spread back with ``take``: the same result, a fraction of the work."""
    n = len(arr)
    if n > DICT_SAMPLE and pc.count_distinct(arr.slice(0, DICT_SAMPLE), mode="all").as_py() \
            <= DICT_MAX:
        uniq = pc.unique(arr)
        if len(uniq) <= n // 16:
            out = fn(uniq)
            outs = out if isinstance(out, tuple) else (out,)
            idx = None
            res = []
            for o in outs:
                if _same(o, uniq):  # fn changes no value: the column as it is
                    res.append(arr)
                elif pa.types.is_boolean(o.type) and not pc.any(o).as_py():
                    res.append(pa.array(np.zeros(n, dtype=bool)))
                else:
                    if idx is None:
                        idx = pc.index_in(arr, value_set=uniq)
                    res.append(pc.take(o, idx))
            return tuple(res) if isinstance(out, tuple) else res[0]
    return fn(arr)


def _same(a: pa.Array, b: pa.Array) -> bool:
    """Same values (string/large_string alike), missing in the same places."""
    if a.type != b.type:
        if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)) or \
                not (pa.types.is_string(b.type) or pa.types.is_large_string(b.type)):
            return False
        a = a.cast(b.type)
    return a.equals(b)


THREADS = min(4, os.cpu_count() or 1)


def run_jobs(jobs: dict[str, tuple], parallel: bool = True) -> dict[str, object]:
    """``{name: fn(*args)}`` for ``jobs = {name: (fn, *args)}``; a job whose first argument
    is None gives None.  With ``parallel``, on a thread pool: meant for column work in
    pyarrow compute, which releases the GIL.  The first failure is re-raised."""
    todo = {k: v for k, v in jobs.items() if v[1] is not None}
    out: dict[str, object] = dict.fromkeys(jobs)
    if not parallel or THREADS < 2 or len(todo) < 2:
        out.update({k: fn(*args) for k, (fn, *args) in todo.items()})
        return out
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        futures = {k: pool.submit(fn, *args) for k, (fn, *args) in todo.items()}
    out.update({k: f.result() for k, f in futures.items()})
    return out


def _trim(arr):
    """``utf8_trim_whitespace``, returning ``arr`` itself when nothing was trimmed."""
    out = pc.utf8_trim_whitespace(arr)
    if pc.sum(pc.binary_length(out)).as_py() == pc.sum(pc.binary_length(arr)).as_py():
        return arr
    return out


_EMPTY_SET = None


def _empty_set(typ: pa.DataType) -> pa.Array:
    global _EMPTY_SET
    if _EMPTY_SET is None:
        _EMPTY_SET = pa.array(sorted(EMPTY_MARKERS), type=pa.string())
    return _EMPTY_SET.cast(typ)


def clean_arrow(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """:func:`clean_str` on arrow strings. The regex passes only run when some cell needs
    them; nothing is copied when no cell changes."""
    arr = _trim(arr)
    if pc.any(pc.starts_with(arr, '="')).as_py():
        arr = pc.replace_substring_regex(arr, r'^="(.*)"$', r"\1")
    if pc.any(pc.or_(pc.starts_with(arr, "\t"), pc.starts_with(arr, "'"))).as_py():  # ^[\t']
        arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"^[\t']+", ""))
    shortest = pc.min(pc.binary_length(arr)).as_py()
    if shortest is not None and shortest > _EMPTY_MAX_BYTES:
        return arr  # every cell is longer than any empty marker
    empty = pc.is_in(arr, value_set=_empty_set(arr.type))
    if pc.any(empty).as_py():
        arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return arr


def clean_str(s: pd.Series) -> pd.Series:
    """Strip whitespace, Excel guards (``="…"``, leading tab/apostrophe) and empty markers.

    Runs in pyarrow compute; the regex passes only run when some cell needs them."""
    return from_arrow_str(per_value(arrow_str(s), clean_arrow), s.index)


_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def sci_mangled(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Boolean: the (cleaned) id is Excel's scientific notation (``1.23E+18``)."""
    return pc.fill_null(pc.match_substring_regex(arr, _SCI.pattern), False)


def _id_arrow(arr):
    arr = clean_arrow(arr)
    if pc.any(pc.ends_with(arr, ".0")).as_py():
        arr = pc.replace_substring_regex(arr, r"\.0$", "")
    return arr


def clean_id_arrow(arr: pa.Array | pa.ChunkedArray, *, bad: bool = True):
    """:func:`clean_id` on arrow strings: ``(ids, mangled)``; ``mangled`` is None unless
    ``bad``."""
    if not bad:
        return per_value(arr, _id_arrow), None
    return per_value(arr, lambda a: (lambda ids: (ids, sci_mangled(ids)))(_id_arrow(a)))


def clean_id(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean an id column. Returns (ids, bad) where ``bad`` marks ids mangled by
    Excel into scientific notation (``1.23E+18``) — unrecoverable."""
    ids, bad = clean_id_arrow(arrow_str(s))
    return from_arrow_str(ids, s.index), pd.Series(to_bool(bad), index=s.index)


def parse_amount(s: pd.Series) -> pd.Series:
    """'¥1,234.50元' → 1234.5; empty markers → NaN."""
    t = clean_str(s)
    t = t.str.replace(r"[¥￥元,，\s]", "", regex=True).str.replace("RMB", "", regex=False)
    return pd.to_numeric(t, errors="coerce").astype("float64")


def parse_datetime(s: pd.Series, tz: str = DEFAULT_TZ) -> pd.Series:
    """Parse the timestamp spellings seen in exports into datetime64[s] (NaT if unparseable).

    Handles ``2026-05-03 09:05:07``, ``2026/5/3 9:05`` (seconds lost by Excel),
    ``2026年5月3日 09:05:07``, ISO ``T``, fractional seconds (dropped), zone suffixes
    (converted to ``tz``) and epoch seconds / milliseconds; impossible dates and years
    outside 2000–2100 are NaT (see :mod:`cskit.readers.timeparse`).
    """
    return parse_clean_datetime(clean_str(s), tz)


def parse_clean_datetime(t: pd.Series, tz: str = DEFAULT_TZ) -> pd.Series:
    """:func:`parse_datetime` of a column already cleaned by :func:`clean_str`."""
    return parse_timestamps(t, tz)[0]


def is_summary_row(frame: pd.DataFrame) -> pd.Series:
    """Rows whose first non-empty cell is a summary word (汇总/合计/…)."""
    if frame.empty:
        return pd.Series(False, index=frame.index)
    # first non-empty cell of each row: coalesce the columns in order, up to the first one
    # without missing cells (bfill(axis=1) transposes the frame and takes minutes)
    cols = []
    for i in range(frame.shape[1]):
        cols.append(arrow_str(frame.iloc[:, i]))
        if cols[-1].null_count == 0:
            break
    first = cols[0] if len(cols) == 1 else pc.coalesce(*cols)

    def summary(a):
        a = pc.utf8_trim_whitespace(a)
        hit = pc.starts_with(a, SUMMARY_WORDS[0])
        for w in SUMMARY_WORDS[1:]:
            hit = pc.or_(hit, pc.starts_with(a, w))
        return hit

    return pd.Series(to_bool(per_value(first, summary)), index=frame.index)
