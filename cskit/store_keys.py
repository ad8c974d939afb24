"""Row identity in the store: the 128-bit key of each row and the hashing that makes it.

Each row gets two uint64 columns ``_k1``/``_k2`` hashed (siphash, keys :data:`_K1` and
:data:`_K2`, never changed) from its identity columns (``cskit.schema.IDENTITY``); for
messages and order items (:data:`OCCURRENCE`) the key also folds in the row's occurrence
number among identical rows of the same source file, so two real identical messages keep
both while the same export ingested twice adds nothing.  Versioned kinds also get ``_h``,
a hash of their content.  Here: how a column is turned into hashable values
(:func:`_col_array`, :func:`_text_values`), the column hashers and the row fold
(:func:`_column_hasher`, :func:`_hash_folds`, :func:`hash_rows`), occurrence numbers
(:func:`_occurrences`) and the keys (:func:`add_keys`, :func:`identity_hashers`,
:func:`identity_keys`), with the knobs that bound their work (:data:`_SAMPLE`,
:data:`_FEW`, :data:`_HASH_BLOCK`, :data:`_PARALLEL_HASH`; patch them here).

Not here: which rows are new or duplicates of stored ones and the writing of part files
(:mod:`cskit.store_write`), the manifest and the directory layout (:mod:`cskit.store_files`),
reading (:mod:`cskit.store`).  Every value hashed here is part of the stored keys: a change
to it changes every key and breaks the idempotence of stores already written.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit import schema
from cskit import store_files as files
from cskit.store_files import VERSIONED

# (cskit.readers.common (the ingest readers) is imported where it is used, so that reading
# the store, as `cskit kpi` does, does not load it)

#: kinds whose identity includes the occurrence number among identical rows of one file
OCCURRENCE = {schema.MESSAGES, schema.ORDER_ITEMS}
_K1, _K2 = "cskit-key-one-01", "cskit-key-two-02"  # 16-byte siphash keys; never change


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
    elif n >= _PARALLEL_HASH and len(cols) > 1 and files._WRITERS > 1:
        # the columns' set-up (arrow dictionary encoding of low-cardinality text, which
        # releases the GIL) runs on several threads; the results are the same
        with ThreadPoolExecutor(max_workers=files._WRITERS) as pool:
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


def _distinct(values: np.ndarray, ordered: np.ndarray | None = None) -> bool:
    """No value occurs twice (sorting beats hashing here, by far on large arrays);
    ``ordered``: ``values`` sorted, when the caller has it."""
    s = np.sort(values) if ordered is None else ordered
    return not bool((s[1:] == s[:-1]).any())
