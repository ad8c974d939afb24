"""The Parquet store: atomic, idempotent appends; column-pruned, filtered reads.

Layout (hive-style directories, one Parquet file per partition per ingest)::

    STORE/
      _cskit_manifest.json                    the committed file list (the only truth)
      messages/shop=<url-quoted>/month=YYYY-MM/part-<batch>-<id>.parquet
      orders/shop=<url-quoted>/month=YYYY-MM/part-<batch>-<id>.parquet
      excluded/shop=<url-quoted>/part-<batch>-<id>.parquet

*Atomic*: a transaction writes new part files, then replaces the manifest in
one ``os.replace``.  Readers only see files listed in the manifest, so a crash
mid-way changes nothing visible; an exception removes the new files, leaving
the directory byte-identical; files left by a hard kill are swept on the next
write.

*Idempotent*: each row gets a 128-bit key (two uint64 columns ``_k1``/``_k2``)
hashed from its identity columns (``cskit.schema.IDENTITY``).  For messages the
key also includes the row's occurrence number among identical rows of the
same source file, so a buyer who really sent "在吗" twice in one second keeps
both, while the same export ingested twice adds nothing.  Orders and excluded
buyers are *versioned*: the key is the order id; a re-export with changed
content (an order that got paid) appends a new version, readers see the
latest.

*Safe*: shop names are URL-quoted into one path segment (``../x`` becomes
``..%2Fx``) and every path is checked to stay inside the store.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from cskit import schema
from cskit.errors import StoreError
from cskit.readers.common import to_arrow_str

MANIFEST = "_cskit_manifest.json"
LOCK = "_cskit.lock"
FORMAT = 1
VERSIONED = {schema.ORDERS, schema.EXCLUDED}
_K1, _K2 = "cskit-key-one-01", "cskit-key-two-02"  # 16-byte siphash keys; never change
INTERNAL = ["_k1", "_k2", "_h", "_batch"]


def default_root() -> Path:
    return Path(os.environ.get("CSKIT_STORE") or "cskit-store")


# --------------------------------------------------------------------------- hashing


def _col_array(s: pd.Series) -> np.ndarray:
    """A column as something ``hash_array`` hashes stably across pandas versions."""
    if pd.api.types.is_datetime64_any_dtype(s):
        v = s.astype("datetime64[s]")
        return np.where(v.isna(), np.int64(-(2**63)), v.to_numpy().astype("int64"))
    if pd.api.types.is_float_dtype(s):
        return np.round(s.to_numpy(dtype="float64", na_value=np.nan) * 100).astype("float64")
    if pd.api.types.is_integer_dtype(s):
        return s.astype("float64").fillna(-1.0).to_numpy()
    return None  # text: see _hash_text


def _hash_text(s: pd.Series, key: str) -> np.ndarray:
    """siphash of each text value (missing → "\x00"), hashing each distinct value once:
    pyarrow dictionary-encodes, ``hash_array`` hashes the dictionary."""
    arr = to_arrow_str(s).fill_null("\x00")
    enc = pc.dictionary_encode(arr)
    uniq = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
    hu = pd.util.hash_array(uniq, hash_key=key, categorize=False)
    return hu[enc.indices.to_numpy(zero_copy_only=False)]


def hash_rows(frame: pd.DataFrame, cols: list[str], key: str) -> np.ndarray:
    """A uint64 per row from ``cols`` (order matters), stable across runs."""
    h = np.zeros(len(frame), dtype="uint64")
    mult = np.uint64(1000003)
    for c in cols:
        values = _col_array(frame[c])
        if values is None:
            part = _hash_text(frame[c], key)
        else:
            part = pd.util.hash_array(values, hash_key=key, categorize=False)
        with np.errstate(over="ignore"):
            h = (h * mult) ^ part
    return h


def add_keys(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``_k1``/``_k2`` (identity) and ``_h`` (content) columns."""
    ident = list(schema.IDENTITY[kind])
    out = frame.copy()
    if kind == schema.MESSAGES:
        base = hash_rows(out, ident, _K1)
        src = out["source_file"] if "source_file" in out else pd.Series("", index=out.index)
        occ = pd.DataFrame({"s": src.to_numpy(), "b": base}).groupby(["s", "b"], sort=False).cumcount()
        out["_occ"] = occ.to_numpy()
        ident = ident + ["_occ"]
    out["_k1"] = hash_rows(out, ident, _K1)
    out["_k2"] = hash_rows(out, ident, _K2)
    content = [c for c in schema.columns(kind) if c not in ("source_file", "source_row")]
    out["_h"] = hash_rows(out, content, _K1) if kind in VERSIONED else np.uint64(0)
    return out.drop(columns=["_occ"], errors="ignore")


# --------------------------------------------------------------------------- manifest


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
            raise StoreError(f"{where}: the store manifest is damaged or from another cskit version",
                             hint="point --store at a new directory and ingest again") from None


@dataclass
class AppendStats:
    rows: int = 0  #: rows offered
    added: int = 0
    duplicates: int = 0
    updated: int = 0  #: new versions of known orders / excluded buyers


def _partition_dir(kind: str, shop: str, month: str | None) -> str:
    seg = f"{kind}/shop={quote(shop, safe='')}"
    return f"{seg}/month={month}" if month else seg


class Store:
    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_root()

    # ---------------------------------------------------------------- reading
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def manifest(self) -> Manifest:
        if not self.exists():
            foreign = [p for p in self.root.iterdir() if p.name not in (LOCK, MANIFEST + ".tmp")] \
                if self.root.is_dir() else []
            if foreign and not any((self.root / k).exists() for k in schema.KINDS):
                raise StoreError(f"{self.root}: not a cskit store (no {MANIFEST})",
                                 hint="use an empty directory or an existing cskit store for --store")
            return Manifest()
        return Manifest.from_json(self.manifest_path.read_text(encoding="utf-8"), self.manifest_path)

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
             time_slack: dt.timedelta = dt.timedelta(0)) -> pd.DataFrame:
        """Rows of ``kind`` (latest version for versioned kinds).

        ``since``/``until`` (inclusive dates) filter on the kind's time column,
        widened by ``time_slack`` at the end (replies after the range).  Only
        ``columns`` are read from disk.
        """
        tcol = schema.TIME_COLUMN[kind]
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
        dataset = ds.dataset([str(self.root / f.path) for f in entries], format="parquet")
        flt = None
        if shops:
            flt = ds.field("shop").isin(shops)
        if tcol and since is not None:
            c = ds.field(tcol) >= pa.scalar(pd.Timestamp(since).to_pydatetime(), type=schema.TS)
            flt = c if flt is None else flt & c
        if tcol and until_ts is not None:
            c = ds.field(tcol) < pa.scalar(until_ts.to_pydatetime(), type=schema.TS)
            flt = c if flt is None else flt & c
        table = dataset.to_table(columns=read_cols, filter=flt)
        frame = table.to_pandas()
        if kind in VERSIONED and len(frame):
            frame = (frame.sort_values("_batch", kind="stable")
                     .drop_duplicates(["_k1", "_k2"], keep="last"))
            frame = frame[want].reset_index(drop=True)
        return frame

    # ---------------------------------------------------------------- writing
    @contextlib.contextmanager
    def transaction(self):
        """All-or-nothing: ``with store.transaction() as tx: tx.append(kind, frame)``."""
        self.root.mkdir(parents=True, exist_ok=True)
        lock = open(self.root / LOCK, "a+")  # noqa: SIM115 - closed below
        try:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise StoreError(f"{self.root}: another cskit ingest is writing this store",
                                 hint="wait for it to finish") from None
            manifest = self.manifest()
            self._sweep(manifest)
            tx = Transaction(self, manifest)
            try:
                yield tx
            except BaseException:
                tx.rollback()
                raise
            tx.commit()
        finally:
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


class Transaction:
    def __init__(self, store: Store, manifest: Manifest):
        self.store = store
        self.manifest = manifest
        self.batch = manifest.batch + 1
        self.new: list[FileEntry] = []
        self.created_dirs: list[Path] = []

    def _existing_keys(self, kind: str, shop: str, month: str | None) -> pd.DataFrame:
        paths = [f.path for f in self.manifest.files + self.new
                 if f.kind == kind and f.shop == shop and f.month == month]
        cols = ["_k1", "_k2", "_h"]
        if not paths:
            return pd.DataFrame({c: pd.Series(dtype="uint64") for c in cols})
        return ds.dataset([str(self.store.root / p) for p in paths], format="parquet") \
            .to_table(columns=cols).to_pandas()

    def append(self, kind: str, frame: pd.DataFrame) -> AppendStats:
        """Add ``frame`` (canonical columns of ``kind``) to the store; returns counts."""
        stats = AppendStats(rows=len(frame))
        if frame.empty:
            return stats
        frame = conform(kind, frame)
        keyed = add_keys(kind, frame)
        versioned = kind in VERSIONED
        # duplicates inside the new data itself (overlapping files in one ingest)
        before = len(keyed)
        keyed = keyed.drop_duplicates(["_k1", "_k2", "_h"], keep="last" if versioned else "first")
        stats.duplicates += before - len(keyed)
        if versioned:  # several versions of one order in this batch: keep the last
            keyed = keyed.drop_duplicates(["_k1", "_k2"], keep="last")
        tcol = schema.TIME_COLUMN[kind]
        if tcol:
            keyed["_month"] = keyed[tcol].dt.strftime("%Y-%m")
        else:
            keyed["_month"] = None
        for (shop, month), part in keyed.groupby(["shop", "_month"], sort=True, dropna=False):
            month = None if (month is None or (isinstance(month, float) and np.isnan(month))) else month
            existing = self._existing_keys(kind, shop, month)
            ids = ["_k1", "_k2"]
            full = ids + ["_h"] if versioned else ids
            is_dup = _isin(part, existing, full)
            is_known = _isin(part, existing, ids)
            new_rows = part[~is_dup]
            stats.duplicates += int(is_dup.sum())
            stats.updated += int((is_known & ~is_dup).sum())
            stats.added += int((~is_known).sum())
            if len(new_rows):
                self._write(kind, str(shop), month, new_rows.drop(columns=["_month"]))
        return stats

    def _write(self, kind: str, shop: str, month: str | None, rows: pd.DataFrame) -> None:
        root = self.store.root.resolve()
        rel_dir = _partition_dir(kind, shop, month)
        target_dir = (root / rel_dir).resolve()
        if root not in target_dir.parents:
            raise StoreError(f"shop name {shop!r} would write outside the store")
        if not target_dir.exists():
            # remember the first directory level we create, for rollback
            p = target_dir
            while not p.parent.exists():
                p = p.parent
            target_dir.mkdir(parents=True, exist_ok=True)
            self.created_dirs.append(p)
        name = f"part-{self.batch:06d}-{uuid.uuid4().hex[:12]}.parquet"
        rows = rows.assign(_batch=np.int64(self.batch))
        sch = schema.SCHEMAS[kind]
        full = pa.schema(list(sch) + [pa.field("_k1", pa.uint64()), pa.field("_k2", pa.uint64()),
                                      pa.field("_h", pa.uint64()), pa.field("_batch", pa.int64())])
        table = pa.Table.from_pandas(rows[full.names], schema=full, preserve_index=False)
        # sort by time so row-group statistics prune time filters
        tcol = schema.TIME_COLUMN[kind]
        if tcol:
            table = table.sort_by([(tcol, "ascending")])
        path = target_dir / name
        pq.write_table(table, path, compression="zstd", row_group_size=256_000)
        self.new.append(FileEntry(path=f"{rel_dir}/{name}", kind=kind, shop=shop, month=month,
                                  rows=table.num_rows, batch=self.batch))

    def rollback(self) -> None:
        root = self.store.root
        for f in self.new:
            with contextlib.suppress(FileNotFoundError):
                (root / f.path).unlink()
        for d in reversed(self.created_dirs):
            _rmtree_empty(d)
        self.new = []

    def commit(self) -> None:
        if not self.new:
            return
        m = Manifest(batch=self.batch, files=self.manifest.files + self.new)
        tmp = self.store.root / (MANIFEST + ".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(m.to_json())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.store.manifest_path)
        self.manifest = m


def _isin(part: pd.DataFrame, existing: pd.DataFrame, cols: list[str]) -> np.ndarray:
    if existing.empty:
        return np.zeros(len(part), dtype=bool)
    return pd.MultiIndex.from_frame(part[cols]).isin(pd.MultiIndex.from_frame(existing[cols]))


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
