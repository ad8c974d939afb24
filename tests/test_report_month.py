"""`cskit report --month` (issue 18 item 6): the monthly report with the 绩效考核 section —
its score.csv is what `cskit score --month` prints; the month before is the comparison."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import cskit.cli  # noqa: F401
from cskit.ingest import ingest
from cskit.kpi import Period
from cskit.report import period_words, previous_period
from cskit.store import Store
from chatlog import run

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TARGETS = SAMPLE / "_score" / "targets.csv"


@pytest.mark.parametrize("since, until, prev", [
    ("2026-11-01", "2026-11-30", ("2026-10-01", "2026-10-31")),
    ("2026-03-01", "2026-03-31", ("2026-02-01", "2026-02-28")),
    ("2026-01-01", "2026-03-31", ("2025-10-01", "2025-12-31")),  # a quarter: the one before
    ("2026-11-16", "2026-11-22", ("2026-11-09", "2026-11-15")),  # a week
])
def test_previous_period(since, until, prev):
    p = previous_period(Period(dt.date.fromisoformat(since), dt.date.fromisoformat(until)))
    assert (p.since.isoformat(), p.until.isoformat()) == prev


def test_period_words():
    d = dt.date.fromisoformat
    assert period_words(Period(d("2026-11-01"), d("2026-11-30"))) == ("本月", "上月")
    assert period_words(Period(d("2026-11-16"), d("2026-11-22"))) == ("本周", "上周")
    assert period_words(Period(d("2026-11-16"), d("2026-11-18"))) == ("本期", "上期")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("month")
    st = Store(root / "store")
    ingest([SAMPLE], st)
    out = root / "r"
    r = run("report", "--store", st.root, "--month", "2026-11", "--targets", TARGETS, "--out", out,
            "--no-charts")
    assert r.exit_code == 0, r.output
    return st.root, out


def test_score_csv_is_cskit_score(bundle):
    store, out = bundle
    r = run("score", "--store", store, "--month", "2026-11", "--targets", TARGETS, "-f", "csv")
    assert r.exit_code == 0, r.output
    assert (out / "score.csv").read_text(encoding="utf-8") == r.stdout
    r = run("score", "--store", store, "--month", "2026-11", "--targets", TARGETS, "--explain",
            "-f", "csv")
    assert (out / "score_breakdown.csv").read_text(encoding="utf-8") == r.stdout


def test_page_is_a_monthly_report(bundle):
    _, out = bundle
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "客服月报 2026-11" in page and "本月 vs 上月" in page and "本周" not in page
    assert "绩效考核 · 2026-11" in page and "score_breakdown.csv" in page
    assert "回复率得分" in page and "满意率" in page  # labels, not machine keys
    assert "inquiry_conversion,sales" not in page


def test_options_that_do_not_go_together(bundle, tmp_path):
    store, _ = bundle
    r = run("report", "--store", store, "--month", "2026-11", "--week", "2026-W47", "--out", tmp_path)
    assert r.exit_code == 2
    r = run("report", "--store", store, "--week", "2026-W47", "--scheme", "x.toml", "--out", tmp_path)
    assert r.exit_code == 2 and "--month" in r.output
