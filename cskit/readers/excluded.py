"""Excluded buyers: a per-shop list of reported (举报) or blacklisted (拉黑) buyers.

Their messages do not count in the reply rate.  Two shapes are read:

* a table (CSV/XLSX/TSV) with a buyer column and usually a reason column
  (买家/买家ID/用户/客户名/buyer_id; 原因/类型/reason; 时间/日期/举报时间/拉黑时间/since;
  店铺/shop);
* a plain ``.txt`` with one buyer id per line, only when the file name says what
  it is (黑名单/举报/拉黑/excluded/blacklist); the reason comes from the name.

See docs/formats-orders.md, "Excluded buyers".
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cskit.errors import MAPPING_HINT, InputFileError
from cskit.readers import Probe, Reader, register
from cskit.readers.common import (
    ReadOptions,
    ReadResult,
    clean_id,
    clean_str,
    is_summary_row,
    norm_header,
    parse_datetime,
)
from cskit.readers.csvcheck import MARKS
from cskit.schema import EXCLUDED, columns

__all__ = ["read_excluded", "sniff_excluded", "normalise_reason", "reason_from_name",
           "OUTPUT_COLUMNS", "SYNONYMS"]

OUTPUT_COLUMNS = [c for c in columns(EXCLUDED) if c != "source_file"]

SYNONYMS: dict[str, tuple[str, ...]] = {
    "buyer_id": ("buyer_id", "买家", "买家ID", "买家id", "买家昵称", "买家会员名", "用户", "用户ID",
                 "用户名", "客户名", "客户", "buyer"),
    "reason": ("reason", "原因", "类型", "举报原因", "拉黑原因", "排除原因", "处理类型"),
    "since": ("since", "时间", "日期", "举报时间", "拉黑时间", "加入时间", "添加时间"),
    "shop": ("shop", "店铺", "店铺名称", "店铺名"),
    "note": ("备注", "说明", "remark", "note"),  # recognised, not read
}

#: headers of chat logs and order exports: a table holding one is not an excluded list
_OTHER_KIND = re.compile(r"内容|消息|客服|订单|商品|金额|content|message|msg|order", re.I)
_NAME_SIGNAL = re.compile(r"黑名单|举报|拉黑|excluded|exclude|blacklist|blocklist", re.I)
_REASON_HEADER_SIGNAL = re.compile(r"举报|拉黑|黑名单|排除")
_REPORTED = re.compile(r"举报|^reported?$", re.I)
_BLACKLISTED = re.compile(r"拉黑|黑名单|blacklist|blocklist|^blocked$", re.I)


def normalise_reason(raw: pd.Series) -> pd.Series:
    """举报/reported → "reported"; 拉黑/黑名单/blacklist(ed) → "blacklisted"; else the text."""
    t = clean_str(raw)
    rep = t.str.contains(_REPORTED.pattern, flags=re.I, regex=True).fillna(False)
    blk = t.str.contains(_BLACKLISTED.pattern, flags=re.I, regex=True).fillna(False)
    return t.mask(blk, "blacklisted").mask(rep, "reported")


def reason_from_name(path: Path) -> str | None:
    """The reason implied by a file name, or None if the name says nothing."""
    name = path.stem.lower()
    if "举报" in name or "report" in name:
        return "reported"
    if re.search(r"拉黑|黑名单|blacklist|blocklist", name):
        return "blacklisted"
    if "exclude" in name:
        return "excluded"
    return None


def _find(headers: list[str], field: str, mapping: dict[str, str] | None) -> str | None:
    if mapping and mapping.get(field) and norm_header(mapping[field]) in headers:
        return norm_header(mapping[field])
    for syn in SYNONYMS[field]:
        h = norm_header(syn)
        if h in headers:
            return h
    return None


def _foreign_headers() -> set[str]:
    """Headers that only chat-log or order readers know (a sure sign of another kind)."""
    from cskit.readers import REGISTRY

    mine = {norm_header(h) for syns in SYNONYMS.values() for h in syns}
    other: set[str] = set()
    for r in REGISTRY:
        if r.kind != EXCLUDED:
            other |= r.known_headers
    return other - mine


def _is_plain_list(probe: Probe) -> bool:
    return probe.ext == ".txt" and _find(probe.headers, "buyer_id", probe.opts.mapping) is None


def sniff_excluded(path: Path, probe: Probe) -> int:
    """0 unless the file is clearly an excluded-buyers list.

    A table needs a buyer column and the "excluded" signal from the file name,
    a reason header (举报原因, 拉黑原因 …) or reason values (most say 举报/拉黑).
    Without a reason column only the file name can say it, and then the table
    must hold nothing but excluded-list columns.  Tables with headers known to
    the chat-log or order readers score 0.
    """
    name_signal = bool(_NAME_SIGNAL.search(path.name))
    if _is_plain_list(probe):
        return 85 if name_signal and (probe.text or "").strip() else 0
    headers = probe.headers
    if not headers or set(headers) & _foreign_headers() or any(_OTHER_KIND.search(h)
                                                              for h in headers):
        return 0
    mapping = probe.opts.mapping
    buyer = _find(headers, "buyer_id", mapping)
    if buyer is None:
        return 0
    reason = _find(headers, "reason", mapping)
    if reason is None:
        known = {norm_header(h) for syns in SYNONYMS.values() for h in syns}
        only_known = all(h in known or not h for h in headers)
        return 80 if name_signal and only_known else 0
    if name_signal:
        return 90
    raw_reason = probe.table.raw_headers[list(headers).index(reason)] if probe.table else ""
    if _REASON_HEADER_SIGNAL.search(raw_reason or ""):
        return 85
    values = normalise_reason(probe.table.frame[reason].head(200)).dropna()
    if len(values) and values.isin(["reported", "blacklisted"]).mean() >= 0.5:
        return 70
    return 0


def read_excluded(path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    """Read an excluded-buyers list into the canonical ``excluded`` frame."""
    default_reason = reason_from_name(path)
    if _is_plain_list(probe):
        frame, rows, rows_read, rejects = _plain_list(probe)
        reason = pd.Series(default_reason, index=frame.index, dtype="string")
        since = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
        shop = pd.Series(opts.shop, index=frame.index, dtype="string")
        buyer, bad = clean_id(frame["buyer"])
    else:
        table = probe.table
        if table is None:
            if probe._table_error is not None:
                raise probe._table_error
            raise InputFileError("{path}: not a list of excluded buyers", hint=MAPPING_HINT, path=path)
        headers = list(table.frame.columns)
        buyer_col = _find(headers, "buyer_id", opts.mapping)
        if buyer_col is None:
            looked = ", ".join(SYNONYMS["buyer_id"][:6])
            raise InputFileError("{path}: no buyer column found (looked for {looked})",
                                 hint=MAPPING_HINT, path=path, looked=looked)
        rows = table.rows()
        frame = table.frame
        keep = ~frame.isna().all(axis=1) & ~is_summary_row(frame)
        frame, rows = frame[keep], rows[keep]
        rows_read = int(len(frame)) + len(table.rejects)  # (rows the CSV structure lost too)
        rejects = list(table.rejects)
        buyer, bad = clean_id(frame[buyer_col])
        reason_col = _find(headers, "reason", opts.mapping)
        reason = (normalise_reason(frame[reason_col]) if reason_col
                  else pd.Series(pd.NA, index=frame.index, dtype="string"))
        if reason_col:  # 举报原因 / 拉黑原因: the header says what the list is
            raw_header = table.raw_headers[headers.index(reason_col)]
            implied = normalise_reason(pd.Series([raw_header], dtype="string")).iloc[0]
            if implied in ("reported", "blacklisted"):
                known = reason.isin(["reported", "blacklisted"]).fillna(False)
                reason = reason.mask(~known, implied)
        if default_reason:
            reason = reason.fillna(default_reason)
        since_col = _find(headers, "since", opts.mapping)
        if since_col:
            since = parse_datetime(frame[since_col], opts.timezone)
            unparsed = since.isna() & clean_str(frame[since_col]).notna()
            rejects += [(int(r), f"date not understood (column {since_col})")
                        for r in rows[unparsed]]
            keep = ~unparsed
            frame, rows, buyer, bad, reason, since = (
                frame[keep], rows[keep], buyer[keep], bad[keep], reason[keep], since[keep])
        else:
            since = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
        shop_col = _find(headers, "shop", opts.mapping)
        shop = clean_str(frame[shop_col]) if shop_col else \
            pd.Series(pd.NA, index=frame.index, dtype="string")
        if opts.shop:
            shop = shop.fillna(opts.shop)

    missing = buyer.isna()
    bad = bad & ~missing
    rejects += [(int(r), "buyer id missing") for r in rows[missing]]
    rejects += [(int(r), "buyer id damaged by Excel (scientific notation)") for r in rows[bad]]
    out = pd.DataFrame({"shop": shop.astype("string"), "buyer_id": buyer,
                        "reason": reason.astype("string"), "since": since,
                        "source_row": rows.astype("int64")})
    out = out[~(missing | bad)]
    # the same buyer listed twice for the same reason: keep the widest exclusion
    # (no date = always, else the earliest date)
    out = (out.sort_values(["since", "source_row"], na_position="first", kind="stable")
              .drop_duplicates(["shop", "buyer_id", "reason"], keep="first")
              .sort_values("source_row", kind="stable")
              .reset_index(drop=True))
    rejects.sort()
    return ReadResult(kind=EXCLUDED, platform="generic", frame=out[OUTPUT_COLUMNS],
                      rows_read=rows_read, rejects=rejects)


def _plain_list(probe: Probe) -> tuple[pd.DataFrame, pd.Series, int, list]:
    """One buyer id per line; blank lines, ``#`` comments and a header line skipped."""
    lines = pd.Series((probe.text or "").splitlines(), dtype="string")
    rows = pd.Series(range(1, len(lines) + 1), index=lines.index, dtype="int64")
    t = lines.str.strip()
    headerish = {norm_header(h) for h in SYNONYMS["buyer_id"]}
    is_header = (t.map(norm_header).isin(headerish)) & (rows == rows.min())
    keep = (t.fillna("") != "") & ~t.str.startswith("#").fillna(False) & ~is_header
    rejects = []
    for mark, why in MARKS.items():
        marked = t.str.contains(mark, regex=False).fillna(False) & keep
        rejects += [(int(r), why) for r in rows[marked]]
        keep &= ~marked
    frame = pd.DataFrame({"buyer": t[keep]})
    return frame, rows[keep], int(keep.sum()) + len(rejects), rejects


register(Reader(
    name="excluded", kind=EXCLUDED, platform="generic",
    sniff=sniff_excluded, read=read_excluded,
    known_headers=frozenset(h for syns in SYNONYMS.values() for h in syns),
    description="Reported (举报) / blacklisted (拉黑) buyers of a shop",
))
