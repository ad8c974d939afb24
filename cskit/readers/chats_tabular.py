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
from cskit.readers.json_guard import check_depth, raise_too_deep
from cskit.readers.mapping import apply_value_maps
from cskit.readers.pii import check_mapped
from cskit.readers.common import (
    ReadOptions,
    ReadResult,
    all_missing,
    arrow_str,
    clean_arrow,
    clean_id_arrow,
    from_arrow_str,
    is_summary_row,
    no_invalid_bytes,
    norm_header,
    per_value,
    run_jobs,
    to_bool,
)
from cskit.readers.csvcheck import MIXED_MARK, mark_reason
from cskit.readers.timeparse import BAD, date_in_name, parse_dates_only, parse_timestamps
from cskit.schema import MESSAGES, PLATFORMS, SCHEMAS, columns

#: columns a chat reader returns (``source_file`` is added by ingest)
MESSAGE_COLUMNS = [c for c in columns(MESSAGES) if c != "source_file"]
MESSAGE_FIELDS = frozenset(MESSAGE_COLUMNS) - {"source_row"}

#: header synonyms per canonical column, in priority order (normalised with norm_header)
SYNONYMS: dict[str, tuple[str, ...]] = {
    "buyer_id": ("buyer_id", "客户名", "客户", "买家", "买家昵称", "买家账号", "旺旺名", "旺旺", "用户", "用户名",
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
    # the product of the conversation (JD 咚咚 exports: the SKU the buyer came from)
    "item_id": ("item_id", "sku", "sku_id", "skuid", "商品编号", "商品ID", "商品id", "SKU编号"),
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
#: files with at least this many rows clean their columns on several threads
PARALLEL_ROWS = 50_000
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
        raise InputFileError("{path}: cannot read mapping file ({reason})",
                             path=path, reason=exc.strerror or exc) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputFileError("{path}: the mapping file is not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputFileError("{path}: not a valid TOML mapping file ({reason})",
                             path=path, reason=exc) from None
    table = doc.get("columns")
    if not isinstance(table, dict):
        raise InputFileError("{path}: the mapping file has no [columns] table",
                             hint='write e.g. [columns] then buyer_id = "旺旺名"', path=path)
    valid = {c for schema in SCHEMAS.values() for c in schema.names} - {"source_file", "source_row"}
    out: dict[str, str] = {}
    for key, value in table.items():
        if key not in valid:
            raise InputFileError("{path}: unknown column '{key}' in [columns]",
                                 hint="valid names: {names}", path=path, key=key, names=", ".join(sorted(valid)))
        if not isinstance(value, str) or not value.strip():
            raise InputFileError("{path}: column '{key}' in [columns] must name a header (a non-empty string)",
                                 path=path, key=key)
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
        raise InputFileError("{path}: the file is empty", path=path)
    check_depth(text, path)
    try:
        doc = json.loads(text, parse_int=str, parse_float=str)
    except RecursionError:
        raise_too_deep(path)
    except json.JSONDecodeError as exc:
        result = _json_lines(text) if text.lstrip().lstrip(MIXED_MARK).startswith("{") else None
        # JSON Lines: one object per line; broken lines are rejects.  Anything else that
        # fails to parse (e.g. a broken pretty-printed document) is an invalid file.
        if result is None or not (exc.msg == "Extra data" or len(result.records) >= len(result.bad)):
            no_invalid_bytes(text, path)  # a line in another encoding: say so
            raise InputFileError("{path}: invalid JSON at line {lineno} column {colno} ({msg})",
                                 hint="the file must be a JSON array, an object holding one, or JSON Lines", path=path, lineno=exc.lineno, colno=exc.colno, msg=exc.msg
                                 ) from None
    else:
        no_invalid_bytes(text, path)
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
        why = mark_reason(line)
        if why:
            bad.append((i, why))
            continue
        try:
            obj = json.loads(line, parse_int=str, parse_float=str)
        except RecursionError:
            bad.append((i, "JSON nested too deeply"))
            continue
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
    if "response" in rec and isinstance(rec.get("message"), dict):  # a push envelope
        rec = rec["message"]
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

def _normalise_agent(arr):
    if pc.any(pc.match_substring_regex(arr, r"：|\s:|:\s")).as_py():
        arr = pc.replace_substring_regex(arr, r"\s*[:：]\s*", ":")
    return arr


def normalise_agent(s: pd.Series) -> pd.Series:
    """Agent ids: full-width colon → ASCII, whitespace around the colon removed."""
    return from_arrow_str(per_value(arrow_str(s), _normalise_agent), s.index)


def _shop_prefix(arr):
    has = pc.fill_null(pc.match_substring(arr, ":"), False)
    head = pc.list_element(pc.split_pattern(pc.fill_null(arr, ""), ":", max_splits=1), 0)
    head = pc.utf8_trim_whitespace(head)
    return pc.if_else(pc.and_(has, pc.not_equal(head, "")), head, pa.scalar(None, head.type))


def shop_prefix(agent: pd.Series) -> pd.Series:
    """``店铺:子账号`` → ``店铺`` (NA when there is no colon)."""
    return from_arrow_str(per_value(arrow_str(agent), _shop_prefix), agent.index)


def _content_text(arr):
    arr = pc.utf8_trim_whitespace(arr)
    empty = pc.equal(arr, "")
    if pc.any(empty).as_py():
        arr = pc.if_else(empty, pa.scalar(None, arr.type), arr)
    return arr


def content_text(s: pd.Series) -> pd.Series:
    """Message text: stripped, empty → NA (no empty-marker masking: "无" is a real reply)."""
    if isinstance(s.dtype, pd.StringDtype):  # arrow-backed text: stay in arrow
        return from_arrow_str(per_value(arrow_str(s), _content_text), s.index)
    t = pd.Series(s.astype("object").where(s.notna(), None), dtype="string").str.strip()
    return t.mask(t == "")


def first_reason(index: pd.Index, checks: list[tuple[object, str]]) -> pd.Series:
    """Per row the first failing check's reason (NA if none fails).

    Checks are boolean Series / numpy / arrow arrays (missing = passes)."""
    conds = [to_bool(c) if not isinstance(c, pd.Series) else
             np.asarray(pd.Series(c, index=index).fillna(False), dtype=bool) for c, _ in checks]
    codes = np.select(conds, np.arange(1, len(checks) + 1, dtype=np.int32), default=0) \
        if checks else np.zeros(len(index), dtype=np.int32)
    labels = pa.array([None] + [r for _, r in checks], type=pa.string())
    return from_arrow_str(labels.take(pa.array(codes.astype(np.int32, copy=False))), index)


def finish_messages(data: dict[str, object], index: pd.Index, reason: pd.Series, platform: str,
                    rows_read: int, extra_rejects: list[tuple[int, str]] | None = None) -> ReadResult:
    """Assemble the canonical frame (rows without a reject reason) and the ReadResult.

    ``data`` maps canonical columns to Series/scalars aligned on ``index``; missing
    columns become NA.  ``reason`` is NA for good rows.
    """
    ok = reason.isna().to_numpy()
    all_ok = bool(ok.all())
    out: dict[str, pd.Series] = {}
    for c in MESSAGE_COLUMNS:
        v = data.get(c)
        if c == "sent_at":
            s = pd.Series(v, index=index).astype("datetime64[s]")
        elif c == "source_row":
            s = pd.Series(v, index=index).astype("int64")
        else:
            s = pd.Series(v if v is not None else pd.NA, index=index, dtype="string")
        out[c] = s if all_ok else s[ok]
    frame = pd.DataFrame(out).reset_index(drop=True)
    src = pd.Series(data["source_row"], index=index).astype("int64")
    rejects = [] if all_ok else list(zip(src[~ok].tolist(), reason[~ok].tolist()))
    rejects += list(extra_rejects or [])
    rejects.sort(key=lambda r: r[0])
    platforms = pc.unique(pc.drop_null(arrow_str(frame["platform"])))
    if len(platforms) == 1:
        platform = str(platforms[0].as_py())
    return ReadResult(kind=MESSAGES, platform=platform, frame=frame, rows_read=rows_read,
                      rejects=rejects)


def fill_shop(shop: pd.Series, group: pd.Series | None, default: str | None) -> pd.Series:
    """Fill missing shops from the same conversation, then from a file naming one shop only,
    then from ``--shop``."""
    shop = shop.astype("string")
    if not shop.isna().any():
        return shop
    if group is not None and shop.notna().any():
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

def _map_lower(arr, mapping: dict[str, str]):
    """``arr.str.lower().map(mapping)`` (unmapped → missing), once per distinct value."""
    def fn(a):
        return pa.array([mapping.get(v) for v in pc.utf8_lower(a).to_pylist()], type=pa.string())
    return per_value(arr, fn)


_TIME_ONLY_CELL = r"^\s*\d{1,2}:\d\d(:\d\d)?(\.\d+)?\s*$"


def row_days(df: pd.DataFrame, time_col: str, path: Path, sheet: str | None
             ) -> tuple[pd.Series | None, np.ndarray]:
    """For exports writing 发送时间 as a time only (``20:57:11``): the date of each row and
    which rows are date lines.

    A date line is a row whose only non-empty cell is a date by itself (``2026-11-20``); it
    dates the rows after it.  Rows before any date line take the one date the file or sheet
    name gives (``聊天记录_2026-11-20.xlsx``, sheet ``2026-11-20``), else none (they are
    rejected as "date missing").  ``(None, no rows)`` when no cell holds a time only."""
    none = np.zeros(len(df), dtype=bool)
    ts = arrow_str(df[time_col])
    if not pc.any(pc.fill_null(pc.match_substring_regex(ts, _TIME_ONLY_CELL), False)).as_py():
        return None, none
    filled = df.notna().sum(axis=1).to_numpy() == 1
    day = pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
    if filled.any():
        one = df[filled].bfill(axis=1).iloc[:, 0]
        dates = parse_dates_only(one)
        day.loc[dates.index] = dates
    date_line = day.notna().to_numpy()
    day = day.ffill()
    named = date_in_name(path.name, sheet)
    if named is not None:
        day = day.fillna(named)
    return day, date_line


def messages_from_strings(df: pd.DataFrame, rows: pd.Series, cols: Columns, opts: ReadOptions,
                          path: Path, extra_rejects: list[tuple[int, str]] | None = None,
                          sheet: str | None = None) -> ReadResult:
    """Turn a frame of strings (normalised headers) into canonical messages.

    Column work runs on arrow arrays (see :func:`cskit.readers.common.per_value`); the
    result is the same frame a row-by-row reading of the rules gives."""
    f = cols.found
    missing = [c for c in REQUIRED_COLUMNS if c not in f]
    if missing:
        raise InputFileError("{path}: no column for {columns} in this chat log",
                             hint=MAPPING_HINT, path=path, columns=', '.join(missing))
    if "sender" not in f and "agent_id" not in f and cols.account is None:
        raise InputFileError(
            "{path}: no column says who sent each message (looked for 账号类型/发送方/角色/sender and 发送账号/客服/agent_id)", hint=MAPPING_HINT, path=path)

    day, date_line = row_days(df, f["sent_at"], path, sheet)
    keep = ~(all_missing(df) | is_summary_row(df).to_numpy() | date_line)
    if not keep.all():
        df, rows = df[keep], rows[keep]
        day = day[keep] if day is not None else None
    index = df.index
    n = len(df)
    null = pa.nulls(n, pa.large_string())

    def col(name: str):
        return arrow_str(df[f[name]]) if name in f else null

    def series(arr) -> pd.Series:
        return from_arrow_str(arr, index)

    def fill(arr, value):
        return pc.fill_null(arr, pa.scalar(value, arr.type)) if arr.null_count else arr

    def isna(arr):
        return pc.is_null(arr)

    def equal(a, b):  # (a == b).fillna(False)
        return pc.fill_null(pc.equal(a, b), False)

    def mask(arr, cond):  # arr.mask(cond): missing where cond (no copy when nothing changes)
        if not pc.any(pc.and_(cond, pc.is_valid(arr))).as_py():
            return arr
        return pc.if_else(cond, pa.scalar(None, arr.type), arr)

    def agent_id(arr):
        return per_value(clean_id_arrow(arr, bad=False)[0], _normalise_agent)

    def timestamps(arr):
        raw = per_value(arr, clean_arrow)
        return (raw, *parse_timestamps(series(raw), opts.timezone, day))

    def lookup(arr, mapping):
        cleaned = per_value(arr, clean_arrow)
        return cleaned, _map_lower(cleaned, mapping)

    # the columns are cleaned independently (in arrow, which runs without the GIL: on
    # large files several at a time), then combined below
    account_col = arrow_str(df[cols.account]) if cols.account else None
    done = run_jobs({
        "ts": (timestamps, col("sent_at")),
        "msg_id": (clean_id_arrow, col("msg_id")),
        "buyer": (clean_id_arrow, col("buyer_id")),
        "conversation": (lambda a: clean_id_arrow(a, bad=False)[0], col("conversation_id")),
        "content": (content_text, df[f["content"]]),
        "agent": (agent_id, col("agent_id")),
        "account": (agent_id, account_col),
        "role": (lookup, col("sender"), ROLE_MAP),
        "platform": (lookup, col("platform"), PLATFORM_MAP),
        "msg_type": (lambda a: per_value(a, clean_arrow), col("msg_type")),
        "shop": (lambda a: per_value(a, clean_arrow), col("shop")),
        "item_id": (lambda a: clean_id_arrow(a, bad=False)[0], col("item_id")),
    }, parallel=n >= PARALLEL_ROWS)
    buyer, buyer_bad = done["buyer"]
    raw_ts, sent_at, ts_why = done["ts"]
    role, sender = done["role"]
    agent = done["agent"]
    if cols.account:
        account = done["account"]
        agent = pc.coalesce(agent, account)
    else:
        account = agent
    if role.null_count:  # no role: the sender account decides
        by_account = pc.if_else(equal(account, buyer), "buyer", "agent")
        by_account = mask(by_account, isna(account))
        sender = pc.if_else(isna(role), by_account.cast(sender.type), sender)
    # agent_id names who sent an agent/bot/system row; a buyer's own message has none
    agent = mask(agent, pc.or_(equal(sender, "buyer"), equal(agent, buyer)))

    default_platform = _default_platform(opts)
    plat_raw, platform = done["platform"]
    bad_platform = pc.and_(pc.is_valid(plat_raw), isna(platform))
    platform = fill(platform, default_platform)

    conversation = done["conversation"]
    msg_id, msg_id_bad = done["msg_id"]
    msg_id = mask(msg_id, msg_id_bad)
    msg_type = fill(done["msg_type"], "text")

    shop = done["shop"]
    if shop.null_count:
        shop = pc.coalesce(shop, per_value(agent, _shop_prefix).cast(shop.type))
    shop = series(shop)
    if shop.isna().any():
        shop = fill_shop(shop, series(pc.coalesce(conversation, buyer.cast(conversation.type))),
                         opts.shop)

    reason = first_reason(index, [
        (isna(raw_ts), "missing timestamp"),
        (sent_at.isna().to_numpy(), BAD),
        (isna(buyer), "missing buyer"),
        (buyer_bad, "buyer id mangled to scientific notation"),
        (pc.and_(pc.is_valid(role), isna(sender)), "unknown sender role"),
        (isna(sender), "cannot tell who sent it (no role, no sender account)"),
        (bad_platform, "unknown platform value"),
    ])
    if ts_why.notna().any():  # say why a timestamp was refused (no such day, no date, …)
        swap = ((reason == BAD) & ts_why.notna()).fillna(False).astype(bool)
        reason = reason.mask(swap, ts_why).astype("string")
    data = {"shop": shop, "platform": series(platform), "conversation_id": series(conversation),
            "buyer_id": series(buyer), "agent_id": series(agent), "sender": series(sender),
            "sent_at": sent_at, "content": done["content"],
            "msg_type": series(msg_type), "msg_id": series(msg_id), "source_row": rows,
            "item_id": series(done["item_id"])}
    n_extra = len(extra_rejects or [])
    return finish_messages(data, index, reason, default_platform, n + n_extra, extra_rejects)


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
            raise InputFileError("{path}: no flat chat records found in this JSON file",
                                 hint=MAPPING_HINT, path=path)
        df = apply_value_maps(_json_table(recs), opts.mapping)
        if opts.mapping:
            check_mapped(df, opts.mapping, path)
        rows = pd.Series(recs.rows, index=df.index, dtype="int64")
        cols = resolve_columns(list(df.columns), opts.mapping)
        return messages_from_strings(df, rows, cols, opts, path, recs.bad)
    table = probe.table
    if table is None:
        if probe._table_error is not None:
            raise probe._table_error
        raise InputFileError("{path}: not a readable table", path=path)
    cols = resolve_columns(list(table.frame.columns), opts.mapping)
    return messages_from_strings(table.frame, table.rows(), cols, opts, path, list(table.rejects),
                                 sheet=table.sheet)


register(Reader(
    name="chats-tabular",
    kind=MESSAGES,
    platform="generic",
    sniff=sniff,
    read=read,
    known_headers=KNOWN_HEADERS,
    description="chat log as CSV/TSV/XLSX or JSON records with Chinese or English headers",
))
