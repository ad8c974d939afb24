"""`cskit report` and `cskit chart` on a tiny store (tests/report_data.py: numbers by hand)."""

from __future__ import annotations

import datetime as dt
import html.parser
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cskit.cli  # noqa: F401
from cskit import charts
from cskit.cli import app
from cskit.errors import ExitCode
from cskit.kpi import Period, parse_week

from report_data import glyph_problems, make_store, png_ok

W47 = "2026-W47"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("with_orders"))


@pytest.fixture(scope="module")
def bare_store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("chats_only"), orders=False)


@pytest.fixture(scope="module")
def bundle(store, tmp_path_factory):
    """The full report (charts included) for W47, written once."""
    out = tmp_path_factory.mktemp("report") / "w47"
    with glyph_problems() as found:
        r = run("report", "--week", W47, "--out", out, "--store", store)
    assert r.exit_code == 0, r.stderr
    assert found == []
    return out, r


class Page(html.parser.HTMLParser):
    """Links, text and a strict nesting check of index.html."""

    VOID = {"meta", "img", "br", "link", "hr", "input"}

    def __init__(self):
        super().__init__()
        self.links, self.text, self.stack, self.errors, self.charset = [], [], [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "charset" in a:
            self.charset = a["charset"]
        for k in ("href", "src"):
            if a.get(k):
                self.links.append(a[k])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> Page:
    p = Page()
    p.feed(path.read_text(encoding="utf-8"))
    p.close()
    assert p.errors == [] and p.stack == []
    return p


def csv_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


# ---------------------------------------------------------------------------------- report
def test_report_writes_a_linked_bundle(bundle):
    out, r = bundle
    assert r.stdout.strip() == str(out / "index.html")
    assert "\x1b[" not in r.stdout + r.stderr  # no colour codes, no progress bars for cron
    page = parse(out / "index.html")
    assert page.charset == "utf-8"
    assert page.links, "index.html links its files"
    for link in page.links:
        assert "://" not in link and not link.startswith("/")  # self-contained, relative
        assert (out / link).is_file() and (out / link).stat().st_size > 0, link
    written = {p.name for p in out.iterdir()}
    assert {"kpi_by_day.csv", "kpi_by_agent.csv", "kpi_by_hour.csv", "kpi_by_shop.csv",
            "unreplied.csv", "conversion_by_day.csv", "conversion_by_agent.csv",
            "unpaid.csv", "lost_buyers.csv", "lost_reasons.csv", "reply_rate.png", "load.png",
            "agents.png", "lost.png", "summary.json", "index.html"} <= written
    assert not [n for n in written if n.endswith(".tmp")]
    assert set(page.links) >= written - {"index.html"}  # every file written is linked
    for png in ("reply_rate.png", "load.png", "agents.png", "lost.png"):
        png_ok((out / png).read_bytes())


def test_report_headline_vs_last_week(bundle):
    out, _ = bundle
    text = " ".join(" ".join(parse(out / "index.html").text).split())
    for label in ("客服周报 店A 2026-W47", "核心指标 (本周 vs 上周)", "指标 本周 上周 变化",
                  "回复率最低的客服", "未及时回复名单", "询单流失原因", "文件"):
        assert label in text, label
    # 4 consulting buyers, 2 unreplied: 50.0% this week; 1 buyer answered in W46: 100.0%
    assert "咨询人数 4 1 +3 (+300.0%)" in text
    assert "未回复人数 2 0 +2" in text
    assert "5分钟回复率 50.0% 100.0% -50.0 个百分点" in text
    assert "询单人数 3" in text and "询单转化率 33.3%" in text and "客服销售额 ¥59.00" in text
    assert "统计周期 2026-11-16 – 2026-11-22 · 对比上周 2026-11-09 – 2026-11-15" in text
    # worst agent first; 未分配 is not ranked but counted
    # agents by their own name next to the shop column, as in every table (issue 12)
    assert text.index("店A 阿强") < text.index("店A 小美") and "店A:" not in text
    assert "未分配 (没有任何客服回复过的买家, 不参与排名): 店A 1 人" in text
    # the unreplied list: never answered first, content shown
    assert "共 2 条超时或未回复的买家消息 (其中 1 条始终未回复)" in text
    assert text.index("=1+1") < text.index("包邮吗")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["shops"]["店A"]["this"]["reply_rate"] == 0.5
    assert summary["shops"]["店A"]["previous"]["reply_rate"] == 1.0
    assert summary["previous_since"] == "2026-11-09" and summary["unreplied_messages"] == 2


def test_report_headline_shows_medians_not_means(bundle):
    """Issue 12 point 3: week-over-week deltas of response times use the median and P90."""
    out, _ = bundle
    text = " ".join(" ".join(parse(out / "index.html").text).split())
    for label in ("首次响应中位数(秒)", "首次响应P90(秒)", "响应中位数(秒)", "响应P90(秒)"):
        assert label in text, label
    for label in ("平均首次响应(秒)", "平均响应(秒)", "人工平响时长(秒)"):  # pdd5 defines no cap
        assert label not in text, label
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "first_response_s_mean" in summary["shops"]["店A"]["this"]  # machine keys stay
    assert "未回复中仅结束语" in text  # how much of 未回复 is closing remarks (issue 12 point 4)


def test_report_csv_matches_cskit_kpi(bundle, store):
    out, _ = bundle
    for by in ("day", "agent", "hour", "shop"):
        wide = ["--wide"] if by == "agent" else []  # the agent CSV carries every column
        r = run("kpi", "--week", W47, "--by", by, "--store", store, "-f", "csv", *wide)
        assert r.exit_code == 0, r.stderr
        assert csv_text(out / f"kpi_by_{by}.csv") == r.stdout, by
    r = run("kpi", "--week", W47, "--list", "unreplied", "--store", store, "-f", "csv")
    listed = [ln.split(",")[:3] for ln in r.stdout.splitlines()[1:]]
    ours = [ln.split(",")[:2] + [ln.split(",")[3]] for ln in csv_text(out / "unreplied.csv").splitlines()[1:]]
    assert ours == listed == [["店A", "b2", "2026-11-16 10:00:00"], ["店A", "b3", "2026-11-17 14:00:00"]]
    head = csv_text(out / "unreplied.csv").splitlines()[0]
    assert head == "shop,buyer_id,date,sent_at,wait_s,reply_at,agent,content"
    assert not csv_text(out / "kpi_by_day.csv").startswith("\ufeff")


def test_report_excel_csv(store, tmp_path):
    out = tmp_path / "x"
    r = run("report", "--week", W47, "--out", out, "--store", store, "--excel", "--no-charts")
    assert r.exit_code == 0, r.stderr
    raw = (out / "unreplied.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == "店铺,买家,日期,发送时间,等待(秒),回复时间,客服,买家消息"
    assert lines[1] == "店A,b2,2026-11-16,2026-11-16 10:00:00,,,未分配,'=1+1"
    assert lines[2].endswith(",店A:阿强,包邮吗")
    day = (out / "kpi_by_day.csv").read_bytes()
    assert day.startswith(b"\xef\xbb\xbf")
    assert day.decode("utf-8-sig").splitlines()[0].startswith("店铺,日期,咨询人数,未回复人数,未回复中仅结束语,5分钟回复率")
    assert "Excel" in (out / "index.html").read_text(encoding="utf-8")
    assert not list(out.glob("*.png"))


def test_report_without_orders_says_why(bare_store, tmp_path):
    out = tmp_path / "r"
    r = run("report", "--week", W47, "--out", out, "--store", bare_store, "--no-charts")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""  # a missing optional family is a note in the page, not a cron mail
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "店铺 店A: 仓库里没有订单, 询单转化未计算" in page
    assert "询单转化率" not in page
    assert not (out / "conversion_by_day.csv").exists()
    for link in parse(out / "index.html").links:
        assert (out / link).is_file(), link


def test_report_without_a_cjk_font_writes_tables_and_warns(store, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    out = tmp_path / "r"
    r = run("report", "--week", W47, "--out", out, "--store", store)
    assert r.exit_code == 0
    assert r.stderr.startswith("warning: 图表未生成: 没有中文字体")
    assert "pip install 'cskit[fonts]'" in r.stderr
    assert not list(out.glob("*.png"))
    page = parse(out / "index.html")
    assert "没有中文字体" in "".join(page.text)
    assert all((out / link).is_file() for link in page.links)


def test_report_exit_codes_for_cron(store, tmp_path):
    r = run("report", "--week", "2025-W01", "--out", tmp_path / "none", "--store", store)
    assert r.exit_code == ExitCode.NO_DATA == 5
    assert r.stderr.startswith(f"Error: {store}：2024-12-30 – 2025-01-05 没有买家消息")
    r = run("--lang", "en", "report", "--week", "2025-W01", "--out", tmp_path / "none", "--store", store)
    assert r.stderr.startswith("Error: no buyer messages for 2024-12-30 – 2025-01-05")
    assert not (tmp_path / "none").exists()  # nothing written on no data
    r = run("report", "--week", W47, "--last-week", "--out", tmp_path / "x", "--store", store)
    assert r.exit_code == ExitCode.USAGE
    r = run("report", "--week", "2026-47", "--out", tmp_path / "x", "--store", store)
    assert r.exit_code == ExitCode.USAGE and "不是 ISO 周" in r.stderr
    r = run("report", "--week", W47, "--out", tmp_path / "x", "--store", store, "--shop", "店Z")
    assert r.exit_code == ExitCode.NO_DATA
    (tmp_path / "file").write_text("x")
    r = run("report", "--week", W47, "--out", tmp_path / "file", "--store", store, "--no-charts")
    assert r.exit_code == ExitCode.USAGE and "file" in r.stderr


def test_report_defaults_to_last_week(store, tmp_path, monkeypatch):
    import cskit.period

    monkeypatch.setattr(cskit.period, "last_week", lambda today=None: parse_week(W47))
    out = tmp_path / "r"
    r = run("report", "--out", out, "--store", store, "--no-charts")
    assert r.exit_code == 0, r.stderr
    assert "统计周期 2026-11-16 – 2026-11-22" in (out / "index.html").read_text(encoding="utf-8")


def test_first_week_has_no_comparison(store, tmp_path):
    out = tmp_path / "r"
    r = run("report", "--week", "2026-W46", "--out", out, "--store", store, "--no-charts")
    assert r.exit_code == 0, r.stderr
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["shops"]["店A"]["this"]["consult_buyers"] == 1 and s["shops"]["店A"]["previous"] == {}


def test_previous_period_is_the_week_before():
    from cskit.report import previous_period

    assert previous_period(parse_week(W47)) == parse_week("2026-W46")
    assert previous_period(Period(dt.date(2026, 1, 1), dt.date(2026, 1, 3))) == \
        Period(dt.date(2025, 12, 29), dt.date(2025, 12, 31))
    assert previous_period(Period(None, dt.date(2026, 1, 3))) is None


# ---------------------------------------------------------------------------------- chart
def test_chart_command_renders_from_the_store(store, tmp_path):
    out = tmp_path / "rr.png"
    with glyph_problems() as found:
        r = run("chart", "reply-rate", "--week", W47, "--by", "agent", "--store", store,
                "--output", out)
    assert r.exit_code == 0, r.stderr
    assert found == []
    assert r.stdout.strip() == str(out)
    png_ok(out.read_bytes(), min_h=500)  # two panels


def test_chart_lost_without_orders_is_a_no_data_image(bare_store, tmp_path):
    out = tmp_path / "lost.png"
    r = run("chart", "lost", "--since", "2026-11-16", "--until", "2026-11-22", "--store",
            bare_store, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "note: 店铺 店A: 仓库里没有订单" in r.stderr
    png_ok(out.read_bytes(), min_w=300, min_h=150, ink=0.001)


def test_chart_usage_and_no_data_errors(store, tmp_path):
    r = run("chart", "load", "--by", "agent", "--store", store, "-o", tmp_path / "a.png")
    assert r.exit_code == ExitCode.USAGE and "--by agent 只适用于回复率图" in r.stderr
    r = run("chart", "load", "--store", store, "-o", tmp_path / "a.gif")
    assert r.exit_code == ExitCode.USAGE and "不支持的图片格式" in r.stderr
    r = run("chart", "pie", "--store", store)
    assert r.exit_code == ExitCode.USAGE
    r = run("chart", "agents", "--week", "2025-W01", "--store", store, "-o", tmp_path / "a.png")
    assert r.exit_code == ExitCode.NO_DATA
    assert not (tmp_path / "a.png").exists()


def test_chart_without_a_cjk_font_is_a_usage_error(store, tmp_path, monkeypatch):
    monkeypatch.setattr(charts, "find_cjk_font", lambda: None)
    r = run("chart", "agents", "--week", W47, "--store", store, "-o", tmp_path / "a.png")
    assert r.exit_code == ExitCode.USAGE
    assert "找不到中文字体" in r.stderr and "pip install 'cskit[fonts]'" in r.stderr
    assert not (tmp_path / "a.png").exists()


def test_commands_have_help():
    for cmd in ("chart", "report"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "Usage" in r.stdout
    assert "cron" in run("report", "--help").stdout
