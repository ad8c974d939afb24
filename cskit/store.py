"""The Parquet store: atomic, idempotent appends; column-pruned, filtered reads.

Layout: hive-style directories, one Parquet file per partition per ingest, listed by a
manifest (drawn in :mod:`cskit.store_files`).

*Atomic*: a transaction writes new part files, then replaces the manifest in
one ``os.replace``.  Readers only see files listed in the manifest, so a crash
mid-way changes nothing visible; an exception removes the new files, leaving
the directory byte-identical; files left by a hard kill are swept on the next
write.

*Idempotent*: each row gets a 128-bit key (two uint64 columns ``_k1``/``_k2``)
hashed from its identity columns (``cskit.schema.IDENTITY``).  For messages and
order items the key also includes the row's occurrence number among identical
rows of the same source file, so a buyer who really sent "在吗" twice in one
second keeps both, while the same export ingested twice adds nothing.  Orders
and excluded buyers are *versioned*: the key is the order id; readers see the
latest version written.  For orders that version is chosen by content from
every version seen (``cskit.versions``: status progression, times present,
time precision), never by ingest order: a changed order appends a new version
only when the choice changes.

*Safe*: shop names are URL-quoted into one path segment (``../x`` becomes
``..%2Fx``) and every path is checked to stay inside the store.

The store is split by idea; this module keeps :class:`Store` (opening, reading, the write
lock and the transaction's lifecycle), :func:`table_to_frame` and :func:`default_root`,
and re-exports the names callers and tests import from it (the same objects):

* :mod:`cskit.store_files` — the layout, the manifest, damaged-file and disk errors;
* :mod:`cskit.store_keys` — row identity: hashing, occurrence numbers, keys;
* :mod:`cskit.store_write` — :class:`Transaction`: appending, part files, the commit;
* :mod:`cskit.store_pipeline` — appending messages one partition at a time.

The knobs the code reads at call time live in their module and are patched there
(``store_keys._SAMPLE``, ``_FEW``, ``_HASH_BLOCK``, ``_PARALLEL_HASH``;
``store_files._WRITERS``); they are not re-exported here, so a patch of the old name fails
loudly instead of changing nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds

from cskit import schema
from cskit.errors import StoreError
from cskit.store_files import (  # noqa: F401 - re-exported
    FORMAT, INTERNAL, LOCK, MANIFEST, MAX_SHOP_SEGMENT, VERSIONED, FileEntry, Manifest,
    _bad_part, _damaged, _fsync_path, _io_error, _partition_dir, _rmtree_empty, shop_segment)
from cskit.store_keys import (  # noqa: F401 - re-exported
    _K1, _K2, OCCURRENCE, _add_keys, _col_array, _column_hasher, _cumcount, _distinct,
    _hash_folds, _hash_text, _hash_texts, _occurrences, _text_values, add_keys, hash_rows,
    identity_hashers, identity_keys)
from cskit.store_write import (  # noqa: F401 - re-exported
    AppendStats, Transaction, _dictionary_columns, _drop_duplicates, _isin, _partitions, _rows,
    _statistics_columns, conform)

# (writing only: cskit.readers.common (the ingest readers) and cskit.versions are imported
# where they are used, so that reading the store, as `cskit kpi` does, does not load them)


def default_root() -> Path:
    return Path(os.environ.get("CSKIT_STORE") or "cskit-store")


class Store:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()
        self._held = False  #: inside :meth:`writing`: the write lock is ours
        self._committed = False  #: a transaction committed since :meth:`writing` began

    # ---------------------------------------------------------------- reading
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> Manifest:
        if self.root.exists() and not self.root.is_dir():
            raise StoreError("{store}: --store names a file, not a directory",
                             hint="give a directory (a new one is created) or an existing cskit store",
                             store=self.root)
        if not self.exists():
            foreign = [p for p in self.root.iterdir() if p.name not in (LOCK, MANIFEST + ".tmp")] \
                if self.root.is_dir() else []
            if foreign and not any((self.root / k).exists() for k in schema.KINDS):
                raise StoreError("{store}: not a cskit store (no {MANIFEST})",
                                 hint="use an empty directory or an existing cskit store for --store", store=self.root, MANIFEST=MANIFEST)
            return Manifest()
        try:
            text = self.manifest_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StoreError("{where}: cannot read the store manifest ({cause})",
                             where=self.manifest_path, cause=exc.strerror or type(exc).__name__) from None
        except UnicodeDecodeError:
            text = ""
        return Manifest.from_json(text, self.manifest_path)

    def check(self, manifest: Manifest | None = None) -> None:
        """Every part file the manifest lists is there and not empty (a Parquet file is never
        empty); else a :class:`StoreError` naming the first one that is not."""
        manifest = manifest if manifest is not None else self.manifest()
        for f in manifest.files:
            try:
                ok = (self.root / f.path).stat().st_size > 0
            except OSError:
                ok = False
            if not ok:
                raise _damaged(self.root, f.path)

    def files(self, kind: str, shops: list[str] | None = None, since: dt.date | None = None,
              until: dt.date | None = None) -> list[FileEntry]:
        lo = f"{since:%Y-%m}" if since else None
        hi = f"{until:%Y-%m}" if until else None
        out = []
        for f in self.manifest().files:
            if f.kind != kind or (shops and f.shop not in shops):
                continue
            if f.month and ((lo and f.month < lo) or (hi and f.month > hi)):
                continue
            out.append(f)
        return out

    def shops(self, kind: str = schema.MESSAGES) -> list[str]:
        return sorted({f.shop for f in self.manifest().files if f.kind == kind})

    def read(self, kind: str, *, shops: list[str] | None = None, since: dt.date | None = None,
             until: dt.date | None = None, columns: list[str] | None = None,
             time_slack: dt.timedelta = dt.timedelta(0), categorical: bool = False) -> pd.DataFrame:
        """Rows of ``kind`` (latest version for versioned kinds).

        ``since``/``until`` (inclusive dates) filter on the kind's time column,
        widened by ``time_slack`` at the end (replies after the range).  Only
        ``columns`` are read from disk.  (``cskit kpi`` reads text as categoricals:
        :meth:`read_table` and :func:`table_to_frame`; ``categorical`` does the same here:
        text columns come back as pandas categoricals, each distinct value stored once.)
        """
        until_ts = None
        if until is not None:
            until_ts = pd.Timestamp(until) + pd.Timedelta(days=1) + pd.Timedelta(time_slack)
        slack_until = (until_ts.date() if until_ts is not None else None)
        entries = self.files(kind, shops, since, slack_until)
        want = list(columns) if columns else schema.columns(kind)
        sch = schema.SCHEMAS[kind]
        if not entries:
            return _empty(sch, want)
        read_cols = list(dict.fromkeys(want + (["_k1", "_k2", "_batch"] if kind in VERSIONED else [])))
        table = self.read_table(kind, entries, read_cols, shops=shops,
                                start=pd.Timestamp(since) if since is not None else None,
                                end=until_ts, categorical=categorical)
        frame = table_to_frame(table) if categorical else table.to_pandas()
        if kind in VERSIONED and len(frame):
            frame = (frame.sort_values("_batch", kind="stable")
                     .drop_duplicates(["_k1", "_k2"], keep="last"))
            frame = frame[want].reset_index(drop=True)
        return frame

    def read_table(self, kind: str, entries: list[FileEntry], columns: list[str], *,
                   shops: list[str] | None = None, start: pd.Timestamp | None = None,
                   end: pd.Timestamp | None = None, categorical: bool = False) -> pa.Table:
        """The rows of the part files ``entries`` with ``start <= time < end`` (either may
        be None), as an arrow table of ``columns`` (no version resolution).  Shop and time
        filters are pushed down into the Parquet scan (row groups outside are skipped);
        ``categorical`` reads text columns dictionary-encoded."""
        tcol = schema.TIME_COLUMN[kind]
        sch = schema.SCHEMAS[kind]
        fmt = "parquet"
        if categorical:
            text = [c for c in columns if c in sch.names and pa.types.is_string(sch.field(c).type)]
            fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(dictionary_columns=text))
        try:
            dataset = self._dataset([f.path for f in entries], fmt)
            # a column added to the schema after a part file was written (messages.item_id)
            # reads as empty from that file: the dataset's schema names it explicitly
            added = [sch.field(c) for c in columns
                     if c in sch.names and c not in dataset.schema.names]
            if added:
                dataset = self._dataset([f.path for f in entries], fmt,
                                        schema=pa.schema(list(dataset.schema) + added))
        except (OSError, pa.ArrowException):
            raise self._damaged_part([f.path for f in entries]) from None
        flt = None
        # a part file holds one shop's rows: no filter when every file is of a wanted shop
        if shops and not {f.shop for f in entries} <= set(shops):
            flt = ds.field("shop").isin(shops)
        if tcol and start is not None:
            c = ds.field(tcol) >= pa.scalar(pd.Timestamp(start).to_pydatetime(), type=schema.TS)
            flt = c if flt is None else flt & c
        if tcol and end is not None:
            c = ds.field(tcol) < pa.scalar(pd.Timestamp(end).to_pydatetime(), type=schema.TS)
            flt = c if flt is None else flt & c
        try:
            return dataset.to_table(columns=columns, filter=flt)
        except (OSError, pa.ArrowException):
            raise self._damaged_part([f.path for f in entries]) from None

    def _dataset(self, paths: list[str], fmt, schema=None) -> ds.Dataset:
        """The part files ``paths`` (relative to the store) as one dataset: the one place
        reads open part files (a store elsewhere, :mod:`cskit.remote`, opens them through
        its file system).  ``schema``: read with this schema (columns a file lacks: null)."""
        return ds.dataset([str(self.root / p) for p in paths], format=fmt, schema=schema)

    def _damaged_part(self, paths: list[str]) -> StoreError:
        return _damaged(self.root, _bad_part(self.root, paths))

    # ---------------------------------------------------------------- writing
    @contextlib.contextmanager
    def transaction(self, *, check: bool = True):
        """All-or-nothing: ``with store.transaction() as tx: tx.append(kind, frame)``.

        Any failure — the caller's exception, a full disk, a read-only store — leaves the
        store byte-identical: new part files, the temporary manifest and new directories
        are removed (a store created by this transaction is removed again, lock file
        included).  Operating-system failures become a :class:`StoreError` naming the
        cause and the file.  A store whose manifest lists a missing or empty part file is
        refused before anything is written.  ``check=False`` skips that check and the sweep
        of orphan files (the later transactions of one ingest: the first one did both).
        Inside :meth:`writing` the lock already held is used."""
        with self.writing():
            tx = None
            try:
                manifest = self.manifest()
                if check:
                    self.check(manifest)
                    self._sweep(manifest)
                tx = Transaction(self, manifest)
                yield tx
                tx.commit()
                self._committed = self._committed or tx.committed
            except BaseException as exc:
                if tx is not None and not tx.committed:
                    tx.rollback()
                if isinstance(exc, OSError):
                    raise _io_error(self.root, exc) from None
                raise

    @contextlib.contextmanager
    def writing(self):
        """Hold the store's write lock (one ingest: several transactions, no other ingest in
        between).  Refuses a folder that is not a store, and a file, before any lock file is
        made; when the block fails before anything was committed, a lock file (and a store
        directory) this call created is removed again."""
        if self._held:
            yield
            return
        self.manifest()  # not a store, or a file: refused before any lock file is made
        new_root = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _io_error(self.root, exc) from None
        had_lock = (self.root / LOCK).exists()
        try:
            lock = open(self.root / LOCK, "a+")  # noqa: SIM115 - closed below
        except OSError as exc:
            if new_root:
                _rmtree_empty(self.root)
            raise _io_error(self.root, exc) from None
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise StoreError("{store}: another cskit ingest is writing this store",
                                 hint="wait for it to finish", store=self.root) from None
            self._held, self._committed = True, False
            yield
        except BaseException:
            if not had_lock and not self._committed:
                with contextlib.suppress(OSError):
                    (self.root / LOCK).unlink()
                if new_root:
                    _rmtree_empty(self.root)
            raise
        finally:
            self._held = False
            lock.close()

    def _sweep(self, manifest: Manifest) -> None:
        """Remove part files no manifest lists (left by a killed process)."""
        listed = {f.path for f in manifest.files}
        for kind in schema.KINDS:
            base = self.root / kind
            if not base.exists():
                continue
            for p in base.rglob("*.parquet"):
                rel = p.relative_to(self.root).as_posix()
                if rel not in listed:
                    p.unlink()
        tmp = self.root / (MANIFEST + ".tmp")
        if tmp.exists():
            tmp.unlink()


def _empty(sch: pa.Schema, cols: list[str]) -> pd.DataFrame:
    fields = [sch.field(c) for c in cols if c in sch.names]
    return pa.schema(fields).empty_table().to_pandas()


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """An arrow table as a DataFrame; dictionary columns become pandas categoricals.

    Faster than ``to_pandas()`` for dictionary columns: the chunks' dictionaries are
    unified once and the codes are wrapped without a copy of the values."""
    if not any(pa.types.is_dictionary(f.type) for f in table.schema):
        return table.to_pandas()
    table = table.unify_dictionaries()
    plain = [f.name for f in table.schema if not pa.types.is_dictionary(f.type)]
    other = table.select(plain).to_pandas() if plain else None  # keeps pandas' dtypes (Int64)
    data = {}
    for name, col in zip(table.column_names, table.columns):
        if not pa.types.is_dictionary(col.type):
            data[name] = other[name]
            continue
        if col.num_chunks == 0:
            values = pa.array([], type=col.type.value_type)
            codes = np.zeros(0, dtype=np.int32)
        else:
            values = col.chunk(0).dictionary
            codes = np.concatenate([c.indices.fill_null(-1).to_numpy(zero_copy_only=False)
                                    for c in col.chunks]).astype(np.int32, copy=False)
        # object categories: the metrics use them as Python strings; a dictionary's values
        # are distinct, so pandas need not check it again (when it offers the fast path)
        cats = pd.Index(values.to_numpy(zero_copy_only=False), dtype=object, copy=False)
        try:
            dtype = pd.CategoricalDtype._from_fastpath(cats, False)
        except (AttributeError, TypeError):  # pragma: no cover - other pandas versions
            dtype = pd.CategoricalDtype(cats)
        data[name] = pd.Categorical.from_codes(codes, dtype=dtype, validate=False)
    return pd.DataFrame(data, copy=False)
