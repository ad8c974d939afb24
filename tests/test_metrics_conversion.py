"""Conversion and sales attribution (issue #4): hand-computed cases for every definition,
plus a property test against a plain-Python reference implementation."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cskit.errors import UsageError
from cskit.metrics import registry as registry_mod
from cskit.metrics.conversion import (
    BY_CHOICES,
    LOST_BUYERS_COLUMNS,
    UNPAID_LIST_COLUMNS,
    conversion_kpis,
    lost_buyers,
    output_columns,
    unpaid_list,
)
from cskit.metrics.reply import UNASSIGNED

SHOP = "店铺A"
MCOLS = ["shop", "buyer_id", "agent_id", "sender", "sent_at", "content"]
OCOLS = ["shop", "order_id", "buyer_id", "created_at", "paid_at", "amount", "status"]
D = dt.date(2026, 5, 4)  # a Monday, ISO week 2026-W19


def when(s: str) -> str:
    """'HH:MM:SS' is on D; 'MM-DD HH:MM:SS' in 2026; a full timestamp as is."""
    if len(s) <= 8:
        return f"{D.isoformat()} {s}"
    if len(s) <= 14:
        return f"2026-{s}"
    return s


def msgs(*rows, shop: str = SHOP) -> pd.DataFrame:
    """rows: (buyer, sender, time[, agent[, content]])."""
    recs = [(shop, r[0], r[3] if len(r) > 3 else None, r[1], when(r[2]),
             r[4] if len(r) > 4 else None) for r in rows]
    df = pd.DataFrame(recs, columns=MCOLS)
    df["sent_at"] = pd.to_datetime(df["sent_at"]).astype("datetime64[s]")
    return df


def orders(*rows, shop: str = SHOP) -> pd.DataFrame:
    """rows: (order_id, buyer, created, paid or None, amount, status)."""
    recs = [(shop, r[0], r[1], when(r[2]), when(r[3]) if r[3] else None, r[4], r[5])
            for r in rows]
    df = pd.DataFrame(recs, columns=OCOLS)
    for c in ("created_at", "paid_at"):
        df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
    df["amount"] = df["amount"].astype(float)
    return df


def one(frame: pd.DataFrame, **keys) -> dict:
    m = np.ones(len(frame), dtype=bool)
    for k, v in keys.items():
        m &= (frame[k] == v).to_numpy()
    assert m.sum() == 1, f"expected one row for {keys}, got {m.sum()}\n{frame}"
    return frame[m].iloc[0].to_dict()


def served(buyer: str, t: str, agent: str = "a1", reply_after: str = "00:01:00"):
    """A buyer message at t and a human reply from agent a little later (same day)."""
    t0 = pd.Timestamp(when(t))
    r = t0 + pd.Timedelta(reply_after)
    return [(buyer, "buyer", when(t), None, "在吗"),
            (buyer, "agent", r.strftime("%Y-%m-%d %H:%M:%S"), agent, "在的亲")]


def subset(row: dict, **expected) -> None:
    got = {k: row[k] for k in expected}
    for k, v in expected.items():
        if isinstance(v, float) and math.isnan(v):
            assert math.isnan(got[k]), (k, got)
        elif isinstance(v, float):
            assert got[k] == pytest.approx(v), (k, got)
        else:
            assert got[k] == v, (k, got)


# ----------------------------------------------------------------------------------------
# inquiry vs after-sale (lookback)
# ----------------------------------------------------------------------------------------
def test_aftersale_vs_inquiry_lookback_edges():
    m = msgs(*[r for b in ("b1", "b2", "b3", "b4", "b5") for r in served(b, "05-20 10:00:00")])
    o = orders(
        ("o1", "b1", "05-06 10:00:00", "05-06 10:01:00", 10, "completed"),  # 14 days before
        ("o2", "b2", "05-04 10:00:00", "05-04 10:01:00", 10, "completed"),  # 16 days before
        ("o3", "b3", "05-05 10:00:00", None, 10, "closed"),  # exactly 15 days: after-sale
        ("o4", "b4", "05-05 09:59:59", None, 10, "closed"),  # 15 days + 1 s: inquiry
        ("o5", "b5", "05-20 10:00:00", None, 10, "unpaid"),  # same second as the message
    )
    r = one(conversion_kpis(m, o, since="2026-05-20", until="2026-05-20"),
            date=dt.date(2026, 5, 20))
    subset(r, served_buyers=5, aftersale_buyers=2, inquiry_buyers=3, ordered_buyers=1,
           paid_buyers=0, inquiry_conversion=0.0, order_conversion=1 / 3, pay_success=0.0)
    lost = lost_buyers(m, o, since="2026-05-20", until="2026-05-20")
    assert sorted(lost["buyer_id"]) == ["b2", "b4", "b5"]
    # lookback 14 days: b3 (15 d) becomes an inquiry, b1 (exactly 14 d) stays after-sale
    r = one(conversion_kpis(m, o, by="shop", since="2026-05-20", lookback_days=14), shop=SHOP)
    subset(r, aftersale_buyers=1, inquiry_buyers=4)
    # lookback 0: nobody is after-sale
    r = one(conversion_kpis(m, o, by="shop", since="2026-05-20", lookback_days=0), shop=SHOP)
    subset(r, aftersale_buyers=0, inquiry_buyers=5)


def test_served_needs_a_human_message_after_the_first_buyer_message_same_day():
    m = msgs(
        ("b1", "buyer", "10:00:00"), ("b1", "bot", "10:00:05", None),  # robot only
        ("b2", "agent", "09:00:00", "a1"), ("b2", "buyer", "10:00:00"),  # agent wrote first
        ("b3", "buyer", "23:59:00"), ("b3", "agent", "05-05 00:01:00", "a1"),  # next day
        ("b4", "buyer", "10:00:00"), ("b4", "agent", "10:00:00", "a1"),  # same second: served
        ("b5", "buyer", "10:00:00"), ("b5", "system", "10:00:01", "a1"),  # system: ignored
        ("b6", "buyer", "10:00:00"), ("b6", "agent", "10:05:00", None),  # no account
    )
    r = one(conversion_kpis(m, None, since=D, until=D), date=D)
    subset(r, served_buyers=2, inquiry_buyers=2, aftersale_buyers=0)
    a = conversion_kpis(m, None, by="agent")
    assert list(a["agent_id"]) == ["a1", UNASSIGNED]
    assert list(a["served_buyers"]) == [1, 1]


def test_served_by_the_agent_who_replies_in_the_tie_order():
    # same second, in this input order: a1's message sorts before the buyer's (not a reply:
    # it does not serve), a2's after it (the reply metrics' 0-second reply): a2 serves
    m = msgs(("b1", "agent", "10:00:00", "a1"), ("b1", "buyer", "10:00:00"),
             ("b1", "agent", "10:00:00", "a2"),
             ("b2", "agent", "10:00:00", "a1"), ("b2", "buyer", "10:00:00"))  # nobody after
    a = conversion_kpis(m, None, by="agent")
    assert list(a["agent_id"]) == ["a2"] and list(a["served_buyers"]) == [1]
    subset(one(conversion_kpis(m, None), date=D), served_buyers=1, inquiry_buyers=1)


# ----------------------------------------------------------------------------------------
# attribution window (inclusive at 72 h)
# ----------------------------------------------------------------------------------------
def test_order_window_edge_is_inclusive():
    m = msgs(*served("b1", "10:00:00", reply_after="00:00:30"),
             *served("b2", "10:00:00", reply_after="00:00:30"))
    o = orders(("o1", "b1", "05-07 10:00:00", "05-07 10:05:00", 100, "paid"),  # exactly 72 h
               ("o2", "b2", "05-07 10:00:01", "05-07 10:05:00", 50, "paid"))  # 72 h + 1 s
    k = conversion_kpis(m, o)
    subset(one(k, date=D), inquiry_buyers=2, ordered_buyers=1, paid_buyers=1,
           inquiry_conversion=0.5, attributed_orders=0, sales=0.0)
    # both orders have a human reply within 72 h before them, so both are attributed (on
    # the order's date), even though o2 converts no inquiry window
    subset(one(k, date=dt.date(2026, 5, 7)), inquiry_buyers=0, attributed_orders=2,
           sales=150.0, sales_buyers=2, avg_order_value=75.0)
    r = one(conversion_kpis(m, o, by="shop", window_days=1), shop=SHOP)
    subset(r, ordered_buyers=0, paid_buyers=0, attributed_orders=0, silent_orders=2,
           silent_sales=150.0)


def test_attribution_reply_edge_and_unattributed_and_silent():
    m = msgs(
        ("b1", "buyer", "09:59:00"), ("b1", "agent", "10:00:00", "a1"),
        ("b2", "buyer", "09:59:00"), ("b2", "agent", "10:00:00", "a1"),
        ("b3", "buyer", "05-07 09:00:00"), ("b3", "bot", "05-07 09:00:02", None),
        ("b4", "buyer", "05-06 09:00:00"),  # never answered
        ("b5", "buyer", "05-01 09:00:00"), ("b5", "agent", "05-01 09:01:00", "a1"),  # too old
        ("b7", "buyer", "05-04 12:00:00"), ("b8", "buyer", "05-04 12:00:00"),  # no reply
    )
    o = orders(("o1", "b1", "05-07 10:00:00", "05-07 10:00:00", 10, "paid"),  # reply 72 h ago
               ("o2", "b2", "05-07 10:00:01", "05-07 10:00:01", 20, "paid"),  # 72 h + 1 s
               ("o3", "b3", "05-07 10:00:00", "05-07 10:00:00", 40, "shipped"),
               ("o4", "b4", "05-07 10:00:00", "05-07 10:00:00", 80, "completed"),
               ("o5", "b5", "05-07 10:00:00", "05-07 10:00:00", 160, "paid"),
               ("o6", "b6", "05-07 10:00:00", "05-07 10:00:00", 320, "paid"),  # never chatted
               ("o7", "b7", "05-07 12:00:00", "05-07 12:00:00", 1, "paid"),  # chat 72 h ago
               ("o8", "b8", "05-07 12:00:01", "05-07 12:00:01", 2, "paid"))  # 72 h + 1 s
    r = one(conversion_kpis(m, o), date=dt.date(2026, 5, 7))
    subset(r, attributed_orders=1, sales=10.0, unattributed_orders=3, unattributed_sales=121.0,
           silent_orders=4, silent_sales=20.0 + 160 + 320 + 2, unmatched_orders=0)
    a = conversion_kpis(m, o, by="agent")
    subset(one(a, agent_id="a1"), attributed_orders=1, sales=10.0, silent_orders=0)
    subset(one(a, agent_id=UNASSIGNED), attributed_orders=0, unattributed_orders=3,
           silent_orders=4, served_buyers=0)


# ----------------------------------------------------------------------------------------
# unpaid, closed, refunded orders; 催付 list; lost buyers
# ----------------------------------------------------------------------------------------
def _status_case():
    m = msgs(*served("b1", "10:00:00", "a1"), *served("b2", "10:00:00", "a1"),
             *served("b3", "10:00:00", "a1"), *served("b4", "10:00:00", "a2"),
             ("b1", "buyer", "10:40:00", None, "能便宜点吗"),
             ("b1", "agent", "10:41:00", "a2", "亲 已经是最低价了"))
    o = orders(("o1", "b1", "10:30:00", None, 88.5, "unpaid"),
               ("o2", "b2", "10:30:00", None, 20, "closed"),
               ("o3", "b3", "10:30:00", "10:31:00", 40, "refunded"),
               ("o4", "b4", "10:30:00", "10:31:00", 60, "completed"))
    return m, o


def test_unpaid_closed_refunded_orders():
    m, o = _status_case()
    r = one(conversion_kpis(m, o, by="shop"), shop=SHOP)
    subset(r, inquiry_buyers=4, ordered_buyers=4, paid_buyers=1, pay_success=0.25,
           inquiry_conversion=0.25, order_conversion=1.0, attributed_orders=1, sales=60.0,
           sales_buyers=1, avg_order_value=60.0, unattributed_orders=0, silent_orders=0)
    lost = lost_buyers(m, o)
    assert list(lost.columns) == LOST_BUYERS_COLUMNS
    assert list(lost["buyer_id"]) == ["b1", "b2", "b3"]
    assert lost["had_unpaid_order"].tolist() == [True, True, True]
    assert set(lost["agent_id"]) == {"a1"}


def test_unpaid_list():
    m, o = _status_case()
    u = unpaid_list(m, o)
    assert list(u.columns) == UNPAID_LIST_COLUMNS
    assert len(u) == 1
    subset(u.iloc[0].to_dict(), shop=SHOP, buyer_id="b1", order_id="o1", amount=88.5,
           agent="a1", last_message="能便宜点吗")
    assert u.iloc[0]["created_at"] == pd.Timestamp("2026-05-04 10:30:00")
    assert u.iloc[0]["last_message_at"] == pd.Timestamp("2026-05-04 10:40:00")
    # filtered by the inquiry's date
    assert len(unpaid_list(m, o, since="2026-05-05")) == 0
    assert len(unpaid_list(m, o, until="2026-05-04")) == 1
    # without a content column the message is None
    u2 = unpaid_list(m.drop(columns="content"), o)
    assert u2.iloc[0]["last_message"] is None


def test_unpaid_list_newest_first_and_only_inquiry_buyers():
    m = msgs(*served("b1", "10:00:00"), *served("b2", "10:00:00"), *served("b3", "11:00:00"),
             ("b9", "buyer", "10:00:00"))  # b9 not served: not an inquiry
    o = orders(("o0", "b3", "04-28 10:00:00", "04-28 10:00:00", 5, "completed"),  # b3 after-sale
               ("o1", "b1", "10:30:00", None, 10, "unpaid"),
               ("o2", "b2", "05-05 08:00:00", None, 20, "unpaid"),
               ("o3", "b1", "12:00:00", None, 30, "unpaid"),
               ("o4", "b3", "11:30:00", None, 40, "unpaid"),
               ("o5", "b9", "10:30:00", None, 50, "unpaid"),
               ("o6", "b2", "05-08 08:00:00", None, 60, "unpaid"))  # outside the window
    u = unpaid_list(m, o)
    assert list(u["order_id"]) == ["o2", "o3", "o1"]


# ----------------------------------------------------------------------------------------
# two agents; paid on a later day (anchor order vs pay)
# ----------------------------------------------------------------------------------------
def test_two_agents_last_human_reply_before_the_order_wins():
    m = msgs(("b1", "buyer", "10:00:00"), ("b1", "agent", "10:01:00", "a1"),
             ("b1", "buyer", "10:10:00"), ("b1", "agent", "10:15:00", "a2"))
    o = orders(("o1", "b1", "10:12:00", "10:12:30", 30, "paid"),
               ("o2", "b1", "10:20:00", "10:21:00", 70, "paid"))
    a = conversion_kpis(m, o, by="agent")
    subset(one(a, agent_id="a1"), served_buyers=1, inquiry_buyers=1, ordered_buyers=1,
           paid_buyers=1, inquiry_conversion=1.0, attributed_orders=1, sales=30.0,
           sales_buyers=1, avg_order_value=30.0)
    subset(one(a, agent_id="a2"), served_buyers=0, inquiry_buyers=0, paid_buyers=0,
           inquiry_conversion=float("nan"), attributed_orders=1, sales=70.0, sales_buyers=1,
           avg_order_value=70.0)
    s = one(conversion_kpis(m, o, by="shop"), shop=SHOP)
    subset(s, attributed_orders=2, sales=100.0, sales_buyers=1, avg_order_value=100.0,
           paid_buyers=1)


def test_reply_at_the_order_second_counts_and_ties_take_the_later_row():
    m = msgs(("b1", "buyer", "10:00:00"), ("b1", "agent", "10:05:00", "a1"),
             ("b1", "agent", "10:05:00", "a2"),  # same second: the later row wins
             ("b2", "buyer", "10:00:00"), ("b2", "agent", "10:01:00", "a1"),
             ("b2", "agent", "10:30:00", "a2"))  # same second as the order: counts
    o = orders(("o1", "b1", "10:20:00", "10:20:00", 5, "paid"),
               ("o2", "b2", "10:30:00", "10:30:00", 7, "paid"))
    a = conversion_kpis(m, o, by="agent")
    assert one(a, agent_id="a2")["attributed_orders"] == 2
    assert one(a, agent_id="a1")["inquiry_buyers"] == 2  # first replier of both


def test_same_second_ties_follow_source_file_and_row():
    m = msgs(("b1", "buyer", "10:00:00"), ("b1", "agent", "10:05:00", "a2"),
             ("b1", "agent", "10:05:00", "a1"))
    o = orders(("o1", "b1", "10:20:00", "10:20:00", 5, "paid"))
    m["source_file"] = "chat.csv"
    m["source_row"] = [1, 3, 2]  # a2's message is the later row of the export
    a = conversion_kpis(m, o, by="agent")
    subset(one(a, agent_id="a2"), attributed_orders=1, inquiry_buyers=0)
    subset(one(a, agent_id="a1"), attributed_orders=0, inquiry_buyers=1)
    # without the source columns, input order decides
    a = conversion_kpis(m.drop(columns=["source_file", "source_row"]), o, by="agent")
    subset(one(a, agent_id="a1"), attributed_orders=1, inquiry_buyers=0)


def test_order_paid_on_a_later_day_anchor_order_vs_pay():
    m = msgs(("b1", "buyer", "09:00:00"), ("b1", "agent", "09:01:00", "a1"),
             ("b1", "agent", "05-05 15:00:00", "a2"))  # a2 follows up; no buyer message
    o = orders(("o1", "b1", "10:00:00", "05-07 11:00:00", 99, "paid"))
    by_order = conversion_kpis(m, o, anchor="order")
    subset(one(by_order, date=D), inquiry_buyers=1, ordered_buyers=1, paid_buyers=1,
           attributed_orders=1, sales=99.0)
    assert one(conversion_kpis(m, o, by="agent", anchor="order"), agent_id="a1")["sales"] == 99
    by_pay = conversion_kpis(m, o, anchor="pay")
    # paid 74 h after the first message: not paid within the window, but ordered
    subset(one(by_pay, date=D), inquiry_buyers=1, ordered_buyers=1, paid_buyers=0,
           pay_success=0.0, attributed_orders=0)
    subset(one(by_pay, date=dt.date(2026, 5, 7)), attributed_orders=1, sales=99.0)
    a = conversion_kpis(m, o, by="agent", anchor="pay")
    subset(one(a, agent_id="a2"), attributed_orders=1, sales=99.0)
    subset(one(a, agent_id="a1"), attributed_orders=0, inquiry_buyers=1)


def test_anchor_pay_payment_in_window_counts_as_ordered():
    # created 20 days before (outside the lookback), paid inside the window: paid ⊆ ordered
    m = msgs(*served("b1", "05-30 10:00:00"))
    o = orders(("o1", "b1", "05-10 10:00:00", "05-30 11:00:00", 9, "paid"))
    r = one(conversion_kpis(m, o, by="shop", anchor="pay", since="2026-05-30"), shop=SHOP)
    subset(r, inquiry_buyers=1, ordered_buyers=1, paid_buyers=1, pay_success=1.0)
    r = one(conversion_kpis(m, o, by="shop", anchor="order", since="2026-05-30"), shop=SHOP)
    subset(r, inquiry_buyers=1, ordered_buyers=0, paid_buyers=0)


def test_paid_status_without_payment_time_and_unknown_status():
    m = msgs(*served("b1", "10:00:00"), *served("b2", "10:00:00"), *served("b3", "10:00:00"))
    o = orders(("o1", "b1", "10:30:00", None, 10, "shipped"),  # paid status, no paid_at
               ("o2", "b2", "10:30:00", "10:31:00", 20, None),  # unknown status, paid_at
               ("o3", "b3", "10:30:00", None, 40, None))  # unknown, never paid
    r = one(conversion_kpis(m, o, by="shop"), shop=SHOP)
    subset(r, ordered_buyers=3, paid_buyers=2, sales=30.0)
    assert len(unpaid_list(m, o)) == 0  # an unknown status is not listed for 催付


# ----------------------------------------------------------------------------------------
# unmatched orders, pending, as_of
# ----------------------------------------------------------------------------------------
def test_unmatched_orders_without_buyer_id():
    m = msgs(*served("b1", "10:00:00"))
    o = orders(("o1", None, "10:30:00", "10:31:00", 20, "paid"),
               ("o2", "", "10:30:00", "10:31:00", 30, "completed"),
               ("o3", "  ", "10:30:00", "10:31:00", float("nan"), "paid"),  # amount unknown
               ("o4", None, "10:30:00", None, 40, "unpaid"),  # not a paid order
               ("o5", None, "10:30:00", None, 80, "closed"))
    r = one(conversion_kpis(m, o, by="shop"), shop=SHOP)
    subset(r, unmatched_orders=3, unmatched_sales=50.0, ordered_buyers=0, attributed_orders=0,
           silent_orders=0)
    a = conversion_kpis(m, o, by="agent")
    subset(one(a, agent_id=UNASSIGNED), unmatched_orders=3, unmatched_sales=50.0)
    assert len(unpaid_list(m, o)) == 0


def test_pending_until_the_window_closes():
    m = msgs(*served("b1", "10:00:00"), *served("b2", "05-06 10:00:00"))
    o = orders(("o1", "b1", "05-07 10:00:00", "05-07 10:00:00", 1, "paid"))
    # data end = the latest event: o1, 05-07 10:00:00 (b1's window closes exactly then)
    k = conversion_kpis(m, o)
    assert one(k, date=D)["pending"] == False  # noqa: E712 (numpy bool)
    assert one(k, date=dt.date(2026, 5, 6))["pending"] == True  # noqa: E712
    assert one(k, date=dt.date(2026, 5, 7))["pending"] == False  # noqa: E712 (orders only)
    # window of b1 closes at 05-07 10:00:00 inclusive
    k = conversion_kpis(m, o, as_of="2026-05-07 09:59:59")
    assert bool(one(k, date=D)["pending"]) is True
    # ... and o1 (created after as_of) is ignored
    assert one(k, date=D)["paid_buyers"] == 0
    assert dt.date(2026, 5, 7) not in set(k["date"])
    k = conversion_kpis(m, o, as_of=dt.datetime(2026, 5, 7, 10, 0, 0))
    assert bool(one(k, date=D)["pending"]) is False
    assert one(k, date=D)["paid_buyers"] == 1
    # a bare date is the end of that day
    k = conversion_kpis(m, o, as_of="2026-05-09")
    assert one(k, date=dt.date(2026, 5, 6))["pending"] == False  # noqa: E712
    k = conversion_kpis(m, o, by="shop", as_of=dt.date(2026, 5, 8))
    assert bool(k.iloc[0]["pending"]) is True
    assert k["pending"].dtype == bool
    lost = lost_buyers(m, o)
    assert lost.set_index("buyer_id")["pending"].to_dict() == {"b2": True}


def test_as_of_payment_after_it_is_unpaid_then():
    m = msgs(*served("b1", "10:00:00", "a1"))
    o = orders(("o1", "b1", "10:30:00", "05-05 09:00:00", 10, "completed"))
    k = one(conversion_kpis(m, o, by="shop", as_of="2026-05-04 23:00:00"), shop=SHOP)
    subset(k, ordered_buyers=1, paid_buyers=0, attributed_orders=0, pending=True)
    u = unpaid_list(m, o, as_of="2026-05-04 23:00:00")
    assert list(u["order_id"]) == ["o1"]
    assert len(unpaid_list(m, o)) == 0


# ----------------------------------------------------------------------------------------
# groupings, shops, filters, empty input
# ----------------------------------------------------------------------------------------
def test_by_week_iso_year_boundary_and_by_day():
    m = msgs(*served("b1", "2026-12-31 10:00:00"), *served("b2", "2027-01-03 10:00:00"),
             *served("b3", "2027-01-04 10:00:00"))
    o = orders(("o1", "b2", "2027-01-04 09:00:00", "2027-01-04 09:00:00", 10, "paid"))
    w = conversion_kpis(m, o, by="week")
    assert list(w["week"]) == ["2026-W53", "2027-W01"]
    subset(one(w, week="2026-W53"), inquiry_buyers=2, paid_buyers=1, attributed_orders=0)
    subset(one(w, week="2027-W01"), inquiry_buyers=1, paid_buyers=0, attributed_orders=1,
           sales=10.0)
    d = conversion_kpis(m, o, by="day")
    assert list(d["date"]) == [dt.date(2026, 12, 31), dt.date(2027, 1, 3), dt.date(2027, 1, 4)]
    assert all(isinstance(x, dt.date) for x in d["date"])
    s = conversion_kpis(m, o, by="shop")
    subset(one(s, shop=SHOP), inquiry_buyers=3, paid_buyers=1, attributed_orders=1)


def test_week_and_shop_rows_sum_buyer_days():
    m = msgs(*served("b1", "10:00:00"), *served("b1", "05-05 10:00:00"))
    o = orders(("o1", "b1", "05-05 12:00:00", "05-05 12:00:00", 10, "paid"))
    s = one(conversion_kpis(m, o, by="shop"), shop=SHOP)
    # the order is in both days' windows; on 05-05 the buyer has no earlier order: inquiry
    subset(s, inquiry_buyers=2, paid_buyers=2, attributed_orders=1, sales_buyers=1)
    w = one(conversion_kpis(m, o, by="week"), week="2026-W19")
    subset(w, inquiry_buyers=2, paid_buyers=2)


def test_output_columns_and_groupings():
    m, o = _status_case()
    m = pd.concat([m, msgs(("b5", "buyer", "10:00:00"))], ignore_index=True)  # unserved
    o = pd.concat([o, orders(("o9", None, "11:00:00", "11:00:00", 3, "paid"))],
                  ignore_index=True)
    for by in BY_CHOICES:
        k = conversion_kpis(m, o, by=by)
        assert list(k.columns) == output_columns(by)
        for c in [c for c in k.columns if c not in registry_mod.GROUP_KEYS]:
            unit = registry_mod.kpi(c).unit
            want = bool if c == "pending" else (np.int64 if unit == "count" else float)
            assert k[c].dtype == want, (by, c, k[c].dtype)
    assert output_columns("agent")[:3] == ["shop", "agent_id", "served_buyers"]
    assert output_columns("day")[-1] == "pending"
    assert "consult_buyers" not in output_columns("day")


def test_two_shops_are_independent():
    ma = msgs(*served("b1", "10:00:00"), shop="店A")
    mb = msgs(*served("b1", "05-10 10:00:00"), shop="店B")
    m = pd.concat([ma, mb], ignore_index=True)
    o = pd.concat([
        # same buyer id in shop B: must not make shop A's buyer after-sale or paid
        orders(("x1", "b1", "05-03 10:00:00", "05-03 10:00:00", 5, "paid"),
               ("x2", "b1", "05-04 11:00:00", "05-04 11:00:00", 7, "paid"), shop="店B"),
    ], ignore_index=True)
    s = conversion_kpis(m, o, by="shop")
    assert list(s["shop"]) == ["店A", "店B"]
    # A's data end is its own latest event (05-04 10:01), not B's (05-10): A is pending
    subset(one(s, shop="店A"), inquiry_buyers=1, aftersale_buyers=0, paid_buyers=0,
           attributed_orders=0, silent_orders=0, pending=True)
    # shop B: the orders were silent (B's chat is on 05-10); the 05-10 buyer-day is
    # after-sale (x2, 6 days before), so B has no inquiry and nothing pending
    subset(one(s, shop="店B"), inquiry_buyers=0, aftersale_buyers=1, silent_orders=2,
           silent_sales=12.0, pending=False)
    alone = conversion_kpis(ma, None, by="shop")
    assert alone.equals(s[s["shop"] == "店A"].reset_index(drop=True))
    # an explicit as_of applies to every shop
    s2 = conversion_kpis(m, o, by="shop", as_of="2026-05-10 10:01:00")
    assert not s2["pending"].any()


def test_since_until_filter_buyer_days_and_orders_by_their_dates():
    m = msgs(*served("b1", "10:00:00"), *served("b2", "05-05 10:00:00"))
    o = orders(("o1", "b1", "05-05 09:00:00", "05-05 09:00:00", 10, "paid"))
    k = conversion_kpis(m, o, since="2026-05-04", until="2026-05-04")
    assert list(k["date"]) == [D]
    subset(k.iloc[0].to_dict(), inquiry_buyers=1, paid_buyers=1, attributed_orders=0)
    k = conversion_kpis(m, o, by="shop", since=dt.date(2026, 5, 5))
    # only b2's buyer-day (05-05) is in range; o1 (b1's, dated 05-05) is, and is credited to
    # b1's reply of 05-04
    subset(k.iloc[0].to_dict(), inquiry_buyers=1, paid_buyers=0, attributed_orders=1,
           sales=10.0)


def test_empty_inputs():
    empty_m = msgs()
    empty_o = orders()
    for by in BY_CHOICES:
        k = conversion_kpis(empty_m, empty_o, by=by)
        assert len(k) == 0 and list(k.columns) == output_columns(by)
        assert k["pending"].dtype == bool and k["sales"].dtype == float
    assert len(conversion_kpis(empty_m, None)) == 0
    assert len(unpaid_list(empty_m, empty_o)) == 0
    assert list(unpaid_list(empty_m, empty_o).columns) == UNPAID_LIST_COLUMNS
    assert len(lost_buyers(empty_m, empty_o)) == 0
    # orders only: silent orders, no buyer counts
    o = orders(("o1", "b1", "10:00:00", "10:00:00", 3, "paid"))
    k = conversion_kpis(empty_m, o, by="shop")
    subset(k.iloc[0].to_dict(), served_buyers=0, silent_orders=1, silent_sales=3.0,
           inquiry_conversion=float("nan"))
    # messages only
    k = conversion_kpis(msgs(*served("b1", "10:00:00")), None, by="shop")
    subset(k.iloc[0].to_dict(), inquiry_buyers=1, paid_buyers=0, sales=0.0)


def test_inputs_are_not_modified():
    m, o = _status_case()
    m0, o0 = m.copy(), o.copy()
    for by in BY_CHOICES:
        conversion_kpis(m, o, by=by)
    unpaid_list(m, o)
    lost_buyers(m, o)
    pd.testing.assert_frame_equal(m, m0)
    pd.testing.assert_frame_equal(o, o0)


def test_bad_arguments():
    m, o = _status_case()
    with pytest.raises(UsageError):
        conversion_kpis(m, o, by="hour")
    with pytest.raises(UsageError):
        conversion_kpis(m, o, anchor="ship")
    with pytest.raises(UsageError):
        conversion_kpis(m, o, window_days=-1)
    with pytest.raises(UsageError):
        conversion_kpis(m, o, since="not a date")
    with pytest.raises(UsageError):
        conversion_kpis(m, o, as_of="soon")
    with pytest.raises(ValueError, match="created_at"):
        conversion_kpis(m, o.drop(columns="created_at"))


def test_registry_entries():
    keys = [c for c in output_columns("shop") if c != "shop"]
    for k in keys:
        entry = registry_mod.kpi(k)
        assert entry.family == "conversion"
        assert entry.unit in ("count", "rate", "yuan")
    assert registry_mod.kpi("inquiry_conversion").label_zh == "询单转化率"
    assert registry_mod.kpi("sales").unit == "yuan"
    assert registry_mod.kpi("pending").unit == "count"
    # registered in output order, after the reply KPIs, once
    order = [k.key for k in registry_mod.KPIS]
    assert [order.index(k) for k in keys] == sorted(order.index(k) for k in keys)
    assert order.index("served_buyers") > order.index("consult_buyers")
    from cskit.metrics import conversion_rules

    conversion_rules._register_all()  # registering again is a no-op
    assert [k.key for k in registry_mod.KPIS] == order


# ----------------------------------------------------------------------------------------
# property test: a plain-Python reference implementation
# ----------------------------------------------------------------------------------------
H = 3600
DAYS = 86400
T0 = int(pd.Timestamp("2026-05-04").value // 10 ** 9)
PAID = ("paid", "shipped", "completed")


def reference(mrows, orows, W, L, anchor):
    """Per shop: the KPI counters; per (shop, agent): inquiry/paid/attributed/sales."""
    end: dict = {}
    for s, b, a, snd, t in mrows:
        if snd in ("buyer", "agent", "bot"):
            end[s] = max(end.get(s, t), t)
    for s, oid, b, ct, pt, amt, stt in orows:
        end[s] = max(end.get(s, ct), ct)
        if pt is not None:
            end[s] = max(end[s], pt)

    def is_paid(o):
        s, oid, b, ct, pt, amt, stt = o
        if stt in ("closed", "refunded") or not (stt in PAID or pt is not None):
            return False
        return (pt if pt is not None else ct) <= end[s]

    def anchor_t(o):
        return o[3] if anchor == "order" else (o[4] if o[4] is not None else o[3])

    shop = {}
    agent = {}

    def bump(d, key, name, v=1):
        d.setdefault(key, {}).setdefault(name, 0)
        d[key][name] += v

    days = sorted({(s, b, t // DAYS) for s, b, a, snd, t in mrows if snd == "buyer"})
    for s, b, day in days:
        fb = min((t, i) for i, (s2, b2, a, snd, t) in enumerate(mrows)
                 if (s2, b2, snd) == (s, b, "buyer") and t // DAYS == day)
        f = fb[0]
        # the first human reply comes after the first buyer message in (time, input) order:
        # an agent message of the same second that sorts before it does not serve (issue 12)
        replies = [(t, i, a) for i, (s2, b2, a, snd, t) in enumerate(mrows)
                   if (s2, b2, snd) == (s, b, "agent") and (t, i) > fb and t // DAYS == day]
        if not replies:
            continue
        first_agent = min(replies)[2] or UNASSIGNED
        mine = [o for o in orows if (o[0], o[2]) == (s, b)]
        after = any(f - L <= o[3] < f for o in mine)
        bump(shop, s, "served_buyers")
        bump(agent, (s, first_agent), "served_buyers")
        if after:
            bump(shop, s, "aftersale_buyers")
            continue
        paid = any(is_paid(o) and f <= anchor_t(o) <= f + W for o in mine)
        ordered = any(f <= o[3] <= f + W for o in mine) or (anchor == "pay" and paid)
        if f + W > end[s]:
            shop[s]["pending"] = 1
        for name, flag in (("inquiry_buyers", True), ("ordered_buyers", ordered),
                           ("paid_buyers", paid)):
            if flag:
                bump(shop, s, name)
                bump(agent, (s, first_agent), name)
    sales_buyers: dict = {}
    for o in orows:
        if not is_paid(o):
            continue
        s, b, amt = o[0], o[2], o[5]
        at = anchor_t(o)
        if b is None:
            bump(shop, s, "unmatched_orders")
            bump(shop, s, "unmatched_sales", amt)
            continue
        near = [(t, i, a, snd) for i, (s2, b2, a, snd, t) in enumerate(mrows)
                if (s2, b2) == (s, b) and at - W <= t <= at and snd in ("buyer", "agent", "bot")]
        humans = [x for x in near if x[3] == "agent"]
        if humans:
            credited = max(humans)[2] or UNASSIGNED
            bump(shop, s, "attributed_orders")
            sales_buyers.setdefault(s, set()).add((b, at // DAYS))
            bump(shop, s, "sales", amt)
            bump(agent, (s, credited), "attributed_orders")
            bump(agent, (s, credited), "sales", amt)
        elif near:
            bump(shop, s, "unattributed_orders")
        else:
            bump(shop, s, "silent_orders")
    for s, pairs in sales_buyers.items():
        shop[s]["sales_buyers"] = len(pairs)
    return shop, agent


SHOP_KEYS = ["served_buyers", "inquiry_buyers", "aftersale_buyers", "ordered_buyers",
             "paid_buyers", "attributed_orders", "sales", "unattributed_orders",
             "silent_orders", "unmatched_orders", "unmatched_sales", "sales_buyers", "pending"]
AGENT_KEYS = ["served_buyers", "inquiry_buyers", "ordered_buyers", "paid_buyers",
              "attributed_orders", "sales"]

# times on a coarse grid (6-hour steps over 3 days; windows and lookbacks are whole steps)
# so that window and lookback edges, same-second ties and midnight are hit often; orders
# are placed a few steps before or after a message of the same buyer
STEP = 6 * H
_t = st.integers(0, 12).map(lambda k: T0 + k * STEP)
_shop = st.sampled_from(["S1", "S1", "S1", "S2"])
_msg = st.tuples(_shop, st.sampled_from(["b1", "b2"]),
                 st.sampled_from([None, "a1", "a2"]),
                 st.sampled_from(["buyer", "buyer", "agent", "agent", "bot", "system"]), _t)
_status = st.sampled_from([None, "unpaid", "paid", "shipped", "completed", "closed",
                           "refunded"])


@st.composite
def _inputs(draw):
    mrows = draw(st.lists(_msg, max_size=30))
    orows = []
    for i in range(draw(st.integers(0, 8))):
        if mrows and draw(st.booleans()):  # near a message of the same buyer
            s, b, _, _, t = draw(st.sampled_from(mrows))
            ct = t + draw(st.integers(-6, 6)) * STEP
            if draw(st.integers(0, 5)) == 0:
                b = None
        else:
            s, b, ct = draw(_shop), draw(st.sampled_from([None, "b1", "b2"])), draw(_t)
        dp = draw(st.one_of(st.none(), st.integers(0, 8)))
        orows.append((s, f"o{i}", b, ct, None if dp is None else ct + dp * STEP,
                      draw(st.sampled_from([1.0, 2.0, 5.0, 10.0])), draw(_status)))
    return mrows, orows


def _frames(mrows, orows):
    m = pd.DataFrame(mrows, columns=["shop", "buyer_id", "agent_id", "sender", "sent_at"])
    m["sent_at"] = pd.to_datetime(m["sent_at"].astype("int64"), unit="s").astype("datetime64[s]")
    o = pd.DataFrame(orows, columns=OCOLS)
    o["created_at"] = pd.to_datetime(o["created_at"].astype("int64"), unit="s") \
        .astype("datetime64[s]")
    o["paid_at"] = pd.to_datetime(o["paid_at"].astype("float64"), unit="s") \
        .astype("datetime64[s]")
    o["amount"] = o["amount"].astype(float)
    return m, o


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_inputs(), window_days=st.sampled_from([0.25, 0.5, 1]),
       lookback_days=st.sampled_from([0, 0.25, 0.5, 1]),
       anchor=st.sampled_from(["order", "pay"]))
def test_matches_reference_implementation(data, window_days, lookback_days, anchor):
    mrows, orows = data
    m, o = _frames(mrows, orows)
    W, L = int(window_days * DAYS), int(lookback_days * DAYS)
    ref_shop, ref_agent = reference(mrows, orows, W, L, anchor)

    got = conversion_kpis(m, o, by="shop", window_days=window_days,
                          lookback_days=lookback_days, anchor=anchor)
    got_shop = {r["shop"]: r for r in got.to_dict("records")}
    for s in set(ref_shop) | set(got_shop):
        exp = ref_shop.get(s, {})
        row = got_shop.get(s, {})
        for k in SHOP_KEYS:
            assert row.get(k, 0) == pytest.approx(exp.get(k, 0)), (s, k, row, exp)

    got = conversion_kpis(m, o, by="agent", window_days=window_days,
                          lookback_days=lookback_days, anchor=anchor)
    got_agent = {(r["shop"], r["agent_id"]): r for r in got.to_dict("records")}
    for key in set(ref_agent) | set(got_agent):
        exp = ref_agent.get(key, {})
        row = got_agent.get(key, {})
        for k in AGENT_KEYS:
            assert row.get(k, 0) == pytest.approx(exp.get(k, 0)), (key, k, row, exp)

    # lost buyers = inquiry buyer-days that did not pay
    lost = lost_buyers(m, o, window_days=window_days, lookback_days=lookback_days,
                       anchor=anchor)
    for s in ref_shop:
        n = ref_shop[s].get("inquiry_buyers", 0) - ref_shop[s].get("paid_buyers", 0)
        assert int((lost["shop"] == s).sum()) == n
