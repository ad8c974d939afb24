"""The buyers' voice planted in the sample (issue 15 item 3): `cskit voice` on the committed
sample_data/ finds exactly the generator's plan (truth["voice"]), and the planting changes
nothing but the content of the planted buyer messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import cskit.sample as S
from chatlog import run
from cskit.ingest import ingest
from cskit.sample.voice import VOICE_COLUMNS
from cskit.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def data():
    return S.generate()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    st = Store(tmp_path_factory.mktemp("voice_sample") / "store")
    ingest([SAMPLE], st)
    return st.root


def _key(frame: pd.DataFrame, t) -> set:
    return set(zip(frame["shop"], frame["buyer_id"], t, frame["department_id"]))


def test_the_plan_covers_every_department_but_other(data):
    plan = data.truth["voice"]
    assert list(plan.columns) == VOICE_COLUMNS
    assert set(plan["department_id"]) == {"marketing", "finance", "product", "logistics",
                                          "warehouse"}
    # planted on after-sale first questions and on closings of buyer-days that paid
    bd = data.truth["buyer_days"].assign(date=lambda f: pd.to_datetime(f["date"]))
    at = plan.assign(date=pd.to_datetime(plan["sent_at"]).dt.normalize()).merge(
        bd[["shop", "buyer_id", "date", "after_sale", "paid", "lost_reason"]],
        on=["shop", "buyer_id", "date"], how="left")
    assert (at["after_sale"] | at["paid"]).all()
    assert at.loc[~at["after_sale"], "lost_reason"].isna().all()


def test_voice_list_equals_the_plan(data, store):
    res = run("voice", "--store", store, "--list", "-f", "json")
    assert res.exit_code == 0, res.output
    rows = pd.DataFrame(json.loads(res.stdout)["rows"])
    plan = data.truth["voice"]
    assert _key(rows, rows["sent_at"]) == _key(plan, plan["sent_at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    assert len(rows) == len(plan)


def test_summary_counts_equal_the_plan(data, store):
    res = run("voice", "--store", store, "-f", "json")
    assert res.exit_code == 0, res.output
    got = pd.DataFrame(json.loads(res.stdout)["rows"])
    plan = data.truth["voice"].assign(week=lambda f: f["sent_at"].dt.strftime("%G-W%V"))
    want = plan.groupby(["shop", "week", "department_id"]).agg(
        messages=("buyer_id", "size"), buyers=("buyer_id", "nunique")).reset_index()
    got = got[got["messages"] > 0][["shop", "week", "department_id", "messages", "buyers"]]
    pd.testing.assert_frame_equal(
        got.sort_values(["shop", "week", "department_id"]).reset_index(drop=True),
        want.sort_values(["shop", "week", "department_id"]).reset_index(drop=True),
        check_dtype=False)


def test_planting_changes_only_the_planted_contents(data):
    from cskit.sample import plan as plan_mod
    from cskit.sample import voice

    calls = []
    real = voice.plant_voice

    def spy(messages, buyer_days, seed):
        calls.append(messages.copy())
        return real(messages, buyer_days, seed)

    voice.plant_voice = spy
    try:
        plan_mod.generate()
    finally:
        voice.plant_voice = real
    before, after = calls[0], data.messages
    assert before.drop(columns="content").equals(after.drop(columns="content"))
    changed = before["content"].to_numpy() != after["content"].to_numpy()
    # the 催付 planting (cskit/sample/dunning.py) runs after this one: its agent lines aside
    from cskit.sample.dunning import _TEXTS as REMINDERS

    changed &= ~(after["content"].isin(REMINDERS).to_numpy() & (after["sender"] == "agent").to_numpy())
    plan = data.truth["voice"]
    keys = set(zip(plan["shop"], plan["buyer_id"], plan["sent_at"]))
    planted = [tuple(k) in keys and who == "buyer" for *k, who in
               zip(after["shop"], after["buyer_id"], after["sent_at"], after["sender"])]
    assert sum(planted) == len(plan)
    assert not (changed & ~pd.Series(planted).to_numpy()).any()  # nothing else changed
    assert sorted(after.loc[planted, "content"]) == sorted(plan["content"])
    assert (before.loc[changed, "sender"] == "buyer").all()


def test_manifest_states_the_plan(data):
    manifest = json.loads((SAMPLE / "MANIFEST.json").read_text(encoding="utf-8"))
    planted = {s["shop"]: s.get("voice_planted", {}) for s in manifest["shops"]}
    want = data.truth["voice"].groupby("shop")["department_id"].value_counts()
    for (shop, dept), n in want.items():
        assert planted[shop][dept] == n
