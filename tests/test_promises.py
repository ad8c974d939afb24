"""Promises (日清, issue 15 item 1): detection, deadlines, status — the library and the
`cskit promises` command, on a tiny hand-made store with hand-computed expectations."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

from chatlog import chat_store, run
from cskit.cli.promises import PROMISE_AGENT_COLUMNS, promise_list_columns
from cskit.render import display_frame, print_table
from cskit.text.promises import TIERS, detect, load_promise_rules, promise_status

A, B = "店A:阿强", "店A:小美"
# 2026-11-16 is a Monday; the store's data end is 2026-11-17 22:00 (b9's last message)
CHATS = [
    # b1: 稍后 → deadline the same day 23:59:59; answered at 15:00 → kept (follow-up)
    f"店A,pdd,,b1,{A},agent,2026-11-16 10:00:00,好的亲，稍后给您回复,,",
    f"店A,pdd,,b1,{A},agent,2026-11-16 15:00:00,亲，查到了，有货的,,",
    # b2: no time word → 24 h (11-17 10:00); answered 11-17 11:00: late → broken
    f"店A,pdd,,b2,{A},agent,2026-11-16 10:00:00,我帮您问一下仓库,,",
    f"店A,pdd,,b2,{A},agent,2026-11-17 11:00:00,问到了，明天有货,,",
    # b3: 明天 → 11-17 23:59:59; the order (created before) is shipped → kept (order)
    f"店A,pdd,,b3,{A},agent,2026-11-16 10:00:00,订单12345678明天给您发出,,",
    # b4: refund promised, the order is only completed, nobody wrote again → broken
    f"店A,pdd,,b4,{A},agent,2026-11-16 10:00:00,退款马上给您处理,,",
    # b5: made on the last day, deadline 11-18 20:00 after the data end → open
    f"店A,pdd,,b5,{A},agent,2026-11-17 20:00:00,给您补发一个,,",
    # b6: pleasantries, not promises; b7: the robot's words are never a promise
    f"店A,pdd,,b6,{A},agent,2026-11-16 10:00:00,有问题随时联系我们哦,,",
    f"店A,pdd,,b6,{A},agent,2026-11-16 10:01:00,亲，稍等,,",
    "店A,pdd,,b7,,bot,2026-11-16 10:00:00,稍后给您回复,,",
    # b8: a ship promise (same day), the buyer has no order: unknown, not broken
    f"店A,pdd,,b8,{A},agent,2026-11-16 10:00:00,马上给您发出,,",
    # b9: only trivial messages after it (亲 / 好的) → broken
    f"店A,pdd,,b9,{A},agent,2026-11-16 10:00:00,稍后给您回复,,",
    f"店A,pdd,,b9,{A},agent,2026-11-16 10:00:05,亲,,",
    f"店A,pdd,,b9,{A},agent,2026-11-16 10:05:00,好的,,",
    "店A,pdd,,b9,,buyer,2026-11-17 22:00:00,还没回复吗,,",
    # b10: a colleague answers for 阿强 → kept
    f"店A,pdd,,b10,{A},agent,2026-11-16 10:00:00,我帮您问一下,,",
    f"店A,pdd,,b10,{B},agent,2026-11-16 10:30:00,问好了，可以的,,",
]
ORDERS = ("shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
          "店A,o3,b3,2026-11-15 09:00:00,2026-11-15 09:01:00,10,shipped\n"
          "店A,o4,b4,2026-11-10 09:00:00,2026-11-10 09:01:00,10,completed\n")
EXPECTED = {"b1": "kept", "b2": "broken", "b3": "kept", "b4": "broken", "b5": "open",
            "b8": "unknown", "b9": "broken", "b10": "kept"}
PERIOD = ("--since", "2026-11-16", "--until", "2026-11-17")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("promises"), CHATS, ORDERS, orders_kind="orders")


def _rows(r) -> list[dict]:
    assert r.exit_code == 0, r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def test_detects_promises_not_pleasantries_or_robots():
    m = pd.DataFrame({"sender": ["agent"] * 9 + ["bot", "buyer"],
                      "shop": "s", "buyer_id": "b", "agent_id": "a",
                      "sent_at": pd.Timestamp("2026-11-16 10:00"),
                      "content": ["稍后给您回复", "我帮您问一下", "明天给您发出", "给您补发一个",
                                  "备注了不发韵达", "退款马上给您处理", "到货后联系您",
                                  "有问题随时联系哦", "亲，稍等", "稍后给您回复", "我帮您问一下"]})
    d = detect(m, tiers=TIERS)
    assert d["content"].tolist() == ["稍后给您回复", "我帮您问一下", "明天给您发出", "给您补发一个",
                                     "备注了不发韵达", "退款马上给您处理", "到货后联系您"]
    assert d["kind"].tolist() == ["reply", "reply", "ship", "resend", "remark", "refund",
                                  "arrival"]
    # 到货后联系您 is a weak form (round 6): listed only with --all
    assert d["tier"].tolist() == ["confident"] * 6 + ["weak"]
    assert detect(m)["content"].tolist() == d["content"].tolist()[:6]


@pytest.mark.parametrize("text,deadline", [
    ("稍后给您回复", "2026-11-16 23:59:59"),     # same day
    ("马上给您补发", "2026-11-16 23:59:59"),
    ("明天给您发出", "2026-11-17 23:59:59"),     # end of the next day
    ("后天给您发出", "2026-11-18 23:59:59"),
    ("周三给您发货", "2026-11-18 23:59:59"),     # Monday → that Wednesday
    ("周一给您发货", "2026-11-16 23:59:59"),     # today is Monday
    ("下周一给您回复", "2026-11-23 23:59:59"),
    ("11月20号给您发出", "2026-11-20 23:59:59"),  # a date
    ("20号给您发出", "2026-11-20 23:59:59"),
    ("16号给您发出", "2026-11-16 23:59:59"),      # today
    ("3小时内给您回复", "2026-11-16 13:30:00"),
    ("我帮您问一下", "2026-11-17 10:30:00"),      # otherwise 24 h
])
def test_deadline_rules(text, deadline):
    m = pd.DataFrame({"sender": ["agent"], "shop": "s", "buyer_id": "b", "agent_id": "a",
                      "sent_at": [pd.Timestamp("2026-11-16 10:30")], "content": [text]})
    d = detect(m)
    assert len(d) == 1 and str(d["deadline"].iloc[0]) == deadline


def test_a_day_of_the_month_passed_is_next_months():
    m = pd.DataFrame({"sender": ["agent"], "shop": "s", "buyer_id": "b", "agent_id": "a",
                      "sent_at": [pd.Timestamp("2026-11-28 10:30")], "content": ["3号给您发出"]})
    assert str(detect(m)["deadline"].iloc[0]) == "2026-12-03 23:59:59"


def test_a_date_too_far_ahead_is_not_tracked():
    m = pd.DataFrame({"sender": ["agent"], "shop": "s", "buyer_id": "b", "agent_id": "a",
                      "sent_at": [pd.Timestamp("2026-11-16 10:30")], "content": ["12月20号给您发出"]})
    assert detect(m).empty  # more than max_days (14) away


def test_status_library_late_follow_up_and_open():
    m = pd.DataFrame({"sender": ["agent", "agent", "agent"], "shop": "s", "buyer_id": ["b", "b", "c"],
                      "agent_id": "a",
                      "sent_at": pd.to_datetime(["2026-11-16 10:00", "2026-11-17 12:00",
                                                 "2026-11-17 09:00"]),
                      "content": ["我帮您问一下", "问到了，有货", "我帮您问一下"]})
    st = promise_status(detect(m), m, None, {"s": pd.Timestamp("2026-11-17 12:00")})
    assert st["status"].tolist() == ["broken", "open"]
    assert str(st["followed_up_at"].iloc[0]) == "2026-11-17 12:00:00"  # late, shown


def test_list_statuses(store):
    rows = _rows(run("promises", "--store", store, *PERIOD, "-f", "csv"))
    assert {r["buyer_id"]: r["status"] for r in rows} == EXPECTED
    by = {r["buyer_id"]: r for r in rows}
    assert by["b1"]["kept_by"] == "follow_up" and by["b3"]["kept_by"] == "order"
    assert by["b2"]["followed_up_at"] == "2026-11-17 11:00:00"
    assert by["b10"]["agent_id"] == A  # the promise stays the promiser's
    assert by["b3"]["quote"] == "订单***明天给您发出"  # digits masked as `cskit lost` does
    assert list(rows[0]) == [c.key for c in promise_list_columns(load_promise_rules())]


def test_status_filter_and_day(store):
    rows = _rows(run("promises", "--store", store, *PERIOD, "--status", "broken", "-f", "csv"))
    assert sorted(r["buyer_id"] for r in rows) == ["b2", "b4", "b9"]
    rows = _rows(run("promises", "--store", store, "--day", "2026-11-17", "-f", "csv"))
    assert [r["buyer_id"] for r in rows] == ["b5"]


def test_by_agent_counts(store):
    r = run("promises", "--store", store, *PERIOD, "--by", "agent", "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    rows = doc["rows"] if isinstance(doc, dict) else doc
    assert rows == [{"shop": "店A", "agent_id": A, "promises": 8, "kept": 3, "broken": 3,
                     "open": 1, "unknown": 1}]


def test_kpi_agent_report_has_broken_promises(store):
    # with --wide: the columns that need passes of their own (the everyday report stays fast)
    rows = _rows(run("kpi", "--store", store, *PERIOD, "--by", "agent", "--wide", "-f", "csv"))
    got = {r["agent_id"]: r["broken_promises"] for r in rows}
    assert got[A] == "3" and got[B] == "0"
    narrow = _rows(run("kpi", "--store", store, *PERIOD, "--by", "agent", "-f", "csv"))
    assert "broken_promises" not in narrow[0]


def test_option_conflicts(store):
    r = run("promises", "--store", store, "--day", "2026-11-17", "--since", "2026-11-16")
    assert r.exit_code != 0
    r = run("promises", "--store", store, "--by", "agent", "--status", "open")
    assert r.exit_code != 0


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit(store, width):
    rows = pd.DataFrame(_rows(run("promises", "--store", store, *PERIOD, "-f", "csv")))
    for cols, frame in ((promise_list_columns(load_promise_rules()), rows),
                        (PROMISE_AGENT_COLUMNS, pd.DataFrame([{"shop": "店A", "agent_id": A,
                                                               "promises": 8, "kept": 3,
                                                               "broken": 3, "open": 1,
                                                               "unknown": 1}]))):
        buf = io.StringIO()
        con = Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False)
        print_table(con, display_frame(frame, cols, lang="zh"), cols, lang="zh")
        out = buf.getvalue()
        assert max(cell_len(line) for line in out.splitlines()) <= width, out
        assert "超期未兑现" in out


def test_weekly_report_section_and_files(store, tmp_path):
    out = tmp_path / "r"
    r = run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(open(out / "promises.csv", encoding="utf-8")))
    assert {x["buyer_id"]: x["status"] for x in rows} == EXPECTED
    agents = {x["agent_id"]: x["broken_promises"]
              for x in csv.DictReader(open(out / "kpi_by_agent.csv", encoding="utf-8"))}
    assert agents[A] == "3"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "日清 · 客服承诺" in page and "超期未兑现 3 条" in page
    assert "cskit promises --all" in page  # the weak tier is not counted here (round 6)
    assert "promises.csv" in page


def test_rules_file_is_checked(tmp_path, store):
    bad = tmp_path / "p.toml"
    bad.write_text('[[kinds]]\nid = "reply"\n[[families]]\nkind = "nope"\npatterns = ["x"]\n',
                   encoding="utf-8")
    r = run("promises", "--store", store, "--rules", bad, "--lang", "en")
    assert r.exit_code != 0 and "families[0].kind" in r.stderr and "nope" in r.stderr
    own = tmp_path / "own.toml"  # a shop's own rules: one family
    own.write_text('[[kinds]]\nid = "reply"\n[[families]]\nkind = "reply"\n'
                   'patterns = ["问一下"]\n', encoding="utf-8")
    rows = _rows(run("promises", "--store", store, *PERIOD, "--rules", own, "-f", "csv"))
    assert sorted(x["buyer_id"] for x in rows) == ["b10", "b2"]


def test_broken_promises_come_with_a_review_note(store):
    """A broken promise counted against an agent is a lead, not a verdict: the note says so
    on stderr (never in the CSV); a period with no broken promise gets no such note."""
    r = run("promises", "--store", store, *PERIOD, "-f", "csv")
    assert r.exit_code == 0, r.stderr
    assert "识别出的承诺是待复核的线索" in r.stderr and "待复核" not in r.stdout
    r = run("promises", "--store", store, *PERIOD, "--by", "agent", "--lang", "en")
    assert "a detected promise is a lead, not a verdict" in r.stderr
    r = run("promises", "--store", store, "--day", "2026-11-17", "-f", "csv")
    assert r.exit_code == 0 and [row["status"] for row in _rows(r)] == ["open"]
    assert "待复核" not in r.stderr
