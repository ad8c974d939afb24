"""`cskit lost` and `cskit qc` through the CLI, on a tiny store ingested in the test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import cskit.cli  # noqa: F401
from chatlog import chat_store, run

XM, AQ = "店A:小美", "店A:阿强"
CHATS = [
    # b1: price complaint, then gives up                       -> lost, 价格
    f"店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
    f"店A,pdd,,b1,{XM},agent,2026-11-16 09:01:00,亲，在的,,",
    f"店A,pdd,,b1,,buyer,2026-11-16 09:02:00,这个太贵了，能便宜点不,,",
    f"店A,pdd,,b1,{XM},agent,2026-11-16 09:03:00,亲，已经是最低价了,,",
    f"店A,pdd,,b1,,buyer,2026-11-16 09:05:00,那算了,,",
    # b2: asks about shipping, answered after 10 minutes         -> lost, 回复慢 (+ 运费/包邮)
    f"店A,pdd,,b2,,buyer,2026-11-16 10:00:00,包邮吗,,",
    f"店A,pdd,,b2,{AQ},agent,2026-11-16 10:10:00,亲，包邮的,,",
    f"店A,pdd,,b2,,buyer,2026-11-16 10:11:00,好的,,",
    # b3: buys (paid order at 11:05)                             -> not lost
    f"店A,pdd,,b3,,buyer,2026-11-16 11:00:00,有xl吗,,",
    f"店A,pdd,,b3,{XM},agent,2026-11-16 11:01:00,有的亲,,",
    f"店A,pdd,,b3,,buyer,2026-11-16 11:02:00,好的拍了,,",
    # b4: quality question; the agent invites an off-platform deal -> lost, 质量/正品; QC
    f"店A,pdd,,b4,,buyer,2026-11-16 12:00:00,质量怎么样,,",
    f"店A,pdd,,b4,{AQ},agent,2026-11-16 12:01:00,加我微信给你返现,,",
    # b5: nobody answers                                         -> not served, not lost; QC
    f"店A,pdd,,b5,,buyer,2026-11-16 13:00:00,在吗,,",
    # b6: coupon question, the agent only says 在                  -> lost, 价格; QC
    f"店A,pdd,,b6,,buyer,2026-11-16 14:00:00,有优惠吗,,",
    f"店A,pdd,,b6,{XM},agent,2026-11-16 14:01:00,在,,",
    # b7: four days later (outside the period): the data goes on, windows have closed
    f"店A,pdd,,b7,,buyer,2026-11-20 09:00:00,你好,,",
    f"店A,pdd,,b7,{XM},agent,2026-11-20 09:01:00,您好亲,,",
]
ORDERS = ("shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
          "店A,o1,b3,2026-11-16 11:05:00,2026-11-16 11:06:00,59.00,paid\n")
DAY = ["--since", "2026-11-16", "--until", "2026-11-16"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return chat_store(tmp_path_factory.mktemp("text"), CHATS, ORDERS, orders_kind="orders")


def lost_json(store, *extra):
    r = run("lost", "--store", store, *DAY, "--format", "json", *extra)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


EXPECTED_BY_SHOP = [
    # reason, buyers, share, mentions, mention_share, lost_buyers, reason_id
    ("价格", 2, 0.5, 2, 0.5, 4, "price"),
    ("回复慢", 1, 0.25, 1, 0.25, 4, "slow"),
    ("质量/正品", 1, 0.25, 1, 0.25, 4, "quality"),
    ("运费/包邮", 0, 0.0, 1, 0.25, 4, "shipping"),
]


def _rows(doc):
    return [(r["reason"], r["buyers"], r["share"], r["mentions"], r["mention_share"],
             r["lost_buyers"], r["reason_id"]) for r in doc["rows"]]


def test_lost_by_shop_with_the_conversion_definition(store):
    doc = lost_json(store)
    assert doc["lost_definition"] == "conversion" and doc["lost_buyers"] == 4
    assert all(r["shop"] == "店A" for r in doc["rows"])
    assert _rows(doc) == EXPECTED_BY_SHOP


def test_lost_fallback_definition_without_the_conversion_module(store, monkeypatch):
    monkeypatch.setitem(sys.modules, "cskit.metrics.conversion", None)  # import fails
    doc = lost_json(store)
    assert doc["lost_definition"] == "served-no-order"
    assert _rows(doc) == EXPECTED_BY_SHOP


def test_lost_by_agent_csv(store):
    r = run("lost", "--store", store, *DAY, "--by", "agent", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "shop,agent_id,reason,buyers,share,mentions,mention_share,lost_buyers,reason_id"
    assert lines[1:] == [
        "店A,店A:小美,价格,2,1.0,2,1.0,2,price",
        "店A,店A:阿强,回复慢,1,0.5,1,0.5,2,slow",
        "店A,店A:阿强,质量/正品,1,0.5,1,0.5,2,quality",
        "店A,店A:阿强,运费/包邮,0,0.0,1,0.5,2,shipping",
    ]


def test_lost_by_day_and_week_keys(store):
    doc = lost_json(store, "--by", "day")
    assert {r["date"] for r in doc["rows"]} == {"2026-11-16"}
    r = run("lost", "--store", store, "--week", "2026-W47", "--by", "week", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("shop,week,reason,")
    assert all(",2026-W47," in line for line in r.stdout.splitlines()[1:])


def test_lost_examples_quote_real_buyer_messages(store):
    doc = lost_json(store, "--examples", "1")
    quotes = {r["reason_id"]: r["quote"] for r in doc["rows"]}
    assert quotes == {"slow": "好的", "price": "这个太贵了，能便宜点不", "quality": "质量怎么样"}


def test_lost_table_is_plain_and_bilingual(store):
    r = run("lost", "--store", store, *DAY)
    assert r.exit_code == 0 and "\x1b[" not in r.stdout
    assert "流失原因" in r.stdout and "价格" in r.stdout and "50.0%" in r.stdout
    r = run("lost", "--store", store, *DAY, "--lang", "en")
    assert "lost buyers" in r.stdout


def test_lost_custom_lexicon_and_bad_lexicon(store, tmp_path):
    own = tmp_path / "lex.toml"
    own.write_text('extends = "default"\n[signals]\nslow = { name = "回复慢", score = 0.5 }\n',
                   encoding="utf-8")
    doc = lost_json(store, "--lexicon", own)
    got = {r["reason_id"]: r["buyers"] for r in doc["rows"]}
    assert got["shipping"] == 1 and got["slow"] == 0  # 包邮吗 (1.8) now beats slow (0.5)
    bad = tmp_path / "bad.toml"
    bad.write_text('[reasons.price]\nname = "价格"\n[reasons.price.terms]\n"贵" = -1\n',
                   encoding="utf-8")
    r = run("lost", "--store", store, *DAY, "--lexicon", bad)
    assert r.exit_code == 2
    assert r.stderr.startswith(f"Error: {bad}: reasons.price.terms.贵: 权重必须是正数（提示：词库格式见")
    r = run("lost", "--store", store, *DAY, "--lexicon", bad, "--lang", "en")
    assert r.stderr.startswith(f"Error: {bad}: reasons.price.terms.贵: weight must be a positive")
    assert len(r.stderr.strip().splitlines()) == 1


def test_qc_per_agent_counts(store):
    r = run("qc", "--store", store, *DAY, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = {row["agent_id"]: row for row in doc["rows"]}
    assert [row["agent_id"] for row in doc["rows"]] == [XM, AQ, "未分配"]
    assert (rows[XM]["agent_messages"], rows[XM]["flags"], rows[XM]["only_zai"],
            rows[XM]["slow_reply"]) == (4, 3, 1, 2)
    assert (rows[AQ]["agent_messages"], rows[AQ]["flags"], rows[AQ]["high"],
            rows[AQ]["off_platform"], rows[AQ]["slow_reply"]) == (2, 3, 1, 1, 2)
    assert (rows["未分配"]["agent_messages"], rows["未分配"]["slow_reply"]) == (0, 1)
    assert {x["id"] for x in doc["rules"]} >= {"abuse", "off_platform", "slow_reply"}


def test_qc_list_csv_for_the_qc_team(store):
    r = run("qc", "--store", store, *DAY, "--list", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "sent_at,shop,buyer_id,agent_id,rule,severity,content,wait_s,rule_id"
    text_flags = [line for line in lines[1:] if not line.endswith("slow_reply")]
    assert text_flags == [
        f"2026-11-16 12:01:00,店A,b4,{AQ},诱导站外交易,high,加我微信给你返现,,off_platform",
        f"2026-11-16 14:01:00,店A,b6,{XM},只回复“在”,low,在,,only_zai",
    ]
    assert f"2026-11-16 10:00:00,店A,b2,{AQ},长时间未回复,medium,包邮吗,600.0,slow_reply" in lines
    assert "2026-11-16 13:00:00,店A,b5,未分配,长时间未回复,medium,在吗,,slow_reply" in lines
    assert not any(",b7," in line for line in lines)  # outside the period


def test_qc_output_file_and_bad_rules(store, tmp_path):
    out = tmp_path / "qc.csv"
    r = run("qc", "--store", store, *DAY, "--format", "csv", "--output", out)
    assert r.exit_code == 0 and r.stdout == ""
    assert out.read_text(encoding="utf-8").startswith("shop,agent_id,agent_messages,flags,high")
    r = run("qc", "--store", store, "--rules", tmp_path / "missing.toml")
    assert r.exit_code == 2 and "无法读取词库文件" in r.stderr


@pytest.mark.parametrize("cmd", ["lost", "qc"])
def test_no_data_and_unknown_shop_exit_5(store, tmp_path, cmd):
    r = run(cmd, "--store", store, "--since", "2025-01-01", "--until", "2025-01-02")
    assert r.exit_code == 5 and r.stderr.startswith(f"Error: {store}：2025-01-01 – 2025-01-02 没有聊天消息")
    r = run(cmd, "--store", store, "--shop", "店Z")
    assert r.exit_code == 5 and "店Z" in r.stderr
    r = run(cmd, "--store", tmp_path / "empty")
    assert r.exit_code == 5
    r = run(cmd, "--store", store, "--week", "2026-W47", "--since", "2026-11-16")
    assert r.exit_code == 2


def test_commands_have_help():
    for cmd in ("lost", "qc"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "--store" in r.stdout


def test_qc_text_flags_come_with_a_review_note(store, tmp_path):
    """A text-rule flag is a lead, not a verdict: the note says so (stderr, any format); a
    day with only log signals (slow_reply) or nothing flagged gets no such note."""
    r = run("qc", "--store", store, *DAY, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert "质检标记是待核实的线索，不是结论" in r.stderr and "质检标记" not in r.stdout
    assert "约每 8 条“确定”标记中有 1 条" in r.stderr and "待复核标记" not in r.stderr
    r = run("qc", "--store", store, *DAY, "--lang", "en")
    assert "QC flags are leads to check, not verdicts" in r.stderr
    r = run("qc", "--store", store, *DAY, "--all", "--format", "csv")
    assert "待复核标记（--all）证据较弱" in r.stderr  # --all: the weaker tier is named too
    rules = tmp_path / "log_only.toml"
    rules.write_text('[[rules]]\nid = "slow_reply"\nname = "长时间未回复"\nseverity = "medium"\n'
                     'penalty = "超时"\nsource = "late"\n', encoding="utf-8")
    r = run("qc", "--store", store, *DAY, "--rules", rules, "--format", "csv")
    assert r.exit_code == 0, r.stderr
    assert "slow_reply" in r.stdout and "待核实" not in r.stderr
