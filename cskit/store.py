"""The Parquet store: atomic, idempotent appends; column-pruned, filtered reads.

Layout (hive-style directories, one Parquet file per partition per ingest)::

    STORE/
      _cskit_manifest.json                    the committed file list (the only truth)
      messages/shop=<url-quoted>/month=YYYY-MM/part-<batch>-<id>.parquet
      orders/shop=<url-quoted>/month=YYYY-MM/part-<batch>-<id>.parquet
      excluded/shop=<url-quoted>/part-<batch>-<id>.parquet
      order_items/shop=<url-quoted>/part-<batch>-<id>.parquet

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
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
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

# (writing only: cskit.readers.common (the ingest readers) and cskit.versions are imported
# where they are used, so that reading the store, as `cskit kpi` does, does not load them)

MANIFEST = "_cskit_manifest.json"
LOCK = "_cskit.lock"
FORMAT = 1
VERSIONED = {schema.ORDERS, schema.EXCLUDED}
#: kinds whose identity includes the occurrence number among identical rows of one file
OCCURRENCE = {schema.MESSAGES, schema.ORDER_ITEMS}
_K1, _K2 = "cskit-key-one-01", "cskit-key-two-02"  # 16-byte siphash keys; never change
INTERNAL = ["_k1", "_k2", "_h", "_batch"]
_WRITERS = min(4, os.cpu_count() or 1)  #: part files written at once


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


#: text columns with at most _FEW distinct values among their first _SAMPLE values are
#: hashed once per distinct value
_SAMPLE, _FEW = 8192, 4096


def _text_values(s: pd.Series, how: str | None = None
                 ) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray | None]:
    """The values ``_hash_text`` hashes (missing → "\x00") as arrow binary, plus, for
    low-cardinality columns, the index of each row's value in that (distinct-values) array
    (an empty index: one value on every row, the array's only one).  ``how``: what the
    caller knows of the column, instead of a look at its first values: ``"one"`` (one value
    on every row, checked), ``"few"`` (low cardinality) or ``"many"``.  The values hashed
    are the same either way; only the work differs."""
    from cskit.readers.common import arrow_str

    arr = arrow_str(s)
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar("\x00", arr.type))
    idx = None
    if how is None:
        few = len(arr) > _SAMPLE and pc.count_distinct(arr.slice(0, _SAMPLE)).as_py()
    else:
        few = {"one": 1, "few": _FEW}.get(how, 0) if len(arr) else 0
    if few == 1 and pc.all(pc.equal(arr, arr[0])).as_py():
        # one value on every row (a partition's shop): no dictionary to build
        idx, arr = np.zeros(0, dtype="int32"), arr.slice(0, 1)
    elif few and few <= _FEW:
        enc = pc.dictionary_encode(arr)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.unify_dictionaries()
            idx = np.concatenate([c.indices.to_numpy() for c in enc.chunks]) if enc.num_chunks \
                else np.zeros(0, dtype="int32")
            arr = enc.chunk(0).dictionary if enc.num_chunks else pa.array([], arr.type)
        else:
            idx, arr = enc.indices.to_numpy(), enc.dictionary
    binary = pa.large_binary() if pa.types.is_large_string(arr.type) else pa.binary()
    return arr.cast(binary), idx


#: rows hashed at a time (bounds the temporaries, Python ``bytes`` included)
_HASH_BLOCK = 1 << 18
#: from this many rows the columns of a row hash are set up on a thread pool
_PARALLEL_HASH = 50_000


def _hash_text(s: pd.Series, key: str) -> np.ndarray:
    """siphash of each text value (missing → "\x00"); low-cardinality columns hash each
    distinct value once."""
    return _hash_texts(s, [key])[0]


def _hash_texts(s: pd.Series, keys: list[str]) -> list[np.ndarray]:
    return _hash_folds(s.to_frame("v"), ["v"], keys)


def _column_hasher(s: pd.Series, keys: list[str], how: str | None = None):
    """``f(lo, hi) -> [hash of rows lo:hi for each key]`` for one column, as ``hash_rows``
    hashes it.  Text goes to ``hash_array`` as UTF-8 ``bytes`` (hashed exactly as the
    ``str`` they encode, without encoding each value again); low-cardinality text hashes
    each distinct value once (``how``: see :func:`_text_values`)."""
    values = _col_array(s)
    if values is not None:
        return lambda lo, hi: [pd.util.hash_array(values[lo:hi], hash_key=key, categorize=False)
                               for key in keys]
    text, idx = _text_values(s, how)

    def block(lo: int, hi: int) -> list[np.ndarray]:
        part = text.slice(lo, hi - lo)
        obj = part.to_numpy(zero_copy_only=False) if isinstance(part, pa.Array) else part.to_numpy()
        return [pd.util.hash_array(obj, hash_key=key, categorize=False) for key in keys]

    if idx is None:
        return block
    if not len(idx):  # the same value on every row
        one = block(0, 1)
        return lambda lo, hi: [h[0] for h in one]
    distinct = [np.empty(len(text), dtype="uint64") for _ in keys]
    for lo in range(0, len(text), _HASH_BLOCK):
        for d, h in zip(distinct, block(lo, min(lo + _HASH_BLOCK, len(text)))):
            d[lo:lo + len(h)] = h
    return lambda lo, hi: [d[idx[lo:hi]] for d in distinct]


def _hash_folds(frame: pd.DataFrame, cols: list[str], keys: list[str],
                hashers: list | None = None) -> list[np.ndarray]:
    """``hash_rows(frame, cols, key)`` for several keys at once: each column is converted
    once, and rows are folded a block at a time (small temporaries).  ``hashers``: the
    columns' :func:`_column_hasher` for these keys, when the caller set them up already."""
    n = len(frame)
    series = [frame[c] for c in cols]
    if hashers is not None:
        pass
    elif n >= _PARALLEL_HASH and len(cols) > 1 and _WRITERS > 1:
        # the columns' set-up (arrow dictionary encoding of low-cardinality text, which
        # releases the GIL) runs on several threads; the results are the same
        with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
            hashers = list(pool.map(lambda s: _column_hasher(s, keys), series))
    else:
        hashers = [_column_hasher(s, keys) for s in series]
    out = [np.empty(n, dtype="uint64") for _ in keys]
    mult = np.uint64(1000003)
    for lo in range(0, n, _HASH_BLOCK):
        hi = min(lo + _HASH_BLOCK, n)
        hs = [np.zeros(hi - lo, dtype="uint64") for _ in keys]
        for hasher in hashers:
            with np.errstate(over="ignore"):
                for h, part in zip(hs, hasher(lo, hi)):
                    np.multiply(h, mult, out=h)
                    np.bitwise_xor(h, part, out=h)
        for o, h in zip(out, hs):
            o[lo:hi] = h
    return out


def hash_rows(frame: pd.DataFrame, cols: list[str], key: str) -> np.ndarray:
    """A uint64 per row from ``cols`` (order matters), stable across runs."""
    return _hash_folds(frame, cols, [key])[0]


def _cumcount(codes: np.ndarray, k: int) -> np.ndarray:
    """Per row, how many earlier rows have the same code (``groupby(codes).cumcount()``)."""
    n = len(codes)
    if k == n:
        return np.zeros(n, dtype="int64")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=k)
    occ = np.empty(n, dtype="int64")
    occ[order] = np.arange(n, dtype="int64") - np.repeat(np.cumsum(counts) - counts, counts)
    return occ


def _occurrences(src: pd.Series, base: np.ndarray, ordered: np.ndarray | None = None
                 ) -> tuple[np.ndarray, bool]:
    """Occurrence number of each row among rows with the same source file and identity
    hash (``groupby([src, base], sort=False).cumcount()``), and whether the hashes are
    all distinct (then so are the keys made from them).  ``ordered``: ``base`` sorted,
    when the caller has it."""
    from cskit.readers.common import arrow_str

    arr = arrow_str(src)
    if len(arr) and arr.null_count == 0:
        if _distinct(base, ordered):
            return np.zeros(len(base), dtype="int64"), True
        b_codes, b_uniq = pd.factorize(base)
        if pc.all(pc.equal(arr, arr[0])).as_py():  # one source file: group by hash alone
            return _cumcount(b_codes, len(b_uniq)), False
        s_codes, _ = pd.factorize(src)
        codes, uniq = pd.factorize(s_codes.astype("int64") * len(b_uniq) + b_codes)
        return _cumcount(codes, len(uniq)), False
    # missing source files: exactly what groupby makes of them
    return pd.DataFrame({"s": src.to_numpy(), "b": base}).groupby(["s", "b"], sort=False) \
        .cumcount().to_numpy(), False


def add_keys(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``_k1``/``_k2`` (identity) and ``_h`` (content) columns.

    For messages the identity hash also folds in ``_occ``, the row's occurrence number
    among rows of the same source file with the same identity columns:
    ``_k = hash_rows(ident + ["_occ"])``, computed as ``(base * 1000003) ^ hash(_occ)``
    from the identity-only fold ``base`` (the same value, one pass fewer)."""
    return _add_keys(kind, frame)[0]


def _add_keys(kind: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """:func:`add_keys`, and whether ``_k1`` is known to be distinct on every row."""
    out = frame.copy()
    k1, k2, distinct, _ = identity_keys(kind, out)
    out["_k1"] = k1
    out["_k2"] = k2
    content = [c for c in schema.columns(kind) if c not in ("source_file", "source_row")]
    out["_h"] = hash_rows(out, content, _K1) if kind in VERSIONED else np.uint64(0)
    return out.drop(columns=["_occ"], errors="ignore"), distinct


def identity_hashers(kind: str, frame: pd.DataFrame, how: dict[str, str] | None = None
                     ) -> list:
    """The set-up of :func:`identity_keys` (``hashers``): arrow work mostly, without the GIL.
    ``how``: per text column, what is known of its values (see :func:`_text_values`)."""
    how = how or {}
    return [_column_hasher(frame[c], [_K1, _K2], how.get(c)) for c in schema.IDENTITY[kind]]


def identity_keys(kind: str, frame: pd.DataFrame, keep_base: bool = False,
                  hashers: list | None = None, positions: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray | None]:
    """``(_k1, _k2, distinct, base)`` of :func:`add_keys` for the rows of ``frame``:
    ``distinct`` whether ``_k1`` is known to be distinct on every row; ``base`` (with
    ``keep_base``, for kinds with an occurrence number) the identity-only hash ``_k1`` was
    folded from, sorted.  ``hashers``: :func:`identity_hashers` of ``frame``, set up already.
    ``positions``: each row's place in the order occurrences are counted in (the order of
    the frame the rows were taken from; by default the order of ``frame``)."""
    ident = list(schema.IDENTITY[kind])
    k1, k2 = _hash_folds(frame, ident, [_K1, _K2], hashers)
    distinct = False
    base = None
    if kind in OCCURRENCE:
        src = frame["source_file"] if "source_file" in frame else pd.Series("", index=frame.index)
        if keep_base:
            base = np.sort(k1)
        if positions is not None and not _distinct(k1, base):
            order = np.argsort(positions, kind="stable")
            counted, distinct = _occurrences(src.iloc[order], k1[order], base)
            occ = np.empty_like(counted)
            occ[order] = counted
        else:
            occ, distinct = _occurrences(src, k1, base)
        occ = _col_array(pd.Series(occ, index=frame.index))
        mult = np.uint64(1000003)
        with np.errstate(over="ignore"):
            for h, key in ((k1, _K1), (k2, _K2)):
                np.multiply(h, mult, out=h)
                np.bitwise_xor(h, pd.util.hash_array(occ, hash_key=key, categorize=False), out=h)
        # with distinct identity hashes occ is 0 everywhere, and x -> (x * odd) ^ c is
        # one-to-one: the keys are distinct too
    return k1, k2, distinct, base


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
            raise StoreError("{where}: the store manifest is damaged or from another cskit version",
                             hint="point --store at a new directory and ingest again", where=where) from None


@dataclass
class AppendStats:
    rows: int = 0  #: rows offered
    added: int = 0
    duplicates: int = 0
    updated: int = 0  #: new versions of known orders / excluded buyers


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
        with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
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
        if len(dirs) > 1 and _WRITERS > 1:  # waiting on the disk: several at a time
            with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
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


def _distinct(values: np.ndarray, ordered: np.ndarray | None = None) -> bool:
    """No value occurs twice (sorting beats hashing here, by far on large arrays);
    ``ordered``: ``values`` sorted, when the caller has it."""
    s = np.sort(values) if ordered is None else ordered
    return not bool((s[1:] == s[:-1]).any())


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
