"""`cskit voice` (issue 15 item 2): buyer messages routed to departments, per ISO week, with
the week-over-week change, the forward list, one CSV per department and a shop's own rules.
Expectations are hand-computed on a tiny store."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.cells import cell_len
from rich.console import Console

import cskit.cli  # noqa: F401
from chatlog import chat_store, run
from cskit.cli.voice import VOICE_COLUMNS, VOICE_LIST_COLUMNS
from cskit.errors import UsageError
from cskit.render import print_table
from cskit.text.voice import (LIST_COLUMNS, SUMMARY_COLUMNS, classify, route_texts,
                              safe_file_name)
from cskit.text.voice_rules import load_voice_rules

XM, AQ = "店A:小美", "店A:阿强"
CHATS = [
    # 2026-W46 (11-09 .. 11-15)
    "店A,pdd,,b1,,buyer,2026-11-10 09:00:00,收到的跟图片不一样，宣传言过其实,,",    # marketing
    f"店A,pdd,,b1,{XM},agent,2026-11-10 09:01:00,亲，非常抱歉,,",
    "店A,pdd,,b2,,buyer,2026-11-11 09:00:00,能开增值税专用发票吗,,",              # finance
    f"店A,pdd,,b2,{AQ},agent,2026-11-11 09:01:00,可以的亲,,",
    "店A,pdd,,b3,,buyer,2026-11-12 09:00:00,这个多少钱,,",                       # a price question: none
    # 2026-W47 (11-16 .. 11-22)
    "店A,pdd,,b4,,buyer,2026-11-16 09:00:00,产品太硬用着不舒服,,",               # product, 小美 answers
    f"店A,pdd,,b4,{XM},agent,2026-11-16 09:02:00,亲，可以退换的,,",
    f"店A,pdd,,b5,{AQ},agent,2026-11-17 09:00:00,亲，在的,,",
    "店A,pdd,,b5,,buyer,2026-11-17 09:01:00,老人在家，不送货上门就不买了,,",    # logistics, 阿强 before
    "店A,pdd,,b6,,buyer,2026-11-17 10:00:00,收到的有破损 电话13812345678,,",     # warehouse, no agent
    "店A,pdd,,b7,,buyer,2026-11-18 09:00:00,发票随货吗,,",                       # finance
    f"店A,pdd,,b7,{XM},agent,2026-11-18 09:01:00,随货的亲,,",
    "店A,pdd,,b1,,buyer,2026-11-18 10:00:00,质量怎么样,,",                       # a question: none
    "店A,pdd,,b8,,buyer,2026-11-19 09:00:00,能开增值税专用发票吗,,",              # finance
    f"店A,pdd,,b8,{AQ},agent,2026-11-19 09:01:00,可以的,,",
    "店A,pdd,,b9,,buyer,2026-11-19 11:00:00,能开增值税专用发票吗？,,",            # finance, same wording
    f"店A,pdd,,b9,{AQ},agent,2026-11-19 11:01:00,可以的,,",
    "店A,pdd,,b10,,buyer,2026-11-22 20:00:00,你好,,",                            # the data reaches Sunday
]
W47 = ["--since", "2026-11-16", "--until", "2026-11-22"]
DEPTS = ["marketing", "finance", "product", "logistics", "warehouse", "other"]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return chat_store(tmp_path_factory.mktemp("voice"), CHATS)


def as_json(res) -> dict:
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


# ------------------------------------------------------------------ the rules


@pytest.mark.parametrize("text,depts", [
    ("实物与图片有差异，宣传言过其实", {"marketing"}),
    ("能开增值税专用发票吗", {"finance"}),
    ("发票随货吗", {"finance"}),
    ("产品太硬用着不舒服", {"product"}),
    ("老人在家不送货上门就不买", {"logistics"}),
    ("收到的有破损，还漏发了一个", {"warehouse"}),
    ("有色差", {"warehouse"}),
    ("这个多少钱", set()),                    # a question about price is not feedback to 运营
    ("能便宜点吗", set()),
    ("质量怎么样", set()),                    # a pre-sale question is not product feedback
    ("会不会掉色", set()),
    ("会不会发烫", set()),
    ("物流好几天没动了", {"logistics"}),
    ("不需要发票", set()),                    # asks nothing of 财务
    ("你们客服态度太差了，我要投诉", {"other"}),
    ("快递太慢了，我要投诉", {"logistics"}),     # 其他 only when no department is told
    ("收到的有破损，发票也没给", {"warehouse", "finance"}),
])
def test_routing(text, depts):
    codes, hits = route_texts([text])
    ids = np.array(load_voice_rules().ids())
    assert set(ids[hits[codes[0]]]) == depts


# Issue 15 item 4, second round (logistics and product were the weak departments): a
# request where to leave the parcel, a question whether it is delivered, a contact number,
# a call the after-sales desk did not make are no delivery complaint; damage in transit, a
# coupon or an account that does not work, a price difference "too big", an allergy-prone
# buyer's question, a feeling, a broken-off line are not the product; an invoice not given,
# an expired coupon, an address sent wrong, a sum short are not the warehouse's.  Each text
# was routed to the wrong department before.  Texts are made up.
@pytest.mark.parametrize("text,depts", [
    ("派送员电话多少", set()),
    ("可以放驿站吗", set()),
    ("放快递柜就行", set()),
    ("周末不送货吗", set()),
    ("说好的售后给我打电话 也没打电话", set()),
    ("一直没收到发票", {"finance"}),
    ("快递员没打电话就放门口了", {"logistics"}),     # the courier pattern keeps the complaint
    ("我这快递经常放快递柜里", {"logistics"}),
    ("外包装压坏了", {"warehouse"}),
    ("优惠券用不了", {"marketing"}),
    ("京豆不能用吗", set()),
    ("差价太大了吧", set()),
    ("过敏体质能用吗", set()),
    ("态度让人很不舒服", set()),
    ("物流信息断了", set()),
    ("用了几天就坏了", {"product"}),
    ("鞋子偏小 要换大一码", {"product"}),
    ("没给我发票", {"finance"}),
    ("优惠券过期了", set()),
    ("我地址发错了", set()),
    ("怎么少了一块钱", set()),
    ("少了一个配件", {"warehouse"}),
    ("还没收到货 可以改地址吗", set()),
    ("这个我家电压不能用吗", set()),
])
def test_routing_second_round(text, depts):
    codes, hits = route_texts([text])
    ids = np.array(load_voice_rules().ids())
    assert set(ids[hits[codes[0]]]) == depts


def test_each_distinct_text_is_matched_once():
    codes, hits = route_texts(["发票随货吗", "你好", "发票随货吗", None])
    assert hits.shape[0] == 3 and codes[0] == codes[2]


def test_only_buyer_messages_are_classified():
    msgs = pd.DataFrame({"sender": ["agent", "buyer"], "content": ["发票随货的", "发票随货吗"],
                         "shop": "s", "buyer_id": "b", "sent_at": pd.to_datetime(["2026-11-16"] * 2)})
    fb = classify(msgs)
    assert fb["row"].tolist() == [1] and fb["department_id"].tolist() == ["finance"]


# ------------------------------------------------------------------ the summary


def test_week_summary_with_week_over_week_change(store):
    doc = as_json(run("voice", "--store", store, *W47, "-f", "json"))
    rows = {r["department_id"]: r for r in doc["rows"]}
    assert list(rows) == DEPTS
    assert set(doc["rows"][0]) == set(SUMMARY_COLUMNS) == {c.key for c in VOICE_COLUMNS}
    got = {d: (r["buyers"], r["messages"], r["buyers_prev"], r["buyers_change"])
           for d, r in rows.items()}
    assert got == {"marketing": (0, 0, 1, -1), "finance": (3, 3, 1, 2), "product": (1, 1, 0, 1),
                   "logistics": (1, 1, 0, 1), "warehouse": (1, 1, 0, 1), "other": (0, 0, 0, 0)}
    assert all(r["week"] == "2026-W47" and r["shop"] == "店A" for r in doc["rows"])
    # the most frequent wording first (two buyers wrote it, punctuation aside), digits masked
    assert rows["finance"]["top_quotes"] == "能开增值税专用发票吗？ | 发票随货吗"
    assert rows["warehouse"]["top_quotes"] == "收到的有破损 电话***"
    assert rows["marketing"]["top_quotes"] is None


def test_change_is_unknown_without_a_previous_week_not_zero(store):
    doc = as_json(run("voice", "--store", store, "--since", "2026-11-09", "--until", "2026-11-15",
                      "-f", "json"))
    assert {r["week"] for r in doc["rows"]} == {"2026-W46"}
    assert all(r["buyers_prev"] is None and r["buyers_change"] is None for r in doc["rows"])
    assert [r["buyers"] for r in doc["rows"]] == [1, 1, 0, 0, 0, 0]


def test_change_is_unknown_for_a_part_week(store):
    res = run("voice", "--store", store, "--since", "2026-11-16", "--until", "2026-11-18",
              "-f", "json")
    doc = as_json(res)
    assert all(r["buyers_change"] is None for r in doc["rows"])
    assert "2026-W47" in res.stderr


def test_department_filter_by_name_or_id(store):
    for name in ("财务", "发票", "财务/发票", "finance"):
        doc = as_json(run("voice", "--store", store, *W47, "-d", name, "-f", "json"))
        assert [r["department_id"] for r in doc["rows"]] == ["finance"]
    res = run("voice", "--store", store, "-d", "人事")
    assert res.exit_code != 0 and "人事" in res.output and "finance" in res.output


# ------------------------------------------------------------------ the list and the files


def test_list_rows_to_forward(store):
    doc = as_json(run("voice", "--store", store, *W47, "--list", "-f", "json"))
    assert set(doc["rows"][0]) == set(LIST_COLUMNS) == {c.key for c in VOICE_LIST_COLUMNS}
    got = [(r["department_id"], r["buyer_id"], r["agent_id"], r["date"], r["quote"])
           for r in doc["rows"]]
    assert got == [
        ("finance", "b7", XM, "2026-11-18", "发票随货吗"),
        ("finance", "b8", AQ, "2026-11-19", "能开增值税专用发票吗"),
        ("finance", "b9", AQ, "2026-11-19", "能开增值税专用发票吗？"),
        ("product", "b4", XM, "2026-11-16", "产品太硬用着不舒服"),
        ("logistics", "b5", AQ, "2026-11-17", "老人在家，不送货上门就不买了"),
        ("warehouse", "b6", None, "2026-11-17", "收到的有破损 电话***"),  # no agent: unknown
    ]
    doc = as_json(run("voice", "--store", store, *W47, "--list", "-d", "物流", "-f", "json"))
    assert [r["buyer_id"] for r in doc["rows"]] == ["b5"]


def test_list_table_names_agents_within_their_shop(store):
    res = run("voice", "--store", store, *W47, "--list", "-d", "product")
    assert res.exit_code == 0, res.output
    assert "小美" in res.stdout and XM not in res.stdout


def test_out_dir_one_csv_per_department(store, tmp_path):
    out = tmp_path / "mail"
    res = run("voice", "--store", store, *W47, "--out", out, "-f", "json")
    doc = as_json(res)
    files = {r["department_id"]: r for r in doc["rows"]}
    assert [files[d]["rows"] for d in DEPTS] == [0, 3, 1, 1, 1, 0]
    assert files["marketing"]["file"] is None
    names = sorted(p.name for p in out.iterdir())
    assert names == ["finance_财务_发票.csv", "logistics_物流_配送.csv", "product_产品_质量.csv",
                     "warehouse_仓储_品控.csv"]
    raw = (out / "finance_财务_发票.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["部门", "店铺", "日期"]
    assert [r[3] for r in rows[1:]] == ["b7", "b8", "b9"]


@pytest.mark.parametrize("name,safe", [("运营/宣传", "运营_宣传"), ('a<b>:c"d|e?*', "a_b_c_d_e_"),
                                       ("CON", "_CON"), ("报表. ", "报表"), ("", "_")])
def test_file_names_are_safe_on_windows(name, safe):
    assert safe_file_name(name) == safe


# ------------------------------------------------------------------ a shop's own rules


def test_shop_rules_add_departments_and_words(store, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text('extends = "default"\n'
                 '[[departments]]\nid = "service"\nname = "客服/培训"\nwords = ["态度不好"]\n'
                 '[[departments]]\nid = "finance"\nwords = ["随便"]\n'
                 '[[departments]]\nid = "product"\nwords = ["质量怎么样"]\nexceptions = []\n',
                 encoding="utf-8")
    rules = load_voice_rules(f)
    assert rules.ids() == ("marketing", "finance", "product", "logistics", "warehouse", "service",
                           "other")
    codes, hits = route_texts(["客服态度不好", "随便看看", "发票随货吗"], rules)
    ids = np.array(rules.ids())
    assert [set(ids[hits[c]]) for c in codes] == [{"service"}, {"finance"}, {"finance"}]
    doc = as_json(run("voice", "--store", store, *W47, "--rules", f, "-d", "service", "-f", "json"))
    assert [r["buyers"] for r in doc["rows"]] == [0]


def test_a_file_without_extends_replaces_the_rules(tmp_path):
    f = tmp_path / "only.toml"
    f.write_text('[[departments]]\nid = "gifts"\nname = "赠品"\nwords = ["赠品"]\n', encoding="utf-8")
    assert load_voice_rules(f).ids() == ("gifts",)


@pytest.mark.parametrize("body,where", [
    ('[[departments]]\nid = "Bad"\nname = "x"\nwords = ["a"]\n', "departments.Bad.id"),
    ('[[departments]]\nid = "x"\nname = "x"\n', "departments.x"),
    ('[[departments]]\nid = "x"\nname = "x"\npatterns = ["("]\n', "departments.x.patterns[0]"),
    ('[[departments]]\nid = "x"\nname = "x"\nwords = ["a"]\nfoo = 1\n', "departments.x.foo"),
])
def test_bad_rules_name_the_file_and_key(tmp_path, body, where):
    f = tmp_path / "bad.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        load_voice_rules(f)
    assert "bad.toml" in str(exc.value) and where in str(exc.value)


# ------------------------------------------------------------------ tables for people


@pytest.mark.parametrize("width", [80, 120])
def test_summary_table_fits(store, width):
    doc = as_json(run("voice", "--store", store, *W47, "-f", "json"))
    frame = pd.DataFrame(doc["rows"])
    buf = io.StringIO()
    print_table(Console(file=buf, width=width, no_color=True, highlight=False, soft_wrap=False),
                frame, VOICE_COLUMNS)
    lines = buf.getvalue().splitlines()
    assert max(cell_len(x) for x in lines) <= width
    assert any("财务/发票" in x for x in lines)


def test_english(store):
    res = run("voice", "--store", store, *W47, "--lang", "en")
    assert res.exit_code == 0, res.output
    assert "finance / invoices" in res.stdout and "Buyers' voice" in res.stdout


# ------------------------------------------------------------------ the weekly report


def test_weekly_report_section_top_three_per_department(store, tmp_path):
    out = tmp_path / "rep"
    res = run("report", "--store", store, "--week", "2026-W47", "--out", out, "--no-charts")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(open(out / "voice.csv", encoding="utf-8")))
    got = {r["department_id"]: (int(r["buyers"]), int(r["messages"]), r["top_quotes"]) for r in rows}
    assert got["finance"] == (3, 3, "能开增值税专用发票吗？ | 发票随货吗")
    assert got["warehouse"] == (1, 1, "收到的有破损 电话***")
    assert got["marketing"] == (0, 0, "")
    page = (out / "index.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>买家意见反馈"):page.index("<h2>文件")]
    assert "老人在家，不送货上门就不买了" in section and "电话***" in section
    assert "13812345678" not in section


def test_demo_overview_per_department(store, capsys):
    from cskit.cli.voice import run_voice_overview
    from cskit.kpi import Period
    from cskit.store import Store

    frame = run_voice_overview(Store(store), period=Period(None, None))
    got = dict(zip(frame["department_id"], frame["buyers"]))
    assert got == {"marketing": 1, "finance": 4, "product": 1, "logistics": 1, "warehouse": 1,
                   "other": 0}
    out = capsys.readouterr().out
    assert "买家意见反馈" in out and "电话***" in out
