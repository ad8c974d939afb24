"""Generic tabular chat logs: CSV / TSV / XLSX, and JSON(L) lists of flat objects.

Columns are found by header synonyms (Chinese and English, see :data:`SYNONYMS`) or by a
user mapping (``--mapping FILE``, see :func:`parse_mapping`), which wins over synonyms.
The canonical CSV (headers = the schema's own column names) is one case of this.

Who sent a row:

* a role column (账号类型/发送方/角色/sender/role…) mapped by :data:`ROLE_MAP`; an
  unrecognised value rejects the row;
* without a role column (or with an empty role cell) the sender *account* decides:
  a row whose account (发送账号, else the agent column) equals the buyer is ``buyer``,
  any other non-empty account is ``agent``; no account either → rejected.

``agent_id``: the agent column (客服/子账号/agent_id…), else the sender-account column
(发送账号, the browser-extension export), on agent/bot/system rows only: a buyer's own
message has no agent id (docs/schema.md), nor has a row whose "agent" is the buyer.
Full-width colons are normalised (``店铺：小王`` → ``店铺:小王``) and the whole
``店铺:子账号`` string is kept as the id.

``shop``: the shop column, else the ``店铺:`` prefix of the row's agent id, else the
shop found on other rows of the same conversation (or of the whole file when it names
exactly one shop), else ``--shop``, else missing (ingest asks for ``--shop``).

This module also holds the JSON loading shared with :mod:`cskit.readers.pdd_json`
(:func:`json_records`) and the frame finishing shared by all chat readers
(:func:`finish_messages`).
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cskit.errors import MAPPING_HINT, InputFileError
from cskit.readers import Probe, Reader, register
from cskit.readers.common import (
    ReadOptions,
    ReadResult,
    clean_id,
    clean_str,
    from_arrow_str,
    is_summary_row,
    norm_header,
    parse_datetime,
    to_arrow_str,
)
from cskit.schema import MESSAGES, PLATFORMS, SCHEMAS, columns

#: columns a chat reader returns (``source_file`` is added by ingest)
MESSAGE_COLUMNS = [c for c in columns(MESSAGES) if c != "source_file"]
MESSAGE_FIELDS = frozenset(MESSAGE_COLUMNS) - {"source_row"}

#: header synonyms per canonical column, in priority order (normalised with norm_header)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "buyer_id": ("buyer_id", "客户名", "客户", "买家", "买家昵称", "买家账号", "用户", "用户名",
                 "用户昵称", "顾客", "buyer", "buyer_nick", "customer", "customer_id"),
    "agent_id": ("agent_id", "客服账号", "客服", "客服昵称", "子账号", "agent"),
    "sender": ("sender", "账号类型", "发送方", "发送方类型", "角色", "发送者类型", "role",
               "sender_type", "sender_role"),
    "sent_at": ("sent_at", "发送时间", "时间", "消息时间", "聊天时间", "time", "timestamp",
                "send_time", "datetime"),
    "content": ("content", "发送内容", "消息内容", "内容", "聊天内容", "message", "text"),
    "conversation_id": ("conversation_id", "会话ID", "会话编号", "session_id", "conversation"),
    "msg_id": ("msg_id", "消息ID", "消息序号", "消息编号", "message_id"),
    "msg_type": ("msg_type", "消息类型", "message_type"),
    "shop": ("shop", "店铺", "店铺名称", "店铺名", "shop_name"),
    "platform": ("platform", "平台"),
}
#: the *sender's* account (browser-extension exports): agent id on agent/bot rows only
ACCOUNT_SYNONYMS: tuple[str, ...] = ("发送账号", "发送人", "发送者", "发送方账号", "sender_id",
                                     "sender_account")

#: every header this reader knows, normalised
KNOWN_HEADERS = frozenset(norm_header(h) for syns in (*SYNONYMS.values(), ACCOUNT_SYNONYMS)
                          for h in syns)

ROLE_MAP: dict[str, str] = {
    **dict.fromkeys(("买家", "客户", "顾客", "用户", "buyer", "customer", "user"), "buyer"),
    **dict.fromkeys(("客服", "卖家", "商家", "人工", "人工客服", "客服人员", "seller", "agent",
                     "staff", "mall_cs"), "agent"),
    **dict.fromkeys(("机器人", "自动回复", "智能客服", "bot", "robot"), "bot"),
    **dict.fromkeys(("系统", "系统消息", "system"), "system"),
}

PLATFORM_MAP: dict[str, str] = {
    **{p: p for p in PLATFORMS},
    **dict.fromkeys(("拼多多", "pinduoduo"), "pdd"),
    **dict.fromkeys(("淘宝", "天猫", "千牛", "tmall"), "taobao"),
    **dict.fromkeys(("京东",), "jd"),
    **dict.fromkeys(("抖音", "抖店"), "douyin"),
}

REQUIRED_COLUMNS = ("sent_at", "buyer_id", "content")
JSON_EXT = {".json", ".jsonl", ".ndjson"}


# --------------------------------------------------------------------------- mapping file

def parse_mapping(path: Path) -> dict[str, str]:
    """Read a mapping TOML file: a ``[columns]`` table of canonical name → header in the file.

    Keys must be canonical columns of messages, orders or excluded (not ``source_*``);
    values non-empty strings.  Anything else raises :class:`InputFileError` (one line,
    naming the file and the offending key).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read mapping file ({exc.strerror or exc})") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: the mapping file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError(f"{path}: not a valid TOML mapping file ({exc})") from None
    table = doc.get("columns")
    if not isinstance(table, dict):
        raise InputFileError(f"{path}: the mapping file has no [columns] table",
                             hint='write e.g. [columns] then buyer_id = "旺旺名"')
    valid = {c for schema in SCHEMAS.values() for c in schema.names} - {"source_file", "source_row"}
    out: dict[str, str] = {}
    for key, value in table.items():
        if key not in valid:
            raise InputFileError(f"{path}: unknown column '{key}' in [columns]",
                                 hint="valid names: " + ", ".join(sorted(valid)))
        if not isinstance(value, str) or not value.strip():
            raise InputFileError(f"{path}: column '{key}' in [columns] must name a header (a non-empty string)")
        out[key] = value.strip()
    return out


# --------------------------------------------------------------------------- column resolution

@dataclass
class Columns:
    found: dict[str, str] = field(default_factory=dict)  #: canonical -> normalised header
    account: str | None = None  #: sender-account column (发送账号), if any
    mapped: int = 0  #: how many columns came from the user's mapping


def resolve_columns(headers: list[str] | set[str], mapping: dict[str, str] | None) -> Columns:
    """Find the message columns among normalised ``headers`` (mapping first, then synonyms)."""
    hs = set(headers)
    cols = Columns()
    for canon, header in (mapping or {}).items():
        h = norm_header(header)
        if canon in MESSAGE_FIELDS and h in hs:
            cols.found[canon] = h
            cols.mapped += 1
    used = set(cols.found.values())
    for canon, syns in SYNONYMS.items():
        if canon in cols.found:
            continue
        for s in syns:
            h = norm_header(s)
            if h in hs and h not in used:
                cols.found[canon] = h
                used.add(h)
                break
    for s in ACCOUNT_SYNONYMS:
        h = norm_header(s)
        if h in hs and h not in used:
            cols.account = h
            break
    return cols


def _score(cols: Columns) -> int:
    f = cols.found
    if not all(c in f for c in REQUIRED_COLUMNS):
        return 0
    if cols.mapped:
        return 95
    score = 50 + 15 * ("sender" in f) + 10 * ("agent_id" in f or cols.account is not None)
    score += 5 * ("conversation_id" in f) + 5 * ("msg_id" in f) + 5 * ("shop" in f)
    return min(score, 90)


# --------------------------------------------------------------------------- JSON input

@dataclass
class JsonRecords:
    records: list  #: the record objects (dicts)
    rows: list[int]  #: source_row of each record (JSONL line number, else 1-based position)
    bad: list[tuple[int, str]]  #: JSONL lines that are not JSON objects


_LIST_KEYS = ("messages", "message_list", "msg_list", "msgs", "data", "list", "records", "items",
              "result", "rows")


def _is_record_list(v: object) -> bool:
    return isinstance(v, list) and (not v or isinstance(v[0], dict))


def _find_list(doc: object) -> list:
    """The list of records in a JSON document: the array itself, or a list under a
    well-known key of a wrapping object (at most one level of nesting)."""
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        return []
    levels = [doc] + [doc[k] for k in _LIST_KEYS if isinstance(doc.get(k), dict)]
    levels += [v for v in doc.values() if isinstance(v, dict) and not any(v is x for x in levels)]
    for obj in levels:
        for k in _LIST_KEYS:
            if _is_record_list(obj.get(k)):
                return obj[k]
    for obj in levels:
        for v in obj.values():
            if _is_record_list(v) and v:
                return v
    return [doc]  # a single record


def json_records(path: Path, probe: Probe) -> JsonRecords:
    """Parse a JSON array / wrapped object / JSONL file once per probe (cached on it).

    Numbers are kept as their literal text (``parse_int=str``) so long ids never pass
    through floats.  A document that is not valid JSON raises :class:`InputFileError`
    with the line and column; in JSONL, later lines that fail are returned in ``bad``.
    """
    cached = probe.__dict__.get("_chat_json")
    if cached is not None:
        return cached
    text = probe.text or ""
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty")
    try:
        doc = json.loads(text, parse_int=str, parse_float=str)
    except json.JSONDecodeError as exc:
        result = _json_lines(text) if text.lstrip().startswith("{") else None
        # JSON Lines: one object per line; broken lines are rejects.  Anything else that
        # fails to parse (e.g. a broken pretty-printed document) is an invalid file.
        if result is None or not (exc.msg == "Extra data" or len(result.records) >= len(result.bad)):
            raise InputFileError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})",
                                 hint="the file must be a JSON array, an object holding one, or JSON Lines"
                                 ) from None
    else:
        items = _find_list(doc)
        records, rows, bad = [], [], []
        for i, item in enumerate(items, 1):
            if isinstance(item, dict):
                records.append(item)
                rows.append(i)
            else:
                bad.append((i, "not a JSON object"))
        result = JsonRecords(records, rows, bad)
    probe.__dict__["_chat_json"] = result
    return result


def _json_lines(text: str) -> JsonRecords:
    records, rows, bad = [], [], []
    for i, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line, parse_int=str, parse_float=str)
        except json.JSONDecodeError:
            bad.append((i, "invalid JSON line"))
            continue
        if isinstance(obj, dict):
            records.append(obj)
            rows.append(i)
        else:
            bad.append((i, "not a JSON object"))
    return JsonRecords(records, rows, bad)


def is_pdd_record(rec: dict) -> bool:
    frm = rec.get("from")
    return (isinstance(frm, dict) and "role" in frm) or ("ts" in rec and "is_aut" in rec)


def _json_cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    s = str(v)
    return s if s != "" else None


def _json_table(recs: JsonRecords) -> pd.DataFrame:
    """Flat JSON records as a frame of strings with normalised, de-duplicated headers."""
    df = pd.DataFrame(recs.records, dtype=object)
    seen: dict[str, int] = {}
    names = []
    for c in df.columns:
        h = norm_header(c)
        seen[h] = seen.get(h, -1) + 1
        names.append(h if seen[h] == 0 else f"{h}.{seen[h]}")
    df.columns = names
    return df.map(_json_cell) if len(df) else df


# --------------------------------------------------------------------------- shared finishing

def normalise_agent(s: pd.Series) -> pd.Series:
    """Agent ids: full-width colon → ASCII, whitespace around the colon removed."""
    arr = to_arrow_str(s)
    if pc.any(pc.match_substring_regex(arr, r"：|\s:|:\s")).as_py():
        arr = pc.replace_substring_regex(arr, r"\s*[:：]\s*", ":")
    return from_arrow_str(arr, s.index)


def shop_prefix(agent: pd.Series) -> pd.Series:
    """``店铺:子账号`` → ``店铺`` (NA when there is no colon)."""
    arr = to_arrow_str(agent)
    has = pc.fill_null(pc.match_substring(arr, ":"), False)
    head = pc.list_element(pc.split_pattern(pc.fill_null(arr, ""), ":", max_splits=1), 0)
    head = pc.utf8_trim_whitespace(head)
    head = pc.if_else(pc.and_(has, pc.not_equal(head, "")), head, pa.scalar(None, head.type))
    return from_arrow_str(head, agent.index)


def content_text(s: pd.Series) -> pd.Series:
    """Message text: stripped, empty → NA (no empty-marker masking: "无" is a real reply)."""
    t = pd.Series(s.astype("object").where(s.notna(), None), dtype="string").str.strip()
    return t.mask(t == "")


def first_reason(index: pd.Index, checks: list[tuple[pd.Series, str]]) -> pd.Series:
    """Per row the first failing check's reason (NA if none fails)."""
    conds = [np.asarray(pd.Series(c, index=index).fillna(False), dtype=bool) for c, _ in checks]
    out = pd.Series(np.select(conds, [r for _, r in checks], default=""), index=index, dtype="string")
    return out.mask(out == "")


def finish_messages(data: dict[str, object], index: pd.Index, reason: pd.Series, platform: str,
                    rows_read: int, extra_rejects: list[tuple[int, str]] | None = None) -> ReadResult:
    """Assemble the canonical frame (rows without a reject reason) and the ReadResult.

    ``data`` maps canonical columns to Series/scalars aligned on ``index``; missing
    columns become NA.  ``reason`` is NA for good rows.
    """
    ok = reason.isna().to_numpy()
    out: dict[str, pd.Series] = {}
    for c in MESSAGE_COLUMNS:
        v = data.get(c)
        if c == "sent_at":
            s = pd.Series(v, index=index).astype("datetime64[s]")
        elif c == "source_row":
            s = pd.Series(v, index=index).astype("int64")
        else:
            s = pd.Series(v if v is not None else pd.NA, index=index, dtype="string")
        out[c] = s[ok]
    frame = pd.DataFrame(out).reset_index(drop=True)
    src = pd.Series(data["source_row"], index=index).astype("int64")
    rejects = list(zip(src[~ok].tolist(), reason[~ok].tolist()))
    rejects += list(extra_rejects or [])
    rejects.sort(key=lambda r: r[0])
    platforms = frame["platform"].dropna().unique()
    if len(platforms) == 1:
        platform = str(platforms[0])
    return ReadResult(kind=MESSAGES, platform=platform, frame=frame, rows_read=rows_read,
                      rejects=rejects)


def fill_shop(shop: pd.Series, group: pd.Series | None, default: str | None) -> pd.Series:
    """Fill missing shops from the same conversation, then from a file naming one shop only,
    then from ``--shop``."""
    shop = shop.astype("string")
    if group is not None and shop.isna().any() and shop.notna().any():
        per_group = shop.groupby(group.fillna("\x00"), sort=False).transform("first")
        shop = shop.fillna(per_group)
    known = shop.dropna().unique()
    if len(known) == 1:
        shop = shop.fillna(known[0])
    if default:
        shop = shop.fillna(default)
    return shop


def _default_platform(opts: ReadOptions) -> str:
    p = (opts.platform or "").strip().lower()
    return p if p in PLATFORMS else "generic"


# --------------------------------------------------------------------------- the reader

def _nulls(df: pd.DataFrame) -> pd.Series:
    return pd.Series(pd.NA, index=df.index, dtype="string")


def messages_from_strings(df: pd.DataFrame, rows: pd.Series, cols: Columns, opts: ReadOptions,
                          path: Path, extra_rejects: list[tuple[int, str]] | None = None
                          ) -> ReadResult:
    """Turn a frame of strings (normalised headers) into canonical messages."""
    f = cols.found
    missing = [c for c in REQUIRED_COLUMNS if c not in f]
    if missing:
        raise InputFileError(f"{path}: no column for {', '.join(missing)} in this chat log",
                             hint=MAPPING_HINT)
    if "sender" not in f and "agent_id" not in f and cols.account is None:
        raise InputFileError(
            f"{path}: no column says who sent each message (looked for 账号类型/发送方/角色/sender "
            "and 发送账号/客服/agent_id)", hint=MAPPING_HINT)

    blank = df.isna().all(axis=1)
    keep = ~(blank | is_summary_row(df))
    df, rows = df[keep], rows[keep]

    def col(name: str) -> pd.Series:
        return df[f[name]] if name in f else _nulls(df)

    buyer, buyer_bad = clean_id(col("buyer_id"))
    raw_ts = clean_str(col("sent_at"))
    sent_at = parse_datetime(col("sent_at"))

    role = clean_str(col("sender")).str.lower()
    sender = pd.Series(role.map(ROLE_MAP), index=df.index, dtype="string")
    account = normalise_agent(clean_id(df[cols.account] if cols.account else col("agent_id"))[0])
    by_account = pd.Series(np.where((account == buyer).fillna(False), "buyer", "agent"),
                           index=df.index, dtype="string").mask(account.isna())
    sender = sender.mask(role.isna(), by_account)

    agent = normalise_agent(clean_id(col("agent_id"))[0])
    if cols.account:
        agent = agent.fillna(account)
    # agent_id names who sent an agent/bot/system row; a buyer's own message has none
    agent = agent.mask((sender == "buyer").fillna(False) | (agent == buyer).fillna(False))

    default_platform = _default_platform(opts)
    plat_raw = clean_str(col("platform")).str.lower()
    platform = pd.Series(plat_raw.map(PLATFORM_MAP), index=df.index, dtype="string")
    bad_platform = plat_raw.notna() & platform.isna()
    platform = platform.fillna(default_platform)

    conversation = clean_id(col("conversation_id"))[0]
    msg_id, msg_id_bad = clean_id(col("msg_id"))
    msg_id = msg_id.mask(msg_id_bad)
    msg_type = clean_str(col("msg_type")).fillna("text")

    shop = clean_str(col("shop")).fillna(shop_prefix(agent))
    shop = fill_shop(shop, conversation.fillna(buyer), opts.shop)

    reason = first_reason(df.index, [
        (raw_ts.isna(), "missing timestamp"),
        (sent_at.isna(), "bad timestamp"),
        (buyer.isna(), "missing buyer"),
        (buyer_bad, "buyer id mangled to scientific notation"),
        (role.notna() & sender.isna(), "unknown sender role"),
        (sender.isna(), "cannot tell who sent it (no role, no sender account)"),
        (bad_platform, "unknown platform value"),
    ])
    data = {"shop": shop, "platform": platform, "conversation_id": conversation,
            "buyer_id": buyer, "agent_id": agent, "sender": sender, "sent_at": sent_at,
            "content": content_text(col("content")), "msg_type": msg_type, "msg_id": msg_id,
            "source_row": rows}
    n_extra = len(extra_rejects or [])
    return finish_messages(data, df.index, reason, default_platform, len(df) + n_extra, extra_rejects)


def _json_flat(path: Path, probe: Probe) -> JsonRecords | None:
    recs = json_records(path, probe)
    if not recs.records or is_pdd_record(recs.records[0]):
        return None
    return recs


def sniff(path: Path, probe: Probe) -> int:
    if probe.ext in JSON_EXT:
        recs = _json_flat(path, probe)
        if recs is None:
            return 0
        headers = [norm_header(k) for k in recs.records[0]]
    else:
        table = probe.table
        if table is None:
            return 0
        headers = list(table.frame.columns)
    return _score(resolve_columns(headers, probe.opts.mapping))


def read(path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    if probe.ext in JSON_EXT:
        recs = _json_flat(path, probe)
        if recs is None:
            raise InputFileError(f"{path}: no flat chat records found in this JSON file",
                                 hint=MAPPING_HINT)
        df = _json_table(recs)
        rows = pd.Series(recs.rows, index=df.index, dtype="int64")
        cols = resolve_columns(list(df.columns), opts.mapping)
        return messages_from_strings(df, rows, cols, opts, path, recs.bad)
    table = probe.table
    if table is None:
        if probe._table_error is not None:
            raise probe._table_error
        raise InputFileError(f"{path}: not a readable table")
    cols = resolve_columns(list(table.frame.columns), opts.mapping)
    return messages_from_strings(table.frame, table.rows(), cols, opts, path)


register(Reader(
    name="chats-tabular",
    kind=MESSAGES,
    platform="generic",
    sniff=sniff,
    read=read,
    known_headers=KNOWN_HEADERS,
    description="chat log as CSV/TSV/XLSX or JSON records with Chinese or English headers",
))
