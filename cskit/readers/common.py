"""Shared parsing helpers for all readers: encodings, headers, ids, times, amounts.

Everything here is vectorised over pandas Series; no per-row Python loops over
messages.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from cskit.errors import InputFileError

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


@dataclass
class ReadOptions:
    encoding: str | None = None  #: forced encoding, else auto (utf-8-sig, then gb18030)
    shop: str | None = None  #: shop name when the file has none
    mapping: dict[str, str] | None = None  #: canonical column -> header in the file
    platform: str | None = None  #: forced platform


# --------------------------------------------------------------------------- encodings

ENCODINGS = ("utf-8-sig", "gb18030")


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """Decode a whole text file. Returns (text, encoding used)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read file ({exc.strerror or exc})") from None
    return decode_bytes(raw, path, encoding)


def decode_bytes(raw: bytes, path: Path, encoding: str | None = None) -> tuple[str, str]:
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise InputFileError(
                f"{path}: cannot decode as {encoding} ({type(exc).__name__})",
                hint="check --encoding; exports are usually utf-8 or gb18030",
            ) from None
    if raw.startswith(b"\xff\xfe") or raw.startswith(b"\xfe\xff"):
        return raw.decode("utf-16"), "utf-16"
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        f"{path}: not valid UTF-8 or GB18030 text",
        hint="pass --encoding ENC if you know the file's encoding",
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

    def rows(self) -> pd.Series:
        """1-based file row number of each data row."""
        if self.row_numbers is not None and len(self.row_numbers) == len(self.frame):
            return pd.Series(self.row_numbers, index=self.frame.index, dtype="int64")
        return pd.Series(np.arange(len(self.frame), dtype="int64") + self.header_row + 1,
                         index=self.frame.index)


def _drop_blank_rows(tbl: "Table") -> "Table":
    """Remove all-empty rows, remembering the file row number of the others."""
    numbers = np.arange(len(tbl.frame), dtype="int64") + tbl.header_row + 1
    keep = tbl.frame.notna().any(axis=1).to_numpy() if tbl.frame.shape[1] else np.ones(len(numbers), bool)
    tbl.frame = tbl.frame.loc[keep].reset_index(drop=True)
    tbl.row_numbers = numbers[keep]
    return tbl


def _records_to_table(records: list[list[object]], known: set[str], path: Path,
                      encoding: str | None, sheet: str | None = None) -> Table:
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
        raise InputFileError(f"{path}: the file is empty")
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
    body = [list(r[:width]) + [None] * (width - len(r)) for r in body]
    frame = pd.DataFrame(body, columns=uniq, dtype=object)
    frame = frame.map(_cell_to_str) if len(frame) else frame
    return _drop_blank_rows(Table(frame=frame, raw_headers=raw_headers, header_row=header_idx + 1,
                                  encoding=encoding, sheet=sheet))


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
        return _load_excel(path, known_headers)
    text, enc = read_text(path, encoding)
    return table_from_text(text, path, known_headers, enc)


def table_from_text(text: str, path: Path, known_headers: set[str], enc: str | None) -> Table:
    """Parse CSV/TSV text: find the header row in the first records (skipping title rows),
    then parse the body with pyarrow's multi-threaded CSV reader, every column as text."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty")
    head = text[:65536]
    first = head.splitlines()[0] if head else ""
    delim = "\t" if first.count("\t") > max(first.count(","), 0) else ","
    try:
        head_records = list(itertools.islice(csv.reader(io.StringIO(head), delimiter=delim), 30))
    except csv.Error as exc:
        raise InputFileError(f"{path}: not a readable CSV file ({exc})") from None
    tbl = _records_to_table(head_records, known_headers, path, enc)
    names = list(tbl.frame.columns)
    try:
        body = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(skip_rows=tbl.header_row, column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delim, newlines_in_values=True,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                quoted_strings_can_be_null=True, null_values=[""]),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # ragged rows (summary lines, blank lines): the python csv module copes
        try:
            records = list(csv.reader(io.StringIO(text), delimiter=delim))
        except csv.Error as exc:
            raise InputFileError(f"{path}: not a readable CSV file ({exc})") from None
        return _records_to_table(records, known_headers, path, enc)
    tbl.frame = body.to_pandas()
    return _drop_blank_rows(tbl)


def _load_excel(path: Path, known_headers: set[str]) -> Table:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:  # pragma: no cover - dependency declared in pyproject
        raise InputFileError(f"{path}: reading Excel needs python-calamine") from None
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if "password" in msg.lower() or "encrypt" in msg.lower() or "cfb" in msg.lower():
            raise InputFileError(f"{path}: the workbook is encrypted and cannot be read",
                                 hint="open it in Excel, remove the password and save a copy") from None
        raise InputFileError(f"{path}: not a readable Excel workbook ({msg})") from None
    best: Table | None = None
    best_score = -1
    for name in wb.sheet_names:
        try:
            records = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # noqa: BLE001 - an unreadable sheet is skipped
            continue
        if not records:
            continue
        tbl = _records_to_table(records, known_headers, path, None, sheet=name)
        score = sum(1 for c in tbl.frame.columns if c in known_headers)
        if score > best_score:
            best, best_score = tbl, score
    if best is None:
        raise InputFileError(f"{path}: the workbook has no data")
    return best


# --------------------------------------------------------------------------- cell cleaning

EMPTY_MARKERS = {"", "-", "--", "null", "NULL", "None", "nan", "NaN", "****", "N/A", "n/a", "无"}
SUMMARY_WORDS = ("汇总", "合计", "总计", "均值", "平均")


def to_arrow_str(s: pd.Series) -> pa.Array:
    """A column as an arrow string array (zero-copy for arrow-backed text columns)."""
    try:
        arr = pa.array(s, from_pandas=True)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.string()) if not pa.types.is_null(arr.type) else \
                pa.nulls(len(arr), pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):  # mixed objects
        obj = s.astype(object)
        arr = pa.array([None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                        else str(v) for v in obj], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def from_arrow_str(arr: pa.Array, index: pd.Index) -> pd.Series:
    """An arrow string array as a pandas ``string`` Series (pd.NA for missing)."""
    return pd.Series(pd.array(arr, dtype="string"), index=index)


_EMPTY_SET = None


def clean_str(s: pd.Series) -> pd.Series:
    """Strip whitespace, Excel guards (``="…"``, leading tab/apostrophe) and empty markers.

    Runs in pyarrow compute; the regex passes only run when some cell needs them."""
    global _EMPTY_SET
    if _EMPTY_SET is None:
        _EMPTY_SET = pa.array(sorted(EMPTY_MARKERS), type=pa.string())
    arr = to_arrow_str(s)
    arr = pc.utf8_trim_whitespace(arr)
    if pc.any(pc.starts_with(arr, '="')).as_py():
        arr = pc.replace_substring_regex(arr, r'^="(.*)"$', r"\1")
    if pc.any(pc.match_substring_regex(arr, r"^[\t']")).as_py():
        arr = pc.utf8_trim_whitespace(pc.replace_substring_regex(arr, r"^[\t']+", ""))
    empty = pc.is_in(arr, value_set=_EMPTY_SET.cast(arr.type))
    arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return from_arrow_str(arr, s.index)


_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def clean_id(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Clean an id column. Returns (ids, bad) where ``bad`` marks ids mangled by
    Excel into scientific notation (``1.23E+18``) — unrecoverable."""
    t = clean_str(s)
    arr = to_arrow_str(t)
    if pc.any(pc.ends_with(arr, ".0")).as_py():
        arr = pc.replace_substring_regex(arr, r"\.0$", "")
    bad = pc.fill_null(pc.match_substring_regex(arr, _SCI.pattern), False)
    return from_arrow_str(arr, s.index), pd.Series(bad.to_numpy(zero_copy_only=False), index=s.index)


def parse_amount(s: pd.Series) -> pd.Series:
    """'¥1,234.50元' → 1234.5; empty markers → NaN."""
    t = clean_str(s)
    t = t.str.replace(r"[¥￥元,，\s]", "", regex=True).str.replace("RMB", "", regex=False)
    return pd.to_numeric(t, errors="coerce").astype("float64")


_TS_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S",
               "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S")


def parse_datetime(s: pd.Series) -> pd.Series:
    """Parse the timestamp spellings seen in exports into datetime64[s] (NaT if unparseable).

    Handles ``2026-05-03 09:05:07``, ``2026/5/3 9:05`` (seconds lost by Excel),
    ``2026年5月3日 09:05:07``, ISO ``T``, fractional seconds (dropped) and epoch
    seconds / milliseconds.
    """
    t = clean_str(s)
    # fast path: the common ``YYYY-MM-DD HH:MM:SS`` spelling, parsed in pyarrow
    arr = to_arrow_str(t)
    fast = pc.strptime(arr, format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    if fast.null_count == t.isna().sum():
        return pd.Series(fast.to_numpy(zero_copy_only=False).astype("datetime64[s]"), index=s.index)
    t = (t.str.replace("/", "-", regex=False)
          .str.replace(r"(\d)年(\d)", r"\1-\2", regex=True)
          .str.replace(r"(\d)月(\d)", r"\1-\2", regex=True)
          .str.replace(r"日\s*", " ", regex=True)
          .str.replace(r"\.\d+$", "", regex=True)
          .str.replace(r"[+-]\d\d:?\d\d$|Z$", "", regex=True)
          .str.strip())
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[s]")
    # 9..13 bare digits are epoch s/ms: keep them away from %Y%m%d%H%M%S, which would
    # read 1714712345 as 1714-07-12 03:04:05
    epochish = t.str.fullmatch(r"\d{9,13}").fillna(False).astype(bool)
    todo = t.notna() & ~epochish
    for fmt in _TS_FORMATS:
        if not todo.any():
            break
        parsed = pd.to_datetime(t[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[ok[ok].index] = parsed[ok].astype("datetime64[s]")
        todo &= out.isna()
    todo = (todo | epochish) & out.isna()
    if todo.any():  # epoch seconds or milliseconds → shop-local (Asia/Shanghai) wall clock
        num = pd.to_numeric(t[todo], errors="coerce").astype("float64")
        sec = num.where(num < 1e11, num / 1000.0)
        ok = sec.between(946684800, 4102444800)  # 2000..2100
        if ok.any():
            out.loc[ok[ok].index] = epoch_to_local(sec[ok])
    return out


def epoch_to_local(s: pd.Series, tz: str = "Asia/Shanghai") -> pd.Series:
    """Epoch seconds (or ms) → shop-local naive datetime64[s]."""
    num = pd.to_numeric(s, errors="coerce").astype("float64")  # nullable Int64 cannot take /1000
    num = num.where(num < 1e11, num / 1000.0)
    ts = pd.to_datetime(num.round(), unit="s", utc=True, errors="coerce")
    return ts.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[s]")


def is_summary_row(frame: pd.DataFrame) -> pd.Series:
    """Rows whose first non-empty cell is a summary word (汇总/合计/…)."""
    if frame.empty:
        return pd.Series(False, index=frame.index)
    # first non-empty cell of each row, column by column (bfill(axis=1) transposes the
    # frame and takes minutes on 100k-row files)
    first = frame.iloc[:, -1]
    for i in range(frame.shape[1] - 2, -1, -1):
        col = frame.iloc[:, i]
        first = col.where(col.notna(), first)
    first = first.astype("string").str.strip()
    return first.str.startswith(SUMMARY_WORDS).fillna(False).astype(bool)
