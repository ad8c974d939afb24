"""Multi-sheet workbooks (issue 13 item 6) and oversized sheets (issue 13, hostile input)."""

from __future__ import annotations

import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from cskit.cli import app
from cskit.errors import ExitCode, InputFileError
from cskit.readers import ReadOptions, read_file

HEAD = ["客户名", "消息序号", "发送时间", "发送内容", "发送账号", "账号类型"]


def _customer(ws, buyer, day="2026-05-03"):
    ws.append(HEAD)
    ws.append([buyer, 1, f"{day} 09:00:00", "在吗", buyer, "买家"])
    ws.append([buyer, 2, f"{day} 09:01:00", "在的", "己店:客服A", "客服"])


def extension_workbook(path: Path, buyers=("tb1", "tb2"), summary=True) -> Path:
    wb = Workbook()
    ws = wb.active
    if summary:
        ws.title = "导出汇总"
        ws.append(["客户名", "消息数", "导出时间"])
        for b in buyers:
            ws.append([b, 2, "2026-05-04 10:00:00"])
    else:
        wb.remove(ws)
    for b in buyers:
        _customer(wb.create_sheet(b), b)
    wb.save(path)
    return path


def test_every_customer_sheet_is_read_and_the_summary_sheet_skipped_with_a_note(tmp_path):
    res = read_file(extension_workbook(tmp_path / "ext.xlsx"), ReadOptions())
    assert sorted(res.frame["buyer_id"].unique()) == ["tb1", "tb2"]  # was: tb1 only
    assert len(res.frame) == 4 and res.rejects == []
    assert res.frame["source_row"].tolist() == [2, 3, 2, 3]  # rows within each sheet
    notes = [n.template for n in res.notes]
    assert any("skipped (a summary" in t for t in notes) and any("read {n} sheets" in t for t in notes)


def test_cli_ingest_stores_both_customers_and_prints_the_notes(tmp_path):
    f = extension_workbook(tmp_path / "ext.xlsx", buyers=("tb1", "tb2", "tb3"))
    r = CliRunner().invoke(app, ["ingest", str(f), "--store", str(tmp_path / "s"), "--lang", "en",
                                 "-f", "json"])
    assert r.exit_code == 0, r.output
    assert '"rows_added": 6' in r.stdout
    assert "sheet 导出汇总 skipped" in r.stderr and "read 3 sheets" in r.stderr


def test_a_sheet_holding_other_data_is_never_ignored(tmp_path):
    wb = Workbook()
    _customer(wb.active, "tb1")
    other = wb.create_sheet("备用")
    other.append(["商品", "颜色", "库存"])
    other.append(["杯子", "红", 3])
    wb.save(tmp_path / "mixed.xlsx")
    with pytest.raises(InputFileError, match="sheet 备用 holds data"):
        read_file(tmp_path / "mixed.xlsx", ReadOptions())


def test_one_sheet_workbook_and_notes_sheet_unchanged():
    res = read_file(Path(__file__).parent / "fixtures" / "chats" / "extension.xlsx", ReadOptions())
    assert len(res.frame) and [n.template for n in res.notes][0].startswith("{path}: sheet {sheet} skipped")


# --------------------------------------------------------------------------- oversized sheets

def _patch_sheet(src: Path, dst: Path, fn) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = fn(data)
            zout.writestr(item, data)
    return dst


def _small(tmp_path) -> Path:
    wb = Workbook()
    _customer(wb.active, "tb1")
    wb.active.title = "聊天"
    wb.save(tmp_path / "small.xlsx")
    return tmp_path / "small.xlsx"


def _dimension(ref):
    return lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + ref + b'"', d)


def _far_cell(d):
    return d.replace(b"</sheetData>", b'<row r="2000"><c r="XFD2000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>')


@pytest.mark.parametrize("patch, words", [
    (_dimension(b"A1:XFD1048576"), "16384 columns"),  # was: Rust panic, exit 134
    (_far_cell, "16384 columns"),  # was: 23 s, 1.4 GB
    (_dimension(b"A1:Z9000000"), "9000000 rows"),
    # a few cells far down: the reader would allocate the whole empty grid
    (lambda d: d.replace(b"</sheetData>", b'<row r="5000000"><c r="F5000000"><v>1</v></c></row></sheetData>'),
     "5000000 rows × 6 columns but holds 19 cells"),
])
def test_oversized_sheet_is_refused_before_reading(tmp_path, patch, words):
    f = _patch_sheet(_small(tmp_path), tmp_path / "bomb.xlsx", patch)
    assert f.stat().st_size < 10_000
    t = time.monotonic()
    r = CliRunner().invoke(app, ["ingest", str(f), "--store", str(tmp_path / "s"), "--lang", "en"])
    assert r.exit_code == ExitCode.INPUT, r.output
    assert "bomb.xlsx" in r.stderr and "sheet 聊天" in r.stderr and words in r.stderr
    assert time.monotonic() - t < 10


def test_normal_dimension_passes(tmp_path):
    f = _patch_sheet(_small(tmp_path), tmp_path / "ok.xlsx", _dimension(b"A1:F3"))
    assert len(read_file(f, ReadOptions()).frame) == 2


@pytest.mark.parametrize("xml, cols, rows", [
    (b'<sheetData><row r="1"><c r="A1"/><c r="L1"/></row></sheetData>', 12, 1),
    (b'<sheetData><row r="1"><c s="1" r="XFD1"/></row></sheetData>', 16384, 1),  # r not first
    (b'<sheetData><row r="1"><c\nr="AB1"/></row></sheetData>', 28, 1),  # odd whitespace
    (b'<x:sheetData><x:row r="7"><x:c r="Q7"/></x:row></x:sheetData>', 17, 7),  # prefixed tags
    (b'<sheetData><row r="3"><c r="B4000000"/></row></sheetData>', 2, 4000000),  # cell below its row
])
def test_sheet_extent_sees_every_spelling(xml, cols, rows):
    import io

    from cskit.readers.xlsx_guard import _sheet_extent
    _, _, max_col, max_row, _ = _sheet_extent(io.BytesIO(xml))
    assert (max_col, max_row) == (cols, rows)
