"""A model of the store append's wall time on an idle 2-core machine, before and after the
partition pipeline (cskit/store_pipeline.py).  Timing never decides a test.

    python benchmarks/ingest_schedule.py CANONICAL.csv before=/tmp/before after=/tmp/after [--repeat 3]

Each run is a fresh process ingesting the CSV with the tree first on the path.  The
append's tasks are timed in thread CPU seconds (what each thread itself spent), then
replayed on a simulated machine of ``--cores`` cores shared equally by the runnable
threads (the main thread and a pool of two writers), with each task's dependencies:

* before: the hash columns' set-up on the pool, then the hash on the main thread, the
  partitions, then every part file's write on the pool;
* after: the partitions, then per partition its rows taken and hash set up (pool), its
  keys (main thread, once its rows are taken), its write (pool, once its keys are made),
  with two partitions taken ahead, and the cross-partition check at the end.

This is a model: it leaves out the GIL (the pool's work is arrow and Parquet, which run
without it; the main thread's hash holds it), the disk, and the memory bus.  On a shared
machine the measured wall times follow the load; this compares the two orders of work.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import REBIND, ingest_in_trees  # noqa: E402

CHILD = REBIND + r"""
import functools, json, shutil, sys, threading, time
from pathlib import Path
import cskit.ingest as ing
import pyarrow.parquet as pq
import cskit.store as st
try:
    import cskit.store_pipeline as sp
except ImportError:
    sp = None
log, lock = [], threading.Lock()
def wrap(owner, name, label):
    f = getattr(owner, name, None)
    if f is None:
        return
    @functools.wraps(f)
    def g(*a, **k):
        c = time.thread_time()
        try:
            return f(*a, **k)
        finally:
            with lock:
                log.append((label, threading.current_thread() is threading.main_thread(),
                            time.thread_time() - c))
    rebind(owner, name, f, g)
for owner, name, label in [(st, "_column_hasher", "col_setup"), (st, "_add_keys", "keys_before"),
                           (st, "_partitions", "partitions"), (st.Transaction, "_table", "table"),
                           (st.Transaction, "_existing_keys", "existing"),
                           (pq, "write_table", "write"), (st, "_rows", "take"),
                           (st, "identity_keys", "keys"), (st, "identity_hashers", "setup")]:
    wrap(owner, name, label)
if sp is not None:
    for name, label in [("_data_table", "table"), ("_hash_frame", "hash_frame"),
                        ("_shared_hashes", "shared")]:
        wrap(sp, name, label)
shutil.rmtree(sys.argv[2], ignore_errors=True)
ing.ingest([Path(sys.argv[1])], st.Store(sys.argv[2]))
print(json.dumps({"pipeline": sp is not None, "log": log}))
"""


def simulate(main: list[tuple], pool_tasks_of, cores: int) -> float:
    """Processor-sharing replay.  ``main``: the main thread's program, a list of
    ``("run", cost)`` / ``("wait", task_id)`` / ``("submit", task_id)``; the pool (two
    threads) runs submitted tasks first in, first out; ``pool_tasks_of[id] = cost``."""
    t = 0.0
    queue: list = []
    done: set = set()
    pool: list = [None, None]  # [task_id, remaining]
    pc, m_left = 0, None
    while True:
        # advance the main thread's program as far as it goes without running
        while m_left is None and pc < len(main):
            op, arg = main[pc]
            if op == "submit":
                queue.append(arg)
                pc += 1
            elif op == "wait" and arg in done:
                pc += 1
            elif op == "run":
                m_left = arg
                pc += 1
            else:
                break
        for i in range(2):
            if pool[i] is None and queue:
                tid = queue.pop(0)
                pool[i] = [tid, pool_tasks_of[tid]]
        running = [x for x in pool if x is not None] + ([m_left] if m_left is not None else [])
        if not running:
            if pc >= len(main):
                return t
            raise RuntimeError(f"stuck at {main[pc]}")
        speed = min(1.0, cores / len(running))
        rem = [x[1] for x in pool if x is not None] + ([m_left] if m_left is not None else [])
        dt = min(rem) / speed
        t += dt
        for i in range(2):
            if pool[i] is not None:
                pool[i][1] -= dt * speed
                if pool[i][1] <= 1e-12:
                    done.add(pool[i][0])
                    pool[i] = None
        if m_left is not None:
            m_left -= dt * speed
            if m_left <= 1e-12:
                m_left = None


def model(run: dict, cores: int) -> dict:
    log = run["log"]

    def total(label, main=None):
        return sum(c for lab, m, c in log if lab == label and (main is None or m == main))

    def each(label, main=None):
        return [c for lab, m, c in log if lab == label and (main is None or m == main)]

    costs: dict = {}
    prog: list = []
    if not run["pipeline"]:
        setups = each("col_setup")
        for i, c in enumerate(setups):
            costs[("s", i)] = c
            prog.append(("submit", ("s", i)))
        prog += [("wait", ("s", i)) for i in range(len(setups))]
        serial = total("keys_before", True) + total("partitions") + total("table") + \
            total("existing")
        prog.append(("run", serial))
        writes = [w + t for w, t in zip(each("write"), each("take"))]
        for i, c in enumerate(writes):
            costs[("w", i)] = c
            prog.append(("submit", ("w", i)))
        prog += [("wait", ("w", i)) for i in range(len(writes))]
        cpu = sum(setups) + serial + sum(writes)
    else:
        serial = total("partitions") + total("table")
        prog.append(("run", serial))
        keys, existing = each("keys", True), each("existing")
        n = len(keys)
        takes = [a + b + c for a, b, c in zip(each("take"), each("hash_frame"), each("setup"))]
        writes = each("write") + [0.0] * n  # (none for a partition with nothing new)
        ahead = 2
        for i in range(n):
            costs[("t", i)] = takes[i]
            costs[("w", i)] = writes[i]
        for i in range(n):
            prog.append(("submit", ("t", i)))
            j = i - ahead
            if j >= 0:
                prog += [("wait", ("t", j)), ("run", keys[j] + existing[j]),
                         ("submit", ("w", j))]
        for j in range(max(0, n - ahead), n):
            prog += [("wait", ("t", j)), ("run", keys[j] + existing[j]), ("submit", ("w", j))]
        prog.append(("run", total("shared")))
        prog += [("wait", ("w", i)) for i in range(n)]
        cpu = serial + sum(takes) + sum(keys) + sum(existing) + sum(writes) + total("shared")
    return {"append_cpu": cpu, "append_idle_model": simulate(prog, costs, cores)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("trees", nargs="+", help="NAME=PATH of a source tree (holding cskit/)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    a = ap.parse_args()
    trees = dict(t.split("=", 1) for t in a.trees)
    raw, loads = ingest_in_trees(a.csv, trees, CHILD, a.repeat, "cskit-schedule-")
    runs = {t: [model(r, a.cores) for r in rs] for t, rs in raw.items()}
    print(f"store append, seconds, medians of {a.repeat} runs; load average "
          f"{min(loads):.1f}-{max(loads):.1f}; model: {a.cores} idle cores")
    print(f"{'':20s}" + "".join(f"{t:>12s}" for t in trees))
    for k in ("append_cpu", "append_idle_model"):
        print(f"{k:20s}" + "".join(f"{statistics.median([r[k] for r in runs[t]]):12.3f}" for t in trees))


if __name__ == "__main__":
    main()
