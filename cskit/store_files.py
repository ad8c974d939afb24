"""The store's files on disk: where part files go, the manifest that lists them, and the
small file-system operations both reading and writing need.

Layout (hive-style directories, one Parquet file per partition per ingest)::

    STORE/
      _cskit_manifest.json                    the committed file list (the only truth)
      messages/shop=<url-quoted>/month=YYYY-MM/part-<batch>-<id>.parquet
      orders/shop=<url-quoted>/month=YYYY-MM/part-<batch>-<id>.parquet
      excluded/shop=<url-quoted>/part-<batch>-<id>.parquet
      order_items/shop=<url-quoted>/part-<batch>-<id>.parquet

Here: the names and format (:data:`MANIFEST`, :data:`LOCK`, :data:`FORMAT`), the manifest
(:class:`FileEntry`, :class:`Manifest`), partition directory names (:func:`shop_segment`,
:func:`_partition_dir`: a shop name is one URL-quoted path segment), the errors for a
damaged part file or a failed disk operation (:func:`_damaged`, :func:`_bad_part`,
:func:`_io_error`), flushing and removing empty directories (:func:`_fsync_path`,
:func:`_rmtree_empty`), and :data:`_WRITERS`, the threads the store's work uses at once
(read at call time: patch it here).

Not here: row keys and hashing (:mod:`cskit.store_keys`), appending and committing
(:mod:`cskit.store_write`), the :class:`~cskit.store.Store` that reads and locks
(:mod:`cskit.store`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.parquet as pq

from cskit import schema
from cskit.errors import StoreError

MANIFEST = "_cskit_manifest.json"
LOCK = "_cskit.lock"
FORMAT = 1
VERSIONED = {schema.ORDERS, schema.EXCLUDED}
INTERNAL = ["_k1", "_k2", "_h", "_batch"]
#: part files written at once (and threads for the set-up of a row hash's columns)
_WRITERS = min(4, os.cpu_count() or 1)


@dataclass
class FileEntry:
    path: str  #: relative to the store root, '/' separated
    kind: str
    shop: str
    month: str | None
    rows: int
    batch: int


@dataclass
class Manifest:
    batch: int = 0
    files: list[FileEntry] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "batch": self.batch,
                           "files": [vars(f) for f in self.files]}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, where: Path) -> "Manifest":
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            return cls(batch=int(data["batch"]), files=[FileEntry(**f) for f in data["files"]])
        except (ValueError, KeyError, TypeError):
            raise StoreError("{where}: the store manifest is damaged or from another cskit version",
                             hint="point --store at a new directory and ingest again", where=where) from None


#: longest ``shop=…`` directory name (bytes); file systems allow 255
MAX_SHOP_SEGMENT = 120
_SHOP_HASH = 16  #: hex digits of the shop name's hash in a bounded directory name


def shop_segment(shop: str) -> str:
    """The directory name of a shop: ``shop=<url-quoted name>``, or for a long name (a real
    shop name of 14+ CJK characters quotes to more than 120 bytes) the quoted prefix, ``%~``
    and a hash of the whole name.  ``%~`` never occurs in a quoted name (``quote`` writes
    ``%`` only before two hex digits), so bounded names never collide with short ones, and
    the hash keeps two long names with the same prefix apart.  The real name is in the
    manifest and the rows; readers never parse directory names."""
    q = quote(shop, safe="")
    seg = f"shop={q}"
    if len(seg) <= MAX_SHOP_SEGMENT:
        return seg
    digest = hashlib.sha256(shop.encode("utf-8")).hexdigest()[:_SHOP_HASH]
    keep = MAX_SHOP_SEGMENT - len("shop=") - 2 - _SHOP_HASH
    cut = q[:keep]
    pct = cut.rfind("%")
    if pct >= 0 and pct > len(cut) - 3:  # never cut inside a %XX escape
        cut = cut[:pct]
    return f"shop={cut}%~{digest}"


def _partition_dir(kind: str, shop: str, month: str | None) -> str:
    seg = f"{kind}/{shop_segment(shop)}"
    return f"{seg}/month={month}" if month else seg


def _io_error(store: Path, exc: OSError) -> StoreError:
    """An operating-system failure while reading or writing the store, as a store error that
    names the cause (disk full, read-only, permission) and the file."""
    where = exc.filename if getattr(exc, "filename", None) else store
    cause = exc.strerror or (os.strerror(exc.errno) if exc.errno else type(exc).__name__)
    return StoreError("{store}: cannot write the store: {cause} ({file})",
                      hint="free disk space or fix the permissions, then run the ingest again; "
                           "nothing was changed by the failed write",
                      store=store, cause=cause, file=where)


def _fsync_path(path: Path, directory: bool = False) -> None:
    """Flush a file (or a directory's entries) to disk."""
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _damaged(root: Path, part: str) -> StoreError:
    return StoreError("{store}: part file {file} listed in the store manifest is missing or damaged",
                      hint="restore the store from a backup, or ingest the exports again into a new "
                           "--store directory", store=root, file=part)


def _bad_part(root: Path, paths: list[str]) -> str:
    """The first of ``paths`` that is missing or not a readable Parquet file."""
    for p in paths:
        try:
            pq.read_metadata(root / p)
        except (OSError, pa.ArrowException):
            return p
    return paths[0] if paths else "?"


def _rmtree_empty(d: Path) -> None:
    """Remove ``d`` and its sub-directories if they hold no files."""
    if not d.exists():
        return
    for sub in sorted(d.rglob("*"), key=lambda p: -len(p.parts)):
        if sub.is_dir():
            with contextlib.suppress(OSError):
                sub.rmdir()
    with contextlib.suppress(OSError):
        d.rmdir()
