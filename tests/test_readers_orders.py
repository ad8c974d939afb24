"""Order readers (PDD, Taobao, JD, Douyin, generic) and the excluded-buyers reader.

Fixtures: tests/fixtures/orders/ (written by make_fixtures.py in the real
encodings).  Every expected value below was computed by hand from those rows.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from cskit.errors import InputFileError, UsageError
from cskit.readers import REGISTRY, Probe, ReadOptions, detect, read_file
from cskit.readers.excluded import normalise_reason, reason_from_name, sniff_excluded
from cskit.readers.orders import (
    GENERIC,
    OUTPUT_COLUMNS,
    collapse_lines,
    normalise_status,
    sniff_orders,
)

FIX = Path(__file__).parent / "fixtures" / "orders"
TS = pd.Timestamp


def read(name: str | Path, **opts) -> tuple[str, pd.DataFrame, list, int]:
    path = name if isinstance(name, Path) else FIX / name
    res = read_file(path, ReadOptions(**opts))
    return res.reader, res.frame, res.rejects, res.rows_read


def by_id(frame: pd.DataFrame) -> dict[str, dict]:
    return {r["order_id"]: r for r in frame.to_dict("records")}


def isnat(v) -> bool:
    return v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or pd.isna(v)


# ----------------------------------------------------------------------------- fixtures exist

def test_fixture_encodings_are_real():
    tb = (FIX / "ExportOrderList202605.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        tb.decode("utf-8")
    assert "订单编号 ".encode("gb18030") in tb
    assert b'="3012345678901234567"' in tb
    dy = (FIX / "douyin_orders.csv").read_bytes()
    assert dy.startswith(b"\xef\xbb\xbf") and b'"\t6917926768823643751"' in dy
    for jd in ("jd_orders_zhanghao_old.csv", "jd_orders_zhanghao_new.csv"):
        with pytest.raises(UnicodeDecodeError):
            (FIX / jd).read_bytes().decode("utf-8")


# ----------------------------------------------------------------------------- Taobao

def test_taobao_export_order_list():
    reader, frame, rejects, rows_read = read("ExportOrderList202605.csv", shop="别的店")
    assert reader == "orders-taobao"
    assert list(frame.columns) == OUTPUT_COLUMNS
    assert rejects == []
    assert rows_read == 5  # the 合计 row is not a data row
    assert frame["order_id"].tolist() == [
        "3012345678901234567", "3012345678901234568", "3012345678901234569",
        "3012345678901234570", "3012345678901234571"]
    assert frame["source_row"].tolist() == [2, 3, 4, 5, 6]
    assert frame["status"].tolist() == ["completed", "unpaid", "refunded", "paid", "closed"]
    assert frame["status_raw"].tolist() == ["交易成功", "等待买家付款", "交易关闭",
                                            "买家已付款，等待卖家发货", "交易关闭"]
    assert frame["amount"].tolist() == [99.0, 59.5, 1280.0, 45.0, 0.0]
    assert frame["buyer_id"].tolist() == ["tb8946567709", "买家二号", "中文买家", "tb_buyer4",
                                          "tb_buyer5"]
    assert frame["quantity"].tolist() == [1, 2, 1, 5, 1]
    assert (frame["shop"] == "花语旗舰店").all()  # the file's 店铺名称 beats --shop
    assert (frame["platform"] == "taobao").all()
    o = by_id(frame)
    assert o["3012345678901234567"]["created_at"] == TS("2026-05-03 09:05:07")
    assert o["3012345678901234567"]["paid_at"] == TS("2026-05-03 09:06:00")
    assert isnat(o["3012345678901234568"]["paid_at"])
    assert isnat(o["3012345678901234571"]["paid_at"])
    assert o["3012345678901234567"]["item_title"] == "夏季碎花连衣裙"
    assert frame["item_id"].isna().all()
    assert str(frame["created_at"].dtype) == "datetime64[s]"
    assert str(frame["paid_at"].dtype) == "datetime64[s]"
    assert str(frame["quantity"].dtype) == "Int64"


# ----------------------------------------------------------------------------- Douyin

def test_douyin_lines_collapsed_and_quirks():
    reader, frame, rejects, rows_read = read("douyin_orders.csv", shop="抖音小店")
    assert reader == "orders-douyin"
    assert rows_read == 7
    assert rejects == [(8, "order time missing or not a date/time (column 订单提交时间)")]
    assert frame["order_id"].tolist() == ["6917926768823643751", "6917926768823643760",
                                          "6917926768823643770", "6917926768823643780"]
    o = by_id(frame)
    # rows 2-3: the order amount repeated on both lines is taken once
    a = o["6917926768823643751"]
    assert a["amount"] == 89.0 and a["quantity"] == 3 and a["source_row"] == 2
    assert a["item_title"] == "儿童保温杯；杯刷" and a["item_id"] == "3581234567890"
    assert a["status"] == "completed"
    assert a["created_at"] == TS("2026-05-04 20:15:33")
    assert a["paid_at"] == TS("2026-05-04 20:16:01")
    # rows 6-7: per-line amounts differ -> summed; one line refunded, the order is not
    b = o["6917926768823643780"]
    assert b["amount"] == 50.0 and b["quantity"] == 2 and b["status"] == "completed"
    # `-` empties and unpaid
    c = o["6917926768823643760"]
    assert c["status"] == "unpaid" and isnat(c["paid_at"]) and c["amount"] == 35.0
    # 售后状态 退款成功 wins over 已发货
    d = o["6917926768823643770"]
    assert d["status"] == "refunded" and d["status_raw"] == "已发货"
    assert frame["buyer_id"].isna().all()  # no buyer column in 抖店 exports
    assert (frame["shop"] == "抖音小店").all()


# ----------------------------------------------------------------------------- JD

def test_jd_xiadan_zhanghao_old_spelling():
    reader, frame, rejects, rows_read = read("jd_orders_zhanghao_old.csv", shop="京东店")
    assert reader == "orders-jd"
    assert rows_read == 5
    assert rejects == [(6, "order id damaged by Excel (scientific notation)")]
    assert frame["order_id"].tolist() == ["285012345678", "285012345690", "285012345691"]
    o = by_id(frame)
    a = o["285012345678"]  # two item lines, 应付金额 69.80 repeated -> once
    assert a["amount"] == 69.8 and a["quantity"] == 2
    assert a["item_title"] == "洗衣液 2kg；柔顺剂" and a["item_id"] == "100012345678"
    assert a["buyer_id"] == "jd_buyer01" and a["status"] == "completed"
    assert a["paid_at"] == TS("2026-05-05 08:01:10")
    assert o["285012345690"]["status"] == "unpaid" and isnat(o["285012345690"]["paid_at"])
    assert o["285012345690"]["quantity"] == 3
    assert o["285012345691"]["status"] == "closed"
    assert o["285012345691"]["status_raw"] == "(删除)"


def test_jd_xiadan_zhanghao_new_spelling():
    reader, frame, rejects, rows_read = read("jd_orders_zhanghao_new.csv", shop="京东店")
    assert reader == "orders-jd"
    assert rows_read == 4
    assert rejects == [(4, "order time missing or not a date/time (column 下单时间)"),
                       (5, "order id missing (column 订单号)")]
    o = by_id(frame)
    assert list(o) == ["285099999001", "285099999002"]
    a = o["285099999001"]
    assert a["buyer_id"] == "jd_风清扬" and a["amount"] == 1099.0 and a["status"] == "paid"
    assert a["created_at"] == TS("2026-05-07 09:05:00")  # Excel-style, seconds lost
    assert a["paid_at"] == TS("2026-05-07 09:06:00")
    assert o["285099999002"]["status"] == "shipped"


# ----------------------------------------------------------------------------- PDD

def test_pdd_old_style():
    reader, frame, rejects, _ = read("pdd_orders_old.csv", shop="拼多多店")
    assert reader == "orders-pdd" and rejects == []
    assert frame["order_id"].tolist() == ["260517-607198974342268", "260517-607198974342269",
                                          "260518-607198974342270", "260518-607198974342271"]
    assert frame["status"].tolist() == ["completed", "paid", "refunded", "closed"]
    assert frame["amount"].tolist() == [51.0, 39.0, 79.0, 19.9]
    assert frame["quantity"].tolist() == [1, 2, 1, 1]
    # created_at: 拼单成功时间, else 订单确认时间, else 支付时间 (per row)
    assert frame["created_at"].tolist() == [TS("2026-05-17 10:20:35"), TS("2026-05-17 11:00:05"),
                                            TS("2026-05-18 08:30:02"), TS("2026-05-18 09:00:00")]
    assert frame["paid_at"].tolist()[0] == TS("2026-05-17 10:20:30")
    assert frame["buyer_id"].isna().all()  # no buyer column: kept, buyer null
    assert frame["item_id"].tolist() == ["123456789", "123456790", "123456791", "123456792"]
    assert (frame["shop"] == "拼多多店").all()


def test_pdd_new_style():
    reader, frame, rejects, _ = read("pdd_orders_new.csv", shop="拼多多店")
    assert reader == "orders-pdd" and rejects == []
    o = by_id(frame)
    a = o["260520-100000000000001"]
    assert a["amount"] == 20.0  # 用户实付金额, not 商家实收金额 (18.50)
    assert a["status"] == "unpaid" and isnat(a["paid_at"])
    assert a["created_at"] == TS("2026-05-20 12:00:00")  # 订单成交时间
    assert a["buyer_id"] == "8812345"
    b = o["260520-100000000000002"]
    assert b["amount"] == 1299.0 and b["quantity"] == 3 and b["status"] == "paid"
    c = o["260520-100000000000003"]  # 待支付 but paid: the payment time wins
    assert c["status"] == "paid" and c["status_raw"] == "待支付"
    assert c["paid_at"] == TS("2026-05-20 13:00:05")
    d = o["260520-100000000000004"]  # unknown status text
    assert pd.isna(d["status"]) and d["status_raw"] == "已揽收" and pd.isna(d["buyer_id"])
    assert o["260520-100000000000005"]["status"] == "shipped"  # keyword guess


def test_pdd_xlsx_title_row_and_excel_damage():
    reader, frame, rejects, rows_read = read("pdd_orders_export.xlsx", shop="拼多多店")
    assert reader == "orders-pdd"
    assert rows_read == 3
    assert rejects == [(4, "order id damaged by Excel (scientific notation)")]
    assert frame["order_id"].tolist() == ["260521-000000000000001", "260521-000000000000003"]
    assert frame["source_row"].tolist() == [3, 5]  # title row 1, header row 2
    assert frame["created_at"].tolist() == [TS("2026-05-21 09:05"), TS("2026-05-21 23:59")]
    assert frame["paid_at"].tolist() == [TS("2026-05-21 09:04"), TS("2026-05-21 23:58")]
    assert frame["amount"].tolist() == [49.9, 10.0]
    assert frame["quantity"].tolist() == [1, 2]
    assert frame["item_id"].tolist() == ["323456789", "323456791"]
    assert frame["status"].tolist() == ["shipped", "completed"]


# ----------------------------------------------------------------------------- personal data

ORDER_FILES = {
    "ExportOrderList202605.csv": "orders-taobao",
    "douyin_orders.csv": "orders-douyin",
    "jd_orders_zhanghao_old.csv": "orders-jd",
    "jd_orders_zhanghao_new.csv": "orders-jd",
    "pdd_orders_old.csv": "orders-pdd",
    "pdd_orders_new.csv": "orders-pdd",
    "pdd_orders_export.xlsx": "orders-pdd",
}


@pytest.mark.parametrize("name", sorted(ORDER_FILES))
def test_no_personal_data_in_frame(name):
    _, frame, _, _ = read(name, shop="店")
    assert list(frame.columns) == OUTPUT_COLUMNS
    cells = {str(v) for v in frame.astype(object).to_numpy().ravel()}
    text = " ".join(cells)
    for needle in ("138000000", "139000000", "137000000", "136000000", "##", "$$",
                   "张三", "李四", "王五", "王小明", "市", "ali***"):
        assert needle not in text, (name, needle)


def test_mapping_to_personal_column_refused():
    with pytest.raises(UsageError, match="personal-data column"):
        read("pdd_orders_old.csv", shop="店", mapping={"buyer_id": "手机"})


# ----------------------------------------------------------------------------- detection

@pytest.mark.parametrize("name,expected", sorted(ORDER_FILES.items()))
def test_detect_picks_platform_reader(name, expected):
    reader, _ = detect(FIX / name, ReadOptions())
    assert reader.name == expected
    reader, _ = detect(FIX / name, ReadOptions(), kind="orders")
    assert reader.name == expected


def _sniffs(path: Path, opts: ReadOptions | None = None) -> dict[str, int]:
    probe = Probe(path, opts or ReadOptions())
    return {r.name: r.sniff(path, probe) for r in REGISTRY if r.kind in ("orders", "excluded")}


@pytest.mark.parametrize("name,expected", sorted(ORDER_FILES.items()))
def test_platform_outranks_generic_and_others(name, expected):
    s = _sniffs(FIX / name)
    assert s[expected] >= 50
    assert s["orders-generic"] < s[expected]
    assert s["excluded"] == 0
    for other in ("orders-pdd", "orders-taobao", "orders-jd", "orders-douyin"):
        if other != expected:
            assert s[other] < s[expected], other


def test_chat_file_scores_zero(tmp_path):
    chat = tmp_path / "聊天记录.csv"
    chat.write_text("客户名,消息序号,发送时间,发送内容,发送账号,账号类型\n"
                    "tb123,1,2026-05-03 09:00:00,在吗,tb123,买家\n"
                    "tb123,2,2026-05-03 09:00:30,您好,花语旗舰店:小美,客服\n", encoding="utf-8")
    assert set(_sniffs(chat).values()) == {0}
    # even named like a blacklist, a chat log is not an excluded list
    chat2 = tmp_path / "举报买家聊天.csv"
    chat2.write_text("客户名,类型,发送内容\ntb123,文本,在吗\n", encoding="utf-8")
    assert set(_sniffs(chat2).values()) == {0}


def test_excluded_list_scores_zero_for_orders():
    for name in ("举报名单.csv", "buyers_202605.csv"):
        s = _sniffs(FIX / name)
        assert s["excluded"] > 0
        assert all(v == 0 for k, v in s.items() if k.startswith("orders-")), (name, s)


# ----------------------------------------------------------------------------- generic

def test_generic_canonical_and_chinese_headers(tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text("order_id,buyer_id,created_at,paid_at,amount,status,quantity,shop\n"
                 "A001,u1,2026-05-01 10:00:00,2026-05-01 10:01:00,12.5,paid,2,店A\n"
                 "A002,u2,2026-05-01 11:00:00,,8,unpaid,1,店A\n"
                 "合计,,,,20.5,,3,\n", encoding="utf-8")
    reader, frame, rejects, rows_read = read(f)
    assert reader == "orders-generic" and rejects == [] and rows_read == 2
    assert frame["order_id"].tolist() == ["A001", "A002"]
    assert frame["status"].tolist() == ["paid", "unpaid"]
    assert frame["amount"].tolist() == [12.5, 8.0]
    assert (frame["platform"] == "generic").all() and (frame["shop"] == "店A").all()

    g = tmp_path / "自制订单.csv"
    g.write_text("订单编号,买家,下单时间,付款时间,金额,状态\n"
                 "B1,张,2026-05-02 09:00:00,2026-05-02 09:05:00,99,交易成功\n"
                 "B2,李,2026-05-02 10:00:00,,5,等待买家付款\n", encoding="gb18030")
    reader, frame, _, _ = read(g, shop="店B")
    assert reader == "orders-generic"
    assert frame["buyer_id"].tolist() == ["张", "李"]
    assert frame["status"].tolist() == ["completed", "unpaid"]
    assert frame["paid_at"].tolist()[0] == TS("2026-05-02 09:05:00")
    assert isnat(frame["paid_at"].tolist()[1])


def test_generic_mapping_takes_priority(tmp_path):
    f = tmp_path / "erp.csv"
    f.write_text("单据号,订单号,日期,金额,实收\n"
                 "X1,wrong1,2026/5/3 8:00,100,90\n", encoding="utf-8")
    opts = dict(shop="店", mapping={"order_id": "单据号", "created_at": "日期", "amount": "实收"})
    reader, frame, _, _ = read(f, **opts)
    assert reader == "orders-generic"
    assert frame["order_id"].tolist() == ["X1"]
    assert frame["amount"].tolist() == [90.0]
    assert frame["created_at"].tolist() == [TS("2026-05-03 08:00")]
    # without the mapping there is no order-time column: not an order file
    with pytest.raises(InputFileError):
        detect(f, ReadOptions(), kind="orders")


def test_missing_time_column_is_an_input_error(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("订单号,买家\n1,u\n", encoding="utf-8")
    probe = Probe(f, ReadOptions(shop="s"))
    reader = next(r for r in REGISTRY if r.name == "orders-generic")
    assert sniff_orders(GENERIC, f, probe) == 0
    with pytest.raises(InputFileError, match="no order-time column"):
        reader.read(f, ReadOptions(shop="s"), probe)


def test_no_shop_anywhere_gives_null_shop():
    _, frame, _, _ = read("pdd_orders_old.csv")
    assert frame["shop"].isna().all()


# ----------------------------------------------------------------------------- helpers

def test_normalise_status_tables_and_keywords():
    from cskit.readers.orders import DOUYIN, JD, PDD, TAOBAO

    s = pd.Series(["待支付", "已发货，待收货", "已签收", "未成团", "未发货，退款成功", None])
    assert normalise_status(s, PDD.statuses).tolist() == [
        "unpaid", "shipped", "completed", "closed", "refunded", pd.NA]
    s = pd.Series(["卖家已发货，等待买家确认", "交易被淘宝关闭", "买家已付款, 等待卖家发货"])
    assert normalise_status(s, TAOBAO.statuses).tolist() == ["shipped", "closed", "paid"]
    s = pd.Series(["等待出库", "锁定", "已完成", "等待确认收货"])
    assert normalise_status(s, JD.statuses).tolist() == ["paid", "closed", "completed", "shipped"]
    s = pd.Series(["备货中", "已关闭", "已发货"])
    assert normalise_status(s, DOUYIN.statuses).tolist() == ["paid", "closed", "shipped"]
    guesses = pd.Series(["订单已取消(超时)", "退款中", "等待买家支付尾款", "待商家发货",
                         "待买家收货", "交易完成", "部分已发货", "已付款", "莫名其妙"])
    assert normalise_status(guesses, {}).tolist() == [
        "closed", "refunded", "unpaid", "paid", "shipped", "completed", "shipped", "paid", pd.NA]


def test_collapse_drops_exact_duplicate_lines():
    def frame(rows):
        df = pd.DataFrame(rows, columns=["order_id", "amount", "quantity", "item_title",
                                         "status", "source_row"])
        df["shop"] = "s"
        df["platform"] = "jd"
        df["buyer_id"] = pd.NA
        df["created_at"] = pd.Series([TS("2026-05-01")] * len(df), dtype="datetime64[s]")
        df["paid_at"] = pd.Series([pd.NaT] * len(df), dtype="datetime64[s]")
        df["status_raw"] = df["status"]
        df["item_id"] = pd.NA
        df["quantity"] = df["quantity"].astype("Int64")
        df["_sub"] = pd.NA
        for c in ("shop", "platform", "order_id", "buyer_id", "item_id", "item_title",
                  "status", "status_raw", "_sub"):
            df[c] = df[c].astype("string")
        return df

    out = collapse_lines(frame([
        ["1", 10.0, 2, "a", "paid", 2],
        ["1", 10.0, 2, "a", "paid", 3],  # the same line twice: not double-counted
        ["2", 5.0, 1, "b", "closed", 4],
        ["2", 5.0, 1, "c", "shipped", 5],
        ["3", 7.0, 1, "d", "unpaid", 6],
    ]))
    o = by_id(out)
    assert o["1"]["quantity"] == 2 and o["1"]["amount"] == 10.0 and o["1"]["source_row"] == 2
    assert o["2"]["status"] == "shipped" and o["2"]["quantity"] == 2 and o["2"]["amount"] == 5.0
    assert o["2"]["item_title"] == "b；c"
    assert o["3"]["amount"] == 7.0


# ----------------------------------------------------------------------------- excluded

def test_excluded_csv_gb18030():
    reader, frame, rejects, rows_read = read("举报名单.csv")
    assert reader == "excluded"
    assert list(frame.columns) == ["shop", "buyer_id", "reason", "since", "source_row"]
    assert rows_read == 6
    assert rejects == [(5, "buyer id damaged by Excel (scientific notation)"),
                       (6, "buyer id missing"),
                       (7, "date not understood (column 时间)")]
    assert frame["buyer_id"].tolist() == ["tb111", "tb222", "tb333"]
    assert frame["reason"].tolist() == ["reported", "blacklisted", "骚扰客服"]
    assert frame["since"].tolist()[0] == TS("2026-05-01 10:00:00")
    assert isnat(frame["since"].tolist()[1])
    assert frame["since"].tolist()[2] == TS("2026-05-02")
    assert (frame["shop"] == "花语旗舰店").all()
    assert frame["source_row"].tolist() == [2, 3, 4]
    assert str(frame["since"].dtype) == "datetime64[s]"


def test_excluded_plain_txt_named_blacklist():
    reader, frame, rejects, rows_read = read("黑名单.txt", shop="花语旗舰店")
    assert reader == "excluded" and rejects == [] and rows_read == 3
    assert frame["buyer_id"].tolist() == ["tb900", "tb901", "tb902"]
    assert frame["source_row"].tolist() == [1, 3, 5]
    assert (frame["reason"] == "blacklisted").all()
    assert frame["since"].isna().all() and (frame["shop"] == "花语旗舰店").all()


def test_excluded_reason_header_signal():
    reader, frame, _, _ = read("buyers_202605.csv", shop="京东店")
    assert reader == "excluded"
    # the header 拉黑原因 says what the list is; the cell is only the detail
    assert frame["reason"].tolist() == ["blacklisted", "blacklisted"]
    assert frame["buyer_id"].tolist() == ["jd_bad1", "jd_bad2"]


def test_excluded_needs_a_signal(tmp_path):
    plain = tmp_path / "buyers.txt"
    plain.write_text("tb1\ntb2\n", encoding="utf-8")
    assert sniff_excluded(plain, Probe(plain, ReadOptions())) == 0
    table = tmp_path / "list.csv"
    table.write_text("买家,原因\ntb1,差评\n", encoding="utf-8")
    assert sniff_excluded(table, Probe(table, ReadOptions())) == 0
    named = tmp_path / "excluded_may.csv"
    named.write_text("买家,原因\ntb1,差评\n", encoding="utf-8")
    assert sniff_excluded(named, Probe(named, ReadOptions())) > 0
    by_value = tmp_path / "list2.csv"
    by_value.write_text("用户,类型\ntb1,举报\ntb2,拉黑\n", encoding="utf-8")
    assert sniff_excluded(by_value, Probe(by_value, ReadOptions())) > 0


def test_excluded_duplicates_keep_widest():
    f_rows = "买家,原因,时间\ntb1,拉黑,2026-05-02\ntb1,黑名单,2026-05-01\ntb2,举报,2026-05-01\ntb2,举报,\n"
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "黑名单.csv"
        f.write_text(f_rows, encoding="utf-8")
        _, frame, _, _ = read(f, shop="s")
    o = {r["buyer_id"]: r for r in frame.to_dict("records")}
    assert len(frame) == 2
    assert o["tb1"]["since"] == TS("2026-05-01") and o["tb1"]["source_row"] == 3
    assert isnat(o["tb2"]["since"]) and o["tb2"]["source_row"] == 5


def test_reason_helpers():
    s = pd.Series(["举报成功", "reported", "拉黑", "Blacklisted", "黑名单", "其他", None])
    assert normalise_reason(s).tolist() == ["reported", "reported", "blacklisted", "blacklisted",
                                            "blacklisted", "其他", pd.NA]
    assert reason_from_name(Path("举报名单.csv")) == "reported"
    assert reason_from_name(Path("shop_blacklist.txt")) == "blacklisted"
    assert reason_from_name(Path("excluded.txt")) == "excluded"
    assert reason_from_name(Path("buyers.txt")) is None
