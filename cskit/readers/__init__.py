"""Readers: one small module per export format, behind one detection registry.

Each reader registers a :class:`Reader` with

* ``sniff(path, probe) -> int`` — a confidence score 0..100 (0 = "not mine"),
  looking only at the file name, the decoded head of the text, or the
  normalised headers of a tabular file (``probe.table``);
* ``read(path, opts, probe) -> ReadResult`` — canonical columns plus
  ``source_row`` and a list of rejected rows.

:func:`detect` picks the best reader; with ``--kind``/``--platform`` the choice
is restricted.  Nothing here writes anything: readers never import the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable

from cskit.errors import MAPPING_HINT, CskitError, InputFileError
from cskit.i18n import Msg
from cskit.readers.common import (
    EXCEL_EXT,
    HEAD_CHARS,
    NotFast,
    NotUtf8,
    ReadOptions,
    ReadResult,
    Table,
    file_is_utf8,
    file_start,
    load_table,
    may_be_utf8,
    norm_header,
    read_text,
    table_from_text,
    table_from_utf8,
    utf8_head,
)
from cskit.readers.mapping import (
    apply_value_maps,
    headerless_table,
    is_positional,
    missing_headers,
)
from cskit.readers.pii import check_mapped, looks_like_data

__all__ = ["Reader", "Probe", "register", "detect", "read_file", "REGISTRY", "ReadOptions",
           "ReadResult", "SUPPORTED_EXT"]

SUPPORTED_EXT = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods", ".json", ".jsonl",
                 ".ndjson"}


@dataclass(frozen=True)
class Reader:
    name: str
    kind: str  #: messages | orders | excluded | order_items | ratings
    platform: str  #: pdd | taobao | jd | douyin | generic
    sniff: Callable[[Path, "Probe"], int]
    read: Callable[[Path, ReadOptions, "Probe"], ReadResult]
    known_headers: frozenset[str] = field(default_factory=frozenset)  #: normalised
    description: str = ""


REGISTRY: list[Reader] = []


def register(reader: Reader) -> Reader:
    REGISTRY.append(
        Reader(reader.name, reader.kind, reader.platform, reader.sniff, reader.read,
               frozenset(norm_header(h) for h in reader.known_headers), reader.description)
    )
    return reader


def known_headers() -> set[str]:
    out: set[str] = set()
    for r in REGISTRY:
        out |= r.known_headers
    return out


class Probe:
    """Lazily computed views of a file shared by all sniffers (read once)."""

    def __init__(self, path: Path, opts: ReadOptions):
        self.path = path
        self.opts = opts
        self.ext = path.suffix.lower()
        self._table_error: CskitError | None = None
        self._head: str | None = None

    @cached_property
    def utf8(self) -> bool:
        """The file is decoded as UTF-8 (checked by streaming it, never held whole)."""
        if self.ext in EXCEL_EXT:
            return False
        start, _, _ = file_start(self.path, 1)
        return may_be_utf8(start, self.opts.encoding) and file_is_utf8(self.path)

    @cached_property
    def text(self) -> str | None:
        """The whole decoded text (None for Excel files)."""
        if self.ext in EXCEL_EXT:
            return None
        text, _ = read_text(self.path, self.opts.encoding)
        return text.lstrip("\ufeff")

    @property
    def head(self) -> str:
        if self.ext in EXCEL_EXT:
            return ""
        if self._head is None:
            if "text" not in self.__dict__ and self.utf8:
                start, bom, whole = file_start(self.path)
                self._head = utf8_head(start[bom:], whole)
            else:
                self._head = (self.text or "")[:HEAD_CHARS]
        return self._head

    @cached_property
    def table(self) -> Table | None:
        """The file as a table of strings, or None if it is not tabular."""
        if self.ext in {".json", ".jsonl", ".ndjson"}:
            return None
        extra = set()
        if self.opts.mapping:
            extra = {norm_header(v) for v in self.opts.mapping.values()}
        try:
            table = self._load_table(extra)
        except InputFileError as exc:
            self._table_error = exc
            return None
        table.frame = apply_value_maps(table.frame, self.opts.mapping)
        return table

    def _load_table(self, extra: set[str]) -> Table:
        if is_positional(self.opts.mapping):  # columns by position: no header row
            return headerless_table(self.path, self.opts.encoding)
        if self.ext in EXCEL_EXT:
            return load_table(self.path, known_headers() | extra, self.opts.encoding)
        if self.__dict__.get("utf8", True) and "text" not in self.__dict__:
            try:  # UTF-8 files: parsed from their bytes (the same table)
                table = table_from_utf8(self.path, known_headers() | extra,
                                        self.opts.encoding)
                self.__dict__["utf8"] = True
                return table
            except NotUtf8:
                self.__dict__["utf8"] = False
            except NotFast:
                pass
        return table_from_text(self.text or "", self.path, known_headers() | extra,
                               self.opts.encoding)

    @property
    def headers(self) -> list[str]:
        t = self.table
        return [] if t is None else list(t.frame.columns)


def _candidates(kind: str | None, platform: str | None) -> list[Reader]:
    out = []
    for r in REGISTRY:
        # order items belong with the orders: --kind orders still reads a 宝贝报表
        if kind and kind != "auto" and r.kind != kind and \
                not (kind == "orders" and r.kind == "order_items"):
            continue
        if platform and platform != "auto" and r.platform not in (platform, "generic"):
            continue
        out.append(r)
    return out


def detect(path: Path, opts: ReadOptions, kind: str | None = None,
           platform: str | None = None) -> tuple[Reader, Probe]:
    probe = Probe(path, opts)
    if probe.ext not in SUPPORTED_EXT:
        raise InputFileError(
            "{path}: unsupported file type '{ext}'",
            hint="cskit reads .csv .tsv .txt .xlsx .json .jsonl exports", path=path, ext=probe.ext or '(none)',
        )
    scored = []
    for r in _candidates(kind, platform):
        score = r.sniff(path, probe)
        if score > 0:
            scored.append((score, r))
    if not scored:
        if probe._table_error is not None:
            raise probe._table_error
        found = probe.headers
        want = {"messages": Msg("a chat log"), "orders": Msg("an order export"),
                "excluded": Msg("an excluded-buyers list"),
                "ratings": Msg("a service-rating export")}.get(kind or "", Msg("a chat log or order export"))
        missing = missing_headers(opts.mapping, found) if probe.table is not None else []
        if missing:
            raise InputFileError(
                "{path}: the mapping names {headers}, but this file has no such column",
                hint="check the headers in the mapping file against the file's header row",
                path=path, headers=", ".join(f"{k} = {v}" for k, v in missing))
        table = probe.table
        if table is not None and not is_positional(opts.mapping) and looks_like_data(table.raw_headers):
            raise InputFileError(  # never quote that row: it may hold names and phone numbers
                "{path}: not recognised as {want} (the first row looks like data, not headers)",
                hint="name the columns by position in a mapping file (buyer_id = 3) and pass --mapping FILE",
                path=path, want=want)
        shown = ", ".join(h for h in found[:12] if h) or "none"
        raise InputFileError(
            "{path}: not recognised as {want} (headers found: {shown})",
            hint=MAPPING_HINT, path=path, want=want, shown=shown,
        )
    scored.sort(key=lambda x: -x[0])
    return scored[0][1], probe


def read_file(path: Path, opts: ReadOptions, kind: str | None = None,
              platform: str | None = None) -> ReadResult:
    reader, probe = detect(path, opts, kind, platform)
    table = probe.__dict__.get("table")
    if table is not None and opts.mapping:
        check_mapped(table.frame, opts.mapping, path)  # personal data never mapped in
    result = reader.read(path, opts, probe)
    result.reader = reader.name
    table = probe.__dict__.get("table")  # notes of the tabular reading (sheets skipped …)
    if table is not None and table.notes:
        result.notes = list(table.notes) + list(result.notes)
    if table is not None and opts.mapping:
        for field, header in missing_headers(opts.mapping, probe.headers, result.kind):
            result.notes.append(Msg("{path}: the mapping names {header} for {field}, but this file has no such column; built-in headers used",
                                    path=path, header=header, field=field))
    return result


# Register the readers (import order = tie-break order).
from cskit.readers import chats_tabular, qianniu_text, pdd_json, orders, excluded, order_items, ratings  # noqa: E402,F401,E501
