"""`cskit ingest` through the CLI: summary, idempotence, atomicity, bad input and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.errors import ExitCode
from cskit.store import Store

FIX = Path(__file__).parent / "fixtures"
HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
SECRET = "我的手机13800138000"  # message content must never reach an error line


def canonical(tmp_path: Path, rows: list[str], name: str = "chats.csv") -> Path:
    p = tmp_path / name
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


GOOD = [
    f"店A,pdd,,b1,,buyer,2026-11-16 09:00:00,{SECRET},,",
    "店A,pdd,,b1,店A:小美,agent,2026-11-16 09:02:00,亲，在的,,",
    "店A,pdd,,b2,,buyer,2026-11-16 10:00:00,包邮吗,,",
]


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_ingest_prints_summary_and_is_idempotent(tmp_path):
    f = canonical(tmp_path, GOOD)
    store = tmp_path / "store"
    r = run("ingest", f, "--store", store, "--format", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["totals"] == {"rows_read": 3, "rows_added": 3, "duplicates": 0, "updated": 0,
                             "rejected": 0}
    assert doc["rows"][0]["shop"] == "店A" and doc["rows"][0]["first"] == "2026-11-16 09:00:00"
    r = run("ingest", f, "--store", store, "--format", "json")
    assert json.loads(r.stdout)["totals"]["rows_added"] == 0
    assert json.loads(r.stdout)["totals"]["duplicates"] == 3


def test_ingest_table_output_is_plain_when_not_a_tty(tmp_path):
    f = canonical(tmp_path, GOOD)
    r = run("ingest", f, "--store", tmp_path / "s")
    assert r.exit_code == 0
    assert "\x1b[" not in r.stdout and "店A" in r.stdout and "新增行数" in r.stdout
    r = run("ingest", f, "--store", tmp_path / "s", "--lang", "en", "--format", "csv")
    assert r.stdout.splitlines()[0] == ("kind,shop,files,rows_read,rows_added,duplicates,updated,"
                                        "rejected,first,last")


def test_shop_option_fills_a_file_without_shop(tmp_path):
    p = tmp_path / "noshop.csv"
    p.write_text("买家,发送时间,发送内容,账号类型\nb1,2026-11-16 09:00:00,在吗,买家\n", encoding="utf-8")
    r = run("ingest", p, "--store", tmp_path / "s", "--shop", "店Z", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["rows"][0]["shop"] == "店Z"


def test_directory_config_names_the_shop(tmp_path):
    d = tmp_path / "exports" / "店Y"
    d.mkdir(parents=True)
    (d / "cskit.toml").write_text('shop = "店Y"\n', encoding="utf-8")
    (d / "chat.csv").write_text("买家,发送时间,发送内容,账号类型\nb1,2026-11-16 09:00:00,在吗,买家\n",
                                encoding="utf-8")
    (d / "README.md").write_text("notes", encoding="utf-8")
    r = run("ingest", tmp_path / "exports", "--store", tmp_path / "s", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["rows"][0]["shop"] == "店Y"


def test_rejected_rows_are_counted_and_reported_with_row_numbers(tmp_path):
    rows = GOOD * 10 + ["店A,pdd,,b9,,buyer,not-a-time,hello,,"]  # 1 bad of 31 (< 5 %)
    f = canonical(tmp_path, rows)
    r = run("ingest", f, "--store", tmp_path / "s", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["rejected"] == 1
    assert "第 32 行：时间无法识别" in r.stderr and "hello" not in r.stderr


def test_bad_file_mid_way_leaves_store_unchanged(tmp_path):
    store = tmp_path / "s"
    good = canonical(tmp_path, GOOD, "a.csv")
    run("ingest", good, "--store", store)
    manifest = (store / "_cskit_manifest.json").read_bytes()
    more = canonical(tmp_path, [r.replace("店A", "店B") for r in GOOD], "b.csv")
    bad = tmp_path / "c.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    r = run("ingest", more, bad, "--store", store, "--strict")  # all-or-nothing on request
    assert r.exit_code == ExitCode.INPUT
    assert (store / "_cskit_manifest.json").read_bytes() == manifest
    assert Store(store).shops() == ["店A"]
    assert not (store / "messages" / "shop=%E5%BA%97B").exists()


# --------------------------------------------------------------------------- bad input


def _bad_cases(tmp_path: Path):
    cases = []
    cases.append(("missing path", [tmp_path / "nope.csv"], ExitCode.INPUT, "文件或目录不存在"))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    cases.append(("unsupported type", [pdf], ExitCode.INPUT, "不支持的文件类型 '.pdf'"))
    unk = tmp_path / "unknown.csv"
    unk.write_text("货号,颜色,库存\nA1,红,3\n", encoding="utf-8")
    cases.append(("unrecognised headers", [unk], ExitCode.INPUT, "找到的表头：货号, 颜色, 库存"))
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    cases.append(("empty file", [empty], ExitCode.INPUT, "文件为空"))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + GOOD[0] + "\n").encode("gb18030"))
    cases.append(("wrong forced encoding", [gbk, "--encoding", "ascii"], ExitCode.INPUT,
                  "无法按 ascii 解码"))
    badrows = canonical(tmp_path, GOOD + ["店A,pdd,,b9,,buyer,31/31/2026,x,,"] * 3, "bad.csv")
    cases.append(("too many bad rows", [badrows], ExitCode.DATA, "6 行中有 3 行无法解析（第 5 行：时间无法识别"))
    js = tmp_path / "msgs.json"
    js.write_text('[{"msg_id": 1, "from": {"role": "user"', encoding="utf-8")
    cases.append(("broken JSON", [js], ExitCode.INPUT, "msgs.json"))
    xl = tmp_path / "orders.xlsx"
    xl.write_bytes(b"PK\x03\x04 this is not really a workbook")
    cases.append(("corrupt workbook", [xl], ExitCode.INPUT, "orders.xlsx"))
    noshop = tmp_path / "noshop.csv"
    noshop.write_text("买家,发送时间,发送内容,账号类型\nb1,2026-11-16 09:00:00,在吗,买家\n", encoding="utf-8")
    cases.append(("no shop name", [noshop], ExitCode.INPUT, "--shop"))
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\nphone = "手机"\n', encoding="utf-8")
    cases.append(("bad mapping key", [noshop, "--mapping", mapping], ExitCode.USAGE, "'phone'"))
    return cases


def test_each_bad_input_gives_one_error_line_and_its_exit_code(tmp_path):
    cases = _bad_cases(tmp_path)
    assert len(cases) >= 8
    for name, args, code, needle in cases:
        r = run("ingest", *args, "--store", tmp_path / f"store-{name}")
        assert r.exit_code == code, (name, r.exit_code, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert lines and lines[0].startswith("Error: "), (name, r.stderr)
        assert len(lines) == 1, (name, r.stderr)
        assert needle in lines[0], (name, lines[0])
        assert "Traceback" not in r.stderr and SECRET not in r.stderr and SECRET not in r.stdout
        assert not (tmp_path / f"store-{name}" / "_cskit_manifest.json").exists(), name


def test_store_that_is_not_a_cskit_store(tmp_path):
    other = tmp_path / "docs"
    other.mkdir()
    (other / "thesis.docx").write_bytes(b"x")
    r = run("ingest", canonical(tmp_path, GOOD), "--store", other)
    assert r.exit_code == ExitCode.STORE and "不是 cskit 仓库" in r.stderr


def test_debug_shows_traceback(tmp_path):
    r = run("--debug", "ingest", tmp_path / "nope.csv", "--store", tmp_path / "s")
    assert r.exit_code != 0 and r.exception is not None


@pytest.mark.parametrize("fixture", sorted(p.name for p in (FIX / "chats").iterdir()
                                           if p.suffix in (".csv", ".json", ".jsonl", ".xlsx")
                                           and p.name != "mapped.csv"))
def test_every_chat_fixture_ingests_through_the_cli(tmp_path, fixture):
    r = run("ingest", FIX / "chats" / fixture, "--store", tmp_path / "s", "--shop", "测试店",
            "--max-bad-rows", "0.5", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["rows_added"] > 0
