"""Decoding export files: which encoding a file is in, and its text.

Holds the byte-level side of reading: reading a file's bytes or its start, telling UTF-8
(with a BOM or not, with a few bad byte sequences pasted in) from GB18030/GBK and UTF-16,
decoding it (rows in the other encoding marked so they are rejected rather than stored
garbled, :mod:`cskit.readers.csvcheck`), and the UTF-8 checks of the fast CSV path
(:class:`NotFast`: "take the general, decoding path").  It does not split the text into
rows or find headers (:mod:`cskit.readers.tabular`) nor clean cells
(:mod:`cskit.readers.cells`).  Names are re-exported by :mod:`cskit.readers.common`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from cskit.errors import InputFileError
from cskit.readers.csvcheck import INVALID_MARK, MARKS, MIXED_MARK

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
