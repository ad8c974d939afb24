"""Excel workbooks (issue 12 point 8): `-f xlsx` and `report --excel`, read back with openpyxl."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.ingest import ingest
from cskit.render import Column
from cskit.store import Store
from cskit.xlsx import Sheet, sheet_name, write_xlsx

from report_data import make_store

ORDER_ID = "3051379325746235879"  # 19 digits: a float would make it 3051379325746235904


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_cells_keep_their_type(tmp_path):
    f = pd.DataFrame({
        "shop": ["店A", "店A"],
        "agent_id": ["店A:小美", None],
        "order_id": [ORDER_ID, "=1+1"],
        "reply_rate": [0.853, None],
        "consult_buyers": [12.0, 3.0],
        "sales": [1234.5, 0.0],
        "date": pd.to_datetime(["2026-11-16", "2026-11-17"]),
        "pending": [True, False],
    })
    cols = [Column("shop", "店铺", "Shop"), Column("agent_id", "客服", "Agent"),
            Column("order_id", "订单号", "Order"), Column("reply_rate", "5分钟回复率", "Rate", "rate"),
            Column("consult_buyers", "咨询人数", "Buyers", "count"),
            Column("sales", "销售额", "Sales", "yuan"), Column("date", "日期", "Date", "date"),
            Column("pending", "延迟统计", "Pending")]
    path = tmp_path / "t.xlsx"
    write_xlsx(str(path), [Sheet("客服绩效", f, cols)])
    ws = openpyxl.load_workbook(path).active
    assert ws.title == "客服绩效" and ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == ["店铺", "客服", "订单号", "5分钟回复率", "咨询人数", "销售额",
                                       "日期", "延迟统计"]
    a2 = {c.column_letter: c for c in ws[2]}
    assert a2["C"].value == ORDER_ID and a2["C"].data_type == "s"
    assert ws["C3"].value == "=1+1" and ws["C3"].data_type == "s"  # text, never a formula
    assert a2["D"].value == pytest.approx(0.853) and "%" in a2["D"].number_format
    assert ws["D3"].value is None  # unknown stays empty, not 0
    assert a2["E"].value == 12 and isinstance(a2["E"].value, int)
    assert ws["F3"].value == 0 and "¥" in a2["F"].number_format  # a real zero stays 0
    assert a2["G"].value == dt.datetime(2026, 11, 16) and a2["G"].number_format == "yyyy-mm-dd"
    assert (a2["H"].value, ws["H3"].value) == ("是", "否")
    assert a2["B"].value == "小美" and ws["B3"].value is None  # agent named within its shop
    assert ws.column_dimensions["C"].width >= len(ORDER_ID)


def test_sheet_names_are_valid_and_unique():
    taken: set[str] = set()
    assert sheet_name("催付名单 [下单/未付款]", taken) == "催付名单 _下单_未付款_"
    assert sheet_name("x" * 40, taken) == "x" * 31
    assert sheet_name("x" * 40, taken) == "x" * 27 + " (2)"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("xlsx")
    (d / "chats.csv").write_text(
        "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
        "店A,pdd,,b1,,buyer,2026-11-16 09:00:00,在吗,,\n"
        "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:05:00,亲在的,,\n", encoding="utf-8")
    (d / "orders.csv").write_text("订单号,买家,下单时间,付款时间,实付金额,订单状态,店铺\n"
                                  f"{ORDER_ID},b1,2026-11-16 11:00:00,,19.90,等待付款,店A\n",
                                  encoding="utf-8")
    st = Store(d / "store")
    ingest([d / "chats.csv", d / "orders.csv"], st)
    return st.root


def test_unpaid_xlsx_keeps_the_19_digit_order_id(store, tmp_path):
    out = tmp_path / "unpaid.xlsx"
    r = run("unpaid", "--store", store, "-f", "xlsx", "-o", out)
    assert r.exit_code == 0, r.stderr
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    row = dict(zip(header, [c.value for c in ws[2]]))
    assert row["订单号"] == ORDER_ID and row["金额"] == pytest.approx(19.9)
    assert ws.freeze_panes == "A2"
    c = run("unpaid", "--store", store, "-f", "csv")  # CSV keeps the id as text too
    assert next(csv.DictReader(io.StringIO(c.stdout)))["order_id"] == ORDER_ID


def test_kpi_xlsx_has_every_column_and_rates_as_percentages(store, tmp_path):
    out = tmp_path / "kpi.xlsx"
    r = run("kpi", "--store", store, "--by", "agent", "-f", "xlsx", "-o", out)
    assert r.exit_code == 0, r.stderr
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    assert "5分钟回复率" in header and "客服销售额" in header
    rate = ws.cell(row=2, column=header.index("5分钟回复率") + 1)
    assert "%" in rate.number_format


def test_xlsx_needs_an_output_file(store):
    r = run("kpi", "--store", store, "-f", "xlsx")
    assert r.exit_code == 2 and "-o" in r.stderr


def test_report_excel_writes_one_workbook_with_a_sheet_per_table(tmp_path):
    (tmp_path / "s").mkdir()
    src = make_store(tmp_path / "s")
    out = tmp_path / "rep"
    r = run("report", "--week", "2026-W47", "--out", out, "--store", src, "--excel", "--no-charts")
    assert r.exit_code == 0, r.stderr
    book = openpyxl.load_workbook(out / "report.xlsx")
    csvs = sorted(out.glob("*.csv"))
    assert len(book.sheetnames) == len(csvs) and "客服个人指标" in book.sheetnames
    ws = book["未及时回复名单"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == next(csv.reader(io.StringIO((out / "unreplied.csv").read_text("utf-8-sig"))))
    assert "report.xlsx" in (out / "index.html").read_text(encoding="utf-8")
    plain = tmp_path / "plain"
    run("report", "--week", "2026-W47", "--out", plain, "--store", src, "--no-charts")
    assert not (plain / "report.xlsx").exists()  # only with --excel
