"""The bundled sample_data/ ingests completely, exactly once, and the demo runs on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cskit.cli import app
from cskit.ingest import ingest
from cskit.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("sample") / "store")
    first = ingest([SAMPLE], store)
    second = ingest([SAMPLE], store)
    return store, first, second


def test_row_counts_equal_what_the_generator_wrote(sample_store):
    store, first, _ = sample_store
    manifest = json.loads((SAMPLE / "MANIFEST.json").read_text(encoding="utf-8"))
    for kind in ("messages", "orders", "excluded"):
        assert len(store.read(kind)) == manifest["totals"][kind], kind
    per_shop = store.read("messages", columns=["shop"])["shop"].value_counts().to_dict()
    assert per_shop == {s["shop"]: s["messages"] for s in manifest["shops"]}
    assert first.totals()["rejected"] == 0


def test_second_ingest_adds_nothing(sample_store):
    _, first, second = sample_store
    assert first.totals()["rows_added"] > 20_000
    assert second.totals()["rows_added"] == 0 and second.totals()["updated"] == 0


def test_every_format_is_represented(sample_store):
    _, first, _ = sample_store
    readers = {f.reader for f in first.files}
    assert {"chats-tabular", "qianniu-text", "pdd-json", "orders-pdd", "orders-taobao", "orders-jd",
            "orders-douyin", "excluded"} <= readers


def test_demo_runs_on_the_sample(tmp_path):
    r = CliRunner().invoke(app, ["demo", "--data", str(SAMPLE), "--keep", str(tmp_path / "s")])
    assert r.exit_code == 0, r.stderr
    assert "5分钟回复率" in r.stdout and "花语家居旗舰店" in r.stdout
