"""The sample's ratings and targets (issue 18 item 7): `cskit ratings` on sample_data gives
the generator's plan; Douyin has no rating export, so its 满意率 is unknown, never 0."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

import cskit.cli  # noqa: F401
from cskit.ingest import ingest
from cskit.sample import generate
from cskit.sample.ratings import plan_ratings
from cskit.sample.targets import targets_frame
from cskit.metrics.score import load_targets
from cskit.store import Store
from chatlog import run

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
SINCE, UNTIL = "2026-11-09", "2026-11-22"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = Store(tmp_path_factory.mktemp("sr") / "store")
    ingest([SAMPLE], st)
    return st.root


@pytest.fixture(scope="module")
def plan():
    p = plan_ratings(generate())
    day = p["rated_at"].dt.strftime("%Y-%m-%d")
    return p[(day >= SINCE) & (day <= UNTIL)]


def test_ratings_per_agent_equal_the_plan(store, plan):
    r = run("ratings", "--store", store, "--since", SINCE, "--until", UNTIL, "-f", "csv")
    assert r.exit_code == 0, r.output
    got = {x["agent_id"]: x for x in csv.DictReader(io.StringIO(r.stdout))}
    want = plan.groupby("agent_id")["score"]
    assert set(got) == set(want.groups)
    for agent, scores in want:
        assert int(got[agent]["ratings"]) == len(scores), agent
        assert int(got[agent]["dissatisfied"]) == int((scores <= 2).sum()), agent
        assert float(got[agent]["satisfied_rate"]) == pytest.approx((scores >= 4).mean()), agent
    assert "山野茶铺抖音小店" in r.output  # the note: no rating export, unknown


def test_every_platform_scale_is_planned(plan):
    by = plan.groupby("platform")["score"].agg(lambda s: sorted(set(s)))
    assert by["pdd"] == [2, 4] and set(by["taobao"]) == {1, 2, 3, 4, 5} and "douyin" not in by


def test_the_sample_targets_load_and_equal_the_plan():
    t = load_targets(SAMPLE / "_score" / "targets.csv")
    want = targets_frame(generate())
    assert t[["shop", "agent_id", "month", "sales_target"]].values.tolist() == \
        want.values.tolist()


def test_score_on_the_sample_leaves_unknown_out_for_douyin(store):
    r = run("score", "--store", store, "--month", "2026-11", "--targets",
            SAMPLE / "_score" / "targets.csv", "-f", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    dy = [x for x in rows if x["shop"] == "山野茶铺抖音小店"]
    assert dy and all(x["kpis_left_out"] == "inquiry_conversion,sales,satisfied_rate" for x in dy)
    assert all(x["kpis_left_out"] == "" for x in rows if x["shop"] == "花语家居旗舰店")
