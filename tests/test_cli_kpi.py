"""`cskit kpi` and `cskit unpaid` through the CLI: keys, formats, periods, exit codes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from cskit.errors import ExitCode
from cskit.kpi import last_week, parse_week, resolve_period
from cskit.errors import UsageError
from chatlog import chat_store, run

CHATS = [
    # 店A, Monday 2026-11-16: b1 answered after exactly 300 s (on time), b2 after 301 s (late)
    "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:05:00,亲在的,,",
    "店A,pdd,,b2,,buyer,2026-11-16 10:00:00,包邮吗,,",
    "店A,pdd,,b2,店A:阿强,agent,2026-11-16 10:05:01,包邮的亲,,",
    # b3 at 07:59:59 is outside the window; b4 at 22:59:59 is never answered
    "店A,pdd,,b3,,buyer,2026-11-16 07:59:59,早,,",
    "店A,pdd,,b4,,buyer,2026-11-16 22:59:59,还在吗,,",
    # 店B on Tuesday: one buyer answered by the robot only (not a reply by default)
    "店B,taobao,,c1,,buyer,2026-11-17 12:00:00,有XL吗,,",
    "店B,taobao,,c1,店B:店小蜜,bot,2026-11-17 12:00:05,[自动回复]亲稍等,,",
]
ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
          "o1,b2,2026-11-16 10:10:00,2026-11-16 10:11:00,59.00,已付款,店A\n"
          "o2,b1,2026-11-16 11:00:00,,19.90,等待付款,店A\n")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("kpi"), CHATS, ORDERS)


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_by_day_has_stable_keys_and_hand_computed_numbers(store):
    r = run("kpi", "--store", store, "-f", "csv")
    assert r.exit_code == 0, r.stderr
    header = r.stdout.splitlines()[0].split(",")
    assert header[:6] == ["shop", "date", "consult_buyers", "unreplied_buyers",
                          "unreplied_closing_buyers", "reply_rate"]
    for key in ("first_response_s_mean", "response_s_mean", "response_s_p90", "answer_ratio"):
        assert key in header
    got = {(x["shop"], x["date"]): x for x in rows(r.stdout)}
    a = got[("店A", "2026-11-16")]
    # consult: b1, b2, b4 (b3 is before 08:00); unreplied: b2 (301 s) and b4 (never)
    assert (a["consult_buyers"], a["unreplied_buyers"]) == ("3", "2")
    assert a["unreplied_closing_buyers"] == "0"  # 包邮吗 and 还在吗 are real questions
    assert float(a["reply_rate"]) == pytest.approx(1 / 3)
    b = got[("店B", "2026-11-17")]
    assert (b["consult_buyers"], b["unreplied_buyers"], b["reply_rate"]) == ("1", "1", "0.0")


def test_count_bot_replies_changes_the_robot_only_buyer(store):
    r = run("kpi", "--store", store, "--shop", "店B", "--count-bot-replies", "-f", "json")
    doc = json.loads(r.stdout)
    assert doc["rows"][0]["unreplied_buyers"] == 0 and doc["rows"][0]["reply_rate"] == 1.0


def test_threshold_option(store):
    r = run("kpi", "--store", store, "--shop", "店A", "--threshold", "6m", "-f", "json")
    assert json.loads(r.stdout)["rows"][0]["unreplied_buyers"] == 1  # only b4
    assert json.loads(r.stdout)["threshold_s"] == 360


def test_table_is_chinese_by_default_and_english_on_request(store):
    r = run("kpi", "--store", store)
    assert "咨询人数" in r.stdout and "5分钟回复率" in r.stdout and "33.3%" in r.stdout
    assert "\x1b[" not in r.stdout
    r = run("kpi", "--store", store, "--lang", "en")
    assert "5 min reply rate" in r.stdout


def test_by_agent_report_has_reply_and_sales_columns_and_a_total(store):
    r = run("kpi", "--store", store, "--by", "agent", "--shop", "店A", "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    by_agent = {x["agent_id"]: x for x in doc["rows"]}
    # 阿强 answered b2 late, and b2 then paid 59 元: the sale is 阿强's
    assert by_agent["店A:阿强"]["unreplied_buyers"] == 1 and by_agent["店A:阿强"]["sales"] == 59.0
    assert by_agent["店A:小美"]["unreplied_buyers"] == 0 and by_agent["店A:小美"]["sales"] == 0.0
    assert doc["total"]["consult_buyers"] == 3 and doc["total"]["sales"] == 59.0
    r = run("kpi", "--store", store, "--by", "agent", "--shop", "店A", "--sort", "sales:desc")
    assert r.stdout.index("阿强") < r.stdout.index("小美") and "合计" in r.stdout


def test_unreplied_list(store):
    r = run("kpi", "--store", store, "--list", "unreplied", "-f", "csv")
    got = [(x["shop"], x["buyer_id"], x["wait_s"]) for x in rows(r.stdout)]
    assert got == [("店A", "b2", "301.0"), ("店A", "b4", ""), ("店B", "c1", "")]


def test_unpaid_list(store):
    r = run("unpaid", "--store", store, "-f", "csv")
    assert r.exit_code == 0, r.stderr
    got = rows(r.stdout)
    assert [(x["buyer_id"], x["order_id"], x["amount"]) for x in got] == [("b1", "o2", "19.9")]


def test_empty_range_is_a_clear_message_and_exit_5(store):
    r = run("kpi", "--store", store, "--since", "2027-01-01")
    assert r.exit_code == ExitCode.NO_DATA
    assert r.stderr.startswith(f"Error: {store}：2027-01-01 起 没有买家消息") and r.stdout == ""


@pytest.mark.parametrize("by", ["day", "shop", "agent"])
def test_shops_come_in_the_order_asked_for_once_each(store, by):
    args = ["kpi", "--store", store, "-f", "csv", "--by", by]
    r = run(*args, "--shop", "店B", "--shop", "店A", "--shop", "店B")
    assert r.exit_code == 0, r.stderr
    got = [x["shop"] for x in rows(r.stdout)]
    ref = [x["shop"] for x in rows(run(*args).stdout)]
    assert sorted(got) == sorted(ref) and len(set(got)) == 2
    if by != "agent":  # agent rows are sorted by shop, then agent
        assert list(dict.fromkeys(got)) == ["店B", "店A"]
    r = run("kpi", "--store", store, "--shop", "店A", "--shop", "店A", "--list", "unreplied",
            "-f", "csv")
    assert r.exit_code == 0 and len(rows(r.stdout)) == len(
        rows(run("kpi", "--store", store, "--shop", "店A", "--list", "unreplied", "-f", "csv").stdout))


def test_unknown_shop_and_empty_store(store, tmp_path):
    r = run("kpi", "--store", store, "--shop", "店Z")
    assert r.exit_code == ExitCode.NO_DATA and "店A, 店B" in r.stderr
    r = run("kpi", "--store", tmp_path / "nothing")
    assert r.exit_code == ExitCode.NO_DATA and "cskit ingest" in r.stderr


@pytest.mark.parametrize("args, needle, needle_en", [
    (["--since", "2026-13-01"], "'2026-13-01' 不是日期", "is not a date"),
    (["--week", "2026-47"], "不是 ISO 周", "is not an ISO week"),
    (["--week", "2026-W47", "--since", "2026-11-01"], "只能选一种", "not several"),
    (["--threshold", "soon"], "回复时限 'soon' 无法识别", "bad reply threshold"),
    (["--window", "8-"], "时间窗口 '8-' 无法识别", "bad time window"),
    (["--sort", "nope"], "不是本报表的列", "is not a column"),
])
def test_bad_options_are_usage_errors(store, args, needle, needle_en):
    r = run("kpi", "--store", store, *args)
    assert r.exit_code == ExitCode.USAGE, r.stderr
    assert r.stderr.startswith("Error: ") and needle in r.stderr
    r = run("kpi", "--store", store, *args, "--lang", "en")
    assert r.exit_code == ExitCode.USAGE and r.stderr.startswith("Error: ") and needle_en in r.stderr


def test_periods():
    assert parse_week("2026-W47").since == dt.date(2026, 11, 16)
    assert parse_week("2026-w47").until == dt.date(2026, 11, 22)
    lw = last_week(dt.date(2026, 11, 25))
    assert (lw.since, lw.until) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert resolve_period(None, None, None, False).since is None
    with pytest.raises(UsageError):
        resolve_period("2026-11-20", "2026-11-10", None, False)


def test_every_command_has_help():
    r = run("--help")
    for cmd in ("ingest", "kpi", "unpaid", "demo", "lost", "qc", "chart", "report"):
        assert cmd in r.stdout
        h = run(cmd, "--help")
        assert h.exit_code == 0 and "Usage" in h.stdout
