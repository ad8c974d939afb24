"""PDD messages (issue 13 item 8): withdraw notices, system pushes, push envelopes, mall_id shops."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.readers import ReadOptions, read_file


def _msg(i, ts, role, content, *, mtype=0, **extra):
    user, mall = {"role": "user", "uid": "600111"}, {"role": "mall_cs", "uid": "9001", "mall_id": "9001"}
    frm, to = (user, mall) if role == "user" else (mall, user)
    return {"msg_id": str(i), "type": mtype, "content": content, "ts": str(ts), "from": frm,
            "to": to, **extra}


def _push(msg):
    return {"response": "push", "result": "ok", "message": msg,
            "target": {"mall_id": "9001", "mms_uid": "77"}}


T0 = 1777773600  # 2026-05-03 10:00:00 Asia/Shanghai

CHAT = [
    _msg(1, T0, "user", "在吗"),
    _msg(2, T0 + 30, "mall_cs", "在的", cs_uid="cs_1", is_aut=0),
    # the buyer withdrew a message: the platform's notice, not a new question
    _msg(3, T0 + 60, "user", "对方撤回了一条消息", mtype=1002,
         info={"msg_id": "1", "update_type": 3, "withdraw_hint": "对方撤回了一条消息"}),
]


def _write(tmp_path, name, records, lines):
    p = tmp_path / name
    if lines:
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        p.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return p


@pytest.mark.parametrize("lines", [False, True])
@pytest.mark.parametrize("envelope", [False, True])
def test_withdraw_notice_is_system_and_shop_comes_from_mall_id(tmp_path, lines, envelope):
    recs = [_push(m) for m in CHAT] if envelope else CHAT
    res = read_file(_write(tmp_path, "pdd.jsonl" if lines else "pdd.json", recs, lines), ReadOptions())
    assert res.reader == "pdd-json" and res.rejects == []
    f = res.frame
    assert f["sender"].tolist() == ["buyer", "agent", "system"]  # was: buyer, agent, buyer
    assert f["msg_type"].tolist() == ["0", "0", "1002"]
    assert f["buyer_id"].tolist() == ["600111"] * 3
    assert f["shop"].tolist() == ["9001"] * 3  # was: no shop → "pass --shop"
    assert str(f["sent_at"].iloc[0]) == "2026-05-03 10:00:00"


def test_non_message_push_is_a_rejected_row_not_a_buyer_message(tmp_path):
    recs = [_push(m) for m in CHAT] + [{"response": "auth", "message": {"type": 0}, "result": "ok"}]
    res = read_file(_write(tmp_path, "p.jsonl", recs, True), ReadOptions())
    assert len(res.frame) == 3 and res.rejects == [(4, "a platform push that is not a chat message")]


def test_withdraw_notice_leaves_the_reply_rate_at_100(tmp_path):
    f = _write(tmp_path, "pdd.json", [_push(m) for m in CHAT], False)
    store = str(tmp_path / "s")
    r = CliRunner().invoke(app, ["ingest", str(f), "--store", store])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["kpi", "--store", store, "-f", "json", "--since", "2026-05-01",
                                 "--until", "2026-05-31"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)["rows"][0]
    # was: the notice counted as a buyer's question nobody answered
    assert (row["shop"], row["unreplied_buyers"], row["reply_rate"], row["buyer_messages"]) == \
        ("9001", 0, 1.0, 1)
