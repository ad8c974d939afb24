"""`cskit ingest`: files → readers → validation → store transactions.

Each file is all-or-nothing and committed on its own: a bad or empty file is
rejected (listed with its reason) and the good ones are stored, so a cron job
still gets its weekly report.  ``strict`` keeps the whole command all-or-nothing:
every file is read and validated first; only if all of them pass is anything
written, in a single store transaction.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from cskit import schema
from cskit.errors import BadRowsError, CskitError, InputFileError, UsageError
from cskit.i18n import RejectedRows
from cskit.memory import no_huge_pages
from cskit.readers import SUPPORTED_EXT, ReadOptions, ReadResult, read_file
from cskit.readers.order_items import fill_item_shops
from cskit.readers.timeparse import DEFAULT_TZ, check_timezone
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
    notes: list = field(default_factory=list)  #: cskit.i18n.Msg notes to show


@dataclass
class Rejected:
    """A file (or a folder) that was not ingested, and why."""

    path: str
    error: CskitError


@dataclass
class IngestReport:
    files: list[FileReport]
    skipped: list[str]
    #: files rejected (nothing of them stored) and folders that could not be read
    rejected: list[Rejected] = field(default_factory=list)

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


def _not_regular(p: Path) -> InputFileError | None:
    """Why ``p`` (which exists) is not a file cskit can read, or None for a regular file."""
    try:
        mode = p.stat().st_mode
    except OSError as exc:
        return InputFileError("{p}: cannot be read ({cause})", p=p, cause=exc.strerror or type(exc).__name__)
    if stat.S_ISREG(mode):
        return None
    return InputFileError("{p}: not a regular file (a pipe, socket or device)",
                          hint="copy the export to a regular file first", p=p)


def _walk(root: Path, out: list[Path], skipped: list[str], problems: list[Rejected]) -> None:
    """Files under ``root`` (sorted); a sub-folder that cannot be read is a problem, never
    skipped in silence."""
    def failed(exc: OSError) -> None:
        where = exc.filename or root
        problems.append(Rejected(str(where), InputFileError(
            "{p}: folder cannot be read ({cause}); its files were not ingested",
            hint="fix the folder's permissions and run the ingest again",
            p=where, cause=exc.strerror or type(exc).__name__)))

    found: list[Path] = []
    seen: set[str] = set()
    # links to folders are followed (as links to files always were), each folder once
    for d, dirs, names in os.walk(root, onerror=failed, followlinks=True):
        real = os.path.realpath(d)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        # ignored folders (hidden, _private) are not walked: an unreadable .Trash is no problem
        dirs[:] = sorted(x for x in dirs if not x.startswith(IGNORED_PREFIXES))
        base = Path(d)
        found.extend(base / n for n in names)
    for f in sorted(found):
        rel_parts = f.relative_to(root).parts
        if any(part.startswith(IGNORED_PREFIXES) for part in rel_parts):
            continue
        if f.name.lower() in IGNORED_NAMES:
            continue
        if f.suffix.lower() not in SUPPORTED_EXT:
            skipped.append(str(f))
            continue
        bad = _not_regular(f)
        if bad is not None:
            problems.append(Rejected(str(f), bad))
            continue
        out.append(f)


def collect_files(paths: Iterable[Path], problems: list[Rejected] | None = None
                  ) -> tuple[list[Path], list[str]]:
    """Expand directories (recursively, sorted). Returns (files, skipped names); folders
    that cannot be read and entries that are not regular files go to ``problems`` (when
    given; else the first is raised)."""
    out: list[Path] = []
    skipped: list[str] = []
    found: list[Rejected] = []
    for p in paths:
        if p.is_dir():
            _walk(p, out, skipped, found)
        elif p.exists():
            bad = _not_regular(p)
            if bad is not None:
                raise bad
            out.append(p)
        else:
            raise InputFileError("{p}: no such file or directory", p=p)
    if found and problems is None:
        raise found[0].error
    if problems is not None:
        problems.extend(found)
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
    """Read a mapping TOML: ``[columns]`` canonical name → header in the file (see
    :mod:`cskit.readers.mapping`: positions, value maps, GBK files)."""
    from cskit.readers.mapping import load_mapping as read_mapping

    return read_mapping(path)


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
            for key in ("shop", "platform", "encoding", "kind", "timezone"):
                if key in data:
                    merged[key] = str(data[key])
            if "encoding" in data:
                from cskit.readers.mapping import check_encoding

                check_encoding(merged["encoding"], where=f"{cfg}: encoding =")
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


def _item_shops(results: list[tuple[Path, ReadResult]], store: Store,
                problems: list | None = None) -> list[tuple[Path, ReadResult]]:
    """Give item lines without a shop (a 宝贝报表 has no shop column) the shop of their
    order, from the order files of this ingest, else from the store.  A file with a line
    whose order is nowhere is refused as a file without a shop: raised, or with
    ``problems`` listed there and left out of the results returned."""
    todo = [(f, r) for f, r in results
            if r.kind == schema.ORDER_ITEMS and len(r.frame) and r.frame["shop"].isna().any()]
    if not todo:
        return results
    cols = ["shop", "platform", "order_id"]
    known = [r.frame[cols] for _, r in results if r.kind == schema.ORDERS and len(r.frame)]
    if store.exists():
        known.append(store.read(schema.ORDERS, columns=cols))
    orders = pd.concat(known, ignore_index=True) if known else pd.DataFrame(columns=cols)
    refused: set[Path] = set()
    for f, r in todo:
        r.frame = fill_item_shops(r.frame, orders)
        if r.frame["shop"].isna().any():
            if problems is None:
                raise _no_shop(f)
            problems.append(Rejected(str(f), _no_shop(f)))
            refused.add(f)
    return [(f, r) for f, r in results if f not in refused]


def _file_reports(f: Path, res: ReadResult, tx) -> list[FileReport]:
    """Append one file's rows (and the order lines of a line-level order export) in the
    transaction ``tx``; its report rows."""
    out = [_file_report(f, res, tx.append(res.kind, res.frame))]
    if res.items is not None and len(res.items):
        # the lines of a line-level order export: their rows were read (and counted) as
        # orders above, so rows_read is 0 here
        stats = tx.append(schema.ORDER_ITEMS, res.items)
        out.append(FileReport(
            path=str(f), reader=res.reader, kind=schema.ORDER_ITEMS, platform=res.platform,
            shops=sorted(res.items["shop"].dropna().unique().tolist()), rows_read=0,
            rows_added=stats.added, duplicates=stats.duplicates, updated=stats.updated))
    return out


def ingest(paths: list[Path], store: Store, *, kind: str | None = None,
           platform: str | None = None, shop: str | None = None, mapping: Path | None = None,
           encoding: str | None = None, max_bad: float = DEFAULT_MAX_BAD,
           progress: Callable[[str], None] | None = None, strict: bool = False,
           timezone: str | None = None) -> IngestReport:
    """Read and store each file on its own (a rejected file is listed in
    ``report.rejected``, the others are committed); with ``strict``, read every file
    first and write all of them in one transaction (the first bad file is raised).

    A single file named on its own that is rejected is raised (there is nothing else to
    keep).  ``timezone``: the shops' local time zone (naive times are local; zoned and
    epoch times are converted to it); else a folder's ``cskit.toml`` ``timezone``, else
    Asia/Shanghai."""
    if timezone is not None:
        _timezone(timezone, "--timezone")
    with no_huge_pages():
        return _ingest(paths, store, kind=kind, platform=platform, shop=shop, mapping=mapping,
                       encoding=encoding, max_bad=max_bad, progress=progress, strict=strict,
                       timezone=timezone)


def _timezone(name: str, where: object) -> str:
    try:
        return check_timezone(name)
    except ValueError:
        raise UsageError("{where}: unknown time zone '{tz}'",
                         hint="use an IANA name such as Asia/Shanghai or Asia/Hong_Kong",
                         where=where, tz=name) from None


def _file_report(f: Path, res: ReadResult, stats) -> FileReport:
    tcol = schema.TIME_COLUMN[res.kind]
    times = res.frame[tcol] if tcol and len(res.frame) else pd.Series([], dtype="datetime64[s]")
    return FileReport(
        path=str(f), reader=res.reader, kind=res.kind, platform=res.platform,
        shops=sorted(res.frame["shop"].dropna().unique().tolist()),
        rows_read=res.rows_read, rows_added=stats.added, duplicates=stats.duplicates,
        updated=stats.updated, rejected=len(res.rejects),
        first=times.min() if len(times) else None, last=times.max() if len(times) else None,
        rejects=res.rejects, notes=list(res.notes))


def _ingest(paths: list[Path], store: Store, *, kind: str | None, platform: str | None,
            shop: str | None, mapping: Path | None, encoding: str | None, max_bad: float,
            progress: Callable[[str], None] | None, strict: bool,
            timezone: str | None = None) -> IngestReport:
    problems: list[Rejected] = []
    files, skipped = collect_files(paths, None if strict else problems)
    if not files and not problems:
        raise InputFileError("no readable export files found in {paths}",
                             hint="cskit reads .csv .tsv .txt .xlsx .json .jsonl exports", paths=", ".join(map(str, paths)))
    user_mapping = load_mapping(mapping) if mapping else None
    store.manifest()  # a file or a foreign folder as --store: said before any file is read

    def read(f: Path) -> ReadResult:
        cfg = dir_config(f, paths)
        opts = ReadOptions(
            encoding=encoding or cfg.get("encoding"),
            shop=shop or cfg.get("shop"),
            mapping=user_mapping or cfg.get("mapping"),
            platform=(platform if platform not in (None, "auto") else cfg.get("platform")),
            timezone=_timezone(timezone or cfg.get("timezone") or DEFAULT_TZ,
                               "--timezone" if timezone else f.parent / DIR_CONFIG),
        )
        k = kind if kind not in (None, "auto") else cfg.get("kind")
        plat = platform if platform not in (None, "auto") else None
        res = read_one(f, kind=k, platform=plat, opts=opts, shop_override=shop, max_bad=max_bad)
        if progress:
            progress(str(f))
        return res

    if strict:
        results = _item_shops([(f, read(f)) for f in files], store)
        reports = []
        with store.transaction() as tx:
            for f, res in results:
                reports += _file_reports(f, res, tx)
        return IngestReport(files=reports, skipped=skipped)

    alone = len(files) == 1 and not problems and all(not p.is_dir() for p in paths)
    results = []
    for f in files:
        try:
            results.append((f, read(f)))
        except (InputFileError, BadRowsError) as exc:  # the file's own fault: the others go on
            if alone:
                raise
            problems.append(Rejected(str(f), exc))
    # a 宝贝报表 takes its shops from the order files read with it: all are read first
    results = _item_shops(results, store, None if alone else problems)
    reports = []
    with contextlib.ExitStack() as held:
        for f, res in results:
            if not reports:  # the store stays locked from the first write to the last
                held.enter_context(store.writing())
            # one file (with its order lines), all-or-nothing; the store is checked and
            # swept by the first one only
            with store.transaction(check=not reports) as tx:
                reports += _file_reports(f, res, tx)
    return IngestReport(files=reports, skipped=skipped, rejected=problems)
