"""Pinduoduo (拼多多) message-API JSON: a JSON array, JSON Lines, or an object wrapping the
list (``{"messages": […]}``, ``{"result": {"messages": […]}}`` …, one level of nesting).

Each message::

    {"msg_id": "…", "type": 0, "content": "…", "ts": 1777770000,
     "from": {"role": "user" | "mall_cs", "uid": "…"}, "to": {"role": …, "uid": …},
     "nickname": "…", "is_aut": 0 | 1, "cs_uid": "…", "template_name": "…",
     "mall_name": "…" (optional), "mall_id": "…" (optional)}

Mapping: ``from.role == "user"`` → ``buyer`` (``buyer_id = from.uid``); ``mall_cs`` → ``agent``
(``buyer_id = to.uid``, ``agent_id = cs_uid`` else ``from.uid``), or ``bot`` when ``is_aut``
is truthy (1, "1", true); ``type`` 31 (system hint), 24 (transfer) and 1002 (withdraw notice
对方撤回了一条消息) → ``system`` whatever the role (buyer = whichever side is the user).
Push envelopes ``{"response": "push", "message": {…}, "target": {"mall_id": …}}`` are read as
their message; an envelope of another ``response`` (auth …) is a ``system`` row, or a
rejected one when it names no buyer. ``shop``: ``mall_name``, else ``mall_id``, else the shop
side's ``to.mall_id`` / ``from.mall_id``, else the envelope's ``target.mall_id``.  ``ts`` is epoch seconds or milliseconds (number or
string) converted to Asia/Shanghai wall-clock time; a non-numeric ``ts`` is parsed as a
local date-time string.  ``msg_type`` is the raw ``type`` code as text.
``source_row`` is the JSONL line number, else the record's 1-based position in the list.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from cskit.readers import Probe, Reader, register
from cskit.readers.chats_tabular import (
    JSON_EXT,
    content_text,
    fill_shop,
    finish_messages,
    first_reason,
    is_pdd_record,
    json_records,
)
from cskit.readers.common import ReadOptions, ReadResult, clean_id, clean_str, epoch_to_local, parse_datetime
from cskit.schema import MESSAGES

PLATFORM = "pdd"
SYSTEM_TYPE = "31"
#: type codes of notices the platform writes into a chat: 31 system hint, 24 transfer,
#: 1002 withdraw notice (对方撤回了一条消息) — never a buyer's or an agent's message
SYSTEM_TYPES = ("31", "24", "1002")
_TRUE = {"1", "true", "yes", "y", "t"}
_ROLES = {"user": "buyer", "mall_cs": "agent", "system": "system"}


def _side(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """``from`` / ``to`` objects flattened (``role``, ``uid``) with json_normalize."""
    objs = [v if isinstance(v, dict) else {} for v in df[key]] if key in df else [{}] * len(df)
    flat = pd.json_normalize(objs, max_level=0) if objs else pd.DataFrame()
    flat.index = df.index
    out = pd.DataFrame(index=df.index)
    for c in ("role", "uid", "mall_id"):
        out[c] = clean_id(flat[c].astype("object").map(_scalar))[0] if c in flat else pd.Series(
            pd.NA, index=df.index, dtype="string")
    return out


def _scalar(v: object) -> object:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    return pd.Series(df[name].astype("object").map(_scalar), index=df.index, dtype="string")


def _timestamps(raw: pd.Series, tz: str) -> pd.Series:
    t = clean_str(raw)
    numeric = t.str.fullmatch(r"\d+(\.\d+)?").fillna(False).astype(bool)
    out = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[s]")
    if numeric.any():
        local = epoch_to_local(t[numeric], tz)
        out.loc[numeric[numeric].index] = local.where(local.dt.year.between(2000, 2100))
    rest = t.notna() & ~numeric
    if rest.any():
        out.loc[rest[rest].index] = parse_datetime(t[rest], tz)
    return out


def unwrap(rec: dict) -> dict:
    """A push envelope ``{"response": "push", "message": {…}, "target": {"mall_id": …}}`` →
    the message (with the envelope's ``target`` as ``_target``); any other record as it is."""
    msg = rec.get("message")
    if "response" in rec and isinstance(msg, dict):
        out = dict(msg)
        if isinstance(rec.get("target"), dict):
            out["_target"] = rec["target"]
        out.setdefault("_response", rec.get("response"))
        return out
    return rec


def read(path: Path, opts: ReadOptions, probe: Probe) -> ReadResult:
    recs = json_records(path, probe)
    df = pd.DataFrame([unwrap(r) for r in recs.records], dtype=object)
    if df.empty:
        df = pd.DataFrame(index=pd.RangeIndex(0))
    frm, to, target = _side(df, "from"), _side(df, "to"), _side(df, "_target")
    from_role = frm["role"].str.lower()
    mtype = clean_str(_col(df, "type"))
    response = clean_str(_col(df, "_response")).str.lower()
    # notices (withdraw, transfer, hints) and pushes other than chat messages are system rows
    is_system = (mtype.isin(SYSTEM_TYPES) | (response.notna() & (response != "push"))).fillna(False)
    is_aut = clean_str(_col(df, "is_aut")).str.lower().isin(_TRUE).fillna(False)

    role = pd.Series(from_role.map(_ROLES), index=df.index, dtype="string")
    sender = role.mask((role == "agent").fillna(False) & is_aut, "bot").mask(is_system, "system")

    # the buyer is whichever side is the user (system hints included); else the receiver
    buyer = frm["uid"].where((from_role == "user").fillna(False), to["uid"])
    buyer_bad = buyer.str.match(r"^\d(\.\d+)?[eE]\+?\d+$").fillna(False).astype(bool)

    cs_uid = clean_id(_col(df, "cs_uid"))[0]
    # agent/bot rows: the sending sub-account; system hints (e.g. a transfer): the cs_uid they
    # name, like the Qianniu reader's transfer rows
    agent = cs_uid.fillna(frm["uid"]).where(sender.isin(["agent", "bot"]).fillna(False))
    agent = agent.fillna(cs_uid.where(is_system))

    # the shop: mall_name, else mall_id, else the mall side of the message (to/from.mall_id),
    # else the push envelope's target.mall_id
    mall_side = to["mall_id"].where((from_role == "user").fillna(False), frm["mall_id"])
    shop = clean_str(_col(df, "mall_name")).fillna(clean_str(_col(df, "mall_id")))
    shop = shop.fillna(clean_str(mall_side)).fillna(clean_str(frm["mall_id"].fillna(to["mall_id"])))
    shop = shop.fillna(clean_str(target["mall_id"]))
    shop = fill_shop(shop, buyer, opts.shop)

    ts_raw = clean_str(_col(df, "ts"))
    sent_at = _timestamps(ts_raw, opts.timezone)
    msg_id = clean_id(_col(df, "msg_id"))[0]

    reason = first_reason(df.index, [
        (is_system & buyer.isna() & (response != "push").fillna(False),
         "a platform push that is not a chat message"),
        (ts_raw.isna(), "missing timestamp"),
        (sent_at.isna(), "bad timestamp"),
        (from_role.notna() & sender.isna(), "unknown from.role"),
        (sender.isna(), "missing from.role"),
        (buyer.isna(), "missing buyer uid"),
        (buyer_bad, "buyer id mangled to scientific notation"),
    ])
    data = {"shop": shop, "platform": PLATFORM, "conversation_id": None, "buyer_id": buyer,
            "agent_id": agent, "sender": sender, "sent_at": sent_at,
            "content": content_text(_col(df, "content")), "msg_type": mtype, "msg_id": msg_id,
            "source_row": pd.Series(recs.rows, index=df.index, dtype="int64")}
    return finish_messages(data, df.index, reason, PLATFORM, len(df) + len(recs.bad), recs.bad)


def sniff(path: Path, probe: Probe) -> int:
    if probe.ext not in JSON_EXT:
        return 0
    recs = json_records(path, probe)
    return 90 if recs.records and is_pdd_record(recs.records[0]) else 0


register(Reader(
    name="pdd-json",
    kind=MESSAGES,
    platform=PLATFORM,
    sniff=sniff,
    read=read,
    description="Pinduoduo message API JSON / JSON Lines",
))
