"""`cskit ingest`: files → readers → validation → one store transaction.

The whole command is all-or-nothing: every file is read and validated first;
only if all of them pass is anything written, in a single store transaction.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from cskit import schema
from cskit.errors import BadRowsError, InputFileError, UsageError
from cskit.i18n import RejectedRows
from cskit.memory import no_huge_pages
from cskit.readers import SUPPORTED_EXT, ReadOptions, ReadResult, read_file
from cskit.readers.order_items import fill_item_shops
from cskit.store import Store

DIR_CONFIG = "cskit.toml"
#: names skipped when walking directories (documentation next to exports)
IGNORED_PREFIXES = (".", "_", "~$")
IGNORED_NAMES = {"readme.md", "readme.txt", "manifest.json", DIR_CONFIG}
DEFAULT_MAX_BAD = 0.05
MAX_REJECTS_SHOWN = 10


@dataclass
class FileReport:
    path: str
    reader: str
    kind: str
    platform: str
    shops: list[str]
    rows_read: int
    rows_added: int = 0
    duplicates: int = 0
    updated: int = 0
    rejected: int = 0
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    rejects: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class IngestReport:
    files: list[FileReport]
    skipped: list[str]

    def by_shop(self) -> pd.DataFrame:
        """One row per (kind, shop): the summary table."""
        rows = []
        for f in self.files:
            rows.append(dict(kind=f.kind, shop=",".join(f.shops), files=1, rows_read=f.rows_read,
                             rows_added=f.rows_added, duplicates=f.duplicates, updated=f.updated,
                             rejected=f.rejected, first=f.first, last=f.last))
        cols = ["kind", "shop", "files", "rows_read", "rows_added", "duplicates", "updated",
                "rejected", "first", "last"]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame(rows)
        agg = df.groupby(["kind", "shop"], sort=True).agg(
            files=("files", "sum"), rows_read=("rows_read", "sum"), rows_added=("rows_added", "sum"),
            duplicates=("duplicates", "sum"), updated=("updated", "sum"),
            rejected=("rejected", "sum"), first=("first", "min"), last=("last", "max")).reset_index()
        return agg[cols]

    def totals(self) -> dict[str, int]:
        return {k: sum(getattr(f, k) for f in self.files)
                for k in ("rows_read", "rows_added", "duplicates", "updated", "rejected")}


# --------------------------------------------------------------------------- files


def collect_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """Expand directories (recursively, sorted). Returns (files, skipped names)."""
    out: list[Path] = []
    skipped: list[str] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if not f.is_file():
                    continue
                rel_parts = f.relative_to(p).parts
                if any(part.startswith(IGNORED_PREFIXES) for part in rel_parts):
                    continue
                if f.name.lower() in IGNORED_NAMES:
                    continue
                if f.suffix.lower() not in SUPPORTED_EXT:
                    skipped.append(str(f))
                    continue
                out.append(f)
        elif p.is_file():
            out.append(p)
        else:
            raise InputFileError("{p}: no such file or directory", p=p)
    # the same file named twice is read once
    seen: set[Path] = set()
    uniq = []
    for f in out:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            uniq.append(f)
    return uniq, skipped


def load_mapping(path: Path) -> dict:
    """Read a mapping TOML: ``[columns]`` canonical name → header in the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError("{path}: cannot read mapping file ({strerror})",
                         path=path, strerror=exc.strerror) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError("{path}: not valid TOML ({reason})", path=path, reason=exc) from None
    cols = data.get("columns", {})
    if not isinstance(cols, dict):
        raise UsageError("{path}: [columns] must be a table of canonical_name = \"header\"", path=path)
    # order_items columns are not mappable (its readers take no mapping)
    allowed = set().union(*(schema.columns(k) for k in schema.KINDS if k != schema.ORDER_ITEMS))
    bad = [k for k in cols if k not in allowed]
    if bad:
        raise UsageError("{path}: unknown canonical column {column!r}",
                         hint="keys are canonical names such as buyer_id, sent_at, content; see docs/schema.md", path=path, column=bad[0])
    return {k: str(v) for k, v in cols.items()}


def dir_config(file: Path, roots: list[Path]) -> dict:
    """Merged ``cskit.toml`` settings from the file's directory up to the ingest root."""
    merged: dict = {}
    d = file.parent.resolve()
    stop = {r.resolve() if r.is_dir() else r.resolve().parent for r in roots}
    chain = []
    while True:
        chain.append(d)
        if d in stop or d.parent == d:
            break
        d = d.parent
    for d in reversed(chain):  # nearer directories override
        cfg = d / DIR_CONFIG
        if cfg.is_file():
            try:
                data = tomllib.loads(cfg.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise UsageError("{cfg}: not valid TOML ({reason})", cfg=cfg, reason=exc) from None
            for key in ("shop", "platform", "encoding", "kind"):
                if key in data:
                    merged[key] = str(data[key])
            if "columns" in data:
                merged["mapping"] = load_mapping(cfg)
    return merged


# --------------------------------------------------------------------------- reading


def _validate(res: ReadResult, path: Path, max_bad: float) -> ReadResult:
    """Reject rows missing required values; enforce the bad-row threshold."""
    frame = res.frame
    kind = res.kind
    rejects = list(res.rejects)
    if not frame.empty:
        missing = pd.Series(False, index=frame.index)
        reasons = pd.Series("", index=frame.index, dtype=object)
        for col in schema.REQUIRED[kind]:
            if col == "shop":
                continue
            if col not in frame.columns:
                raise InputFileError("{path}: no '{col}' column could be found", path=path, col=col)
            m = frame[col].isna() & ~missing
            reasons[m] = f"missing {col}"
            missing |= frame[col].isna()
        if kind == schema.MESSAGES:
            bad_sender = ~frame["sender"].isin(schema.SENDERS) & ~missing
            reasons[bad_sender] = "unknown sender role"
            missing |= bad_sender
        if missing.any():
            rows = frame.loc[missing, "source_row"].astype(int).tolist()
            rejects += list(zip(rows, reasons[missing].tolist()))
            frame = frame.loc[~missing]
    res.frame = frame
    res.rejects = sorted(rejects)
    n_bad = len(res.rejects)
    if res.rows_read and n_bad / res.rows_read > max_bad:
        first = RejectedRows(res.rejects[:3], ", ")
        raise BadRowsError(
            "{path}: {n_bad} of {rows_read} rows cannot be parsed ({first}); file not ingested",
            hint="fix the rows, check --mapping, or raise --max-bad-rows (now {max_bad:.0%})", path=path, n_bad=n_bad, rows_read=res.rows_read, first=first, max_bad=max_bad,
        )
    return res


def read_one(path: Path, *, kind: str | None, platform: str | None, opts: ReadOptions,
             shop_override: str | None, max_bad: float) -> ReadResult:
    res = read_file(path, opts, kind=kind, platform=platform)
    res.frame = _provenance(res.frame, res, path, opts, shop_override,
                            # item lines may take their shop from their orders (_item_shops)
                            check_shop=res.kind != schema.ORDER_ITEMS)
    if res.items is not None:
        res.items = _provenance(res.items, res, path, opts, shop_override, check_shop=True)
    return _validate(res, path, max_bad)


def _provenance(frame: pd.DataFrame, res: ReadResult, path: Path, opts: ReadOptions,
                shop_override: str | None, check_shop: bool) -> pd.DataFrame:
    """``frame`` with its shop (``--shop`` / cskit.toml), platform and source file set."""
    frame = frame.copy()
    if "shop" not in frame.columns:
        frame["shop"] = None
    if shop_override:
        frame["shop"] = shop_override
    elif opts.shop:
        frame["shop"] = frame["shop"].where(frame["shop"].notna(), opts.shop)
    if check_shop and len(frame) and frame["shop"].isna().any():
        raise _no_shop(path)
    if "platform" not in frame.columns or frame["platform"].isna().all():
        frame["platform"] = res.platform
    frame["source_file"] = path.name
    return frame


def _no_shop(path: Path) -> InputFileError:
    return InputFileError("{path}: the file does not say which shop it belongs to",
                          hint="pass --shop NAME, or put shop = \"NAME\" in a cskit.toml next to it", path=path)


def _item_shops(results: list[tuple[Path, ReadResult]], store: Store) -> None:
    """Give item lines without a shop (a 宝贝报表 has no shop column) the shop of their
    order, from the order files of this ingest, else from the store; a file with a line
    whose order is nowhere is refused as a file without a shop."""
    todo = [(f, r) for f, r in results
            if r.kind == schema.ORDER_ITEMS and len(r.frame) and r.frame["shop"].isna().any()]
    if not todo:
        return
    cols = ["shop", "platform", "order_id"]
    known = [r.frame[cols] for _, r in results if r.kind == schema.ORDERS and len(r.frame)]
    if store.exists():
        known.append(store.read(schema.ORDERS, columns=cols))
    orders = pd.concat(known, ignore_index=True) if known else pd.DataFrame(columns=cols)
    for f, r in todo:
        r.frame = fill_item_shops(r.frame, orders)
        if r.frame["shop"].isna().any():
            raise _no_shop(f)


def ingest(paths: list[Path], store: Store, *, kind: str | None = None,
           platform: str | None = None, shop: str | None = None, mapping: Path | None = None,
           encoding: str | None = None, max_bad: float = DEFAULT_MAX_BAD,
           progress: Callable[[str], None] | None = None) -> IngestReport:
    """Read every file, then write all of them in one transaction."""
    with no_huge_pages():
        return _ingest(paths, store, kind=kind, platform=platform, shop=shop, mapping=mapping,
                       encoding=encoding, max_bad=max_bad, progress=progress)


def _ingest(paths: list[Path], store: Store, *, kind: str | None, platform: str | None,
            shop: str | None, mapping: Path | None, encoding: str | None, max_bad: float,
            progress: Callable[[str], None] | None) -> IngestReport:
    files, skipped = collect_files(paths)
    if not files:
        raise InputFileError("no readable export files found in {paths}",
                             hint="cskit reads .csv .tsv .txt .xlsx .json .jsonl exports", paths=", ".join(map(str, paths)))
    user_mapping = load_mapping(mapping) if mapping else None
    results: list[tuple[Path, ReadResult]] = []
    for f in files:
        cfg = dir_config(f, paths)
        opts = ReadOptions(
            encoding=encoding or cfg.get("encoding"),
            shop=shop or cfg.get("shop"),
            mapping=user_mapping or cfg.get("mapping"),
            platform=(platform if platform not in (None, "auto") else cfg.get("platform")),
        )
        k = kind if kind not in (None, "auto") else cfg.get("kind")
        plat = platform if platform not in (None, "auto") else None
        res = read_one(f, kind=k, platform=plat, opts=opts, shop_override=shop, max_bad=max_bad)
        results.append((f, res))
        if progress:
            progress(str(f))
    _item_shops(results, store)
    reports = []
    with store.transaction() as tx:
        for f, res in results:
            stats = tx.append(res.kind, res.frame)
            tcol = schema.TIME_COLUMN[res.kind]
            times = res.frame[tcol] if tcol and len(res.frame) else pd.Series([], dtype="datetime64[s]")
            reports.append(FileReport(
                path=str(f), reader=res.reader, kind=res.kind, platform=res.platform,
                shops=sorted(res.frame["shop"].dropna().unique().tolist()),
                rows_read=res.rows_read, rows_added=stats.added, duplicates=stats.duplicates,
                updated=stats.updated, rejected=len(res.rejects),
                first=times.min() if len(times) else None, last=times.max() if len(times) else None,
                rejects=res.rejects))
            if res.items is not None and len(res.items):
                # the lines of a line-level order export: their rows were read (and
                # counted) as orders above, so rows_read is 0 here
                stats = tx.append(schema.ORDER_ITEMS, res.items)
                reports.append(FileReport(
                    path=str(f), reader=res.reader, kind=schema.ORDER_ITEMS,
                    platform=res.platform, shops=sorted(res.items["shop"].dropna().unique().tolist()),
                    rows_read=0, rows_added=stats.added, duplicates=stats.duplicates,
                    updated=stats.updated))
    return IngestReport(files=reports, skipped=skipped)
