"""`cskit lost --list`: the per-buyer-day follow-up list (issue 14), on a tiny store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import cskit.cli  # noqa: F401
from cskit.cli.text import LOST_LIST_COLUMNS
from cskit.text.lost import LIST_COLUMNS
from chatlog import chat_store, run

XM, AQ = "店A:小美", "店A:阿强"
CHATS = [
    # b1: price; 小美 answers first, 阿强 later                   -> 未下单, 价格, first agent 小美
    f"店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
    f"店A,pdd,,b1,{XM},agent,2026-11-16 09:01:00,亲，在的,,",
    f"店A,pdd,,b1,,buyer,2026-11-16 09:02:00,这个太贵了，能便宜点不,,",
    f"店A,pdd,,b1,{AQ},agent,2026-11-16 09:03:00,亲，已经是最低价了,,",
    f"店A,pdd,,b1,,buyer,2026-11-16 09:05:00,那算了,,",
    # b2: shipping, with a phone number in the quote             -> masked as ***
    f"店A,pdd,,b2,,buyer,2026-11-16 10:00:00,包邮吗 电话13812345678,,",
    f"店A,pdd,,b2,{AQ},agent,2026-11-16 10:01:00,亲，包邮的,,",
    # b3: asks for xl, orders, never pays                         -> 下单未付款
    f"店A,pdd,,b3,,buyer,2026-11-16 11:00:00,有xl吗,,",
    f"店A,pdd,,b3,{XM},agent,2026-11-16 11:01:00,有的亲,,",
    # b4: buys                                                     -> not listed
    f"店A,pdd,,b4,,buyer,2026-11-16 12:00:00,有优惠吗,,",
    f"店A,pdd,,b4,{XM},agent,2026-11-16 12:01:00,有券的亲,,",
    # b5: only an image                                            -> 其他, no quote
    f"店A,pdd,,b5,,buyer,2026-11-16 13:00:00,[图片],,",
    f"店A,pdd,,b5,{AQ},agent,2026-11-16 13:01:00,亲，您好,,",
    # b6: post-purchase service talk                               -> 售后/订单服务
    f"店A,pdd,,b6,,buyer,2026-11-16 14:00:00,我前天买的怎么还没发货,,",
    f"店A,pdd,,b6,{XM},agent,2026-11-16 14:01:00,亲，帮您催一下,,",
    # b7: days later: the data goes on, the windows have closed
    f"店A,pdd,,b7,,buyer,2026-11-20 09:00:00,你好,,",
    f"店A,pdd,,b7,{XM},agent,2026-11-20 09:01:00,您好亲,,",
]
ORDERS = ("shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
          "店A,o3,b3,2026-11-16 11:05:00,,59.00,unpaid\n"
          "店A,o4,b4,2026-11-16 12:05:00,2026-11-16 12:06:00,59.00,paid\n")
DAY = ["--since", "2026-11-16", "--until", "2026-11-16"]

#: hand-computed: buyer, first agent, outcome, primary, all reason ids, quote
EXPECTED = [
    ("b1", XM, "no_order", "价格", "price", "这个太贵了，能便宜点不"),
    ("b2", AQ, "no_order", "运费/包邮", "shipping", "包邮吗 电话***"),
    ("b3", XM, "unpaid_order", "尺码/规格", "size;unpaid", "有xl吗"),
    ("b5", AQ, "no_order", "其他", "other", None),
    ("b6", XM, "no_order", "售后/订单服务", "aftersale", "我前天买的怎么还没发货"),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return chat_store(tmp_path_factory.mktemp("lostlist"), CHATS, ORDERS, orders_kind="orders")


def test_list_json_one_row_per_lost_buyer_day(store):
    r = run("lost", "--store", store, *DAY, "--list", "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = doc["rows"]
    assert [tuple(row[k] for k in ("buyer_id", "agent_id", "outcome", "reason", "reason_ids",
                                   "quote")) for row in rows] == EXPECTED
    assert all(row["shop"] == "店A" and row["date"] == "2026-11-16" for row in rows)
    assert doc["lost_buyers"] == len(EXPECTED)
    assert rows[0]["reasons"] == "价格" and rows[2]["reasons"] == "尺码/规格;下单未付款"


def test_list_csv_keys_are_stable(store):
    r = run("lost", "--store", store, *DAY, "--list", "--format", "csv")
    assert r.exit_code == 0, r.stderr
    head = r.stdout.splitlines()[0].split(",")
    assert head == list(LIST_COLUMNS) == [c.key for c in LOST_LIST_COLUMNS]
    assert head == ["shop", "date", "buyer_id", "agent_id", "outcome", "reason", "reasons",
                    "quote", "sent_at", "reason_id", "reason_ids"]
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    # machine values: outcome codes, never the Chinese label
    assert [row["outcome"] for row in rows] == [e[2] for e in EXPECTED]
    assert rows[1]["sent_at"] == "2026-11-16 10:00:00"


def test_list_table_shows_outcomes_in_chinese_and_english(store):
    r = run("lost", "--store", store, *DAY, "--list")
    assert r.exit_code == 0, r.stderr
    assert "回访" in r.stdout and "下单未付款" in r.stdout and "未下单" in r.stdout
    assert "首位客服" in r.stdout and "unpaid_order" not in r.stdout
    r = run("lost", "--store", store, *DAY, "--list", "--lang", "en")
    assert r.exit_code == 0, r.stderr
    assert "ordered, unpaid" in r.stdout and "first agent" in r.stdout


def test_list_and_examples_together_is_a_usage_error(store):
    r = run("lost", "--store", store, *DAY, "--list", "--examples", "2")
    assert r.exit_code == 2
    assert "--list" in r.stderr and "--examples" in r.stderr


def test_list_xlsx(store, tmp_path):
    out = tmp_path / "list.xlsx"
    r = run("lost", "--store", store, *DAY, "--list", "--format", "xlsx", "--output", out)
    assert r.exit_code == 0, r.stderr
    from openpyxl import load_workbook
    ws = load_workbook(out).active
    values = [c for row in ws.iter_rows(values_only=True) for c in row]
    assert "下单未付款" in values and "包邮吗 电话***" in values
