"""Qianniu (千牛) chat transcripts copied from the chat window as plain text (.txt).

A message starts with a header, in one of three shapes::

    tb8946567709 2026-5-3 9:05:07          name, then the time (the space may be missing)
    店铺A:小王 --> tb8946567709 2026-05-03 09:06:00   sender --> receiver, then the time
    tb8946567709                           name alone on a line ...
    2026-5-3 9:05:07                       ... and the time alone on the next one

followed by its content lines (joined with "\\n"), and optionally a status line
已读 / 未读 / 发送中 (dropped).  ``source_row`` is the header's (first) line number.

Who is who:

* ``店铺:子账号`` (ASCII or full-width colon) is a seller sub-account → ``agent``,
  ``agent_id`` = the whole string (colon normalised to ASCII), ``shop`` = the part
  before the colon.  A bare name equal to a shop seen in the transcript (or ``--shop``)
  is the seller's main account → ``agent`` too.  Everything else is a buyer nick.
* Content starting with 【自动回复】 / [自动回复] is an automatic reply → ``bot``.
* An agent/bot message belongs to the buyer it is sent to (``--> receiver``), else to the
  most recent buyer seen above it; with neither it is rejected.

Noise lines are skipped and are not rows: "… 撤回了一条消息", 当前用户来自…, 商品详情页…,
原因：【…】 (transfer reasons).  Transfer notices "由 A 转交给 B" are kept as
``sender="system"``, ``msg_type="transfer"`` rows (content = the notice, agent_id = B,
time = the preceding header's) because transfers matter for response-time rounds.
The web placeholder 请在客户端查看原始聊天记录… stays as content with ``msg_type="card"``.
Bare URLs are ordinary content.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cskit.readers import Probe, Reader, register
from cskit.readers.chats_tabular import (
    KNOWN_HEADERS,
    content_text,
    fill_shop,
    finish_messages,
    first_reason,
    normalise_agent,
    shop_prefix,
)
from cskit.readers.common import (
    ReadOptions,
    ReadResult,
    no_invalid_bytes,
    norm_header,
    parse_datetime,
)
from cskit.schema import MESSAGES

PLATFORM = "taobao"

_TS = r"(?P<ts>\d{4}[-/]\d{1,2}[-/]\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?)"
ARROW_RE = re.compile(rf"^(?P<name>.+?)\s*-->\s*(?P<to>.+?)\s*{_TS}$")
HEADER_RE = re.compile(rf"^(?P<name>\S.*?)\s*{_TS}$")
TS_ONLY_RE = re.compile(rf"^{_TS}$")
STATUS_RE = re.compile(r"^[\[【(（]?(已读|未读|发送中|发送失败)[\]】)）]?$")
TRANSFER_RE = re.compile(r"^由\s*(?P<src>.+?)\s*转交给\s*(?P<dst>.+?)\s*$")
NOISE_RE = re.compile(r"撤回了一条消息$|^当前用户来自|^商品详情页|^原因\s*[:：]\s*【")
AUTO_REPLY_RE = r"^\s*(?:【自动回复】|\[自动回复\])"
CARD_PLACEHOLDER = "请在客户端查看原始聊天记录"
AGENT_NAME_RE = r"[:：]"


def _parse_lines(text: str) -> list[dict]:
    """One linear pass: headers open a record, content lines attach to the open record."""
    recs: list[dict] = []
    cur: dict | None = None
    last_ts: str | None = None
    # the previous non-empty line, if it was taken as content (or a stray preamble line):
    # a following time-only line turns it into the sender name
    prev_content: tuple[int, str] | None = None
    for no, line in enumerate(text.split("\n"), 1):
        s = line.strip()
        if not s:
            continue
        m = TS_ONLY_RE.match(s)
        if m:
            name, row = None, no
            if prev_content is not None:
                row, name = prev_content
                if cur is not None and cur["lines"] and cur["lines"][-1] == name:
                    cur["lines"].pop()
            cur = {"row": row, "name": name, "to": None, "ts": m["ts"], "lines": [], "kind": "msg"}
            recs.append(cur)
            last_ts, prev_content = m["ts"], None
            continue
        m = ARROW_RE.match(s) or HEADER_RE.match(s)
        if m:
            to = m.groupdict().get("to")
            cur = {"row": no, "name": m["name"].strip(), "to": to.strip() if to else None,
                   "ts": m["ts"], "lines": [], "kind": "msg"}
            recs.append(cur)
            last_ts, prev_content = m["ts"], None
            continue
        prev_content = None
        if STATUS_RE.match(s) or NOISE_RE.search(s):
            continue
        m = TRANSFER_RE.match(s)
        if m:
            recs.append({"row": no, "name": None, "to": m["dst"], "ts": last_ts, "lines": [s],
                         "kind": "transfer"})
            continue
        if cur is not None:
            cur["lines"].append(s)
        prev_content = (no, s)
    return recs


def _frame(recs: list[dict], opts: ReadOptions) -> ReadResult:
    df = pd.DataFrame(recs, columns=["row", "name", "to", "ts", "lines", "kind"])
    name = pd.Series(df["name"], dtype="string")
    to = pd.Series(df["to"], dtype="string")
    transfer = (df["kind"] == "transfer").astype(bool)
    content = content_text(df["lines"].str.join("\n"))

    name_agent = normalise_agent(name)
    to_agent = normalise_agent(to)
    shops = pd.concat([shop_prefix(name_agent), shop_prefix(to_agent)]).dropna().unique().tolist()
    if opts.shop:
        shops.append(opts.shop)
    main_account = name.isin(shops)
    sender_is_seller = (name.str.contains(AGENT_NAME_RE) | main_account).fillna(False)
    to_is_seller = (to.str.contains(AGENT_NAME_RE) | to.isin(shops)).fillna(False)
    auto = content.str.contains(AUTO_REPLY_RE, regex=True).fillna(False)

    sender = pd.Series(
        np.select([transfer, auto, sender_is_seller, name.notna()],
                  ["system", "bot", "agent", "buyer"], default=""),
        index=df.index, dtype="string").replace("", pd.NA)
    is_buyer = sender == "buyer"
    # buyers named by this row: the sender if a buyer, else a non-seller receiver
    named_buyer = name.where(is_buyer.fillna(False), to.where(~to_is_seller)).mask(transfer)
    buyer = named_buyer.ffill()

    agent = name_agent.where(sender.isin(["agent", "bot"]).fillna(False))
    agent = agent.mask(transfer, to_agent)

    shop = shop_prefix(agent).fillna(shop_prefix(to_agent))
    shop = shop.fillna(name.where(main_account))
    shop = shop.ffill().bfill()
    shop = fill_shop(shop, None, opts.shop)

    ts_raw = pd.Series(df["ts"], dtype="string")
    sent_at = parse_datetime(ts_raw, opts.timezone)
    msg_type = pd.Series(np.where(transfer, "transfer", "text"), index=df.index, dtype="string")
    msg_type = msg_type.mask(content.str.contains(CARD_PLACEHOLDER, regex=False).fillna(False), "card")

    reason = first_reason(df.index, [
        (name.isna() & ~transfer, "missing sender name"),
        (ts_raw.isna(), "missing timestamp"),
        (sent_at.isna(), "bad timestamp"),
        (buyer.isna() & sender.isin(["agent", "bot"]), "agent message before any buyer is known"),
        (buyer.isna(), "no buyer known yet"),
    ])
    data = {"shop": shop, "platform": PLATFORM, "conversation_id": None, "buyer_id": buyer,
            "agent_id": agent, "sender": sender, "sent_at": sent_at, "content": content,
            "msg_type": msg_type, "msg_id": None, "source_row": df["row"]}
    return finish_messages(data, df.index, reason, PLATFORM, len(df))


def read(path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    return _frame(_parse_lines(no_invalid_bytes(probe.text or "", path)), opts)


def _looks_tabular(line: str) -> bool:
    cells = re.split(r"[\t,]", line)
    return len(cells) > 2 and sum(norm_header(c) in KNOWN_HEADERS for c in cells) >= 2


def sniff(path: Path, probe: Probe) -> int:
    if probe.ext != ".txt":
        return 0
    lines = [ln.strip() for ln in probe.head[:8192].split("\n") if ln.strip()][:6]
    if not lines or _looks_tabular(lines[0]):
        return 0
    for i, s in enumerate(lines):
        if ARROW_RE.match(s) or HEADER_RE.match(s):
            return 80
        if i > 0 and TS_ONLY_RE.match(s):
            return 80
    return 0


register(Reader(
    name="qianniu-text",
    kind=MESSAGES,
    platform=PLATFORM,
    sniff=sniff,
    read=read,
    description="Qianniu (千牛) chat transcript copied as text",
))
