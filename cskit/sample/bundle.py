"""Writing the whole sample: :func:`write_sample`, ``MANIFEST.json`` and ``README.md``."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np

from .base import MESSAGE_COLUMNS
from .layout import (
    FMT_CANONICAL,
    FMT_GBK_CSV,
    FMT_PDD_JSON,
    FMT_QIANNIU,
    FMT_XLSX,
    SampleData,
)
from .shops import ShopSpec
from .write_chats import (
    _csv_bytes,
    _tabular_frame,
    _write_pdd_json,
    _write_qianniu,
    _write_xlsx,
    write_canonical_csv,
)
from .write_orders import (
    _write_douyin_orders,
    _write_excluded,
    _write_jd_orders,
    _write_pdd_orders,
    _write_taobao_orders,
)

# ---- the whole sample

_CARRIES_MSG = {
    FMT_PDD_JSON: ["buyer_id", "agent_id", "sender", "sent_at", "content", "msg_type", "msg_id"],
    FMT_QIANNIU: ["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"],
    FMT_XLSX: ["buyer_id", "agent_id", "sender", "sent_at", "content", "msg_id"],
    FMT_GBK_CSV: ["buyer_id", "agent_id", "sender", "sent_at", "content", "msg_id"],
    FMT_CANONICAL: list(MESSAGE_COLUMNS),
}
_FMT_OF_FILE = {".jsonl": FMT_PDD_JSON, ".txt": FMT_QIANNIU, ".xlsx": FMT_XLSX}


def _message_format(spec: ShopSpec, rel: str) -> str:
    ext = Path(rel).suffix
    if ext in _FMT_OF_FILE:
        return _FMT_OF_FILE[ext]
    return FMT_CANONICAL if spec.platform in ("jd", "douyin") else FMT_GBK_CSV


def write_sample(directory: str | Path, data: SampleData) -> dict:
    """Write every file of the sample under ``directory`` (one folder per shop with a
    ``cskit.toml``), plus ``MANIFEST.json`` and ``README.md``.  Returns the manifest."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    specs = {s.name: s for s in data.shops}
    entries: list[dict] = []
    wrng = np.random.default_rng([data.seed, 7])  # rendering noise (status lines, hex)

    for spec in data.shops:
        d = root / spec.slug
        d.mkdir(parents=True, exist_ok=True)
        (d / "cskit.toml").write_bytes(
            f'# defaults for files in this folder (used by `cskit ingest`)\n'
            f'shop = "{spec.name}"\nplatform = "{spec.platform}"\n'.encode())

    m, files = data.messages, data.message_files
    for rel in sorted(files.unique()):
        sel = (files == rel).to_numpy()
        part = m[sel].reset_index(drop=True)
        extra = data.message_extra[sel].reset_index(drop=True)
        spec = specs[part["shop"].iloc[0]]
        fmt = _message_format(spec, rel)
        path = root / rel
        enc = "utf-8"
        if fmt == FMT_PDD_JSON:
            _write_pdd_json(path, part, extra, spec)
        elif fmt == FMT_QIANNIU:
            notes = data.notes[data.notes["file"] == rel].copy()
            # note rows refer to positions in the whole frame: make them file-local
            pos = np.flatnonzero(sel)
            notes["row"] = np.searchsorted(pos, notes["row"].to_numpy())
            _write_qianniu(path, part, extra, notes, wrng)
        elif fmt == FMT_XLSX:
            days = sorted(set(part["sent_at"].dt.strftime("%Y-%m-%d")))
            title = f"聊天记录导出（{days[0]} 至 {days[-1]}）"
            _write_xlsx(path, "聊天记录", [[title]], _tabular_frame(part, extra))
        elif fmt == FMT_GBK_CSV:
            enc = "gb18030"
            path.write_bytes(_csv_bytes(_tabular_frame(part, extra), "gb18030"))
        else:
            write_canonical_csv(part, path)
        entries.append({"path": rel, "kind": "messages", "format": fmt,
                        "platform": spec.platform, "shop": spec.name, "rows": int(sel.sum()),
                        "encoding": enc, "carries": _CARRIES_MSG[fmt]})

    o, ofiles = data.orders, data.order_files
    for rel in sorted(ofiles.unique()):
        sel = (ofiles == rel).to_numpy()
        part = o[sel].reset_index(drop=True)
        x = data.order_extra[sel].reset_index(drop=True)
        spec = specs[part["shop"].iloc[0]]
        path = root / rel
        lines = len(part)
        if spec.platform == "pdd":
            _write_pdd_orders(path, part, x)
            fmt, enc = "orders_pdd_csv", "utf-8"
        elif spec.platform == "taobao":
            _write_taobao_orders(path, part, x, spec)
            fmt, enc = "orders_taobao_exportorderlist", "gb18030"
        elif spec.platform == "jd":
            _write_jd_orders(path, part, x)
            fmt, enc = "orders_jd_csv", "gb18030"
        else:
            lines = _write_douyin_orders(path, part, x, wrng)
            fmt, enc = "orders_douyin_csv", "utf-8-sig"
        entries.append({"path": rel, "kind": "orders", "format": fmt, "platform": spec.platform,
                        "shop": spec.name, "rows": int(sel.sum()), "lines": int(lines),
                        "encoding": enc,
                        "buyer_column": spec.platform != "douyin"})

    e, efiles = data.excluded, data.excluded_files
    for rel in sorted(efiles.unique()):
        sel = (efiles == rel).to_numpy()
        part = e[sel].reset_index(drop=True)
        spec = specs[part["shop"].iloc[0]]
        _write_excluded(root / rel, part)
        entries.append({"path": rel, "kind": "excluded", "format": "excluded_csv",
                        "platform": spec.platform, "shop": spec.name, "rows": int(sel.sum()),
                        "encoding": "utf-8-sig"})

    from .ratings import write_ratings
    from .targets import write_targets

    entries += write_ratings(root, data, specs)
    write_targets(root, data)
    manifest = _manifest(data, entries)
    (root / "MANIFEST.json").write_bytes(
        (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    (root / "README.md").write_bytes(_readme(data, manifest).encode("utf-8"))
    return manifest


def _manifest(data: SampleData, entries: list[dict]) -> dict:
    bd = data.truth["buyer_days"]
    shops = []
    for spec in data.shops:
        m = data.messages[data.messages["shop"] == spec.name]
        shops.append({
            "shop": spec.name, "platform": spec.platform, "folder": spec.slug,
            "agents": spec.agent_ids(), "robot": spec.robot_id,
            "messages": len(m),
            "chat_buyers": int(m["buyer_id"].nunique()),
            "buyer_days": int((bd["shop"] == spec.name).sum()),
            "orders": int((data.orders["shop"] == spec.name).sum()),
            "excluded": int((data.excluded["shop"] == spec.name).sum()),
            **_voice_counts(data, spec.name),
        })
    totals = {k: int(sum(e["rows"] for e in entries if e["kind"] == k))
              for k in ("messages", "orders", "excluded")}
    return {
        "generator": "cskit.sample", "seed": data.seed, "start": data.start.isoformat(),
        "days": data.days, "end_exclusive": data.end.isoformat(),
        "timezone": "Asia/Shanghai (times are shop-local; PDD JSON ts = UTC epoch)",
        "totals": totals, "shops": shops, "files": entries,
    }


def _voice_counts(data: SampleData, shop: str) -> dict:
    """The planted buyers' voice of ``shop``: messages per department (cskit/sample/voice.py)."""
    v = data.truth.get("voice")
    if v is None:
        return {}
    n = v.loc[v["shop"] == shop, "department_id"].value_counts()
    return {"voice_planted": {str(k): int(c) for k, c in sorted(n.items())}}


def _readme(data: SampleData, manifest: dict) -> str:
    t = manifest["totals"]
    bd = data.truth["buyer_days"]
    lines = [
        "# cskit sample data",
        "",
        "Synthetic, deterministic data for trying cskit and for its tests. **Nothing here is",
        "real**: shops, buyers, agents, chats and orders are generated by `cskit/sample.py`;",
        "names, phones and addresses in the order files are masked fakes (`王**`,",
        "`13x*****000x`, `##…`).",
        "",
        f"* seed `{data.seed}`, {data.days} days from {data.start.isoformat()} "
        f"(a Monday) to {(data.end - timedelta(days=1)).isoformat()}, shop-local time",
        f"* {t['messages']} messages, {t['orders']} orders, {t['excluded']} excluded buyers, "
        f"{bd['buyer_id'].nunique()} chatting buyers in {len(bd)} buyer-days",
        "",
        "Regenerate (byte-identical for the same seed):",
        "",
        "```sh",
        "python -m cskit.sample sample_data            # this folder",
        "python -m cskit.sample OUT --seed 7           # another seed",
        "python -m cskit.sample OUT --messages 1000000 # a benchmark file OUT/messages_1000000.csv",
        "```",
        "",
        "Then: `cskit ingest sample_data/*/` (each folder's `cskit.toml` gives the default",
        "`--shop` / `--platform` for the files in it).",
        "",
        "Service ratings (服务评价) come as each platform's rating export (Taobao 服务评价 words,",
        "JD 满意度 1-5, PDD 满意/不满意); the Douyin shop has none, so its 满意率 is unknown.",
        "Some PDD and Taobao orders are created inside the chat and the agent's closing reply",
        "is a payment reminder (催付): `cskit unpaid --by agent` shows them.",
        "`_score/targets.csv` holds monthly sales targets per agent for",
        "`cskit score --month 2026-11 --targets sample_data/_score/targets.csv` (`cskit ingest`",
        "skips folders starting with `_`).",
        "",
        "## Shops",
        "",
        "| folder | shop | platform | agents | messages | orders | excluded |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in manifest["shops"]:
        lines.append(f"| `{s['folder']}/` | {s['shop']} | {s['platform']} | "
                     f"{', '.join(a.split(':')[1] for a in s['agents'])} | {s['messages']} | "
                     f"{s['orders']} | {s['excluded']} |")
    lines += [
        "",
        "## Files",
        "",
        "`MANIFEST.json` lists every file with its kind, format, platform, shop and the exact",
        "number of canonical rows a reader must produce from it (`rows`; for order files",
        "after collapsing line rows — `lines` is the number of data lines). Every message,",
        "order and excluded buyer is in exactly one file. `carries` names the canonical",
        "columns a file really has: `conversation_id` exists only in the canonical CSVs,",
        "`msg_id` is the PDD msg_id, the tabular 消息序号 or the canonical id.",
        "",
        "| file | kind | format | rows |",
        "|---|---|---|---|",
    ]
    for e in manifest["files"]:
        lines.append(f"| `{e['path']}` | {e['kind']} | {e['format']} ({e['encoding']}) | "
                     f"{e['rows']} |")
    lines += [
        "",
        "## Formats",
        "",
        "* **PDD chats** — PDD message-API JSON Lines, one file per week: `msg_id, type, content,",
        "  ts, from{role,uid}, to{role,uid}, nickname, is_aut, cs_uid, template_name`. `ts` is",
        "  the UTC epoch (= local time − 8 h). Buyers are `from.role = user` with a numeric uid;",
        "  agents `mall_cs` with `from.uid = cs_uid = 店铺:子账号`; robot replies have `is_aut = 1`;",
        "  `type` 0 text, 1 image (URL content), 31 system (a transfer notice `由 A 转交给 B`,",
        "  `cs_uid` = B).",
        "* **Taobao chats, week 1** — Qianniu transcripts, one `.txt` per day (UTF-8, CRLF):",
        "  header `nick 2026-11-9 9:05:07` (not zero-padded), content line, optional 已读/未读",
        "  after seller messages; conversations one after another separated by a blank line;",
        "  agents are `潮流服饰专营店:小美`; robot replies are `潮流服饰专营店:店小蜜` with content",
        "  starting `[自动回复]`; a transfer notice line `由 A 转交给 B` is a system message",
        "  stamped with the header time above it; noise lines (`… 撤回了一条消息`,",
        "  `当前用户来自 …`) are not messages.",
        "* **Taobao chats, week 2** — browser-extension tables `客户名, 消息序号, 发送时间, 发送内容,",
        "  发送账号, 账号类型` (账号类型 买家/客服/机器人/系统): an XLSX with a title row above the",
        "  header, and the last day as a GB18030 CSV. 消息序号 numbers each customer's messages.",
        "* **JD and Douyin chats** — canonical CSV (header = canonical column names).",
        "* **Orders** — PDD `订单查询 → 导出` (UTF-8, newer layout starting with 订单成交时间; this",
        "  sample adds a `用户ID` column equal to the chat uid so orders link to chats — real files",
        "  may lack it); Taobao `ExportOrderList` (GB18030, headers with trailing spaces, `=\"…\"`",
        "  order ids, 买家会员名 = the chat nick); JD (GB18030, 下单帐号 = the chat buyer); Douyin",
        "  抖店 (UTF-8 with BOM, `\"\\t…\"` ids, `-` for empty, `##…`/`$$…` encrypted personal data,",
        "  one order with a second line for a free gift at 0.00; **no buyer column**, so Douyin",
        "  orders cannot be linked to chats).",
        "* **Excluded buyers** — `黑名单.csv` per shop: `买家ID, 原因 (举报/拉黑), 时间`.",
        "",
        "Status mapping used by the plan: PDD 待支付/待发货/已发货，待签收/已签收/已取消/未发货，退款成功;",
        "Taobao 等待买家付款/买家已付款，等待卖家发货/卖家已发货，等待买家确认/交易成功/交易关闭;",
        "JD 等待付款/等待出库/等待确认收货/完成/已取消; Douyin 待支付/备货中/已发货/已完成/已关闭 →",
        "unpaid/paid/shipped/completed/closed(/refunded).",
        "",
        "## What was planted",
        "",
        "Buyers arrive mostly 10–11h and 20–22h, some before 08:00 and after 23:00; each",
        "conversation has 1–3 rounds of 1–4 buyer messages, a robot greeting sometimes",
        "(robot replies are not replies), human replies mostly within a minute, some after 1–3",
        "minutes, some after more than 5 minutes, about 3 % never (the last round), a few",
        "transferred to another agent; 2–5 % are after-sale buyers with an earlier order.",
        "About a third of inquiring buyers order within 0–3 days of their last chat; 20 % more",
        "orders are silent (no chat). On 2026-11-18 each main shop has edge cases: a reply after",
        "exactly 300 s (on time) and 301 s (late), 22:58 answered at 23:02 (on time) and 23:04",
        "(late), a message at 23:00:00 and one at 07:59:59 never answered (outside the window),",
        "08:00:00 answered after 400 s, a robot-only conversation, and three messages where only",
        "the first waited more than 300 s. `generate()` returns the plan (`truth`) for tests.",
        "",
    ]
    return "\n".join(lines)
