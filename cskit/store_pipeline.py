"""Appending messages one partition at a time: the row hash of one partition (Python,
holding the GIL) runs while the part files of the partitions before it are written (arrow
and Parquet, without the GIL) — the two no longer wait for each other.

The store written is the one :meth:`cskit.store.Transaction.append` writes: the same part
files (one per shop and month), rows, row order, keys, counts and schema.  That holds
because a message's identity includes its shop and its time: rows with the same identity
hash are in the same partition, so each partition's occurrence numbers, in-batch
duplicates and key checks are the ones the whole-frame pass gives (counted in the frame's
order, not the partition's time order, in case two rows share a hash by accident).  Only
a 64-bit hash collision between rows of two partitions could make them differ; it is
checked after the last partition, and then the files are taken back and the whole-frame
pass runs (:class:`NotPipelined`).
"""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit import schema
from cskit import store as st
from cskit import store_files, store_keys


class NotPipelined(Exception):
    """This frame is appended by the whole-frame pass (nothing of it stays written)."""


#: partitions taken (rows copied in their order) but not yet written, at most
_AHEAD = 2


def _data_table(kind: str, frame: pd.DataFrame) -> tuple[pa.Table, pa.Schema]:
    """The canonical columns of ``frame`` as one-chunk arrow in the part files' types, and
    the part files' schema: what ``Transaction._table`` gives for the keyed frame, without
    the key columns (added per partition)."""
    from cskit.readers.common import one_chunk

    sch = schema.SCHEMAS[kind]
    full = pa.schema(list(sch) + [pa.field("_k1", pa.uint64()), pa.field("_k2", pa.uint64()),
                                  pa.field("_h", pa.uint64()), pa.field("_batch", pa.int64())])
    empty = np.zeros(0, dtype="uint64")
    head = frame.iloc[:0].assign(_k1=empty, _k2=empty, _h=empty, _batch=np.zeros(0, "int64"))
    target = pa.Table.from_pandas(head[full.names], schema=full, preserve_index=False).schema
    names = [f.name for f in sch]
    table = pa.Table.from_pandas(frame[names], preserve_index=False)
    rows = pa.schema(list(target)[:len(names)])
    return one_chunk(table).cast(rows), target


def _cardinality(table: pa.Table, kind: str) -> dict[str, str]:
    """Per text identity column, what the hash's set-up should expect in every partition,
    looked up once on the whole table (instead of on each partition's first values): the
    shop is one value per partition; other columns few values or many, as their first
    values show.  Only the work depends on it, never the hashes."""
    out = {}
    for c in schema.IDENTITY[kind]:
        col = table.column(c)
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            continue
        if c == "shop":
            out[c] = "one"
            continue
        n = pc.count_distinct(col.slice(0, store_keys._SAMPLE), mode="all").as_py()
        out[c] = "few" if len(col) > store_keys._SAMPLE and n <= store_keys._FEW else "many"
    return out


def _hash_frame(table: pa.Table, cols: list[str]) -> pd.DataFrame:
    """The columns the identity hash reads, as pandas (text stays arrow, no copy)."""
    data = {}
    for c in cols:
        col = table.column(c)
        if pa.types.is_timestamp(col.type):
            data[c] = pd.Series(col.to_numpy(), copy=False)
        else:
            data[c] = pd.Series(pd.arrays.ArrowStringArray(col), copy=False)
    return pd.DataFrame(data, copy=False)


def append_messages(tx: st.Transaction, kind: str, frame: pd.DataFrame) -> st.AppendStats:
    """``tx.append(kind, frame)`` for a conformed, non-empty frame of messages, one
    partition at a time (see the module's docstring).  Raises :class:`NotPipelined`, with
    nothing written, when the frame is for the whole-frame pass: missing shops, times or
    source files, or identity hashes shared by two partitions."""
    tcol = schema.TIME_COLUMN[kind]
    if kind in st.VERSIONED or kind not in st.OCCURRENCE or tcol is None or \
            frame["shop"].isna().any() or frame[tcol].isna().any() or \
            "source_file" not in frame or frame["source_file"].isna().any():
        # (with a missing source file the whole frame's occurrence numbers are counted
        # by a groupby, as floats: hashed differently from a partition's integers)
        raise NotPipelined
    stats = st.AppendStats(rows=len(frame))
    parts = st._partitions(kind, frame)
    table, target = _data_table(kind, frame)
    times = table.column(tcol).to_numpy()
    need = list(schema.IDENTITY[kind]) + ["source_file"]
    how = _cardinality(table, kind)
    written_before = len(tx.new)
    bases: list[np.ndarray] = []
    room = threading.BoundedSemaphore(_AHEAD + store_files._WRITERS)

    def take(pos: np.ndarray) -> tuple[pa.Table, np.ndarray, pd.DataFrame, list]:
        # time order (stable, as Table.sort_by), rows copied once; numpy sorts without the
        # GIL; and the hash's set-up (arrow dictionary encoding of low-cardinality text)
        pos = pos[np.argsort(times[pos], kind="stable")]
        part = st._rows(table, pos)
        hashed = _hash_frame(part, need)
        return part, pos, hashed, st.identity_hashers(kind, hashed, how)

    def write(entry: st.FileEntry, part: pa.Table, k1, k2) -> None:
        try:
            n = part.num_rows
            out = pa.Table.from_arrays(
                part.columns + [pa.array(k1), pa.array(k2), pa.array(np.zeros(n, "uint64")),
                                pa.array(np.full(n, tx.batch, "int64"))], schema=target)
            tx._write_part(kind, entry, out)
        finally:
            room.release()

    root = tx.store.root
    with ThreadPoolExecutor(max_workers=store_files._WRITERS) as pool:
        writes: list = []
        try:
            ahead: collections.deque = collections.deque()
            for shop, month, pos in parts:
                room.acquire()  # released when the partition is written (or has nothing new)
                ahead.append((shop, month, pool.submit(take, pos)))
                if len(ahead) > _AHEAD:
                    writes += _one(tx, kind, stats, ahead.popleft(), need, bases, pool, write, room)
            while ahead:
                writes += _one(tx, kind, stats, ahead.popleft(), need, bases, pool, write, room)
            shared = _shared_hashes(bases)  # while the last files are written
        finally:
            for f in writes:
                f.exception()  # every write has finished before anything is looked at
    for f in writes:
        f.result()  # re-raise the first failure (the transaction rolls all files back)
    if shared:
        for entry in tx.new[written_before:]:
            (root / entry.path).unlink(missing_ok=True)
        del tx.new[written_before:]
        raise NotPipelined
    return stats


def _one(tx, kind, stats, job, need, bases, pool, write, room) -> list:
    """One partition ``(shop, month, its rows being taken)``: its keys (on this thread),
    the checks against the store, its write submitted to ``pool``; the write's future
    (none when nothing is new)."""
    shop, month, fut = job
    part, pos, hashed, hashers = fut.result()
    # occurrences are numbered, and the first of duplicates kept, in the frame's order
    # (``pos``), not the partition's time order: as the whole-frame pass does, whatever
    # the hashes
    k1, k2, distinct, base = st.identity_keys(kind, hashed, keep_base=True, hashers=hashers,
                                              positions=pos)
    bases.append(base)
    keep = np.ones(len(k1), dtype=bool)
    if not distinct:  # duplicates inside the new rows: the first is kept
        order = np.argsort(pos, kind="stable")
        keys = pd.DataFrame({"_k1": k1[order], "_k2": k2[order]})
        keep[order] = ~keys.duplicated(["_k1", "_k2"], keep="first").to_numpy()
        stats.duplicates += int((~keep).sum())
    existing = tx._existing_keys(kind, shop, month)
    if existing.empty:
        stats.added += int(keep.sum())
    else:
        mine = pd.DataFrame({"_k1": k1[keep], "_k2": k2[keep]})
        is_dup = st._isin(mine, existing, ["_k1", "_k2"])
        stats.duplicates += int(is_dup.sum())
        stats.added += int((~is_dup).sum())
        idx = np.flatnonzero(keep)
        keep[idx[is_dup]] = False
    if not keep.any():
        room.release()
        return []
    if not keep.all():
        part = part.filter(pa.array(keep))
        k1, k2 = k1[keep], k2[keep]
    entry = tx._target(kind, str(shop), month)
    entry.rows = part.num_rows
    tx.new.append(entry)
    return [pool.submit(write, entry, part, k1, k2)]


def _shared_hashes(bases: list[np.ndarray]) -> bool:
    """Whether some identity hash occurs in two partitions (then the whole-frame pass
    numbers occurrences differently)."""
    if len(bases) < 2:
        return False
    # each partition's hashes are sorted: a stable (merging) sort of the runs is quick
    every = np.sort(np.concatenate(bases), kind="stable")
    same = every[1:] == every[:-1]
    if not same.any():
        return False
    repeated = np.unique(every[1:][same])
    seen = [np.unique(b[np.isin(b, repeated)]) for b in bases]
    seen = np.sort(np.concatenate(seen))
    return bool((seen[1:] == seen[:-1]).any())
