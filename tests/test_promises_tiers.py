"""Promise tiers (issue 15 item 4, round 6): confident promise forms are listed and counted by
default; weak forms (a step taken for the buyer, shipping once stock is in or "as soon as
possible" with no day, 到货联系, a bare report of a note, a bare 给您退款/补发, contacting a
third party with no 帮您 and no word of coming back) only with
``cskit promises --all``, marked 待确认 / "to confirm".  Texts are made up (no corpus text)."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

from chatlog import chat_store, run
from cskit.render import display_frame, print_table
from cskit.text.promises import TIERS, detect, load_promise_rules
from cskit.text.promises_view import promise_list_columns

A = "店A:阿强"
CHATS = [
    # b1: a confident promise, nobody writes again → broken
    f"店A,pdd,,b1,{A},agent,2026-11-16 10:00:00,好的亲，稍后给您回复,,",
    # b2: a step taken for the buyer (weak), nobody writes again → broken, to confirm
    f"店A,pdd,,b2,{A},agent,2026-11-16 10:00:00,这边帮您申请售后,,",
    # b3: contact on arrival (weak), kept by a follow-up
    f"店A,pdd,,b3,{A},agent,2026-11-16 10:00:00,到货后联系您,,",
    f"店A,pdd,,b3,{A},agent,2026-11-16 12:00:00,亲，货到了,,",
    "店A,pdd,,b3,,buyer,2026-11-17 22:00:00,好的,,",
]
PERIOD = ("--since", "2026-11-16", "--until", "2026-11-17")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("tiers"), CHATS)


def _rows(r) -> list[dict]:
    assert r.exit_code == 0, r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def _detect(texts: list[str], tiers=("confident",)) -> list[tuple[str, str] | None]:
    m = pd.DataFrame({"sender": "agent", "shop": "s", "buyer_id": [f"b{i}" for i in range(len(texts))],
                      "agent_id": "a", "sent_at": pd.Timestamp("2026-11-16 10:00"), "content": texts})
    d = detect(m, tiers=tiers)
    found = {r: (f, t) for r, f, t in zip(d["row"], d["family"], d["tier"])}
    return [found.get(i) for i in range(len(texts))]


WEAK = [
    ("这边帮您申请售后", "reply_step"),
    ("我帮您修改一下地址", "reply_step"),
    ("到货后第一时间通知您", "arrival"),
    ("到货后就给您发出", "ship_stock"),
    ("会尽快给您发货的", "ship_soon"),
    ("已经备注了", "remark_done"),
    ("退回来给您补发", "resend_bare"),
    ("签收了给您退款", "refund_bare"),
    ("这边联系下快递", "reply_contact"),
]
CONFIDENT = [
    ("稍后给您回复", "reply"),
    ("我帮您问一下仓库", "reply"),
    ("小妹帮您联系一下站点", "reply"),
    ("明天给您发出", "ship"),
    ("这边给您补发一个", "resend"),
    ("我们会给您退差价", "refund"),
    ("给您备注不发韵达", "remark"),
    # a weak form with a confident one in the same message: confident wins
    ("这边帮您申请售后，稍后给您回复", "reply"),
]


@pytest.mark.parametrize("text,family", WEAK)
def test_weak_forms_only_with_all_tiers(text, family):
    assert _detect([text]) == [None]
    assert _detect([text], TIERS) == [(family, "weak")]


@pytest.mark.parametrize("text,family", CONFIDENT)
def test_confident_forms_by_default(text, family):
    assert _detect([text]) == [(family, "confident")]
    assert _detect([text], TIERS) == [(family, "confident")]


@pytest.mark.parametrize("text", [
    "商品下周到仓，5号左右给您安排发货",                 # an estimate (N 号左右)
    "我们会在24小时内给您短信通知",                     # the company's SMS notice
])
def test_not_a_promise_sixth_round(text):
    assert _detect([text], TIERS) == [None]


@pytest.mark.parametrize("text", [
    "这边2小时内短信告知您",                            # the agent's own notice
    "这边帮您核实，预计3点前给您回电",                   # 预计 with the agent's call back
])
def test_still_a_promise_sixth_round(text):
    assert _detect([text]) != [None]


def test_tier_in_a_rules_file_is_checked(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[kinds]]\nid = "reply"\n[[families]]\nkind = "reply"\ntier = "maybe"\n'
                   'patterns = ["x"]\n', encoding="utf-8")
    r = run("promises", "--rules", bad, "--store", tmp_path / "nostore")
    assert r.exit_code != 0 and "families[0].tier" in r.stderr and "maybe" in r.stderr
    own = tmp_path / "own.toml"
    own.write_text('[[kinds]]\nid = "reply"\n[[families]]\nid = "w"\nkind = "reply"\ntier = "weak"\n'
                   'patterns = ["问一下"]\n[[families]]\nid = "c"\nkind = "reply"\n'
                   'patterns = ["回复您"]\n', encoding="utf-8")
    r = load_promise_rules(own)
    # the confident family is tried first whatever the file order
    assert [f[0] for f in r.families] == ["c", "w"] and r.tiers == ("confident", "weak")


def test_default_list_and_counts_are_confident_only(store):
    rows = _rows(run("promises", "--store", store, *PERIOD, "-f", "csv"))
    assert [r["buyer_id"] for r in rows] == ["b1"] and "tier" not in rows[0]
    doc = json.loads(run("promises", "--store", store, *PERIOD, "--by", "agent", "-f", "json").stdout)
    assert doc["rows"] == [{"shop": "店A", "agent_id": A, "promises": 1, "kept": 0, "broken": 1,
                            "open": 0, "unknown": 0}]
    assert doc["tiers"] == ["confident"]
    # the agent report's broken_promises counts the confident ones only
    kpi = _rows(run("kpi", "--store", store, *PERIOD, "--by", "agent", "--wide", "-f", "csv"))
    assert {r["agent_id"]: r["broken_promises"] for r in kpi}[A] == "1"


def test_all_lists_weak_promises_marked_to_confirm(store):
    r = run("promises", "--store", store, *PERIOD, "--all", "-f", "csv")
    rows = _rows(r)
    assert {x["buyer_id"]: (x["tier"], x["status"]) for x in rows} == {
        "b1": ("confident", "broken"), "b2": ("weak", "broken"), "b3": ("weak", "kept")}
    assert list(rows[0]) == [c.key for c in promise_list_columns(load_promise_rules(), True)]
    assert "弱承诺句式" in r.stderr
    doc = json.loads(run("promises", "--store", store, *PERIOD, "--all", "--by", "agent",
                         "-f", "json").stdout)
    assert doc["rows"][0]["promises"] == 3 and doc["weak"] == 2
    assert doc["tiers"] == ["confident", "weak"]
    table = run("promises", "--store", store, *PERIOD, "--all").stdout
    assert "待确认" in table and "确定性" in table
    en = run("promises", "--store", store, *PERIOD, "--all", "--lang", "en")
    assert "to confirm" in en.stdout and "weak promise forms" in en.stderr


@pytest.mark.parametrize("width", [80, 120])
def test_all_table_fits(store, width):
    rows = pd.DataFrame(_rows(run("promises", "--store", store, *PERIOD, "--all", "-f", "csv")))
    cols = promise_list_columns(load_promise_rules(), True)
    buf = io.StringIO()
    con = Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False)
    print_table(con, display_frame(rows, cols, lang="zh"), cols, lang="zh")
    out = buf.getvalue()
    assert max(cell_len(line) for line in out.splitlines()) <= width, out
    assert "待确认" in out
