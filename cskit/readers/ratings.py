"""Service ratings (服务评价 / 满意度): one row per rating a buyer gave an agent.

The platforms' rating exports share a shape — the rated agent (sub-account), the buyer, the
time, the rating and an optional comment — under different headers and scales
(docs/formats-orders.md, "Service ratings"):

- Taobao/Tmall 千牛 服务评价: 很满意 / 满意 / 一般 / 不满意 / 很不满意;
- JD 满意度: a score 1–5 (5 = 非常满意);
- PDD 客服评价 and Douyin 服务评价: 满意 / 不满意 (also 好评 / 中评 / 差评), or stars 1–5.

Every rating is stored as ``score`` 1–5: 很满意/非常满意 = 5, 满意/好评 = 4, 一般/中评 = 3,
不满意/差评 = 2, 很不满意/非常不满意 = 1; a number 1–5 (also ``4星``, ``4分``) is taken as is.
A rating that is none of these is rejected with its row number, never guessed.  Other
headers are named with ``--mapping`` (``rating = "…"`` etc.).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cskit.errors import MAPPING_HINT, InputFileError
from cskit.readers import Probe, Reader, register
from cskit.readers.common import (ReadOptions, ReadResult, clean_id, clean_str, is_summary_row,
                                  norm_header, parse_datetime)
from cskit.schema import RATINGS, columns

__all__ = ["read_ratings", "sniff_ratings", "rating_score", "SYNONYMS", "LEVELS"]

OUTPUT_COLUMNS = [c for c in columns(RATINGS) if c not in ("source_file", "platform")]

SYNONYMS: dict[str, tuple[str, ...]] = {
    "agent_id": ("agent_id", "被评价客服", "评价客服", "接待客服", "客服账号", "客服子账号", "客服昵称",
                 "子账号", "客服", "客服名称"),
    "buyer_id": ("buyer_id", "买家", "买家昵称", "买家账号", "买家ID", "买家id", "用户", "用户ID", "顾客",
                 "客户", "评价人"),
    "rated_at": ("rated_at", "评价时间", "评价日期", "时间", "日期"),
    "score": ("score", "rating", "评价结果", "评价等级", "满意度", "服务评价", "评价", "评分", "分数",
              "星级", "评价星级"),
    "comment": ("comment", "评价内容", "评价备注", "买家留言", "评价详情", "备注", "不满意原因",
                "评价标签", "标签"),
    "shop": ("shop", "店铺", "店铺名称", "店铺名"),
}

#: the words of each score (after removing spaces)
LEVELS: dict[int, tuple[str, ...]] = {
    5: ("很满意", "非常满意", "十分满意", "超满意", "5分", "五星"),
    4: ("满意", "好评", "比较满意", "4分", "四星"),
    3: ("一般", "中评", "还行", "3分", "三星"),
    2: ("不满意", "差评", "不太满意", "2分", "二星"),
    1: ("很不满意", "非常不满意", "极不满意", "1分", "一星"),
}
_WORD_SCORE = {w: s for s, words in LEVELS.items() for w in words}
_NUMBER = re.compile(r"^([1-5])(?:\.0+)?(?:星|分|颗星)?$")
_NAME_SIGNAL = re.compile(r"评价|满意|rating", re.I)
_FOREIGN = re.compile(r"内容$|消息|发送|订单号|金额|content|message|msg|amount", re.I)


def rating_score(raw: pd.Series) -> pd.Series:
    """Each rating as an integer 1–5 (``<NA>`` when it is none of the known words/numbers)."""
    t = clean_str(raw).str.replace(r"\s+", "", regex=True)
    word = t.map(_WORD_SCORE)
    num = t.str.extract(_NUMBER, expand=False)
    out = pd.to_numeric(word.fillna(num), errors="coerce")
    return out.astype("Int64")


def _find(headers: list[str], field: str, mapping: dict[str, str] | None) -> str | None:
    if mapping and mapping.get(field) and norm_header(mapping[field]) in headers:
        return norm_header(mapping[field])
    for syn in SYNONYMS[field]:
        h = norm_header(syn)
        if h in headers:
            return h
    return None


def sniff_ratings(path: Path, probe: Probe) -> int:
    """0 unless the table has an agent, a time and a rating column whose values are ratings
    (or the file name says 评价/满意度 and the rating header does).  A table with message
    content or order amounts is another kind."""
    headers = probe.headers
    if not headers or probe.table is None:
        return 0
    mapping = probe.opts.mapping
    agent, when, score = (_find(headers, f, mapping) for f in ("agent_id", "rated_at", "score"))
    if not (agent and when and score):
        return 0
    known = {norm_header(h) for syns in SYNONYMS.values() for h in syns}
    if any(_FOREIGN.search(h) for h in headers if h not in known):
        return 0
    values = rating_score(probe.table.frame[score].head(200))
    filled = clean_str(probe.table.frame[score].head(200)).notna()
    share = float(values.notna().sum()) / max(int(filled.sum()), 1)
    if share < 0.5:
        return 0
    return 90 if _NAME_SIGNAL.search(path.name) else 80


def read_ratings(path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    """A rating export into the canonical ``ratings`` frame; bad rows rejected by number."""
    table = probe.table
    if table is None:
        if probe._table_error is not None:
            raise probe._table_error
        raise InputFileError("{path}: not a service-rating export", hint=MAPPING_HINT, path=path)
    headers = list(table.frame.columns)
    cols = {f: _find(headers, f, opts.mapping) for f in SYNONYMS}
    for f in ("agent_id", "rated_at", "score"):
        if cols[f] is None:
            looked = ", ".join(SYNONYMS[f][1:6])
            raise InputFileError("{path}: no {field} column found (looked for {looked})",
                                 hint=MAPPING_HINT, path=path, field=f, looked=looked)
    rows = table.rows()
    frame = table.frame
    keep = ~frame.isna().all(axis=1) & ~is_summary_row(frame)
    frame, rows = frame[keep], rows[keep]
    rejects = list(table.rejects)
    rows_read = int(len(frame)) + len(rejects)

    agent = clean_str(frame[cols["agent_id"]])
    buyer = clean_id(frame[cols["buyer_id"]])[0] if cols["buyer_id"] else \
        pd.Series(pd.NA, index=frame.index, dtype="string")
    when = parse_datetime(frame[cols["rated_at"]], opts.timezone)
    score = rating_score(frame[cols["score"]])
    comment = clean_str(frame[cols["comment"]]) if cols["comment"] else \
        pd.Series(pd.NA, index=frame.index, dtype="string")
    shop = clean_str(frame[cols["shop"]]) if cols["shop"] else \
        pd.Series(pd.NA, index=frame.index, dtype="string")
    if opts.shop:
        shop = shop.fillna(opts.shop)

    problems = [
        (agent.isna().to_numpy(), "agent missing"),
        (when.isna().to_numpy(), f"rating time not understood (column {cols['rated_at']})"),
        (score.isna().to_numpy(), f"rating not understood (column {cols['score']}): "
                                  "use 很满意/满意/一般/不满意/很不满意 or 1-5"),
    ]
    bad = np.zeros(len(frame), dtype=bool)
    for mask, why in problems:
        new = mask & ~bad
        rejects += [(int(r), why) for r in rows.to_numpy()[new]]
        bad |= mask
    out = pd.DataFrame({"shop": shop.astype("string"), "agent_id": agent.astype("string"),
                        "buyer_id": buyer.astype("string"), "rated_at": when,
                        "score": score, "comment": comment.astype("string"),
                        "source_row": rows.astype("int64")})[~bad]
    out["score"] = out["score"].astype("int64")
    rejects.sort()
    return ReadResult(kind=RATINGS, platform="generic", frame=out[OUTPUT_COLUMNS].reset_index(drop=True),
                      rows_read=rows_read, rejects=rejects)


register(Reader(
    name="ratings", kind=RATINGS, platform="generic",
    sniff=sniff_ratings, read=read_ratings,
    known_headers=frozenset(h for syns in SYNONYMS.values() for h in syns),
    description="Service ratings (服务评价 / 满意度) per agent",
))
