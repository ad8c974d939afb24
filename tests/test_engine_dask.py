"""`--engine dask` on a real ``distributed.LocalCluster`` (2 worker processes): the same
bytes as the local engine for every ``--by`` and the agent report, on the sample data and
on a many-shop store (big shops sliced by month, small ones packed in groups); a worker
killed mid-run (its task runs again: same table) or killed every time (one error line,
exit 8, no table); an unreachable scheduler (one line, exit 8, within the timeout)."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from chatlog import bulk_store
from typer.testing import CliRunner  # noqa: E402

from cskit import kpi, kpi_slices  # noqa: E402
from cskit.cli import app  # noqa: E402
from cskit.engine import DaskEngine  # noqa: E402
from cskit.errors import EngineError, ExitCode  # noqa: E402
from cskit.ingest import ingest  # noqa: E402
from cskit.metrics import get_rule  # noqa: E402
from cskit.store import Store  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
BYS = ["day", "week", "shop", "agent", "hour"]


@pytest.fixture(scope="module")
def cluster():
    import dask

    # a task may take down 2 workers before it fails (the engine's own setting is 2 as well)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                     dashboard_address=None, silence_logs=50) as c, \
            distributed.Client(c, set_as_default=False) as client:
        import cloudpickle

        cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the killing helpers
        yield c.scheduler_address, client


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    st = Store(tmp_path_factory.mktemp("sample") / "store")
    ingest([SAMPLE], st)
    return st


@pytest.fixture(scope="module")
def many_store(tmp_path_factory):
    """4 big shops (several month slices each) and 26 small ones (packed in groups) over two
    months, with orders; SLICE_ROWS 800 (set per test, passed on to the workers)."""
    return bulk_store(tmp_path_factory.mktemp("many"), shops=30, big=4, big_rows=6_000, small_rows=1_500)


@pytest.fixture
def small_slices(monkeypatch):
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 800)


def _run(args: list[str], env: dict | None = None):
    r = CliRunner().invoke(app, args, env=env)
    return r


@pytest.mark.parametrize("which", ["sample", "many"])
def test_same_bytes_as_local(cluster, sample_store, many_store, small_slices, which):
    """CSV and JSON of every --by (agent: the 客服绩效 report) and the unreplied list, the
    Dask engine against the local one, byte for byte: JSON (every row and the meta: totals,
    unknown conversion, pending) for each, CSV too for the agent report (JSON and CSV are
    written from the same frame; fewer runs keep CI time down)."""
    address, _ = cluster
    store = sample_store if which == "sample" else many_store
    if which == "many":  # the setup this test is about: groups of several shops, and months
        plans = kpi._plans(store, store.shops(), kpi.Period(None, None), 0, kpi.REPLY_SLACK)
        sizes = [len(g) for g in kpi.shop_groups(plans)]
        assert max(sizes) > 1 and sizes.count(1) >= 4
        assert max(len(p.owned) for p in plans.values()) > 1
    base = ["kpi", "--store", str(store.root)]
    for extra in [["--by", b] for b in BYS] + [["--list", "unreplied"]]:
        fmts = ("csv", "json") if extra[-1] == "agent" else ("json",)
        for fmt in fmts:
            args = base + extra + ["-f", fmt]
            local = _run(args)
            assert local.exit_code == 0, local.output
            dask = _run(args + ["--engine", "dask", "--scheduler", address])
            assert dask.exit_code == 0, dask.output
            assert dask.stdout == local.stdout, (extra, fmt)
            assert len(local.stdout) > 200


@pytest.mark.filterwarnings("error")
def test_local_workers_option(cluster, sample_store):
    """--workers N starts (and stops) a local cluster of its own: same CSV, and no warning
    of Dask's (the module's cluster already holds port 8787)."""
    args = ["kpi", "--store", str(sample_store.root), "--by", "agent", "-f", "csv"]
    local = _run(args)
    dask = _run(args + ["--engine", "dask", "--workers", "1"])
    assert dask.exit_code == 0, dask.output
    assert dask.stdout == local.stdout


# ------------------------------------------------------------------------------ faults


def _die_once(fn, marker: str, *args, **kw):
    """Kill this worker process the first time any task runs (a marker file says so)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return fn(*args, **kw)
    os.close(fd)
    os._exit(1)


def _die_always(*args, **kw):
    os._exit(1)


class _Killing(DaskEngine):
    def __init__(self, client, wrap):
        super().__init__(client)
        self.wrap = wrap

    def run(self, fn, *args, **kw):
        import functools

        return super().run(functools.partial(self.wrap, fn), *args, **kw)


def _report(store, engine):
    return kpi.kpi_report(store, shops=None, period=kpi.Period(None, None), rule=get_rule("pdd5"),
                          attr=kpi.Attribution(), by="agent", engine=engine)


def test_killed_worker_task_runs_again(cluster, sample_store, tmp_path):
    """A worker killed mid-run: its task is run again on another worker; the table is the
    local engine's."""
    _, client = cluster
    marker = str(tmp_path / "died")
    import functools

    frame, total, unknown = _report(sample_store, _Killing(client, functools.partial(
        _kill_wrapper, marker)))
    assert os.path.exists(marker)  # a worker did die
    want, want_total, want_unknown = _report(sample_store, None)
    pd.testing.assert_frame_equal(frame, want)
    assert total.keys() == want_total.keys() and unknown == want_unknown
    client.wait_for_workers(2, timeout=60)


def _kill_wrapper(marker, fn, *args, **kw):
    return _die_once(fn, marker, *args, **kw)


def test_worker_dying_every_time_fails_cleanly(cluster, sample_store):
    """A task that kills every worker it runs on: EngineError (exit 8), no result."""
    _, client = cluster
    with pytest.raises(EngineError) as err:
        _report(sample_store, _Killing(client, lambda fn, *a, **k: _die_always()))
    assert err.value.exit_code == ExitCode.ENGINE
    client.wait_for_workers(2, timeout=60)


def test_unreachable_scheduler_one_line_quickly(sample_store):
    t = time.monotonic()
    r = _run(["kpi", "--store", str(sample_store.root), "--engine", "dask", "--scheduler",
              "tcp://127.0.0.1:1", "--lang", "en"], env={"CSKIT_DASK_TIMEOUT": "1"})
    assert time.monotonic() - t < 20
    assert r.exit_code == ExitCode.ENGINE
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot reach the Dask scheduler at "
                                                   "tcp://127.0.0.1:1")


def test_report_same_files(cluster, sample_store, tmp_path):
    """`cskit report --engine dask`: one task per shop; every CSV and summary.json byte for
    byte the local engine's, index.html too but for its generation time."""
    address, _ = cluster
    base = ["report", "--store", str(sample_store.root), "--week", "2026-W47", "--no-charts"]
    local = _run(base + ["--out", str(tmp_path / "local")])
    dask = _run(base + ["--out", str(tmp_path / "dask"), "--engine", "dask",
                        "--scheduler", address])
    assert local.exit_code == 0 and dask.exit_code == 0, dask.output
    files = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert "kpi_by_agent.csv" in files and "lost_reasons.csv" in files
    for name in files:
        a, b = ((tmp_path / d / name).read_bytes() for d in ("local", "dask"))
        if name == "index.html":
            a, b = (re.sub(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", b"T", x) for x in (a, b))
        assert a == b, name
