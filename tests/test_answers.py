"""`cskit answers` (话术优化, issue 16 item 3): question grouping, question/answer pairs, the
per-agent outcome table, the best answer and its minimum size, the FAQ draft."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

import cskit.cli  # noqa: F401
from cskit.cli.answers import ANSWER_COLUMNS
from cskit.render import print_table
from cskit.text.answers import (answer_keys, answer_pairs, answer_table, faq_markdown, faq_table,
                                load_answer_rules, question_keys)
from chatlog import chat_store, run

RULES = load_answer_rules()


# ------------------------------------------------------------------------------ grouping
def test_question_keys_group_wordings_of_the_same_question():
    texts = ["亲，包邮吗？", "包邮吗", "请问包邮吗~", "包邮不[微笑]",  # 包邮
             "3天能到吗", "5天能到吗",  # a number is a placeholder
             "什么时候发货", "几天发货?",  # synonyms: 多久
             "好的", "在吗", "有运费险吗"]
    q, k = question_keys(texts, RULES)
    assert list(q) == [True] * 8 + [False, True, True]
    assert len({k[0], k[1], k[2], k[3]}) == 1 and k[0] == "包邮"
    assert k[4] == k[5] and "#" in k[4].split()
    assert k[6] == k[7] == "发货 多久"
    assert k[8] == "" and k[9] == ""  # not a question / nothing but a greeting: no group
    assert k[10] != k[0]


def test_generic_question_words_alone_make_no_group_and_synonyms_merge():
    q, k = question_keys(["怎么办?", "什么意思?", "要多久?", "几天能到", "多长时间能收到啊",
                          "多少钱"], RULES)
    assert q.all()
    assert list(k[:3]) == ["", "", ""]
    assert k[3] == k[4] == "到货 多久"
    assert k[5] == "多少 钱"  # 钱 is a single character that carries a topic


def test_greetings_and_holding_replies_are_not_answers():
    from cskit.text.answers import filler_answers

    got = filler_answers(["亲，在的", "您好亲，很高兴为您服务", "好的亲，稍等哦", "亲亲这边给您查一下",
                          "可以的亲", "包邮的哦", "亲，三天到"], RULES)
    assert list(got) == [True, True, True, True, False, False, False]


def test_answer_keys_ignore_particles_punctuation_and_numbers():
    k = answer_keys(["亲，48小时内发货哦~", "48小时内发货哦", "亲亲 24 小时内发货哦！", "不发货"], RULES)
    assert k[0] == k[1] == k[2] and k[3] != k[0]


# ------------------------------------------------------------------------------ pairs
def _msgs(rows):
    return pd.DataFrame(rows, columns=["shop", "buyer_id", "agent_id", "sender", "sent_at",
                                       "content"]).assign(
        sent_at=lambda f: pd.to_datetime(f["sent_at"]))


def test_pairs_take_the_last_question_before_the_first_agent_reply():
    m = _msgs([
        ("店", "b1", None, "buyer", "2026-11-16 09:00:00", "在吗"),
        ("店", "b1", None, "buyer", "2026-11-16 09:00:10", "包邮吗"),
        ("店", "b1", None, "buyer", "2026-11-16 09:00:20", "几天能到"),
        ("店", "b1", "店:A", "bot", "2026-11-16 09:00:21", "机器人：您好"),  # not an agent
        ("店", "b1", "店:A", "agent", "2026-11-16 09:01:00", "亲，三天到"),
        ("店", "b1", None, "buyer", "2026-11-16 09:02:00", "那包邮吗"),  # follow-up question
        ("店", "b1", "店:B", "agent", "2026-11-16 09:02:30", "包邮的"),
        ("店", "b1", None, "buyer", "2026-11-16 09:03:00", "好的"),
        ("店", "b2", None, "buyer", "2026-11-16 23:59:00", "包邮吗"),  # answered next day: none
        ("店", "b2", "店:A", "agent", "2026-11-17 00:01:00", "包邮"),
        ("店", "b3", None, "buyer", "2026-11-16 10:00:00", "包邮吗"),
        ("店", "b3", "店:A", "agent", "2026-11-16 10:00:05", "亲，在的"),  # a greeting: skipped
        ("店", "b3", "店:A", "agent", "2026-11-16 10:00:30", "包邮"),
        ("店", "b3", None, "buyer", "2026-11-16 10:05:00", "包邮吗?"),  # same group, same day
        ("店", "b3", "店:A", "agent", "2026-11-16 10:05:30", "包邮的"),
    ])
    p = answer_pairs(m, RULES).sort_values(["buyer_id", "wait_s"]).reset_index(drop=True)
    got = list(zip(p["buyer_id"], p["question"], p["answer"], p["wait_s"], p["follow_up"]))
    assert got == [("b1", "那包邮吗", "包邮的", 30.0, False),
                   ("b1", "几天能到", "亲，三天到", 40.0, True),
                   ("b3", "包邮吗", "包邮", 30.0, True)]  # asked again: did not land
    assert set(p["date"]) == {dt.date(2026, 11, 16)}
    # the period bounds the question's day
    assert answer_pairs(m, RULES, since="2026-11-17").empty


# ------------------------------------------------------------------------------ table, best
def _pairs_outcomes(spec):
    """spec: (agent, answer, n buyer-days, n paid, n follow-ups, n pending)."""
    pairs, outs, i = [], [], 0
    for agent, answer, n, paid, follow, pending in spec:
        for j in range(n):
            i += 1
            b = f"b{i}"
            pairs.append(("店", b, dt.date(2026, 11, 16), f"店:{agent}", "包邮吗", "包邮", answer,
                          answer, 10.0 * (j + 1), j < follow))
            outs.append(("店", b, dt.date(2026, 11, 16), f"店:{agent}", j < paid,
                         j >= n - pending))
    p = pd.DataFrame(pairs, columns=["shop", "buyer_id", "date", "agent_id", "question", "q_key",
                                     "answer", "a_key", "wait_s", "follow_up"])
    o = pd.DataFrame(outs, columns=["shop", "buyer_id", "date", "agent_id", "paid", "pending"])
    return p, o


def _row(t, agent):
    return t[t["agent_id"] == f"店:{agent}"].iloc[0]


def test_best_needs_two_answers_each_with_min_buyers_of_known_outcome():
    p, o = _pairs_outcomes([("A", "包邮的亲", 20, 15, 2, 0),
                            ("B", "不包邮", 20, 10, 0, 0),
                            ("C", "满99包邮", 21, 21, 0, 2)])  # 19 known < 20: never best
    t = answer_table(p, o, RULES)
    a, b, c = _row(t, "A"), _row(t, "B"), _row(t, "C")
    assert (a["buyers"], a["known"], a["paid"], a["conversion"]) == (20, 20, 15, 0.75)
    assert a["follow_up_rate"] == pytest.approx(0.1) and a["median_wait_s"] == 105.0
    assert (c["known"], c["conversion"]) == (19, 1.0)
    assert list(t["best"]) == [True, False, False] and t.iloc[0]["agent_id"] == "店:A"
    f = faq_table(t, RULES)
    assert f.iloc[0][["status", "agent_id", "competing", "next_conversion"]].tolist() == \
        ["best", "店:A", 2, 0.5]
    # with only one answer large enough nothing is claimed
    t2 = answer_table(*_pairs_outcomes([("A", "包邮的亲", 20, 15, 0, 0),
                                        ("B", "不包邮", 19, 1, 0, 0)]), RULES)
    assert not t2["best"].any()
    assert faq_table(t2, RULES).iloc[0][["status", "competing"]].tolist() == ["too_few", 1]


def test_ties_are_broken_by_the_follow_up_rate():
    t = answer_table(*_pairs_outcomes([("A", "包邮的亲", 20, 10, 5, 0),
                                       ("B", "不包邮", 20, 10, 1, 0)]), RULES)
    assert _row(t, "B")["best"] and not _row(t, "A")["best"]


def test_typical_answer_is_the_most_frequent_and_only_its_buyers_count():
    p, o = _pairs_outcomes([("A", "包邮的亲", 3, 3, 0, 0), ("A", "不包邮", 2, 0, 0, 0)])
    t = answer_table(p, o, RULES, top=None)
    r = t.iloc[0]
    assert (r["answer"], r["answers"], r["buyers"], r["paid"], r["asks"]) == \
        ("包邮的亲", 5, 3, 3.0, 5)


def test_unknown_shop_conversion_is_empty_never_zero():
    p, o = _pairs_outcomes([("A", "包邮的亲", 20, 0, 0, 0), ("B", "不包邮", 20, 0, 0, 0)])
    t = answer_table(p, o, RULES, unknown_shops=["店"])
    assert t["conversion"].isna().all() and (t["known"] == 0).all() and not t["best"].any()
    f = faq_table(t, RULES)
    assert f.iloc[0]["status"] == "unknown"
    md = faq_markdown(f, RULES, title="FAQ", lang="en")
    assert "whether the buyers bought is unknown" in md and "0.0%" not in md


def test_after_sale_pairs_are_not_pre_sale_questions():
    p, o = _pairs_outcomes([("A", "包邮的亲", 6, 3, 0, 0)])
    t = answer_table(p, o.iloc[:5], RULES)  # b6 is not an inquiry buyer-day
    assert t.iloc[0]["buyers"] == 5 and t.iloc[0]["asks"] == 5


def test_rare_questions_are_not_listed():
    t = answer_table(*_pairs_outcomes([("A", "包邮的亲", 4, 3, 0, 0)]), RULES)
    assert t.empty  # asked on 4 < min_asks (5) buyer-days


# ------------------------------------------------------------------------------ CLI
XM, AQ = "店A:小美", "店A:阿强"


def _chats():
    rows = []
    for i in range(1, 7):
        b, agent = f"b{i}", XM if i <= 3 else AQ
        ans = "亲，包邮的哦，今天下单48小时内发货" if i <= 3 else "不包邮的，运费10元"
        q = "亲，包邮吗？" if i != 4 else "包邮吗 我电话13812345678"
        rows += [f"店A,pdd,,{b},,buyer,2026-11-16 1{i}:00:00,{q},,",
                 f"店A,pdd,,{b},{agent},agent,2026-11-16 1{i}:00:{10 * i:02d},{ans},,"]
    rows += ["店A,pdd,,b5,,buyer,2026-11-16 15:02:00,为什么不包邮?,,",
             "店A,pdd,,b9,,buyer,2026-11-20 09:00:00,你好,,",
             f"店A,pdd,,b9,{XM},agent,2026-11-20 09:01:00,您好亲,,"]
    return rows


ORDERS = ("shop,order_id,buyer_id,created_at,paid_at,amount,status\n"
          "店A,o1,b1,2026-11-16 11:05:00,2026-11-16 11:06:00,59.00,paid\n"
          "店A,o2,b2,2026-11-16 12:05:00,2026-11-16 12:06:00,59.00,paid\n"
          "店A,o4,b4,2026-11-16 14:05:00,2026-11-16 14:06:00,59.00,paid\n")
DAY = ["--since", "2026-11-16", "--until", "2026-11-16"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return chat_store(tmp_path_factory.mktemp("answers"), _chats(), ORDERS, orders_kind="orders")


def test_cli_json_hand_computed(store):
    r = run("answers", "--store", store, *DAY, "-f", "json", "--min-buyers", "3")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["min_buyers"] == 3 and doc["min_competing"] == 2
    rows = {x["agent_id"]: x for x in doc["rows"]}
    xm, aq = rows[XM], rows[AQ]
    assert (xm["asks"], xm["buyers"], xm["paid"], xm["conversion"], xm["follow_up_rate"]) == \
        (6, 3, 2, pytest.approx(2 / 3), 0)
    assert (aq["buyers"], aq["paid"], aq["conversion"], aq["follow_up_rate"]) == \
        (3, 1, pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert xm["median_wait_s"] == 20.0 and aq["median_wait_s"] == 50.0
    assert xm["best"] is True and aq["best"] is False
    assert xm["q_key"] == "包邮" and "***" not in json.dumps(rows)  # the typical wording has no digits
    # default minimum (20): no best claimed
    doc = json.loads(run("answers", "--store", store, *DAY, "-f", "json").stdout)
    assert not any(x["best"] for x in doc["rows"])


def test_cli_faq_markdown_and_csv(store, tmp_path):
    md, cs = tmp_path / "faq.md", tmp_path / "faq.csv"
    r = run("answers", "--store", store, *DAY, "--min-buyers", "3", "--faq", md)
    assert r.exit_code == 0, r.output
    text = md.read_text(encoding="utf-8")
    assert "至少有 2 种不同回答" in text and "至少有 3 个结果已知" in text
    assert "> 亲，包邮的哦，今天下单48小时内发货" in text
    assert "小美" in text and "店A:小美" not in text and "66.7%" in text and "33.3%" in text
    r = run("answers", "--store", store, *DAY, "--min-buyers", "3", "--faq", cs, "--lang", "en")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(cs.read_text(encoding="utf-8"))))
    assert rows[0]["status"] == "best" and rows[0]["agent_id"] == XM
    assert float(rows[0]["conversion"]) == pytest.approx(2 / 3, abs=1e-6)
    assert list(rows[0])[:4] == ["shop", "rank", "question", "asks"]


def test_cli_masks_digits_in_the_shown_question(tmp_path):
    rows = [f"店A,pdd,,b{i},,buyer,2026-11-16 10:0{i}:00,包邮吗 13812345678,," for i in range(5)]
    rows += [f"店A,pdd,,b{i},{XM},agent,2026-11-16 10:0{i}:30,包邮 电话13812345678,," for i in range(5)]
    st = chat_store(tmp_path, rows, ORDERS, orders_kind="orders")
    doc = json.loads(run("answers", "--store", st, "-f", "json").stdout)
    assert doc["rows"][0]["question"] == "包邮吗 ***"
    assert doc["rows"][0]["answer"] == "包邮 电话***"


def test_cli_unknown_shop_note(tmp_path):
    rows = [f"店A,pdd,,b{i},,buyer,2026-11-16 10:0{i}:00,包邮吗,," for i in range(5)]
    rows += [f"店A,pdd,,b{i},{XM},agent,2026-11-16 10:0{i}:30,包邮,," for i in range(5)]
    st = chat_store(tmp_path, rows)
    r = run("answers", "--store", st, "-f", "json", "--lang", "en")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["unknown_shops"] == {"店A": "no_orders"}
    assert doc["rows"][0]["conversion"] is None and doc["rows"][0]["buyers"] == 5
    assert "conversion of its answers is left empty" in r.stderr


@pytest.mark.parametrize("width", [80, 120])
def test_table_fits(store, width):
    doc = json.loads(run("answers", "--store", store, *DAY, "-f", "json", "--min-buyers", "3").stdout)
    frame = pd.DataFrame(doc["rows"]).assign(best=lambda f: f["best"].astype(str))
    buf = io.StringIO()
    print_table(Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False),
                frame, ANSWER_COLUMNS, title="话术优化")
    out = buf.getvalue()
    assert max(cell_len(line) for line in out.splitlines()) <= width
    assert "小美" in out and "★ 最佳" in out and "店A:小美" not in out


def test_weekly_report_has_the_answers_section(store, tmp_path):
    out = tmp_path / "w47"
    r = run("report", "--week", "2026-W47", "--out", out, "--store", store)
    assert r.exit_code == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((out / "answers.csv").read_text(encoding="utf-8"))))
    assert {x["agent_id"] for x in rows} == {XM, AQ} and rows[0]["q_key"] == "包邮"
    faq = (out / "faq.md").read_text(encoding="utf-8")
    assert "至少有 20 个结果已知" in faq and "未评最佳" in faq  # 3 buyers each: no best claimed
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "话术优化" in page and 'href="faq.md"' in page and 'href="answers.csv"' in page
