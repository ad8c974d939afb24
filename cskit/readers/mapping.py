"""``--mapping`` files: which column of an unusual export holds which canonical field.

```toml
[columns]
buyer_id = "旺旺名"                  # a header as written in the file
sent_at  = 2                         # or a column position (1 = first) for headerless files
sender   = {column = "waiter_send", values = {"1" = "agent", "0" = "buyer"}}  # value map
```

A mapping with positions reads the file without a header row: every row is data and the
columns are called ``#1``, ``#2``, … (a mapping uses either positions or headers). A value map
replaces the listed cell values (compared after trimming spaces) before the reader sees
them; other values are left as they are, so an unexpected one is still rejected. The file
must be UTF-8 text (a GBK file gets its own message).
"""

from __future__ import annotations

import codecs
import csv
import io
import tomllib
from pathlib import Path

import pandas as pd

from cskit import schema
from cskit.errors import InputFileError, UsageError
from cskit.readers.common import (
    EXCEL_EXT,
    Table,
    _cell_to_str,
    _drop_blank_rows,
    norm_header,
    read_text,
)


class ColumnMapping(dict):
    """canonical column → header as written (a position N is the header ``#N``), with
    ``value_maps`` (canonical → {cell value: value}) and ``positional`` (headerless file)."""

    def __init__(self, columns: dict[str, str] | None = None,
                 value_maps: dict[str, dict[str, str]] | None = None, positional: bool = False):
        super().__init__(columns or {})
        self.value_maps = value_maps or {}
        self.positional = positional


def position_header(n: int) -> str:
    return f"#{n}"


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        raise UsageError("{path}: the mapping file is not UTF-8 text",
                         hint="save it as UTF-8", path=path) from None
    raise UsageError("{path}: the mapping file is in GBK/GB18030, not UTF-8",
                     hint="save it as UTF-8 (in Notepad: Save as, encoding UTF-8)", path=path)


def load_mapping(path: Path, doc: dict | None = None) -> ColumnMapping:
    """Read the ``[columns]`` table of a mapping TOML file (or of ``doc``, already parsed)."""
    path = Path(path)
    if doc is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError("{path}: cannot read mapping file ({strerror})",
                             path=path, strerror=exc.strerror) from None
        try:
            doc = tomllib.loads(_decode(raw, path))
        except tomllib.TOMLDecodeError as exc:
            raise UsageError("{path}: not valid TOML ({reason})", path=path, reason=exc) from None
    cols = doc.get("columns", {})
    if not isinstance(cols, dict):
        raise UsageError("{path}: [columns] must be a table of canonical_name = \"header\"", path=path)
    # order_items columns are not mappable (its readers take no mapping)
    allowed = set().union(*(schema.columns(k) for k in schema.KINDS if k != schema.ORDER_ITEMS))
    bad = [k for k in cols if k not in allowed]
    if bad:
        raise UsageError("{path}: unknown canonical column {column!r}",
                         hint="keys are canonical names such as buyer_id, sent_at, content; see docs/schema.md", path=path, column=bad[0])
    out: dict[str, str] = {}
    value_maps: dict[str, dict[str, str]] = {}
    kinds = set()
    for key, v in cols.items():
        if isinstance(v, dict):
            unknown = set(v) - {"column", "values"}
            if "column" not in v or unknown:
                raise UsageError("{path}: {key} = {{…}} takes column = \"header\" (or a position) and values = {{…}}",
                                 path=path, key=key)
            values = v.get("values", {})
            if not isinstance(values, dict) or not all(isinstance(x, str) for x in values.values()):
                raise UsageError("{path}: the values of {key} must map cell values to text, e.g. {{\"1\" = \"agent\"}}",
                                 path=path, key=key)
            if key == "sender":
                wrong = [x for x in values.values() if x not in schema.SENDERS]
                if wrong:
                    raise UsageError("{path}: sender values map to buyer, agent, bot or system only",
                                     path=path)
            value_maps[key] = {str(k).strip(): x for k, x in values.items()}
            v = v["column"]
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise UsageError("{path}: {key} must name a header (text) or a column position (1, 2, …)",
                             path=path, key=key)
        if isinstance(v, int):
            if v < 1:
                raise UsageError("{path}: column positions start at 1 ({key})", path=path, key=key)
            out[key] = position_header(v)
            kinds.add("position")
        else:
            if not v.strip():
                raise UsageError("{path}: {key} must name a header (text) or a column position (1, 2, …)",
                                 path=path, key=key)
            out[key] = v.strip()
            kinds.add("header")
    if len(kinds) > 1:
        raise UsageError("{path}: the mapping mixes column positions and headers",
                         hint="use positions (buyer_id = 3) for a file without a header row, headers otherwise", path=path)
    return ColumnMapping(out, value_maps, positional=kinds == {"position"})


def is_positional(mapping: dict | None) -> bool:
    return bool(getattr(mapping, "positional", False))


def apply_value_maps(frame: pd.DataFrame, mapping: dict | None) -> pd.DataFrame:
    """The frame with each value-mapped column translated (unlisted values kept)."""
    maps = getattr(mapping, "value_maps", None)
    if not maps:
        return frame
    for canon, vm in maps.items():
        h = norm_header(mapping[canon])
        if h not in frame.columns:
            continue
        s = pd.Series(frame[h], dtype="string")
        mapped = s.str.strip().map(vm)
        frame[h] = mapped.where(mapped.notna(), s).astype("string")
    return frame


def missing_headers(mapping: dict | None, headers: list[str] | set[str],
                    kind: str | None = None) -> list[tuple[str, str]]:
    """(field, header) of the mapping's headers that are not among ``headers``
    (normalised); with ``kind``, only the fields of that kind."""
    hs = set(headers)
    fields = set(schema.columns(kind)) if kind else None
    return [(k, v) for k, v in (mapping or {}).items()
            if (fields is None or k in fields) and norm_header(v) not in hs]


def headerless_table(path: Path, encoding: str | None = None) -> Table:
    """A file without a header row: every row is data, columns ``#1``, ``#2``, …"""
    if path.suffix.lower() in EXCEL_EXT:
        records = _excel_records(path)
    else:
        text, _ = read_text(path, encoding)
        text = text.lstrip("\ufeff")
        first = text.split("\n", 1)[0]
        delim = "\t" if first.count("\t") > first.count(",") else ","
        try:
            records = list(csv.reader(io.StringIO(text), delimiter=delim))
        except csv.Error as exc:
            raise InputFileError("{path}: not a readable CSV file ({reason})", path=path, reason=exc) from None
    if not records or not any(records):
        raise InputFileError("{path}: the file is empty", path=path)
    width = max(len(r) for r in records)
    names = [position_header(i) for i in range(1, width + 1)]
    body = [list(r) + [None] * (width - len(r)) for r in records]
    frame = pd.DataFrame(body, columns=names, dtype=object).map(_cell_to_str)
    return _drop_blank_rows(Table(frame=frame, raw_headers=names, header_row=0))


def _excel_records(path: Path) -> list[list[object]]:
    from python_calamine import CalamineWorkbook

    from cskit.readers.xlsx_guard import check_workbook

    check_workbook(path)
    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = [wb.get_sheet_by_name(n).to_python(skip_empty_area=False) for n in wb.sheet_names]
    except Exception as exc:  # noqa: BLE001 - calamine raises its own error types
        raise InputFileError("{path}: not a readable Excel workbook ({msg})", path=path,
                             msg=type(exc).__name__) from None
    full = [s for s in sheets if any(c not in (None, "") for r in s for c in r)]
    if len(full) > 1:
        raise InputFileError("{path}: a mapping by column position reads a workbook with one sheet only",
                             hint="save each sheet as its own file", path=path)
    return full[0] if full else []


def check_encoding(name: str | None, where: str = "--encoding") -> None:
    """:class:`UsageError` (exit 2) for an encoding name Python does not know as text."""
    if not name:
        return
    try:
        info = codecs.lookup(name)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UsageError("{where} {name}: unknown text encoding",
                         hint="e.g. utf-8, gb18030, utf-16, big5", where=where, name=name)
