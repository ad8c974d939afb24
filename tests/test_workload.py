"""`cskit workload` (issue 18 item 3): per agent and day, hand-computed on a tiny log —
idle gaps (exactly the limit counts as away), midnight, robots, peak concurrency."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

import cskit.cli  # noqa: F401
from cskit.metrics.workload import summarise, workload
from chatlog import chat_store, run

A, B = "S:阿强", "S:小美"
ROWS = [  # shop, buyer, agent, sender, time
    ("S", "b1", "", "buyer", "2026-11-10 10:00:00"),
    ("S", "b1", A, "agent", "2026-11-10 10:00:30"),
    ("S", "b2", "", "buyer", "2026-11-10 10:02:00"),
    ("S", "b2", A, "agent", "2026-11-10 10:03:00"),   # gap 150 s: active
    ("S", "b2", A, "bot", "2026-11-10 10:04:00"),     # a robot line under A's account: not A's work
    ("S", "b1", A, "agent", "2026-11-10 10:05:30"),   # gap 150 s: active
    ("S", "b3", "", "buyer", "2026-11-10 10:59:00"),
    ("S", "b3", A, "agent", "2026-11-10 11:00:00"),   # gap 3270 s: away
    ("S", "b3", A, "agent", "2026-11-10 11:10:00"),   # gap exactly 600 s: away
    ("S", "b4", "", "buyer", "2026-11-10 10:00:00"),
    ("S", "b4", B, "agent", "2026-11-10 10:01:00"),
    ("S", "b1", A, "agent", "2026-11-11 00:05:00"),   # after midnight: a new day, no gap carried
]


def _msgs():
    return pd.DataFrame(ROWS, columns=["shop", "buyer_id", "agent_id", "sender", "sent_at"])


def test_workload_per_agent_and_day_hand_computed():
    w = workload(_msgs()).set_index(["agent_id", "date"])
    a = w.loc[(A, pd.Timestamp("2026-11-10").date())]
    # A on 11-10: b1, b2, b3; 5 messages (the robot line not counted); active 150 + 150;
    # spans b1 [10:00:00, 10:05:30], b2 [10:02:00, 10:03:00], b3 [10:59, 11:10] → peak 2
    assert (a["buyers_served"], a["messages_sent"], a["active_s"], a["peak_concurrent"]) == (3, 5, 300, 2)
    assert str(a["first_message_at"]) == "2026-11-10 10:00:30"
    assert str(a["last_message_at"]) == "2026-11-10 11:10:00"
    a2 = w.loc[(A, pd.Timestamp("2026-11-11").date())]
    assert (a2["buyers_served"], a2["messages_sent"], a2["active_s"], a2["peak_concurrent"]) == (1, 1, 0, 1)
    b = w.loc[(B, pd.Timestamp("2026-11-10").date())]
    assert (b["buyers_served"], b["messages_sent"], b["active_s"], b["peak_concurrent"]) == (1, 1, 0, 1)


def test_idle_limit_is_configurable():
    w = workload(_msgs(), idle_limit_s=601).set_index("agent_id").loc[A].iloc[0]
    assert w["active_s"] == 300 + 600  # the gap of exactly 600 s is now under the limit


def test_summary_over_the_period():
    s = summarise(workload(_msgs())).set_index("agent_id")
    assert s.loc[A].to_dict() == {"shop": "S", "days_active": 2, "buyers_served": 4,
                                  "messages_sent": 6, "active_s": 300, "peak_concurrent": 2}


def test_touching_spans_overlap_and_disjoint_do_not():
    rows = [("S", "x", "", "buyer", "2026-11-10 09:00:00"), ("S", "x", A, "agent", "2026-11-10 09:01:00"),
            ("S", "y", "", "buyer", "2026-11-10 09:01:00"), ("S", "y", A, "agent", "2026-11-10 09:02:00"),
            ("S", "z", "", "buyer", "2026-11-10 09:03:00"), ("S", "z", A, "agent", "2026-11-10 09:04:00")]
    m = pd.DataFrame(rows, columns=["shop", "buyer_id", "agent_id", "sender", "sent_at"])
    assert workload(m)["peak_concurrent"].tolist() == [2]


CHATS = [f"{s},pdd,,{b},{a},{snd},{t},消息,," for s, b, a, snd, t in ROWS]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("workload"), CHATS)


def test_cli_csv_keys_and_values(store):
    r = run("workload", "--store", store, "--since", "2026-11-10", "--until", "2026-11-11", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == ["shop", "agent_id", "date", "buyers_served", "messages_sent",
                             "first_message_at", "last_message_at", "active_s", "peak_concurrent"]
    got = {(x["agent_id"], x["date"]): (x["buyers_served"], x["messages_sent"], x["active_s"])
           for x in rows}
    assert got[(A, "2026-11-10")] == ("3", "5", "300")


def test_cli_table_says_presence_is_estimated(store):
    r = run("workload", "--store", store, "--by", "agent", "--since", "2026-11-10", "--until",
            "2026-11-11")
    assert r.exit_code == 0, r.output
    assert "不是平台的在线状态日志" in r.output and "0:05" in r.stdout


def test_kpi_by_agent_wide_carries_workload_and_dunning_columns(store):
    args = ["kpi", "--store", store, "--by", "agent", "--since", "2026-11-10", "--until",
            "2026-11-11", "-f", "csv"]
    narrow = run(*args)
    wide = run(*args, "--wide")
    assert narrow.exit_code == 0 and wide.exit_code == 0, wide.output
    head = next(csv.reader(io.StringIO(wide.stdout)))
    assert {"buyers_served", "active_s", "peak_concurrent", "dun_success_rate"} <= set(head)
    assert "buyers_served" not in next(csv.reader(io.StringIO(narrow.stdout)))
    rows = {r["agent_id"]: r for r in csv.DictReader(io.StringIO(wide.stdout))}
    assert rows[A]["buyers_served"] == "4" and rows[A]["dun_success_rate"] == ""  # no orders: unknown
