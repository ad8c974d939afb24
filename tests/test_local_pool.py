"""The local engine on several cores (cskit/local_pool.py): the groups of shops computed in
forked worker processes give byte for byte what one process gives, for every --by, the
unreplied list and the agent report, on a store of several groups (big shops sliced by
month, small ones packed); a store of one group is not forked; a worker that dies is one
error line (exit 8), never a partial table."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from chatlog import bulk_store
from typer.testing import CliRunner

from cskit import kpi, kpi_slices, local_pool
from cskit.cli import app
from cskit.errors import EngineError, ExitCode
from cskit.metrics import get_rule

BYS = ["day", "week", "shop", "agent", "hour"]


@pytest.fixture(scope="module")
def many_store(tmp_path_factory):
    """3 big shops (several month slices each with SLICE_ROWS 800) and 12 small ones
    (packed in groups) over two months, with orders."""
    return bulk_store(tmp_path_factory.mktemp("many"), shops=15, big=3, big_rows=5_000, small_rows=1_200)


@pytest.fixture
def small_slices(monkeypatch):
    """Slices and groups as a big store has them, and workers even for a small one."""
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 800)
    monkeypatch.setattr(local_pool, "PARALLEL_ROWS", 0)


@pytest.fixture
def forks(monkeypatch):
    """Counts the forked runs (in this process: the workers' calls are not seen here)."""
    calls = []
    real = local_pool._forked

    def counting(fn, store, groups, *args):
        calls.append(len(groups))
        return real(fn, store, groups, *args)

    monkeypatch.setattr(local_pool, "_forked", counting)
    return calls


def _run(args, jobs: int):
    return CliRunner().invoke(app, args, env={"CSKIT_JOBS": str(jobs)})


def test_forked_same_bytes(many_store, small_slices, forks):
    plans = kpi._plans(many_store, many_store.shops(), kpi.Period(None, None), 0,
                       kpi.REPLY_SLACK)
    sizes = [len(g) for g in kpi.shop_groups(plans)]
    assert max(sizes) > 1 and sizes.count(1) >= 3  # packed groups and sliced big shops
    assert max(len(p.owned) for p in plans.values()) > 1
    base = ["kpi", "--store", str(many_store.root)]
    for extra in [["--by", b] for b in BYS] + [["--list", "unreplied"]]:
        fmts = ("csv", "json") if extra[-1] == "agent" else ("json",)
        for fmt in fmts:
            args = base + extra + ["-f", fmt]
            one = _run(args, 1)
            assert one.exit_code == 0, one.output
            n = len(forks)
            two = _run(args, 2)
            assert two.exit_code == 0, two.output
            assert len(forks) == n + 1 and forks[-1] == len(sizes)  # it did fork
            assert two.stdout == one.stdout, (extra, fmt)
            assert len(one.stdout) > 200


def test_one_group_not_forked(many_store, forks, monkeypatch):
    """One shop alone (--shop) is one group: computed here; so is a small store."""
    monkeypatch.setattr(local_pool, "PARALLEL_ROWS", 0)
    shop = many_store.shops()[0]
    r = _run(["kpi", "--store", str(many_store.root), "--shop", shop, "-f", "csv"], 2)
    assert r.exit_code == 0, r.output
    assert forks == []
    monkeypatch.setattr(local_pool, "PARALLEL_ROWS", 200_000)
    monkeypatch.setattr(kpi_slices, "SLICE_ROWS", 800)  # several groups, but few messages
    r = _run(["kpi", "--store", str(many_store.root), "-f", "csv"], 2)
    assert r.exit_code == 0, r.output
    assert forks == []


def test_jobs_setting(monkeypatch):
    monkeypatch.setenv("CSKIT_JOBS", "3")
    assert local_pool.local_jobs() == 3
    monkeypatch.setenv("CSKIT_JOBS", "0")
    assert local_pool.local_jobs() == 1
    monkeypatch.setenv("CSKIT_JOBS", "many")
    assert local_pool.local_jobs() == 1
    monkeypatch.delenv("CSKIT_JOBS")
    assert 1 <= local_pool.local_jobs() <= local_pool.MAX_JOBS
    monkeypatch.setattr(local_pool.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    assert local_pool.local_jobs(load=0.2) == local_pool.MAX_JOBS  # idle: up to MAX_JOBS
    assert local_pool.local_jobs(load=3.7) == 2  # two cores idle
    assert local_pool.local_jobs(load=12.0) == 1  # busy: one process


def test_busy_now_counts_the_other_running_processes(tmp_path, monkeypatch):
    """The default worker count follows what runs now (/proc/loadavg's running count less
    this process), not the lagging 1-minute average: an idle machine right after a big
    command (average about 1, nothing running) gets every core."""
    f = tmp_path / "loadavg"
    f.write_text("1.78 1.07 1.68 1/234 12345\n")
    assert local_pool.busy_now(str(f)) == 0.0
    f.write_text("9.10 8.00 7.00 4/400 12345\n")
    assert local_pool.busy_now(str(f)) == 3.0
    monkeypatch.setattr(local_pool.os, "getloadavg", lambda: (2.5, 0, 0))
    assert local_pool.busy_now(str(tmp_path / "missing")) == 2.5
    f.write_text("garbage\n")
    assert local_pool.busy_now(str(f)) == 2.5
    monkeypatch.delenv("CSKIT_JOBS", raising=False)
    monkeypatch.setattr(local_pool.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(local_pool, "busy_now", lambda: 0.0)
    assert local_pool.local_jobs() == 2  # nothing else running: both cores
    monkeypatch.setattr(local_pool, "busy_now", lambda: 3.0)
    assert local_pool.local_jobs() == 1


def _die(store, shops, period, **kw):
    os._exit(1)


def test_dying_worker_is_an_error(many_store, small_slices, monkeypatch):
    monkeypatch.setenv("CSKIT_JOBS", "2")
    with pytest.raises(EngineError) as err:
        local_pool.run_local(_die, many_store, many_store.shops(), kpi.Period(None, None), 0,
                             kpi.REPLY_SLACK)
    assert err.value.exit_code == ExitCode.ENGINE


def test_error_in_worker_reaches_the_user(many_store, small_slices, monkeypatch):
    """A cskit error raised in a worker (here: a damaged part file) is the same one line
    as in one process."""
    monkeypatch.setenv("CSKIT_JOBS", "2")
    victim = next(f for f in many_store.files("messages") if f.shop == many_store.shops()[-1])
    path = many_store.root / victim.path
    keep = path.read_bytes()
    try:
        path.write_bytes(b"not parquet")
        args = ["kpi", "--store", str(many_store.root), "--by", "agent", "--lang", "en"]
        one, two = _run(args, 1), _run(args, 2)
    finally:
        path.write_bytes(keep)
    assert one.exit_code == two.exit_code == ExitCode.STORE
    assert two.stderr == one.stderr and two.stdout == ""


def test_report_function_same(many_store, small_slices, monkeypatch):
    """kpi_report (the library function the monthly/weekly reports use): equal frames."""
    def report():
        return kpi.kpi_report(many_store, shops=None, period=kpi.Period(None, None),
                              rule=get_rule("pdd5"), attr=kpi.Attribution(), by="agent")

    monkeypatch.setenv("CSKIT_JOBS", "1")
    one = report()
    monkeypatch.setenv("CSKIT_JOBS", "2")
    two = report()
    pd.testing.assert_frame_equal(one[0], two[0])
    assert one[1] == two[1] and one[2] == two[2]
