"""Appending to the store: a :class:`Transaction` turns new rows into part files and
commits them with one manifest swap.

*Atomic*: a transaction writes new part files, then replaces the manifest in one
``os.replace``; an exception removes the new files (:meth:`Transaction.rollback`).
*Idempotent*: rows whose keys (:mod:`cskit.store_keys`) are already stored count as
duplicates and are not written again; orders are resolved to the version chosen by
content (``cskit.versions``), never by ingest order.  Here: the append itself
(:meth:`Transaction.append`, duplicates, order versions), grouping rows into partitions
(:func:`_partitions`), the part files' arrow tables, directories, Parquet options and
writing (:meth:`Transaction._write_all`, :meth:`Transaction._write_part`), the commit,
:class:`AppendStats` and :func:`conform` (the canonical columns and dtypes of a kind).

Not here: how keys are hashed (:mod:`cskit.store_keys`), the manifest and the layout of
directories (:mod:`cskit.store_files`), the write lock and the transaction's lifecycle
(:meth:`cskit.store.Store.transaction`), the partition pipeline for messages
(:mod:`cskit.store_pipeline`), reading (:mod:`cskit.store`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from cskit import schema
from cskit import store_files as files
from cskit.errors import StoreError
from cskit.store_files import (MANIFEST, VERSIONED, FileEntry, Manifest, _bad_part, _damaged,
                               _fsync_path, _partition_dir, _rmtree_empty)
from cskit.store_keys import _K1, OCCURRENCE, _add_keys, _distinct, hash_rows

if TYPE_CHECKING:
    from cskit.store import Store

# (cskit.readers.common (the ingest readers) and cskit.versions are imported where they
# are used, so that importing this module loads neither)


@dataclass
class AppendStats:
    rows: int = 0  #: rows offered
    added: int = 0
    duplicates: int = 0
    updated: int = 0  #: new versions of known orders / excluded buyers


class Transaction:
    def __init__(self, store: Store, manifest: Manifest):
        self.store = store
        self.manifest = manifest
        self.batch = manifest.batch + 1
        self.new: list[FileEntry] = []
        self.created_dirs: list[Path] = []
        self.committed = False

    def _existing_keys(self, kind: str, shop: str, month: str | None) -> pd.DataFrame:
        paths = [f.path for f in self.manifest.files + self.new
                 if f.kind == kind and f.shop == shop and f.month == month]
        cols = ["_k1", "_k2", "_h"]
        if not paths:
            return pd.DataFrame({c: pd.Series(dtype="uint64") for c in cols})
        try:
            return ds.dataset([str(self.store.root / p) for p in paths], format="parquet") \
                .to_table(columns=cols).to_pandas()
        except (OSError, pa.ArrowException):
            raise _damaged(self.store.root, _bad_part(self.store.root, paths)) from None

    def append(self, kind: str, frame: pd.DataFrame) -> AppendStats:
        """Add ``frame`` (canonical columns of ``kind``) to the store; returns counts."""
        stats = AppendStats(rows=len(frame))
        if frame.empty:
            return stats
        if self.new:
            # an earlier append of this transaction wrote files: this one's rows get a later
            # batch, so a version written now is never tied with one written before
            self.batch += 1
        frame = conform(kind, frame)
        if kind in OCCURRENCE and kind not in VERSIONED and schema.TIME_COLUMN[kind]:
            # messages: one partition at a time, the hash of one while others are written
            from cskit.store_pipeline import NotPipelined, append_messages

            with contextlib.suppress(NotPipelined):
                return append_messages(self, kind, frame)
        keyed, distinct = _add_keys(kind, frame)
        versioned = kind in VERSIONED
        # duplicates inside the new data itself (overlapping files in one ingest)
        before = len(keyed)
        if not distinct:
            keyed = _drop_duplicates(keyed, ["_k1", "_k2", "_h"],
                                     keep="last" if versioned else "first")
        stats.duplicates += before - len(keyed)
        resolved = kind == schema.ORDERS
        if resolved:  # the version to show, chosen by content (cskit.versions)
            keyed = self._resolve_orders(keyed, stats)
            if keyed.empty:
                return stats
        elif versioned:  # several versions of one buyer in this batch: keep the last
            keyed = _drop_duplicates(keyed, ["_k1", "_k2"], keep="last")
        keyed = keyed.reset_index(drop=True)
        table = None  # the rows to write, as arrow, built once
        jobs = []
        for shop, month, pos in _partitions(kind, keyed):
            if resolved:  # counted by _resolve_orders: every row left is to be written
                if table is None:
                    table, target = self._table(kind, keyed)
                jobs.append((self._target(kind, str(shop), month), pos))
                continue
            existing = self._existing_keys(kind, shop, month)
            ids = ["_k1", "_k2"]
            full = ids + ["_h"] if versioned else ids
            if existing.empty:
                is_dup = is_known = np.zeros(len(pos), dtype=bool)
            else:
                part = keyed[full].iloc[pos]
                is_dup = _isin(part, existing, full)
                is_known = _isin(part, existing, ids)
            stats.duplicates += int(is_dup.sum())
            stats.updated += int((is_known & ~is_dup).sum())
            stats.added += int((~is_known).sum())
            new_pos = pos[~is_dup]
            if len(new_pos):
                if table is None:
                    table, target = self._table(kind, keyed)
                jobs.append((self._target(kind, str(shop), month), new_pos))
        if jobs:
            self._write_all(kind, table, target, jobs)
        return stats

    def _stored_versions(self, kind: str, keyed: pd.DataFrame) -> pd.DataFrame:
        """Every stored version (all batches and months, this transaction's files too) of
        the rows of ``keyed``: the canonical columns, ``_k1``, ``_k2``, ``_h``, ``_batch``."""
        shops = set(keyed["shop"].dropna().unique().tolist())
        paths = [f.path for f in self.manifest.files + self.new
                 if f.kind == kind and f.shop in shops]
        cols = schema.columns(kind) + ["_k1", "_k2", "_h", "_batch"]
        if not paths:
            return pd.DataFrame(columns=cols)
        k1 = pa.array(np.unique(keyed["_k1"].to_numpy()), type=pa.uint64())
        table = ds.dataset([str(self.store.root / p) for p in paths], format="parquet") \
            .to_table(columns=cols, filter=ds.field("_k1").isin(k1))
        found = table.to_pandas()
        if found.empty:
            return found
        return found[_isin(found, keyed, ["_k1", "_k2"])]

    def _resolve_orders(self, keyed: pd.DataFrame, stats: AppendStats) -> pd.DataFrame:
        """The rows to write for new order versions ``keyed`` (keys and hashes added):
        per order, the version chosen by content from everything stored and offered
        (:func:`cskit.versions.merge_versions`), where it differs from the version reads
        show now.  Counts it in ``stats``: a new order is added, a changed one updated,
        and a version that changes nothing (the same, older, or less precise) a
        duplicate."""
        from cskit.versions import merge_versions

        ids = ["_k1", "_k2"]
        cols = schema.columns(schema.ORDERS)
        stored = self._stored_versions(schema.ORDERS, keyed)
        current = stored.sort_values("_batch", kind="stable").drop_duplicates(ids, keep="last")
        pool = keyed[cols + ids]
        if len(stored):
            old = conform(schema.ORDERS, stored[cols])
            old[ids] = stored[ids].to_numpy()
            pool = pd.concat([old, pool.reset_index(drop=True)], ignore_index=True)
        merged = merge_versions(pool, ids)
        merged = conform(schema.ORDERS, merged[cols]).assign(
            _k1=merged["_k1"].to_numpy(), _k2=merged["_k2"].to_numpy())
        content = [c for c in cols if c not in ("source_file", "source_row")]
        merged["_h"] = hash_rows(merged, content, _K1)
        stats.duplicates += len(keyed) - len(merged)  # superseded versions within the batch
        known = _isin(merged, current, ids)
        same = _isin(merged, current, ids + ["_h"])
        stats.added += int((~known).sum())
        stats.updated += int((known & ~same).sum())
        stats.duplicates += int(same.sum())
        return merged[~same]

    def _table(self, kind: str, keyed: pd.DataFrame) -> tuple[pa.Table, pa.Schema]:
        """The rows to write as arrow, in the part files' types but without ``_batch``
        (added per file), and the part files' schema — what ``Table.from_pandas(rows,
        schema=...)`` gives, pandas metadata included (it does not depend on the rows)."""
        from cskit.readers.common import one_chunk

        sch = schema.SCHEMAS[kind]
        full = pa.schema(list(sch) + [pa.field("_k1", pa.uint64()), pa.field("_k2", pa.uint64()),
                                      pa.field("_h", pa.uint64()), pa.field("_batch", pa.int64())])
        target = pa.Table.from_pandas(keyed.iloc[:0].assign(_batch=np.int64(self.batch))[full.names],
                                      schema=full, preserve_index=False).schema
        table = pa.Table.from_pandas(keyed[full.names[:-1]], preserve_index=False)
        rows = pa.schema(list(target)[:-1], metadata=target.metadata)
        return one_chunk(table).cast(rows), target

    def _target(self, kind: str, shop: str, month: str | None) -> FileEntry:
        """Check and create the partition directory; the entry of the file to write there."""
        root = self.store.root.resolve()
        rel_dir = _partition_dir(kind, shop, month)
        target_dir = (root / rel_dir).resolve()
        if root not in target_dir.parents:
            raise StoreError("shop name {shop!r} would write outside the store", shop=shop)
        if not target_dir.exists():
            # remember the first directory level we create, for rollback
            p = target_dir
            while not p.parent.exists():
                p = p.parent
            target_dir.mkdir(parents=True, exist_ok=True)
            self.created_dirs.append(p)
        name = f"part-{self.batch:06d}-{uuid.uuid4().hex[:12]}.parquet"
        return FileEntry(path=f"{rel_dir}/{name}", kind=kind, shop=shop, month=month, rows=0,
                         batch=self.batch)

    def _write_all(self, kind: str, table: pa.Table, target: pa.Schema,
                   jobs: list[tuple[FileEntry, np.ndarray]]) -> None:
        """Write one part file per (entry, row positions), several at a time: taking, sorting
        and writing Parquet all run in arrow without the GIL.  Every file is listed in
        ``self.new`` before it is written, so a failure rolls all of them back."""
        tcol = schema.TIME_COLUMN[kind]
        times = None
        if tcol:
            times = table.column(tcol).to_numpy()
            if np.isnat(times).any():
                times = None  # arrow sorts missing times last: let it sort

        def write(entry: FileEntry, pos: np.ndarray) -> None:
            if times is not None:
                # sort by time so row-group statistics prune time filters (stable, as
                # Table.sort_by), then take the rows once (numpy sorts without the GIL)
                pos = pos[np.argsort(times[pos], kind="stable")]
            part = _rows(table, pos)
            part = pa.Table.from_arrays(
                part.columns + [pa.array(np.full(len(pos), self.batch, "int64"))], schema=target)
            if tcol and times is None:
                part = part.sort_by([(tcol, "ascending")])
            self._write_part(kind, entry, part)

        for entry, pos in jobs:
            entry.rows = len(pos)
            self.new.append(entry)
        if len(jobs) == 1:
            write(*jobs[0])
            return
        with ThreadPoolExecutor(max_workers=files._WRITERS) as pool:
            futures = [pool.submit(write, entry, pos) for entry, pos in jobs]
        for f in futures:
            f.result()  # re-raise the first failure (all writes have finished)

    def _write_part(self, kind: str, entry: FileEntry, part: pa.Table) -> None:
        """Write (and flush) one part file: ``part`` has the part files' schema and order."""
        path = self.store.root.resolve() / entry.path
        pq.write_table(part, path, compression="zstd", row_group_size=256_000,
                       use_dictionary=_dictionary_columns(kind),
                       write_statistics=_statistics_columns(kind))
        _fsync_path(path)

    def rollback(self) -> None:
        root = self.store.root
        for f in self.new:
            with contextlib.suppress(OSError):
                (root / f.path).unlink()
        with contextlib.suppress(OSError):
            (root / (MANIFEST + ".tmp")).unlink()
        for d in reversed(self.created_dirs):
            _rmtree_empty(d)
        self.new = []

    def commit(self) -> None:
        """Flush the new part files' directories, write the manifest beside the old one,
        flush it, swap it in with one ``os.replace`` and flush the store directory: after a
        power loss the manifest never lists a file whose bytes are not on disk."""
        if not self.new:
            return
        root = self.store.root
        dirs = sorted({(root / f.path).parent for f in self.new}
                      | {p.parent for p in self.created_dirs})
        if len(dirs) > 1 and files._WRITERS > 1:  # waiting on the disk: several at a time
            with ThreadPoolExecutor(max_workers=files._WRITERS) as pool:
                list(pool.map(lambda d: _fsync_path(d, directory=True), dirs))
        else:
            for d in dirs:
                _fsync_path(d, directory=True)
        m = Manifest(batch=self.batch, files=self.manifest.files + self.new)
        tmp = root / (MANIFEST + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(m.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.store.manifest_path)
        self.committed = True
        self.manifest = m
        with contextlib.suppress(OSError):  # committed: a failed flush of the entry is not undone
            _fsync_path(root, directory=True)


def _isin(part: pd.DataFrame, existing: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if existing.empty:
        return np.zeros(len(part), dtype=bool)
    return pd.MultiIndex.from_frame(part[cols]).isin(pd.MultiIndex.from_frame(existing[cols]))


def _rows(table: pa.Table, pos: np.ndarray) -> pa.Table:
    """``table.take(pos)``; a run of consecutive rows (an export of one shop in time order
    gives one per month) is a slice of ``table``, without a copy."""
    if len(pos) and int(pos[-1]) - int(pos[0]) == len(pos) - 1 and \
            (len(pos) == 1 or bool((np.diff(pos) == 1).all())):
        return table.slice(int(pos[0]), len(pos))
    return table.take(pa.array(pos))


def _dictionary_columns(kind: str) -> list[str]:
    """Columns written dictionary-encoded: text and the constant ``_batch`` (and ``_h`` where
    it is constant), not unique ids, timestamps or row hashes — dictionary pages for those
    only cost time and bytes."""
    cols = [f.name for f in schema.SCHEMAS[kind]
            if pa.types.is_string(f.type) and f.name not in _UNIQUE_TEXT]
    return cols + (["_batch"] if kind in VERSIONED else ["_h", "_batch"])


_UNIQUE_TEXT = {"msg_id", "order_id"}

#: free text and ids nearly unique per row: their min/max statistics prune nothing (the
#: rows are in time order) and cost a string comparison per value to write
_NO_STATISTICS = {"content", "msg_id", "conversation_id", "buyer_id"}


def _statistics_columns(kind: str) -> list[str]:
    """Columns written with row-group statistics: all but :data:`_NO_STATISTICS` (the
    store's own filters use ``shop``, the time column and ``_k1``)."""
    return [f.name for f in schema.SCHEMAS[kind] if f.name not in _NO_STATISTICS] + \
        ["_k1", "_k2", "_h", "_batch"]


def _drop_duplicates(frame: pd.DataFrame, cols: list[str], keep: str) -> pd.DataFrame:
    """``frame.drop_duplicates(cols, keep=keep)``; no work when ``cols[0]`` is unique."""
    if _distinct(frame[cols[0]].to_numpy()):
        return frame
    return frame.drop_duplicates(cols, keep=keep)


def _partitions(kind: str, keyed: pd.DataFrame) -> list[tuple[str, str | None, np.ndarray]]:
    """``(shop, month, row positions)`` per partition, in the order and with the rows of
    ``keyed.groupby(["shop", month], sort=True, dropna=False)`` (month = ``YYYY-MM`` of the
    kind's time column).  Without missing shops or times this is a sort of integer codes;
    otherwise the groupby itself."""
    from cskit.readers.common import arrow_str

    tcol = schema.TIME_COLUMN[kind]
    shop = keyed["shop"]
    times = keyed[tcol].to_numpy(dtype="datetime64[s]") if tcol else None
    fast = not shop.isna().any()
    if fast and times is not None and len(times):
        lo, hi = times.min(), times.max()
        fast = not (np.isnat(lo) or np.isnat(hi)) and \
            np.datetime64("1000-01-01") <= lo and hi < np.datetime64("10000-01-01")
    if fast:
        # shops: arrow dictionary codes, ranked as sorted names; months: a small integer range
        enc = pc.dictionary_encode(arrow_str(shop))
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.unify_dictionaries()
            s_codes = np.concatenate([c.indices.to_numpy() for c in enc.chunks])
            names = enc.chunk(0).dictionary.to_pylist()
        else:
            s_codes, names = enc.indices.to_numpy(), enc.dictionary.to_pylist()
        shops = sorted(names)
        rank = np.empty(len(names), dtype="int64")
        rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        s_codes = rank[s_codes]
        if times is None:
            m_codes, months = np.zeros(len(keyed), dtype="int64"), [None]
        else:
            m = times.astype("datetime64[M]").astype("int64")
            m0 = m.min()
            seen = np.bincount(m - m0) > 0
            m_codes = (np.cumsum(seen) - 1)[m - m0]
            m_uniq = (np.flatnonzero(seen) + m0).astype("datetime64[M]").astype("datetime64[s]")
            months = pd.Series(m_uniq).dt.strftime("%Y-%m").tolist()
        groups = len(shops) * len(months)
        gid = s_codes * len(months) + m_codes
        # a stable sort of group ids (radix sort when they fit 16 bits)
        order = np.argsort(gid.astype("uint16") if groups <= 1 << 16 else gid, kind="stable")
        counts = np.bincount(gid, minlength=groups)
        ends = np.cumsum(counts)
        out = []
        for g in np.flatnonzero(counts):
            out.append((shops[g // len(months)], months[g % len(months)],
                        order[ends[g] - counts[g]:ends[g]]))
        return out
    keyed = keyed.assign(_month=keyed[tcol].dt.strftime("%Y-%m") if tcol else None)
    out = []
    for (shop, month), part in keyed.groupby(["shop", "_month"], sort=True, dropna=False):
        month = None if (month is None or (isinstance(month, float) and np.isnan(month))) else month
        out.append((shop, month, keyed.index.get_indexer(part.index)))
    return out


def conform(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Give ``frame`` exactly the canonical columns and dtypes of ``kind``."""
    sch = schema.SCHEMAS[kind]
    out = pd.DataFrame(index=frame.index)
    for f in sch:
        col = frame[f.name] if f.name in frame.columns else pd.Series(None, index=frame.index,
                                                                     dtype=object)
        if pa.types.is_timestamp(f.type):
            col = pd.to_datetime(col, errors="coerce").astype("datetime64[s]")
        elif pa.types.is_floating(f.type):
            col = pd.to_numeric(col, errors="coerce").astype("float64")
        elif pa.types.is_integer(f.type):
            col = pd.to_numeric(col, errors="coerce").astype("Int64")
        else:
            col = col.astype("string")
        out[f.name] = col
    return out.reset_index(drop=True)
