"""Refund rate, 客件数 and 件单价 of an agent's attributed orders (issue 18 items 4-5),
hand-computed; credited by the same rule as 客服销售额 (so paid amounts add up to `sales`)."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd
import pytest

import cskit.cli  # noqa: F401
from cskit.metrics.attribution import attributed_orders, orders_by_agent
from chatlog import chat_store, run

XM, AQ = "S:小美", "S:阿强"
CHATS = [  # buyer, agent, sender, time
    ("b1", "", "buyer", "2026-11-10 10:00:00"), ("b1", XM, "agent", "2026-11-10 10:00:20"),
    ("b2", "", "buyer", "2026-11-10 11:00:00"), ("b2", XM, "agent", "2026-11-10 11:00:20"),
    ("b3", "", "buyer", "2026-11-10 12:00:00"), ("b3", AQ, "agent", "2026-11-10 12:00:20"),
    ("b4", "", "buyer", "2026-11-10 13:00:00"),  # nobody answers b4: its order is nobody's
]
ORDERS = [  # order, buyer, created, paid, amount, status
    ("o1", "b1", "2026-11-10 10:30:00", "2026-11-10 10:31:00", 100.0, "paid"),
    ("o2", "b1", "2026-11-10 10:40:00", "2026-11-10 10:41:00", 50.0, "paid"),
    ("o3", "b2", "2026-11-10 11:30:00", "2026-11-10 11:31:00", 80.0, "refunded"),
    ("o4", "b3", "2026-11-10 12:30:00", "2026-11-10 12:31:00", 60.0, "paid"),
    ("o5", "b4", "2026-11-10 13:30:00", "2026-11-10 13:31:00", 70.0, "paid"),
]
ITEMS = pd.DataFrame({"shop": "S", "order_id": ["o1", "o1", "o2", "o4"], "quantity": [2, 1, 3, 1]})


def _frames():
    m = pd.DataFrame([("S", "pdd", b, a or None, s, t) for b, a, s, t in CHATS],
                     columns=["shop", "platform", "buyer_id", "agent_id", "sender", "sent_at"])
    m["sent_at"] = pd.to_datetime(m["sent_at"])
    o = pd.DataFrame([("S", "pdd", *r) for r in ORDERS],
                     columns=["shop", "platform", "order_id", "buyer_id", "created_at", "paid_at",
                              "amount", "status"])
    o["created_at"], o["paid_at"] = pd.to_datetime(o["created_at"]), pd.to_datetime(o["paid_at"])
    return m, o


def test_hand_computed():
    att = attributed_orders(*_frames(), "2026-11-10", "2026-11-10")
    assert sorted(att["order_id"]) == ["o1", "o2", "o3", "o4"]  # o5: nobody answered b4
    per = orders_by_agent(att, ITEMS).set_index("agent_id")
    # 小美: o1, o2 paid (150 元, 6 items, 1 buyer), o3 refunded (80 元)
    assert per.loc[XM, "refunded_orders"] == 1
    assert per.loc[XM, "refund_rate"] == pytest.approx(1 / 3)
    assert per.loc[XM, "refund_amount_rate"] == pytest.approx(80 / 230)
    assert per.loc[XM, "items_per_buyer"] == 6 and per.loc[XM, "item_price"] == 25
    assert per.loc[AQ, "refund_rate"] == 0 and per.loc[AQ, "item_price"] == 60


def test_items_unknown_unless_every_paid_order_has_lines():
    att = attributed_orders(*_frames(), "2026-11-10", "2026-11-10")
    per = orders_by_agent(att, ITEMS[ITEMS["order_id"] != "o2"]).set_index("agent_id")
    assert math.isnan(per.loc[XM, "items_per_buyer"]) and math.isnan(per.loc[XM, "item_price"])
    assert math.isnan(orders_by_agent(att, None).set_index("agent_id").loc[AQ, "item_price"])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    chats = [f"S,pdd,,{b},{a},{s},{t},在的,," for b, a, s, t in CHATS]
    orders = "shop,order_id,buyer_id,created_at,paid_at,amount,status\n" + "".join(
        f"S,{oid},{b},{c},{p},{amt},{st}\n" for oid, b, c, p, amt, st in ORDERS)
    return chat_store(tmp_path_factory.mktemp("att"), chats, orders, orders_kind="orders")


def test_cli_wide_refunds_and_paid_amounts_match_sales(store):
    r = run("kpi", "--store", store, "--by", "agent", "--since", "2026-11-10", "--until",
            "2026-11-10", "--wide", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = {x["agent_id"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert rows[XM]["sales"] == "150.0" and rows[XM]["refunded_orders"] == "1"
    assert float(rows[XM]["refund_rate"]) == pytest.approx(1 / 3)
    assert rows[XM]["items_per_buyer"] == ""  # this store has no order items: unknown


def test_aftersale_first_response_hand_computed():
    from cskit.metrics.attribution import aftersale_by_agent

    m, o = _frames()
    # the next day b1 (who bought o1/o2 the day before) writes at 09:00, 小美 answers 09:02;
    # b3 writes at 10:00, 阿强 answers 10:10; b2 writes at 11:00, 小美 answers 11:00:30
    extra = pd.DataFrame([("S", "pdd", "b1", None, "buyer", "2026-11-11 09:00:00"),
                          ("S", "pdd", "b1", XM, "agent", "2026-11-11 09:02:00"),
                          ("S", "pdd", "b3", None, "buyer", "2026-11-11 10:00:00"),
                          ("S", "pdd", "b3", AQ, "agent", "2026-11-11 10:10:00"),
                          ("S", "pdd", "b2", None, "buyer", "2026-11-11 11:00:00"),
                          ("S", "pdd", "b2", XM, "agent", "2026-11-11 11:00:30")],
                         columns=m.columns)
    extra["sent_at"] = pd.to_datetime(extra["sent_at"])
    out = aftersale_by_agent(pd.concat([m, extra], ignore_index=True), o, "2026-11-11",
                             "2026-11-11").set_index("agent_id")
    assert out.loc[XM, "aftersale_first_response_s_median"] == 75  # (120 + 30) / 2
    assert out.loc[XM, "aftersale_first_response_s_p90"] == 120
    assert out.loc[AQ, "aftersale_first_response_s_median"] == 600
