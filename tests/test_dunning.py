"""催付成功率 (issue 18 item 2): reminded orders, paid after the reminder, amount recovered —
hand-computed: strictly after creation, the 24 h window, paid before any reminder, robots,
a second order of the same buyer, orders without a buyer id."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

import cskit.cli  # noqa: F401
from cskit.metrics.dunning import dunned_orders, dunning_by_agent
from chatlog import chat_store, run

A, B = "S:阿强", "S:小美"
MSGS = [  # buyer, agent, sender, time
    ("b1", A, "agent", "2026-11-10 10:10:00"),   # o1, o7: reminded by A, both paid 10:30
    ("b2", A, "agent", "2026-11-10 11:05:00"),   # o2: reminded by A, never paid
    ("b3", B, "agent", "2026-11-10 12:05:00"),   # o3: paid 12:01, before it: not a reminder
    ("b4", B, "agent", "2026-11-11 09:00:01"),   # o4: 24 h + 1 s after creation: too late
    ("b5", B, "agent", "2026-11-10 13:00:00"),   # o5: at the creation second: not after it
    ("b5", A, "bot", "2026-11-10 13:10:00"),     # a robot line: not an agent's reminder
    ("b5", B, "agent", "2026-11-10 13:30:00"),   # o5: reminded by B, paid 14:00
]
ORDERS = [  # order, buyer, created, paid, amount
    ("o1", "b1", "2026-11-10 10:00:00", "2026-11-10 10:30:00", 100.0),
    ("o7", "b1", "2026-11-10 10:00:00", "2026-11-10 10:30:00", 50.0),
    ("o2", "b2", "2026-11-10 11:00:00", None, 80.0),
    ("o3", "b3", "2026-11-10 12:00:00", "2026-11-10 12:01:00", 60.0),
    ("o4", "b4", "2026-11-10 09:00:00", None, 70.0),
    ("o5", "b5", "2026-11-10 13:00:00", "2026-11-10 14:00:00", 30.0),
    ("o6", None, "2026-11-10 13:00:00", None, 20.0),
]


def _frames():
    m = pd.DataFrame([("S", b, a, s, t) for b, a, s, t in MSGS],
                     columns=["shop", "buyer_id", "agent_id", "sender", "sent_at"])
    o = pd.DataFrame([("S", *r) for r in ORDERS],
                     columns=["shop", "order_id", "buyer_id", "created_at", "paid_at", "amount"])
    return m, o


def test_reminded_orders_hand_computed():
    d = dunned_orders(*_frames())
    assert d[["order_id", "dunned_by", "recovered"]].values.tolist() == [
        ["o1", A, True], ["o7", A, True], ["o2", A, False], ["o5", B, True]]
    per = dunning_by_agent(d).set_index("agent_id")
    assert per.loc[A, ["dunned_orders", "dunned_paid", "dun_recovered_amount"]].tolist() == [3, 2, 150.0]
    assert per.loc[A, "dun_success_rate"] == pytest.approx(2 / 3)
    assert per.loc[B, ["dunned_orders", "dunned_paid", "dun_recovered_amount"]].tolist() == [1, 1, 30.0]


def test_window_and_period_are_options():
    m, o = _frames()
    wide = dunned_orders(m, o, window_s=24 * 3600 + 1)
    assert "o4" in set(wide["order_id"])  # exactly at the edge of a longer window
    assert dunned_orders(m, o, since="2026-11-11").empty  # created before the period


def test_excluded_buyers_count_nowhere():
    m, o = _frames()
    ex = pd.DataFrame({"shop": ["S"], "buyer_id": ["b2"]})
    assert "o2" not in set(dunned_orders(m, o, excluded=ex)["order_id"])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    chats = [f"S,pdd,,{b},{a},{s},{t},亲，还在吗,," for b, a, s, t in MSGS]
    orders = "shop,order_id,buyer_id,created_at,paid_at,amount,status\n" + "".join(
        f"S,{oid},{b or ''},{c},{p or ''},{amt},{'paid' if p else 'unpaid'}\n"
        for oid, b, c, p, amt in ORDERS)
    return chat_store(tmp_path_factory.mktemp("dun"), chats, orders, orders_kind="orders")


def test_cli_unpaid_by_agent(store):
    r = run("unpaid", "--store", store, "--since", "2026-11-10", "--until", "2026-11-10",
            "--by", "agent", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = {x["agent_id"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    assert (rows[A]["dunned_orders"], rows[A]["dunned_paid"], rows[A]["dun_recovered_amount"]) == \
        ("3", "2", "150.0")
