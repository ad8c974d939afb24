"""Issue 13, hostile input on the output side: Rich markup and ANSI escapes in data, math
text in chart labels, a partial report folder, and formula injection in CSV (--excel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cskit import charts
from cskit.cli import app
from cskit.errors import ExitCode
from cskit.render import safe_text

SHOP = "[/red]店"  # a closing tag with nothing open: rich raises MarkupError
BUYER = '=HYPERLINK("http://evil.example","点我")'
AGENT = "\x1b[31m阿强\x1b[0m $\\bad{x}$"  # ANSI colour and math text matplotlib cannot parse
HEADER = "shop,platform,conversation_id,buyer_id,agent_id,sender,sent_at,content,msg_type,msg_id\n"
ROWS = [
    f'{SHOP},pdd,,"{BUYER.replace(chr(34), chr(34) * 2)}",,buyer,2026-11-17 09:00:00,在吗 [bold]x,,',
    f'{SHOP},pdd,,"{BUYER.replace(chr(34), chr(34) * 2)}",{AGENT},agent,2026-11-17 09:09:00,[link=http://e.vil]亲[/link] 滚,,',
    f"{SHOP},pdd,,b2,,buyer,2026-11-18 10:00:00,发货了吗,,",
]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    f = d / "hostile.csv"
    f.write_text(HEADER + "".join(r + "\n" for r in ROWS), encoding="utf-8")
    r = run("ingest", f, "--store", d / "s")
    assert r.exit_code == 0, r.stderr  # was: internal error (MarkupError) after committing
    assert SHOP in r.stdout
    return d / "s"


@pytest.mark.parametrize("cmd", [["kpi"], ["kpi", "--by", "agent"], ["kpi", "--by", "shop"],
                                 ["kpi", "--list", "unreplied"], ["qc", "--list"], ["qc"],
                                 ["unpaid"], ["lost"]])
def test_tables_print_data_as_written(store, cmd):
    r = run(*cmd, "--store", store, "--week", "2026-W47")
    assert r.exit_code in (0, ExitCode.NO_DATA), (cmd, r.stderr)
    assert "internal error" not in r.stderr and "内部错误" not in r.stderr
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr  # no escape reaches the terminal
    if cmd in (["kpi", "--by", "agent"], ["kpi", "--by", "shop"], ["qc", "--list"]):
        assert SHOP in r.stdout


def test_markup_in_messages_is_shown_not_applied(store):
    r = run("qc", "--list", "--store", store, "--week", "2026-W47", "--wide")
    assert r.exit_code == 0, r.stderr
    assert "[link=http://e.vil]亲[/link]" in r.stdout
    assert "\ufffd[31m阿强\ufffd[0m" in r.stdout  # the escape is visible, and inert


def test_safe_text():
    assert safe_text("店A") == "店A"
    assert safe_text("a\tb\x1b[0m\x07\x9b\n") == "a b\ufffd[0m\ufffd\ufffd\n"


def test_report_with_math_text_and_markup_in_names(store, tmp_path):
    out = tmp_path / "rep"
    r = run("report", "--store", store, "--week", "2026-W47", "--out", out)
    assert r.exit_code == 0, r.stderr  # was: a ValueError from mathtext, a partial folder
    assert (out / "index.html").is_file() and (out / "agents.png").is_file()
    assert "\\bad{x}" in (out / "kpi_by_agent.csv").read_text(encoding="utf-8")


def test_chart_label_with_dollars_draws(tmp_path):
    import matplotlib

    fig = charts._build(lambda: _titled_figure("$\\bad{x}$ 客服"), "auto", "zh")
    charts.save(fig, tmp_path / "x.png")
    assert (tmp_path / "x.png").stat().st_size > 0
    assert matplotlib.rcParams["text.parse_math"]  # only the chart's own context turns it off


def _titled_figure(title: str):
    fig = charts._new_figure(4, 2)
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.barh([title], [1])
    return fig


def test_failed_report_leaves_no_partial_folder(store, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    assert run("report", "--store", store, "--week", "2026-W47", "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(fig, path, **kw):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(charts, "save", broken)
    r = run("report", "--store", store, "--week", "2026-W47", "--out", out)
    assert r.exit_code == ExitCode.INTERNAL
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # last run's report, whole
    r = run("report", "--store", store, "--week", "2026-W47", "--out", tmp_path / "new")
    assert r.exit_code == ExitCode.INTERNAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no folder, no hidden stage


# --------------------------------------------------------------------------- --excel


def test_formula_in_names_is_escaped_with_excel(store):
    raw = run("kpi", "--by", "agent", "--store", store, "--week", "2026-W47", "-f", "csv")
    assert raw.exit_code == 0, raw.stderr
    r = run("kpi", "--by", "agent", "--store", store, "--week", "2026-W47", "-f", "csv", "--excel")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("\ufeff")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("\ufeff店铺,")
    unreplied = run("kpi", "--list", "unreplied", "--store", store, "--week", "2026-W47", "-f", "csv",
                    "--excel").stdout
    assert "'=HYPERLINK" in unreplied and ',=HYPERLINK' not in unreplied


@pytest.mark.parametrize("cmd", [["kpi"], ["kpi", "--by", "agent"], ["kpi", "--list", "unreplied"],
                                 ["unpaid"], ["lost"], ["lost", "--examples", "1"], ["qc"],
                                 ["qc", "--list"]])
def test_every_csv_command_takes_excel(store, cmd):
    r = run(*cmd, "--store", store, "--week", "2026-W47", "-f", "csv", "--excel")
    assert r.exit_code in (0, ExitCode.NO_DATA), (cmd, r.stderr)
    if r.exit_code == 0:
        assert r.stdout.startswith("\ufeff"), cmd
    r = run(*cmd, "--store", store, "--week", "2026-W47", "--excel", "--lang", "en")
    assert r.exit_code == ExitCode.USAGE and "--excel applies to -f csv" in r.stderr


def test_ingest_csv_summary_takes_excel(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(HEADER + ROWS[0] + "\n", encoding="utf-8")
    r = run("ingest", f, "--store", tmp_path / "s", "-f", "csv", "--excel")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("\ufeff类型,")

