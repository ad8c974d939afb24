"""A store read through an fsspec file system: ``--store s3://bucket/cskit-store`` (or any
other fsspec URL: ``file://``, ``gs://``, ``abfs://`` ...), so that Dask workers on other
machines read the same part files (docs/performance.md, "A store the workers can read").

Only reading is supported there: ``cskit ingest`` commits a store by replacing its
manifest in one ``os.replace`` under an ``flock``, which object storage does not offer, so
a store is written on a local disk (or a shared POSIX path) and copied up whole, manifest
last.  Commands that only read (``kpi``, ``report``, ``lost``, ``qc`` ...) accept a URL.

Configuration is fsspec's own: ``FSSPEC_S3='{"client_kwargs": {"endpoint_url": ...}}'``
(Aliyun OSS, Tencent COS and other S3-compatible services), credentials from the usual
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` environment (set on every worker too).
"""

from __future__ import annotations

import re
from pathlib import Path

from cskit.errors import StoreError, UsageError
from cskit.store import MANIFEST, Manifest, Store, _damaged

#: ``scheme://...``; a local path never starts so (``Path`` turns ``s3://b`` into ``s3:/b``,
#: undone by :func:`location`)
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]+):/+(.*)$")


def location(root) -> str | Path | None:
    """``root`` as given on the command line or in ``$CSKIT_STORE``: a URL string (a Path
    that held one is mended: ``s3:/b/x`` → ``s3://b/x``) or a local Path."""
    if root is None:
        return None
    text = str(root)
    m = _URL.match(text)
    if not m or Path(text).exists():
        return Path(root)
    scheme, rest = m.groups()
    if scheme == "file":
        return f"file:///{rest.lstrip('/')}"
    return f"{scheme}://{rest}"


def is_url(root) -> bool:
    return isinstance(root, str) and "://" in root


def open_store(root) -> Store:
    """A :class:`~cskit.store.Store` for a local directory, a :class:`RemoteStore` for a URL."""
    from cskit.store import default_root

    where = location(root if root is not None else default_root())
    return RemoteStore(where) if is_url(where) else Store(where)


class RemoteStore(Store):
    """A cskit store at an fsspec URL, read-only.  Picklable (the file system is opened
    again in each process that reads: a Dask worker gets the URL, not a connection)."""

    def __init__(self, url: str, storage_options: dict | None = None):
        super().__init__(Path("."))
        self.root = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self._fs = None

    def __getstate__(self):
        return {**self.__dict__, "_fs": None}

    @property
    def fs(self):
        """(fsspec file system, path of the store inside it)."""
        if self._fs is None:
            try:
                import fsspec
            except ImportError:
                raise UsageError("{store}: a store at a URL needs fsspec",
                                 hint="pip install 'cskit[dask]' (and s3fs for s3://)",
                                 store=self.root) from None
            try:
                self._fs = fsspec.core.url_to_fs(self.root, **self.storage_options)
            except (ImportError, ValueError) as exc:
                raise UsageError("{store}: cannot open this storage ({error})",
                                 hint="s3:// needs `pip install s3fs`; see docs/performance.md",
                                 store=self.root, error=str(exc).split("\n")[0]) from None
        return self._fs

    def _path(self, rel: str) -> str:
        _, base = self.fs
        return f"{base.rstrip('/')}/{rel}"

    @property
    def manifest_path(self) -> str:
        return f"{self.root}/{MANIFEST}"

    def exists(self) -> bool:
        fs, _ = self.fs
        try:
            return fs.isfile(self._path(MANIFEST))
        except OSError:
            return False

    def manifest(self) -> Manifest:
        fs, _ = self.fs
        try:
            raw = fs.cat_file(self._path(MANIFEST))
        except FileNotFoundError:
            raise StoreError("{store}: no cskit store there (no {MANIFEST})",
                             hint="copy a store up whole, its manifest last (docs/performance.md)",
                             store=self.root, MANIFEST=MANIFEST) from None
        except OSError as exc:
            raise StoreError("{where}: cannot read the store manifest ({cause})",
                             where=self.manifest_path,
                             cause=exc.strerror or type(exc).__name__) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
        return Manifest.from_json(text, self.manifest_path)

    def check(self, manifest: Manifest | None = None) -> None:
        manifest = manifest if manifest is not None else self.manifest()
        fs, _ = self.fs
        for f in manifest.files:
            try:
                ok = fs.size(self._path(f.path)) > 0
            except OSError:
                ok = False
            if not ok:
                raise _damaged(self.root, f.path)

    def _dataset(self, paths: list[str], fmt):
        import pyarrow.dataset as ds

        fs, _ = self.fs
        return ds.dataset([self._path(p) for p in paths], format=fmt, filesystem=fs)

    def _damaged_part(self, paths: list[str]) -> StoreError:
        import pyarrow.parquet as pq

        fs, _ = self.fs
        bad = paths[0] if paths else "?"
        for p in paths:
            try:
                with fs.open(self._path(p), "rb") as fh:
                    pq.read_metadata(fh)
            except Exception:  # noqa: BLE001 - any failure marks the part bad
                bad = p
                break
        return _damaged(self.root, bad)

    def writing(self):
        raise UsageError("{store}: cskit ingest writes a store on a local disk only",
                         hint="ingest into a local --store, then copy it up whole, its manifest "
                              "last (docs/performance.md)", store=self.root)

    def transaction(self, *, check: bool = True):
        return self.writing()
