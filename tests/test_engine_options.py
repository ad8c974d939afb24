"""`--engine`/`--scheduler`/`--workers` without a cluster, and stores at fsspec URLs: Dask
missing (one line saying how to get it), options that do not go together, a ``file://``
store read like the local path, ingest refusing a URL, and errors that cross a process
boundary (a Dask worker) keeping their Chinese text."""

from __future__ import annotations

import pickle
import sys

import pytest
from chatlog import chat_store, run

from cskit.errors import ExitCode, StoreError

CHATS = [
    "店A,pdd,c1,b1,,buyer,2026-11-16 10:00:00,在吗,,",
    "店A,pdd,c1,b1,店A:阿美,agent,2026-11-16 10:01:00,在的,,",
    "店A,pdd,c2,b2,,buyer,2026-11-17 11:00:00,发货了吗,,",
]


@pytest.fixture
def store(tmp_path):
    return chat_store(tmp_path, CHATS)


@pytest.mark.parametrize("lang,text", [("zh", "--engine dask 需要 Dask，但未安装"),
                                       ("en", "--engine dask needs Dask, which is not installed")])
def test_without_dask_one_line_says_how_to_get_it(store, monkeypatch, lang, text):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    r = run("kpi", "--store", store, "--engine", "dask", "--lang", lang)
    assert r.exit_code == ExitCode.USAGE
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0] and "pip install 'cskit[dask]'" in lines[0]
    assert r.stdout == ""


@pytest.mark.parametrize("args", [["--workers", "2"], ["--scheduler", "tcp://h:8786"],
                                  ["--engine", "dask", "--workers", "2", "--scheduler",
                                   "tcp://h:8786"]])
def test_options_that_do_not_go_together(store, args):
    r = run("kpi", "--store", store, *args)
    assert r.exit_code == ExitCode.USAGE, r.output
    assert len(r.stderr.strip().splitlines()) == 1


def test_file_url_store_reads_like_the_path(store):
    pytest.importorskip("fsspec")
    want = run("kpi", "--store", store, "--by", "agent", "-f", "csv")
    got = run("kpi", "--store", f"file://{store}", "--by", "agent", "-f", "csv")
    assert want.exit_code == 0 and got.exit_code == 0, got.output
    assert got.stdout == want.stdout and "店A" in got.stdout


def test_url_store_damaged_part_and_missing_store(store, tmp_path):
    pytest.importorskip("fsspec")
    r = run("kpi", "--store", f"file://{tmp_path}/nothing-here", "--lang", "en")
    assert r.exit_code == ExitCode.STORE and "no cskit store there" in r.stderr
    for part in (store / "messages").rglob("*.parquet"):
        part.write_bytes(b"not parquet")
    r = run("kpi", "--store", f"file://{store}", "--lang", "en")
    assert r.exit_code == ExitCode.STORE and "missing or damaged" in r.stderr


def test_ingest_refuses_a_url_store(tmp_path):
    (tmp_path / "c.csv").write_text("x\n", encoding="utf-8")
    r = run("ingest", tmp_path / "c.csv", "--store", f"file://{tmp_path}/s", "--lang", "en")
    assert r.exit_code == ExitCode.USAGE
    assert "writes a store on a local disk only" in r.stderr
    assert not (tmp_path / "s").exists()


def test_errors_cross_processes_with_their_template():
    """Raised in a Dask worker, shown by the client: still localised (not the English text)."""
    err = StoreError("{store}: part file {file} listed in the store manifest is missing or damaged",
                     hint="restore the store from a backup, or ingest the exports again into a new "
                          "--store directory", store="s", file="p")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is StoreError and back.params == err.params
    assert back.localized("zh") == err.localized("zh") != err.localized("en")
