"""Mapping files and personal data (issue 13, "Privacy" and "Mapping")."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.errors import ExitCode, InputFileError, UsageError
from cskit.readers import ReadOptions, read_file
from cskit.readers.mapping import check_encoding, load_mapping
from cskit.readers.pii import looks_like_data, value_kind

run = CliRunner().invoke


def _mapping(tmp_path, text, encoding="utf-8"):
    p = tmp_path / "map.toml"
    p.write_bytes(("[columns]\n" + text).encode(encoding))
    return p


def _ingest(tmp_path, *args):
    return run(app, ["ingest", *map(str, args), "--store", str(tmp_path / "s"), "--lang", "en",
                     "-f", "json"])


HEADERLESS = ("1001,2026-05-06 20:00:00,tb9,我要退货,0\n"
              "1002,2026-05-06 20:04:00,tb9,好的亲,1\n")


def test_columns_by_position_and_a_value_map_read_a_headerless_file(tmp_path):
    f = tmp_path / "chat.csv"
    f.write_text(HEADERLESS, encoding="utf-8")
    m = _mapping(tmp_path, 'msg_id = 1\nsent_at = 2\nbuyer_id = 3\ncontent = 4\n'
                           'sender = {column = 5, values = {"1" = "agent", "0" = "buyer"}}\n')
    res = read_file(f, ReadOptions(mapping=load_mapping(m), shop="店"))
    got = res.frame[["source_row", "msg_id", "buyer_id", "sender", "content"]].values.tolist()
    assert got == [[1, "1001", "tb9", "buyer", "我要退货"], [2, "1002", "tb9", "agent", "好的亲"]]
    r = _ingest(tmp_path, f, "--mapping", m, "--shop", "店")
    assert r.exit_code == 0 and '"rows_added": 2' in r.stdout, r.output


def test_value_map_by_header_and_unlisted_values_still_rejected(tmp_path):
    f = tmp_path / "chat.csv"
    f.write_text("旺旺名,time,text,waiter_send\ntb1,2026-05-06 20:00:00,在吗,0\n"
                 "tb1,2026-05-06 20:01:00,在的,1\ntb1,2026-05-06 20:02:00,?,7\n", encoding="utf-8")
    m = _mapping(tmp_path, 'sender = {column = "waiter_send", values = {"1" = "agent", "0" = "buyer"}}\n')
    res = read_file(f, ReadOptions(mapping=load_mapping(m), shop="店"))
    assert res.frame["sender"].tolist() == ["buyer", "agent"]  # 旺旺名: a built-in buyer header
    assert res.frame["buyer_id"].tolist() == ["tb1", "tb1"]
    assert res.rejects == [(4, "unknown sender role")]


def test_wangwang_is_a_builtin_buyer_header(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("旺旺名,发送时间,发送内容,账号类型\ntb1,2026-05-06 20:00:00,在吗,买家\n", encoding="utf-8")
    assert read_file(f, ReadOptions(shop="店")).frame["buyer_id"].tolist() == ["tb1"]  # was: not recognised


def test_a_mapped_header_missing_from_the_file_is_named(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("谁,何时,说啥\ntb1,2026-05-06 20:00:00,在吗\n", encoding="utf-8")
    m = _mapping(tmp_path, 'buyer_id = "买家旺旺"\nsent_at = "何时"\ncontent = "说啥"\n')
    r = _ingest(tmp_path, f, "--mapping", m, "--shop", "店")
    assert r.exit_code == ExitCode.INPUT
    assert "the mapping names buyer_id = 买家旺旺, but this file has no such column" in r.stderr


def test_mapped_header_missing_but_file_read_by_builtin_headers_gives_a_note(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("客户名,发送时间,发送内容,账号类型\ntb1,2026-05-06 20:00:00,在吗,买家\n", encoding="utf-8")
    m = _mapping(tmp_path, 'buyer_id = "买家旺旺"\n')
    r = _ingest(tmp_path, f, "--mapping", m, "--shop", "店")
    assert r.exit_code == 0, r.output
    assert "the mapping names 买家旺旺 for buyer_id, but this file has no such column" in r.stderr


def test_gbk_mapping_file_gets_a_clear_message(tmp_path):
    m = _mapping(tmp_path, 'buyer_id = "旺旺名"\n', encoding="gbk")
    with pytest.raises(UsageError, match="GBK/GB18030, not UTF-8"):
        load_mapping(m)
    f = tmp_path / "c.csv"
    f.write_text("旺旺名,发送时间,发送内容,账号类型\ntb1,2026-05-06 20:00:00,在吗,买家\n", encoding="utf-8")
    r = _ingest(tmp_path, f, "--mapping", m)
    assert r.exit_code == ExitCode.USAGE and "GBK" in r.stderr and "UnicodeDecodeError" not in r.stderr


@pytest.mark.parametrize("text, words", [
    ('buyer_id = 0\n', "start at 1"),
    ('buyer_id = 3\ncontent = "内容"\n', "mixes column positions and headers"),
    ('sender = {column = "x", values = {"1" = "boss"}}\n', "sender values map to"),
    ('sender = {values = {"1" = "agent"}}\n', "takes column"),
    ('buyer_id = true\n', "must name a header"),
])
def test_bad_mappings_are_usage_errors(tmp_path, text, words):
    with pytest.raises(UsageError, match=words):
        load_mapping(_mapping(tmp_path, text))


@pytest.mark.parametrize("enc", ["no-such-codec", "base64"])
def test_unknown_encoding_is_a_usage_error(tmp_path, enc):
    f = tmp_path / "c.csv"
    f.write_text("客户名,发送时间,发送内容,账号类型\ntb1,2026-05-06 20:00:00,在吗,买家\n", encoding="utf-8")
    r = _ingest(tmp_path, f, "--encoding", enc, "--shop", "店")
    assert r.exit_code == ExitCode.USAGE, r.output  # was 3 (an input error per file)
    assert "unknown text encoding" in r.stderr
    check_encoding("GBK")


# --------------------------------------------------------------------------- privacy

CHAT_WITH_PII = ("客户名,发送时间,发送内容,账号类型,{h}\n"
                 "tb1,2026-05-06 20:00:00,在吗,买家,{a}\n"
                 "tb2,2026-05-06 20:01:00,在的,客服,{b}\n"
                 "tb3,2026-05-06 20:02:00,好,客服,{c}\n")


@pytest.mark.parametrize("header, values, words", [
    ("mobile", ("13800138000", "13912345678", "15000000001"), "personal-data column (mobile)"),
    ("联系方式", ("值甲", "值乙", "值丙"), "personal-data column (联系方式)"),
    ("Address", ("值甲", "值乙", "值丙"), "personal-data column (Address)"),
    ("备用", ("13800138000", "139 1234 5678", "+86 15000000001"), "holds mobile numbers"),
    ("备用", ("11010519491231002X", "110105194912310029", "440305199001011234"), "holds ID numbers"),
    ("备用", ("广东省深圳市南山区科技园路1号", "浙江省杭州市西湖区文三路90号3栋", "上海市浦东新区张江路100弄"), "holds addresses"),
])
@pytest.mark.parametrize("field", ["buyer_id", "agent_id", "content", "shop"])
def test_mapping_personal_data_into_a_stored_field_is_refused(tmp_path, header, values, words, field):
    f = tmp_path / "c.csv"
    f.write_text(CHAT_WITH_PII.format(h=header, a=values[0], b=values[1], c=values[2]), encoding="utf-8")
    m = _mapping(tmp_path, f'{field} = "{header}"\n')
    r = _ingest(tmp_path, f, "--mapping", m, "--shop", "店")
    assert r.exit_code == ExitCode.USAGE, r.output  # was 0: the column was stored
    assert words in r.stderr
    for v in values:
        assert v not in r.output  # never quoted
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").rglob("*.parquet"))


def test_messages_that_mention_a_phone_number_are_not_personal_data_columns():
    import pandas as pd
    s = pd.Series(["在吗", "我的电话13800138000", "13800138000", "好的", "发顺丰"])
    assert value_kind(s) is None
    assert value_kind(pd.Series(["tb1", "tb2"])) is None


def test_headerless_file_never_echoes_its_first_row(tmp_path):
    f = tmp_path / "c.csv"
    f.write_text("张三,13800138000,11010519491231002X,广东省深圳市南山区科技园路1号\n"
                 "李四,13912345678,110105194912310029,浙江省杭州市西湖区文三路90号\n", encoding="utf-8")
    r = _ingest(tmp_path, f, "--shop", "店")
    assert r.exit_code == ExitCode.INPUT
    assert "the first row looks like data, not headers" in r.stderr
    for v in ("张三", "13800138000", "11010519491231002X", "科技园路"):
        assert v not in r.output  # was: "headers found: 张三, 13800138000, …"


def test_real_header_rows_are_not_data():
    assert not looks_like_data(["客户名", "消息序号", "发送时间", "发送内容", "发送账号", "账号类型"])
    assert not looks_like_data(["order_id", "created_at", "paid_at", "amount"])
    assert looks_like_data(["1001", "2026-05-06 20:00:00", "tb9", "我要退货", "0"])


def test_a_data_row_with_a_timestamp_is_never_echoed_as_headers(tmp_path):
    """A GBK header line over UTF-8 rows leaves a data row as the 'header': one timestamp
    cell is enough to say so, and the message text in that row is never quoted."""
    assert looks_like_data(["2026-05-0110:00:00", "b1", "你好", "买家", "好店"])
    assert looks_like_data(["2026/5/1 9:05", "tb1", "在吗"])
    f = tmp_path / "mixed.csv"
    f.write_bytes("时间,买家,内容,角色,店铺\n".encode("gbk") +
                  "2026-05-01 10:00:00,b1,你好在吗,买家,好店\n".encode("utf-8"))
    r = _ingest(tmp_path, f, "--shop", "店", "--lang", "en")
    assert r.exit_code == ExitCode.INPUT
    assert "你好在吗" not in r.output and "headers found" not in r.output
