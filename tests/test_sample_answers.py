"""The sample's planted answers (issue 16 item 4) against `cskit answers` on sample_data/.

The generator replaces the agent's first answer to a pre-sale question by the agent's
planted answer for the topic (good / plain / poor, cskit/data/sample_answers.toml), chosen
with a probability that depends on the outcome the simulation already planned; the plan is
``generate().truth["answers"]``.  These tests compare the command's output with that plan
(never with copied numbers), so they hold after the sample is regenerated."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cskit import sample
from cskit.cli import app
from cskit.ingest import ingest
from cskit.kpi import Period
from cskit.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def plan():
    return sample.generate().truth["answers"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = Store(tmp_path_factory.mktemp("sample_answers") / "store")
    ingest([SAMPLE], st)
    return st


@pytest.fixture(scope="module")
def rows(store):
    r = CliRunner().invoke(app, ["answers", "--store", str(store.root), "--top", "50", "-f", "json",
                                 "--min-buyers", "10"])
    assert r.exit_code == 0, r.stderr
    return pd.DataFrame(json.loads(r.stdout)["rows"])


def test_plan_uses_only_its_sites_and_data(plan):
    from cskit.sample.answers import ROLES

    assert len(plan) > 1000 and plan["planted"].mean() > 0.6
    assert set(plan["role"]) == set(ROLES)
    # one planted answer per agent and topic, different between the agents of a shop
    per = plan.groupby(["shop", "agent_id", "topic"])["answer"].nunique()
    assert (per == 1).all()
    assert plan.groupby(["shop", "topic"])["answer"].nunique().min() >= 2
    # planted conditioned on the outcome: good answers go to paying buyers more often
    p = plan[plan["planted"]]
    conv = p.groupby("role")["paid"].mean()
    assert conv["good"] > conv["plain"] + 0.1 > conv["poor"] + 0.2


def test_the_command_pairs_the_planted_answers(store, plan):
    from cskit.text.answer_frames import answer_frames

    pairs, _ = answer_frames(store, period=Period(None, None))
    p = plan[plan["planted"]].copy()
    p["date"] = pd.to_datetime(p["date"]).dt.date
    got = p.merge(pairs[["shop", "buyer_id", "date", "answer", "agent_id"]],
                  on=["shop", "buyer_id", "date"], how="inner", suffixes=("", "_cmd"))
    # a buyer-day may hold pairs of several question groups: the planted answer is one of them
    hit = got.assign(ok=(got["answer"] == got["answer_cmd"]) & (got["agent_id"] == got["agent_id_cmd"]))
    site_ok = hit.groupby(["shop", "buyer_id", "date"])["ok"].any()
    assert site_ok.mean() > 0.9, site_ok.mean()


def test_conversion_by_role_is_the_planned_one(rows, plan):
    """The command's conversion of the planted answers, by role, is the plan's (paid share of
    the planted buyer-days whose window has closed), and good > plain > poor."""
    role = plan.drop_duplicates(["shop", "agent_id", "answer"]).set_index(
        ["shop", "agent_id", "answer"])["role"]
    r = rows.assign(role=role.reindex(pd.MultiIndex.from_frame(
        rows[["shop", "agent_id", "answer"]])).to_numpy())
    r = r[r["role"].notna() & (r["known"] > 0)]
    cmd = r.groupby("role").agg(known=("known", "sum"), paid=("paid", "sum"))
    cmd = cmd["paid"] / cmd["known"]
    done = plan[plan["planted"] & ~plan["pending"] & ~plan["excluded"]]
    want = done.groupby("role")["paid"].mean()
    assert cmd["good"] > cmd["plain"] > cmd["poor"]
    for k in ("good", "plain", "poor"):
        assert abs(cmd[k] - want[k]) < 0.06, (k, cmd[k], want[k])


def test_best_needs_the_stated_size(store, rows):
    """Default minimum (20 buyer-days of known outcome per answer): the sample's groups are
    smaller, so no best is claimed; with --min-buyers 10 a best is claimed only among
    answers with ≥ 10 known, and it has the highest conversion of them."""
    r = CliRunner().invoke(app, ["answers", "--store", str(store.root), "--top", "50", "-f", "json"])
    default = pd.DataFrame(json.loads(r.stdout)["rows"])
    big = default.groupby(["shop", "q_key"])["known"].apply(lambda k: int((k >= 20).sum()))
    assert default["best"].sum() == int((big >= 2).sum())
    assert rows["best"].any()
    for _, g in rows.groupby(["shop", "q_key"]):
        cand = g[(g["known"] >= 10) & g["conversion"].notna()]
        if len(cand) < 2:
            assert not g["best"].any()
            continue
        best = g[g["best"]]
        assert len(best) == 1
        assert best["conversion"].iloc[0] == pytest.approx(cand["conversion"].max())
