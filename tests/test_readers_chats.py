"""Chat readers: generic tabular (CSV/TSV/XLSX/JSON records), Qianniu text, PDD JSON.

Fixtures live in tests/fixtures/chats/ (regenerate with make_fixtures.py there); every
expectation below is worked out by hand from those files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cskit.errors import InputFileError
from cskit.readers import Probe, ReadOptions, detect, read_file
from cskit.readers import chats_tabular, pdd_json, qianniu_text
from cskit.readers.chats_tabular import MESSAGE_COLUMNS, parse_mapping
from cskit.readers.common import parse_datetime

FIX = Path(__file__).parent / "fixtures" / "chats"
MAPPING = FIX / "mapping.toml"


def read(name_or_path, **opts):
    path = name_or_path if isinstance(name_or_path, Path) else FIX / name_or_path
    return read_file(path, ReadOptions(**opts))


def rows(result, *cols):
    """Frame rows as tuples (sent_at rendered as text, NA as None) for exact comparison."""
    f = result.frame.copy()
    f["sent_at"] = f["sent_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    f = f.astype(object).where(f.notna(), None)
    return [tuple(r) for r in f[list(cols)].itertuples(index=False)]


# --------------------------------------------------------------------------- detection

@pytest.mark.parametrize("name, reader", [
    ("extension_gb18030.csv", "chats-tabular"),
    ("tool_utf8bom.csv", "chats-tabular"),
    ("norole.txt", "chats-tabular"),
    ("canonical.csv", "chats-tabular"),
    ("extension.xlsx", "chats-tabular"),
    ("flat.jsonl", "chats-tabular"),
    ("qianniu.txt", "qianniu-text"),
    ("pdd_array.json", "pdd-json"),
    ("pdd_lines.jsonl", "pdd-json"),
    ("pdd_wrapped.json", "pdd-json"),
])
def test_detect_picks_the_right_reader(name, reader):
    found, _ = detect(FIX / name, ReadOptions())
    assert found.name == reader
    assert read(name).reader == reader


def test_sniff_scores_keep_formats_apart():
    opts = ReadOptions()
    q = FIX / "qianniu.txt"
    assert qianniu_text.sniff(q, Probe(q, opts)) == 80
    assert chats_tabular.sniff(q, Probe(q, opts)) == 0
    t = FIX / "norole.txt"  # a tab-separated .txt is tabular, not a transcript
    assert qianniu_text.sniff(t, Probe(t, opts)) == 0
    p = FIX / "pdd_array.json"
    assert chats_tabular.sniff(p, Probe(p, opts)) == 0
    j = FIX / "flat.jsonl"
    assert pdd_json.sniff(j, Probe(j, opts)) == 0
    c = FIX / "canonical.csv"
    assert 50 <= chats_tabular.sniff(c, Probe(c, opts)) <= 90


def test_mapping_makes_unknown_headers_claimable_at_95():
    path = FIX / "mapped.csv"
    with pytest.raises(InputFileError, match="not recognised"):
        detect(path, ReadOptions())
    opts = ReadOptions(mapping=parse_mapping(MAPPING))
    assert chats_tabular.sniff(path, Probe(path, opts)) == 95


@pytest.mark.parametrize("name", ["extension_gb18030.csv", "tool_utf8bom.csv", "norole.txt",
                                  "canonical.csv", "extension.xlsx", "flat.jsonl", "qianniu.txt",
                                  "pdd_array.json", "pdd_lines.jsonl", "pdd_wrapped.json"])
def test_frames_have_canonical_columns_and_counts_add_up(name):
    res = read(name)
    assert res.kind == "messages"
    assert list(res.frame.columns) == MESSAGE_COLUMNS  # no source_file: ingest adds it
    assert str(res.frame["sent_at"].dtype) == "datetime64[s]"
    assert str(res.frame["source_row"].dtype) == "int64"
    assert res.frame["sent_at"].notna().all() and res.frame["buyer_id"].notna().all()
    assert set(res.frame["sender"]) <= {"buyer", "agent", "bot", "system"}
    assert res.rows_read == len(res.frame) + len(res.rejects)


# --------------------------------------------------------------------------- tabular

def test_extension_export_gb18030():
    raw = (FIX / "extension_gb18030.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is GB18030
    res = read("extension_gb18030.csv")
    assert rows(res, "source_row", "sender", "buyer_id", "agent_id", "sent_at", "shop", "msg_id") == [
        (2, "buyer", "tb8946567709", None, "2026-05-03 09:05:07", "旗舰店", "1"),
        (3, "bot", "tb8946567709", "旗舰店:小美", "2026-05-03 09:05:09", "旗舰店", "2"),
        (4, "agent", "tb8946567709", "旗舰店:小王", "2026-05-03 09:07:30", "旗舰店", "3"),
        (5, "buyer", "tb8946567709", None, "2026-05-03 09:08:00", "旗舰店", "4"),
        (6, "buyer", "小月亮", None, "2026-05-03 09:10:00", "旗舰店", "5"),
        (9, "agent", "小月亮", "旗舰店:小王", "2026-05-03 09:13:00", "旗舰店", "8"),  # full-width ：
        (10, "system", "小月亮", None, "2026-05-03 09:14:00", "旗舰店", "9"),
    ]
    assert res.rejects == [(7, "bad timestamp"), (8, "missing buyer"), (11, "unknown sender role")]
    assert res.rows_read == 10  # the 合计 summary row is not a row
    content = res.frame.set_index("source_row")["content"]
    assert content[4] == "有货的, 今天下单明天发"
    assert content[5] == "无"  # a real one-word reply, not an empty marker
    assert (res.platform, set(res.frame["platform"])) == ("generic", {"generic"})
    for _, reason in res.rejects:  # reasons never quote the message
        assert "时间坏了" not in reason and "谁发的" not in reason


def test_forced_platform_applies_to_generic_files():
    res = read("extension_gb18030.csv", platform="jd")
    assert res.platform == "jd" and set(res.frame["platform"]) == {"jd"}


def test_utf8_bom_title_row_shop_column_and_case_insensitive_roles():
    res = read("tool_utf8bom.csv")
    assert rows(res, "source_row", "conversation_id", "shop", "buyer_id", "agent_id", "sender",
                "msg_type") == [
        (3, "S001", "甲店", "jack_1", None, "buyer", "text"),  # a buyer row has no agent_id
        (4, "S001", "甲店", "jack_1", "甲店:阿强", "agent", "text"),  # "Seller"
        (5, "S001", "甲店", "jack_1", "甲店:阿强", "system", "text"),  # empty shop: from S001
        (6, "S002", "乙店", "rose", "乙店:小李", "bot", "image"),  # 智能客服
    ]
    assert res.rejects == []


def test_without_role_column_the_sender_account_decides():
    res = read("norole.txt")
    assert rows(res, "source_row", "sender", "agent_id", "shop") == [
        (2, "buyer", None, "丙店"),
        (3, "agent", "丙店:客服1", "丙店"),
    ]
    assert res.rejects == [(4, "cannot tell who sent it (no role, no sender account)")]


def test_xlsx_with_excel_times_without_seconds():
    res = read("extension.xlsx")
    assert rows(res, "source_row", "sent_at", "sender", "agent_id", "shop") == [
        (3, "2026-05-03 09:05:00", "buyer", None, "己店"),  # a real datetime cell
        (4, "2026-05-03 09:06:00", "agent", "己店:客服A", "己店"),  # the text '2026/5/3 9:06'
        (5, "2026-05-03 09:07:30", "buyer", None, "己店"),
    ]
    assert res.rejects == [(6, "bad timestamp")]


def test_canonical_csv_round_trips():
    res = read("canonical.csv")
    assert rows(res, "source_row", "shop", "platform", "conversation_id", "buyer_id", "agent_id",
                "sender", "sent_at", "msg_id") == [
        (2, "店A", "pdd", "c1", "600123456789", None, "buyer", "2026-05-05 12:00:00",
         "7360000000000000001"),
        (3, "店A", "pdd", "c1", "600123456789", "cs_9", "agent", "2026-05-05 12:03:00",
         "7360000000000000002"),
        (4, "店A", "pdd", "c1", "600123456789", None, "bot", "2026-05-05 12:03:01",
         "7360000000000000003"),  # 拼多多 → pdd
    ]
    assert res.frame["content"].iloc[0] == "多行\n内容"
    assert res.platform == "pdd"
    assert res.rejects == [(5, "unknown platform value")]


def test_flat_json_records_with_epoch_times_are_shop_local():
    res = read("flat.jsonl")
    assert rows(res, "source_row", "sent_at", "sender", "agent_id", "shop") == [
        (1, "2026-05-03 09:00:00", "buyer", None, "戊店"),  # 1777770000 = 01:00 UTC
        (2, "2026-05-03 09:00:30", "agent", "戊店:一号", "戊店"),
    ]


def test_parse_datetime_epoch_strings_are_not_compact_dates():
    out = parse_datetime(pd.Series(["1777770000", "1777770000123", "20260503090507", "2026/5/3 9:05"]))
    assert out.dt.strftime("%Y-%m-%d %H:%M:%S").tolist() == [
        "2026-05-03 09:00:00", "2026-05-03 09:00:00", "2026-05-03 09:05:07", "2026-05-03 09:05:00"]


def test_shop_column_then_prefix_then_option(tmp_path):
    plain = tmp_path / "plain.csv"
    plain.write_text("客户,时间,内容,角色\nb1,2026-05-03 09:00:00,hi,买家\n", encoding="utf-8")
    assert read(plain).frame["shop"].isna().all()  # ingest asks for --shop
    assert read(plain, shop="我的店").frame["shop"].tolist() == ["我的店"]
    with_col = tmp_path / "with_col.csv"
    with_col.write_text("店铺,客户,时间,内容,角色\n列店,b1,2026-05-03 09:00:00,hi,买家\n", encoding="utf-8")
    assert read(with_col, shop="我的店").frame["shop"].tolist() == ["列店"]


def test_a_chat_log_without_any_sender_information_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("客户,时间,内容\nb1,2026-05-03 09:00:00,秘密\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="who sent each message") as err:
        read(path)
    assert "秘密" not in str(err.value)


# --------------------------------------------------------------------------- mapping

def test_parse_mapping_and_read_with_it():
    mapping = parse_mapping(MAPPING)
    assert mapping == {"buyer_id": "旺旺名", "sent_at": "聊天时间", "content": "说了什么",
                       "sender": "谁发的", "shop": "店"}
    res = read("mapped.csv", mapping=mapping)
    assert res.reader == "chats-tabular"
    assert rows(res, "source_row", "buyer_id", "sender", "sent_at", "content", "shop") == [
        (2, "tb9", "buyer", "2026-05-06 20:00:00", "我要退货", "丁店"),
        (3, "tb9", "agent", "2026-05-06 20:04:00", "好的亲", "丁店"),
    ]


def test_mapped_header_wins_over_a_synonym(tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("客户,时间,聊天时间,内容,角色\nb1,2026-01-01 00:00:00,2026-05-03 09:00:00,hi,买家\n",
                    encoding="utf-8")
    assert rows(read(path), "sent_at") == [("2026-01-01 00:00:00",)]
    assert rows(read(path, mapping={"sent_at": "聊天时间"}), "sent_at") == [("2026-05-03 09:00:00",)]


@pytest.mark.parametrize("text, message", [
    ('[columns]\nbuyer_id = "旺旺名"\nbuyer_nick = "昵称"\n', "unknown column 'buyer_nick'"),
    ('[columns]\nsource_row = "行号"\n', "unknown column 'source_row'"),
    ('[columns]\nbuyer_id = 3\n', "column 'buyer_id'"),
    ('buyer_id = "旺旺名"\n', "no [columns] table"),
    ('[columns\nbuyer_id = "x"\n', "not a valid TOML"),
])
def test_parse_mapping_rejects_bad_files(tmp_path, text, message):
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        parse_mapping(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_parse_mapping_accepts_orders_and_excluded_columns(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('[columns]\norder_id = "单号"\nreason = "原因"\nsince = "日期"\n', encoding="utf-8")
    assert parse_mapping(path) == {"order_id": "单号", "reason": "原因", "since": "日期"}


# --------------------------------------------------------------------------- Qianniu text

QIANNIU_EXPECTED = [
    # source_row, sender, buyer_id, agent_id, sent_at, msg_type
    (4, "agent", "tb222", "旗舰店:小王", "2026-05-03 09:01:00", "text"),  # --> receiver
    (6, "buyer", "tb8946567709", None, "2026-05-03 09:05:07", "text"),
    (11, "bot", "tb8946567709", "旗舰店:小美", "2026-05-03 09:05:09", "text"),  # 【自动回复】
    (13, "system", "tb8946567709", "旗舰店:小王", "2026-05-03 09:05:09", "transfer"),
    (15, "agent", "tb8946567709", "旗舰店:小王", "2026-05-03 09:07:30", "text"),
    (20, "buyer", "tb8946567709", None, "2026-05-03 09:10:00", "text"),  # no space before date
    (23, "buyer", "小月亮", None, "2026-05-03 09:12:00", "card"),  # name / time on two lines
    (26, "agent", "小月亮", "旗舰店:小王", "2026-05-03 09:13:00", "text"),  # full-width colon
    (28, "agent", "小月亮", "旗舰店:小王", "2026-05-03 09:14:00", "text"),  # most recent buyer
]


def test_qianniu_transcript():
    assert b"\r\n" in (FIX / "qianniu.txt").read_bytes()
    res = read("qianniu.txt")
    assert res.platform == "taobao"
    assert rows(res, "source_row", "sender", "buyer_id", "agent_id", "sent_at", "msg_type") == QIANNIU_EXPECTED
    assert res.rejects == [(2, "agent message before any buyer is known"), (30, "bad timestamp")]
    assert res.rows_read == 11  # 10 headers + 1 transfer notice; noise lines are not rows
    assert set(res.frame["shop"]) == {"旗舰店"}
    content = res.frame.set_index("source_row")["content"]
    assert content[6] == "你好，这个还有货吗\nhttps://item.taobao.com/item.htm?id=123"
    assert content[15] == "有货的亲\n今天下单明天发"
    assert content[20] == "好的"
    assert content[13] == "由 服务助手 转交给 旗舰店:小王"
    text = "\n".join(res.frame["content"].dropna())
    for noise in ("已读", "未读", "撤回", "当前用户来自", "原因", "商品详情页", "\r", "小月亮"):
        assert noise not in text


def test_qianniu_gb18030_reads_the_same(tmp_path):
    path = tmp_path / "qianniu.txt"
    path.write_bytes((FIX / "qianniu.txt").read_text(encoding="utf-8").encode("gb18030"))
    assert rows(read(path), "source_row", "sender", "buyer_id", "agent_id", "sent_at",
                "msg_type") == QIANNIU_EXPECTED


def test_qianniu_main_account_and_shop_option(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("b1 2026-5-3 9:00:00\r\n在吗\r\n我的店 2026-5-3 9:00:20\r\n在\r\n".encode("utf-8"))
    res = read(path)  # no sub-account anywhere: the bare shop name looks like a buyer
    assert rows(res, "sender", "buyer_id", "shop") == [("buyer", "b1", None), ("buyer", "我的店", None)]
    res = read(path, shop="我的店")  # with --shop the main account is recognised
    assert rows(res, "sender", "buyer_id", "agent_id", "shop") == [
        ("buyer", "b1", None, "我的店"), ("agent", "b1", "我的店", "我的店")]


# --------------------------------------------------------------------------- PDD JSON

def test_pdd_json_array():
    res = read("pdd_array.json")
    assert res.platform == "pdd"
    assert rows(res, "source_row", "sender", "buyer_id", "agent_id", "sent_at", "msg_type",
                "msg_id", "shop") == [
        (1, "buyer", "123456789", None, "2026-05-03 09:00:00", "0", "7360000000000000001", "拼多多小店"),
        (2, "bot", "123456789", "cs_1", "2026-05-03 09:00:05", "0", "7360000000000000002", "拼多多小店"),
        (3, "agent", "123456789", "mall_9", "2026-05-03 09:01:05", "0", "7360000000000000003", "拼多多小店"),
        (4, "system", "123456789", None, "2026-05-03 09:01:10", "31", "7360000000000000004", "拼多多小店"),
        (5, "bot", "555", "cs_2", "2026-05-03 09:01:20", "0", "7360000000000000005", "拼多多小店"),
        (8, "buyer", "555", None, "2026-05-03 09:01:40", "5", "7360000000000000008", "拼多多小店"),
    ]
    assert res.rejects == [(6, "unknown from.role"), (7, "missing timestamp")]
    assert res.rows_read == 8
    assert '"title": "商品卡片"' in res.frame["content"].iloc[-1]  # structured content kept as JSON


def test_pdd_jsonl_blank_and_truncated_lines():
    res = read("pdd_lines.jsonl")
    assert rows(res, "source_row", "sender", "buyer_id", "agent_id", "sent_at", "msg_id") == [
        (1, "buyer", "u1", None, "2026-05-03 10:00:00", "1"),
        (2, "agent", "u1", "cs_7", "2026-05-03 10:01:00", "2"),  # is_aut "0" is not a robot
        (4, "buyer", "u1", None, "2026-05-03 10:02:00", "3"),
    ]
    assert res.rejects == [(5, "invalid JSON line")]
    assert res.rows_read == 4  # the blank line 3 is not a row
    assert res.frame["shop"].isna().all()


def test_pdd_wrapped_object():
    res = read("pdd_wrapped.json")
    assert rows(res, "source_row", "sender", "buyer_id", "agent_id", "sent_at", "shop") == [
        (1, "buyer", "u9", None, "2026-05-03 11:00:00", "m100"),
        (2, "agent", "u9", "cs_3", "2026-05-03 11:01:00", "m100"),
    ]


@pytest.mark.parametrize("text, where", [
    ('[\n {"content": "秘密内容", "ts": 1,}\n]', "line 2 column"),
    ('{\n "content": "秘密内容",\n "from": {"role": "user", "uid": "1"}\n', "line 4 column"),
    ('{"content": "秘密内容", "ts": 1777770000', "line 1 column"),
])
def test_invalid_json_names_file_and_position_not_content(tmp_path, text, where):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        detect(path, ReadOptions())
    msg = str(err.value)
    assert str(path) in msg and where in msg and "秘密" not in msg


def test_jsonl_with_a_broken_first_line_keeps_the_rest(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"content": "秘密", "ts": 17\n'
                    '{"ts": 1777770000, "is_aut": 0, "content": "hi", "from": {"role": "user", "uid": "u"}}\n',
                    encoding="utf-8")
    res = read(path)
    assert res.reader == "pdd-json"
    assert rows(res, "source_row", "buyer_id") == [(2, "u")]
    assert res.rejects == [(1, "invalid JSON line")] and res.rows_read == 2


def test_agent_column_without_role_equal_to_buyer_means_buyer(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("用户,客服,时间,内容\n"
                    "b1,b1,2026-05-03 09:00:00,在吗\n"
                    "b1,庚店:七号,2026-05-03 09:00:09,在\n", encoding="utf-8")
    assert rows(read(path), "source_row", "sender", "agent_id", "shop") == [
        (2, "buyer", None, "庚店"), (3, "agent", "庚店:七号", "庚店")]
