"""Issue 13 item 9: Taobao's ExportOrderDetailList (宝贝报表) and line-level order rows
are stored in the order_items table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cskit.errors import InputFileError
from cskit.ingest import ingest
from cskit.store import Store

ORDERS_HEADER = "订单编号 ,买家会员名 ,订单创建时间 ,订单付款时间 ,买家实际支付金额 ,订单状态 ,店铺名称 "
ORDERS = ['="3012345678901234567",tb1,2026-05-03 09:05:07,2026-05-03 09:06:00,99.00,交易成功,花语旗舰店',
          '="3012345678901234568",tb2,2026-05-03 10:00:00,,59.50,等待买家付款,花语旗舰店']
DETAIL_HEADER = "订单编号,标题,价格,购买数量,外部系统编号,商品属性,套餐信息,备注,订单状态,商家编码"
DETAIL = ['="3012345678901234567",夏季碎花连衣裙,99.00,1,ERP-1,颜色分类：蓝色;尺码：M,,加急 13800000000,交易成功,SKU-A',
          '="3012345678901234568",真丝围巾,29.75,2,ERP-2,颜色分类：红色,两条装,,等待买家付款,']


def gb(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join([header, *rows]) + "\r\n").encode("gb18030"))
    return path


def pair(folder: Path) -> Path:
    gb(folder / "ExportOrderList202605.csv", ORDERS_HEADER, ORDERS)
    gb(folder / "ExportOrderDetailList202605.csv", DETAIL_HEADER, DETAIL)
    return folder


def test_a_folder_with_the_taobao_pair_ingests_both(tmp_path):
    st = Store(tmp_path / "s")
    rep = ingest([pair(tmp_path / "in")], st)
    kinds = {f.kind: (f.reader, f.rows_read, f.rows_added) for f in rep.files}
    assert kinds == {"orders": ("orders-taobao", 2, 2),
                     "order_items": ("order-items-taobao", 2, 2)}
    items = st.read("order_items").sort_values("source_row")
    shown = items.drop(columns=["source_file"])
    assert shown.astype(object).where(shown.notna(), None).values.tolist() == [
        ["花语旗舰店", "taobao", "3012345678901234567", None, "夏季碎花连衣裙", "SKU-A",
         "颜色分类：蓝色;尺码：M", None, 1, 99.0, 2],
        # no 商家编码: the 外部系统编号 is the SKU
        ["花语旗舰店", "taobao", "3012345678901234568", None, "真丝围巾", "ERP-2", "颜色分类：红色",
         "两条装", 2, 29.75, 3],
    ]
    # 备注 (free text that may hold a phone number) is never stored
    assert not items.astype(str).apply(lambda c: c.str.contains("138")).any().any()
    # idempotent
    again = ingest([tmp_path / "in"], st)
    assert again.totals()["rows_added"] == 0 and len(st.read("order_items")) == 2


def test_detail_list_takes_the_shop_of_orders_already_stored(tmp_path):
    st = Store(tmp_path / "s")
    ingest([gb(tmp_path / "o.csv", ORDERS_HEADER, ORDERS)], st)
    ingest([gb(tmp_path / "d.csv", DETAIL_HEADER, DETAIL)], st)
    assert set(st.read("order_items")["shop"]) == {"花语旗舰店"}


def test_detail_list_of_unknown_orders_needs_a_shop(tmp_path):
    d = gb(tmp_path / "d.csv", DETAIL_HEADER, DETAIL)
    with pytest.raises(InputFileError, match="does not say which shop"):
        ingest([d], Store(tmp_path / "s"))
    rep = ingest([d], Store(tmp_path / "s2"), shop="花语旗舰店")
    assert rep.totals()["rows_added"] == 2


def test_identical_lines_in_one_file_are_both_kept_and_damaged_ids_rejected(tmp_path):
    rows = DETAIL + [DETAIL[1], "3.01234567890123E+18,发圈,5.00,1,,,,,交易成功,"]
    d = gb(tmp_path / "d.csv", DETAIL_HEADER, rows)
    st = Store(tmp_path / "s")
    rep = ingest([d], st, shop="店", max_bad=0.5)
    assert rep.files[0].rejects == [(5, "order id damaged by Excel (scientific notation)")]
    assert len(st.read("order_items")) == 3
    assert ingest([d], st, shop="店", max_bad=0.5).totals()["rows_added"] == 0


DOUYIN = ("主订单编号,子订单编号,选购商品,商品规格,商品数量,商品ID,商家编码,商品单价,订单应付金额,"
          "订单提交时间,支付完成时间,订单状态,店铺名称")
DOUYIN_ROWS = [("6900000000000000001,6900000000000000011,T恤,白色 L,1,3500000000000000001,TS-W-L,"
                "49.00,128.00,2026-05-03 09:00:00,2026-05-03 09:01:00,已完成,抖店"),
               ("6900000000000000001,6900000000000000012,短裤,黑色 M,1,3500000000000000002,SH-B-M,"
                "79.00,128.00,2026-05-03 09:00:00,2026-05-03 09:01:00,已完成,抖店"),
               ("6900000000000000002,6900000000000000021,袜子,,3,3500000000000000003,,,"
                "30.00,,,已完成,抖店")]  # no order time: the order and its line are rejected


def test_line_level_order_rows_feed_order_items(tmp_path):
    f = tmp_path / "douyin.csv"
    f.write_text("\n".join([DOUYIN, *DOUYIN_ROWS]) + "\n", encoding="utf-8")
    st = Store(tmp_path / "s")
    rep = ingest([f], st, max_bad=0.5)
    assert [(r.kind, r.rows_read, r.rows_added) for r in rep.files] == \
        [("orders", 3, 1), ("order_items", 0, 2)]
    items = st.read("order_items").sort_values("source_row")
    assert items[["order_id", "item_id", "title", "sku", "attributes", "quantity", "price"]] \
        .astype(object).values.tolist() == [
        ["6900000000000000001", "3500000000000000001", "T恤", "TS-W-L", "白色 L", 1, 49.0],
        ["6900000000000000001", "3500000000000000002", "短裤", "SH-B-M", "黑色 M", 1, 79.0]]
    assert st.read("orders")["quantity"].tolist() == [2]


def test_taobao_order_list_alone_has_no_item_lines(tmp_path):
    st = Store(tmp_path / "s")
    rep = ingest([gb(tmp_path / "o.csv", ORDERS_HEADER, ORDERS)], st)
    assert [r.kind for r in rep.files] == ["orders"]
    assert st.read("order_items").empty
    assert isinstance(st.read("order_items"), pd.DataFrame)


PDD = "订单号,商品,商品id,商品规格,商家编码-SKU维度,商品数量(件),用户实付金额(元),订单成交时间,支付时间,订单状态,收货人,手机"


def test_pdd_rows_feed_order_items_without_personal_data(tmp_path):
    f = tmp_path / "pdd.csv"
    row = ("260520-100000000000001,数据线,223456789,1米 白色,DL-1M,2,20.00,"
           "2026-05-20 12:00:00,2026-05-20 12:00:30,待发货,孙小五,13700000005")
    f.write_text(f"{PDD}\n{row}\n", encoding="utf-8")
    st = Store(tmp_path / "s")
    ingest([f], st, shop="拼多多店")
    items = st.read("order_items")
    assert items[["shop", "order_id", "item_id", "title", "sku", "attributes", "quantity"]] \
        .astype(object).values.tolist() == [
        ["拼多多店", "260520-100000000000001", "223456789", "数据线", "DL-1M", "1米 白色", 2]]
    assert pd.isna(items["price"].iloc[0])  # PDD exports no unit price: unknown, not 0
    assert not items.astype(str).apply(lambda c: c.str.contains("1370|孙")).any().any()


def test_cli_ingests_the_pair_with_kind_orders(tmp_path):
    import json

    from typer.testing import CliRunner

    from cskit.cli import app

    folder = pair(tmp_path / "in")
    r = CliRunner().invoke(app, ["ingest", str(folder), "--kind", "orders",
                                 "--store", str(tmp_path / "s"), "--format", "json"])
    assert r.exit_code == 0, r.stderr
    rows = {row["kind"]: row["rows_added"] for row in json.loads(r.stdout)["rows"]}
    assert rows == {"order_items": 2, "orders": 2}
