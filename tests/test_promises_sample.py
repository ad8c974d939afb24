"""The sample plants promises (issue 15 item 3): `cskit promises` on the committed sample
finds every planted promise with the status the generator planned (truth["promises"]) —
the plan, not copied numbers, so it holds after the sample is regenerated."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from chatlog import run
from cskit.ingest import ingest
from cskit.sample import generate
from cskit.sample.promises import PLAN
from cskit.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def plan():
    return generate().truth["promises"]


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("sample_promises") / "store")
    ingest([SAMPLE], store)
    r = run("promises", "--store", store.root, "-f", "csv")
    assert r.exit_code == 0, r.stderr
    return pd.DataFrame(list(csv.DictReader(io.StringIO(r.stdout))))


def test_the_plan_has_every_outcome(plan):
    assert plan["outcome"].value_counts().to_dict() == PLAN


def test_every_planted_promise_has_its_planned_status(plan, rows):
    key = ["shop", "buyer_id", "promised_at"]
    want = plan.assign(promised_at=plan["sent_at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    got = want.merge(rows, on=key, how="left", suffixes=("_plan", ""))
    assert got["status"].notna().all(), got[got["status"].isna()]
    assert (got["status"] == got["status_plan"]).all(), \
        got.loc[got["status"] != got["status_plan"], key + ["outcome", "status"]]
    assert (got["agent_id"] == got["agent_id_plan"]).all()
    assert (got["kind"] == "reply").all()
    # kept: followed up when the log says; late: the follow-up came after the deadline
    fu = got["followed_up_at"].replace("", None)
    planned = got["followed_up_at_plan"].dt.strftime("%Y-%m-%d %H:%M:%S")
    kept = got["outcome"] == "kept"
    assert (fu[kept] == planned[kept]).all()
    late = got["outcome"] == "late"
    assert (pd.to_datetime(fu[late]) > pd.to_datetime(got.loc[late, "deadline"])).all()
    assert fu[got["outcome"].isin(["broken", "open"])].isna().all()


def test_by_agent_counts_include_the_plan(plan, rows):
    broken = rows[rows["status"] == "broken"].groupby("agent_id").size()
    planned = plan[plan["status"] == "broken"].groupby("agent_id").size()
    assert (broken.reindex(planned.index).fillna(0) >= planned).all()
