"""Issue 12 points 2 and 6: unknown conversion is not zero (orders without buyer ids, no
orders covering the period, orders that end before it), and `kpi --by shop|day|week`
carry the conversion columns.  Hand-computed expectations on a tiny store."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.metrics.coverage import blank_unknown, order_facts, unknown_shops
from cskit.store import Store
from chatlog import chat_store, run

CHATS = [
    # 店A: orders with buyer ids.  Monday b1 asks, 小美 answers, b1 pays that day;
    # Tuesday b2 asks, 小美 answers, no order (lost once the 3-day window closes)
    "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:01:00,亲在的,,",
    "店A,pdd,,b2,,buyer,2026-11-17 10:00:00,包邮吗,,",
    "店A,pdd,,b2,店A:小美,agent,2026-11-17 10:01:00,包邮的亲,,",
    "店A,pdd,,b3,,buyer,2026-11-25 10:00:00,还在吗,,",  # the data end: windows above closed
    # 抖店: its order export has no buyer column (Douyin)
    "抖店,douyin,,d1,,buyer,2026-11-16 09:00:00,在吗,,",
    "抖店,douyin,,d1,抖店:阿山,agent,2026-11-16 09:01:00,在的,,",
    "抖店,douyin,,d2,,buyer,2026-11-17 09:00:00,有货吗,,",
    "抖店,douyin,,d2,抖店:阿山,agent,2026-11-17 09:01:00,有的,,",
    "抖店,douyin,,d3,,buyer,2026-11-25 09:00:00,发货了吗,,",
    # 店C: no orders in the store at all
    "店C,taobao,,c1,,buyer,2026-11-16 09:00:00,在吗,,",
    "店C,taobao,,c1,店C:小C,agent,2026-11-16 09:02:00,在的,,",
    "店C,taobao,,c2,,buyer,2026-11-25 09:00:00,在吗,,",
    # 店D: orders only in October, chats in November
    "店D,jd,,e1,,buyer,2026-11-16 09:00:00,在吗,,",
    "店D,jd,,e1,店D:小D,agent,2026-11-16 09:02:00,在的,,",
    "店D,jd,,e2,,buyer,2026-11-25 09:00:00,在吗,,",
]
ORDERS = ("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
          "o1,b1,2026-11-16 10:00:00,2026-11-16 10:01:00,59.00,已付款,店A\n"
          "o9,e9,2026-10-01 10:00:00,2026-10-01 10:01:00,20.00,已付款,店D\n")
DY_ORDERS = ("订单号,下单时间,付款时间,实付金额,订单状态,店铺\n"
             "9001,2026-11-16 10:00:00,2026-11-16 10:01:00,30.00,已付款,抖店\n")
CONV = ["inquiry_buyers", "paid_buyers", "inquiry_conversion", "sales"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("unknown"), CHATS, ORDERS,
                      extra=[("dy_orders.csv", DY_ORDERS)])


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


WEEK = ("--since", "2026-11-16", "--until", "2026-11-22")


# ------------------------------------------------------------------------------ the rule
def test_unknown_shops_rule_by_hand():
    orders = pd.DataFrame({
        "shop": ["A", "A", "DY", "DY", "OLD"],
        "buyer_id": ["b1", None, None, "  ", "x"],
        "created_at": pd.to_datetime(["2026-11-16 10:00", "2026-11-17 00:00", "2026-11-16 00:00",
                                      "2026-11-17 00:00", "2026-10-01 10:00"]),
        "paid_at": pd.to_datetime(["2026-11-16 10:01", None, None, None, "2026-10-02 08:00"]),
    })
    f = order_facts(orders)
    assert f.loc["A", "orders"] == 2 and f.loc["A", "with_buyer"] == 1
    assert f.loc["DY", "with_buyer"] == 0  # blank ids are no ids
    assert f.loc["OLD", "last_at"] == pd.Timestamp("2026-10-02 08:00")  # the payment counts
    import datetime as dt

    got = unknown_shops(f, ["A", "DY", "OLD", "NONE"], since=dt.date(2026, 11, 16))
    assert got == {"DY": {"reason": "no_buyer_id", "last": None},
                   "OLD": {"reason": "orders_end", "last": "2026-10-02", "start": "2026-11-16"},
                   "NONE": {"reason": "no_orders", "last": None, "start": "2026-11-16"}}
    # without since, the shop's first buyer message starts its period
    assert unknown_shops(f, ["OLD"], {"OLD": dt.date(2026, 10, 2)}) == {}
    assert unknown_shops(f, ["OLD"], {"OLD": dt.date(2026, 10, 3)})["OLD"]["reason"] == \
        "orders_end"


def test_blank_unknown_keeps_what_the_chats_and_orders_still_say():
    f = pd.DataFrame({"shop": ["A", "DY", "C"], "served_buyers": [2, 2, 1],
                      "inquiry_buyers": [2, 2, 1], "sales": [59.0, 0.0, 0.0],
                      "unmatched_orders": [0, 1, 0], "pending": [False, False, False],
                      "reply_rate": [1.0, 1.0, 1.0]})
    out = blank_unknown(f, {"DY": {"reason": "no_buyer_id"}, "C": {"reason": "no_orders"}})
    assert out["inquiry_buyers"].tolist()[0] == 2 and np.isnan(out["inquiry_buyers"][1:]).all()
    assert out["served_buyers"].tolist() == [2, 2, 1] and out["reply_rate"].tolist() == [1.0] * 3
    # orders without a buyer id: their count is exact; with no orders it is unknown too
    assert out["unmatched_orders"][1] == 1 and np.isnan(out["unmatched_orders"][2])
    assert out["pending"][0] is False or out["pending"][0] == False  # noqa: E712
    assert pd.isna(out["pending"][1])


# ------------------------------------------------------------------------------ kpi --by agent
def test_kpi_agent_csv_leaves_unknown_cells_empty(store):
    r = run("kpi", "--store", store, *WEEK, "--by", "agent", "-f", "csv")
    assert r.exit_code == 0, r.stderr
    got = {(x["shop"], x["agent_id"]): x for x in rows(r.stdout)}
    a = got[("店A", "店A:小美")]
    assert (a["inquiry_buyers"], a["paid_buyers"], a["inquiry_conversion"], a["sales"]) == \
        ("2", "1", "0.5", "59.0")
    for key in (("抖店", "抖店:阿山"), ("店C", "店C:小C"), ("店D", "店D:小D")):
        row = got[key]
        assert all(row[c] == "" for c in CONV), (key, row)
        assert row["served_buyers"] != "" and row["consult_buyers"] != ""
    # the Douyin orders are still counted as orders without a buyer (未分配)
    assert got[("抖店", "未分配")]["unmatched_orders"] == "1"
    # one note per unknown shop, Chinese, and one about the total
    assert "note: 抖店 的订单没有买家ID，无法与聊天匹配，询单转化与销售额留空" in r.stderr
    assert "note: 仓库里没有 店C 覆盖统计期的订单" in r.stderr
    assert "note: 店D 的订单只到 2026-10-01，未覆盖统计期" in r.stderr
    assert "合计的询单转化与销售额只含订单可匹配的店铺" in r.stderr


def test_kpi_agent_json_nulls_reasons_and_a_total_of_known_shops(store):
    r = run("kpi", "--store", store, *WEEK, "--by", "agent", "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    unk = doc["conversion_unknown"]
    assert {s: v["reason"] for s, v in unk.items()} == \
        {"抖店": "no_buyer_id", "店C": "no_orders", "店D": "orders_end"}
    assert unk["店D"]["orders_until"] == "2026-10-01"
    dy = next(x for x in doc["rows"] if x["agent_id"] == "抖店:阿山")
    assert all(dy[c] is None for c in CONV) and dy["served_buyers"] == 2
    t = doc["total"]  # only 店A is known: its numbers, not diluted by the others' "0"s
    assert (t["inquiry_buyers"], t["paid_buyers"], t["inquiry_conversion"], t["sales"]) == \
        (2, 1, 0.5, 59)
    assert t["served_buyers"] == 2 + 2 + 1 + 1  # the chats alone say this: every shop
    assert t["consult_buyers"] == 6


def test_kpi_agent_table_shows_a_dash(store):
    args = ["kpi", "--store", str(store), *WEEK, "--by", "agent", "--shop", "抖店"]
    r = CliRunner().invoke(app, args, env={"COLUMNS": "400"})  # every column whole
    assert r.exit_code == 0, r.stderr
    # a header may wrap over two lines (the agent report has broken_promises since issue 15):
    # each column's label is its parts joined
    heads = [x.split("┃") for x in r.stdout.splitlines() if x.startswith("┃")]
    head = ["".join(h[i].strip() for h in heads) for i in range(len(heads[0]))]
    line = next(x for x in r.stdout.splitlines() if "阿山" in x)
    cells = dict(zip(head, [c.strip() for c in line.split("│")]))
    assert (cells["询单转化率"], cells["客服销售额"], cells["询单人数"]) == ("—", "—", "—")
    assert cells["5分钟回复率"] == "100.0%"


def test_only_unknown_shops_total_is_unknown(store):
    r = run("kpi", "--store", store, *WEEK, "--by", "agent", "--shop", "抖店", "--shop", "店C",
            "-f", "json")
    t = json.loads(r.stdout)["total"]
    assert t["inquiry_buyers"] is None and t["inquiry_conversion"] is None and t["sales"] is None
    assert t["unmatched_orders"] == 1  # 抖店's order without a buyer: known; 店C: none known


# ------------------------------------------------------------------------------ kpi --by shop|day|week
@pytest.mark.parametrize("by", ["shop", "day", "week"])
def test_kpi_by_shop_day_week_carry_conversion(store, by):
    r = run("kpi", "--store", store, *WEEK, "--by", by, "-f", "csv")
    assert r.exit_code == 0, r.stderr
    out = rows(r.stdout)
    for c in CONV + ["served_buyers", "pending"]:
        assert c in out[0], c
    a = [x for x in out if x["shop"] == "店A"]
    assert sum(int(x["inquiry_buyers"]) for x in a) == 2
    assert sum(int(x["paid_buyers"]) for x in a) == 1
    assert sum(float(x["sales"]) for x in a) == 59.0
    assert all(x[c] == "" for x in out if x["shop"] == "抖店" for c in CONV)
    assert "note: 抖店 的订单没有买家ID" in r.stderr


def test_kpi_by_day_buckets_by_the_inquiry_day_and_sums_to_the_shop(store):
    r = run("kpi", "--store", store, *WEEK, "--by", "day", "-f", "csv")
    got = {(x["shop"], x["date"]): x for x in rows(r.stdout)}
    mon, tue = got[("店A", "2026-11-16")], got[("店A", "2026-11-17")]
    assert (mon["inquiry_buyers"], mon["paid_buyers"], mon["inquiry_conversion"]) == ("1", "1", "1.0")
    assert (tue["inquiry_buyers"], tue["paid_buyers"], tue["inquiry_conversion"]) == ("1", "0", "0.0")
    # reply columns unchanged by the merge (same as before: consult 1 per day)
    assert (mon["consult_buyers"], mon["reply_rate"]) == ("1", "1.0")
    shop = {x["shop"]: x for x in rows(run("kpi", "--store", store, *WEEK, "--by", "shop",
                                             "-f", "csv").stdout)}
    for c in ("served_buyers", "inquiry_buyers", "ordered_buyers", "paid_buyers",
              "attributed_orders", "silent_orders", "unmatched_orders"):
        for s in ("店A",):
            assert sum(int(x[c]) for k, x in got.items() if k[0] == s) == int(shop[s][c]), c


def test_kpi_by_day_reply_columns_equal_the_reply_report(store):
    from cskit import kpi
    from cskit.metrics import get_rule

    st, rule = Store(store), get_rule("pdd5")
    period = kpi.Period(pd.Timestamp("2026-11-16").date(), pd.Timestamp("2026-11-22").date())
    for by in ("day", "week", "shop"):
        f, _, _ = kpi.kpi_report(st, shops=None, period=period, rule=rule,
                                 attr=kpi.Attribution(), by=by)
        ref = kpi.reply_report(st, shops=None, period=period, rule=rule, by=by)
        pd.testing.assert_frame_equal(f[list(ref.columns)].reset_index(drop=True), ref,
                                      check_dtype=False)


# ------------------------------------------------------------------------------ lost
def test_lost_leaves_out_unknown_buyer_days_and_says_how_many(store):
    r = run("lost", "--store", store, *WEEK, "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    # 店A: b2 (Tuesday, no order, window closed) is the only lost buyer-day
    assert doc["lost_buyers"] == 1
    left = doc["left_out"]
    assert {s: (v["reason"], v["buyer_days"]) for s, v in left.items()} == \
        {"抖店": ("no_buyer_id", 2), "店C": ("no_orders", 1), "店D": ("orders_end", 1)}
    assert "note: 抖店 的订单没有买家ID，无法与聊天匹配，无法判断是否成交，2 个询单买家日未计入流失" in r.stderr


# ------------------------------------------------------------------------------ report and chart
def test_report_leaves_cells_empty_with_the_note(store, tmp_path):
    out = tmp_path / "rep"
    r = run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    assert r.exit_code == 0, r.stderr
    conv = {x["shop"]: x for x in rows((out / "conversion_by_shop.csv").read_text("utf-8-sig"))}
    assert conv["店A"]["inquiry_conversion"] == "0.5"
    assert conv["抖店"]["inquiry_conversion"] == "" and conv["抖店"]["sales"] == ""
    assert conv["抖店"]["unmatched_orders"] == "1"
    assert conv["店D"]["inquiry_buyers"] == ""
    page = (out / "index.html").read_text("utf-8")
    assert "抖店 的订单没有买家ID，无法与聊天匹配，询单转化与销售额留空" in page
    assert "店D 的订单只到 2026-10-01" in page
    assert "店铺 抖店: 无法判断是否成交, 2 个询单买家日未计入流失" in page


def test_agents_chart_draws_no_bar_for_unknown_agents():
    from matplotlib.patches import Rectangle
    from matplotlib.text import Text

    from cskit import charts

    frame = pd.DataFrame({"shop": ["店A", "抖店"], "agent_id": ["店A:小美", "抖店:阿山"],
                          "consult_buyers": [2, 2], "reply_rate": [1.0, 0.5],
                          "inquiry_conversion": [0.5, np.nan], "sales": [59.0, np.nan]})
    fig = charts.agents(frame, lang="zh")
    axes = {ax.get_title(loc="left") or ax.get_title(): ax for ax in fig.axes}
    bars = [p for p in axes["销售额(元)"].patches if isinstance(p, Rectangle)]
    assert len(bars) == 1  # 店A only: 抖店's sales are unknown, not a zero-length bar
    assert len([p for p in axes["回复率"].patches if isinstance(p, Rectangle)]) == 2
    text = "\n".join(t.get_text() for t in fig.findobj(Text))
    assert "未知" in text and "不是 0" in text
    # an agent without inquiries (rate NaN, inquiry_buyers 0) is not "unknown"
    frame = frame.assign(inquiry_buyers=[2, 0], inquiry_conversion=[0.5, np.nan],
                         sales=[59.0, 0.0])
    text = "\n".join(t.get_text() for t in charts.agents(frame, lang="zh").findobj(Text))
    assert "未知" not in text
