"""The local engine on several cores: the groups of shops in forked worker processes.

The metrics are per shop and exactly mergeable (:mod:`cskit.engine`): the Dask engine
runs one task per group of shops (:func:`cskit.kpi.shop_groups`) and pools the closed
slicers in group order.  The local engine does the same on this machine when the store
holds several groups: :func:`run_local` forks up to :func:`local_jobs` worker processes
(before any read, so no reading thread is running), each computes whole groups with the
*same* function, one slice read ahead in its own thread as before, and the parent joins
the results in group order.  No KPI is computed differently, and the output is
byte-identical to one process's (tests/test_local_pool.py).

Why processes: the pandas and numpy steps between the large array operations hold the
GIL, so a second thread gains little; a forked process shares the imported modules
(copy-on-write) and imports nothing again.  One group (a small store, one shop, a
``--shop``), or fewer than :data:`PARALLEL_ROWS` messages, runs in this process as
before, without forking.  Memory: each worker holds
one slice and the next; the workers together up to ``jobs`` times that.

``CSKIT_JOBS`` sets the number of processes (``1``: compute in this process only);
without it, the cores other running processes leave idle right now, at most
:data:`MAX_JOBS` (:func:`local_jobs`).  Where ``fork`` is not available
(Windows, or macOS where it is unsafe) everything runs in this process.
"""

from __future__ import annotations

import os
import sys

#: at most this many worker processes unless ``CSKIT_JOBS`` says otherwise: each holds a
#: slice (up to SLICE_ROWS messages, or a big shop's month) and the next one
MAX_JOBS = 4
#: fewer messages to read than this: computed in this process (starting workers and
#: sending the sums back would cost more than they save)
PARALLEL_ROWS = 200_000


def local_jobs(load: float | None = None) -> int:
    """Worker processes for the local engine: ``$CSKIT_JOBS``, else the idle cores — the
    usable cores less ``load``, the other processes running right now (default:
    :func:`busy_now`), rounded, at least 1 and at most :data:`MAX_JOBS`; 1 where ``fork``
    is unavailable.

    A busy machine gets one process: there a second one gains no share of the cores (the
    other work keeps them busy) and only adds its cost (11-24 % more CPU measured: page faults
    of a second heap, the pages the fork shares copied when touched)."""
    if not sys.platform.startswith("linux"):
        return 1
    raw = os.environ.get("CSKIT_JOBS", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    if load is None:
        load = busy_now()
    return max(1, min(cores, MAX_JOBS, round(cores - load)))


def busy_now(path: str = "/proc/loadavg") -> float:
    """How many other processes are running or runnable at this moment: the kernel's
    count in ``/proc/loadavg`` (its fourth field, ``running/total``) less this one.  The
    1-minute load average would lag: right after one big command ends it still reads about
    1 on an idle machine, and the next command would run on one core of two.  Where the
    file cannot be read: the 1-minute load average."""
    try:
        with open(path, encoding="ascii") as fh:
            running = int(fh.read().split()[3].split("/")[0])
        return float(max(0, running - 1))
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0


def run_local(fn, store, shops: list[str], period, before, after, **kw) -> list:
    """``fn(store, shops, period, **kw)``: in this process, or per group of shops in
    forked worker processes (the lists joined in group order, as the Dask engine does)."""
    jobs = local_jobs()
    if jobs > 1 and len(shops) > 1:
        from cskit.kpi import _plans, shop_groups

        plans = _plans(store, shops, period, before, after)
        groups = shop_groups(plans)
        rows = [sum(plans[s].rows for s in g if plans[s] is not None) for g in groups]
        if len(groups) > 1 and sum(rows) >= PARALLEL_ROWS:
            return _forked(fn, store, groups, rows, period, min(jobs, len(groups)), kw)
    return fn(store, shops, period, **kw)


def _group(fn, store, group, period, kw) -> list:
    return fn(store, group, period, **kw)


def _forked(fn, store, groups: list[list[str]], rows: list[int], period, jobs: int,
            kw: dict) -> list:
    """``fn`` per group in ``jobs`` forked processes, the biggest groups first (so that no
    worker is left with a big one at the end); the results joined in group order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from cskit.errors import EngineError

    order = sorted(range(len(groups)), key=lambda i: -rows[i])
    ctx = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(jobs, mp_context=ctx) as pool:
            futures = {i: pool.submit(_group, fn, store, groups[i], period, kw) for i in order}
            out = []
            for i in range(len(groups)):
                out.extend(futures[i].result())
            return out
    except BrokenProcessPool:
        raise EngineError("a worker process of this command died",
                          hint="it may have run out of memory: CSKIT_JOBS=1 computes in one "
                               "process") from None
