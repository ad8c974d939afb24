"""Where `cskit ingest` spends its CPU, per phase, and how much of it is on the main thread.
Timing never decides a test.

    python benchmarks/ingest_phases.py CANONICAL.csv before=/tmp/before after=/tmp/after [--repeat 3]

Each run is a fresh process with the tree first on the path (as benchmarks/compare_trees.py),
ingesting the CSV into a new store; the trees run alternately.  Printed per tree, medians:

* the CPU seconds (all threads) of each phase, measured around the library functions
  (``write_part_threads``, ``identity_keys_main``: CPU of the thread that ran them, summed —
  in the partition pipeline these overlap with the other phases);
* ``main``: CPU seconds of the main thread during the ingest, and ``others`` those of every
  other thread (arrow's CSV threads, the cleaning and writing pools);
* ``idle_model``: imports + main + others / 2, a lower bound of the wall time on an idle
  2-core machine (the main thread waits while the pools work; the pools' work spread on
  both cores).  On a shared machine the wall time follows the load, the CPU times much
  less: this model compares trees where a wall time cannot.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import REBIND, ingest_in_trees  # noqa: E402

CHILD = REBIND + r"""
import functools, json, shutil, sys, time
from pathlib import Path
c0 = time.process_time()
import pyarrow.csv as pacsv
import cskit.ingest as ing, cskit.readers.common as rc, cskit.readers.chats_tabular as ct
import cskit.store as st
try:  # CSV parsing moved out of readers.common (wrap() patches every module holding it)
    import cskit.readers.tabular as rt
except ImportError:  # an older tree
    rt = rc
imports = time.process_time() - c0
cpu = {}
def wrap(owner, name, label, clock=time.process_time):
    f = getattr(owner, name, None)
    if f is None:  # not in this tree
        return
    @functools.wraps(f)
    def g(*a, **k):
        c = clock()
        try:
            return f(*a, **k)
        finally:
            cpu[label] = cpu.get(label, 0.0) + clock() - c
    rebind(owner, name, f, g)
for owner, name, label in [(pacsv, "read_csv", "csv_parse"), (rt, "one_chunk", "combine"),
                           (rt, "broken_rows", "byte_checks"), (ct, "run_jobs", "cleaning"),
                           (ing, "read_one", "read_total"), (st, "_hash_folds", "row_hash"),
                           (st, "_partitions", "partitions"), (st.Transaction, "_write_all", "write"),
                           (st.Transaction, "commit", "commit"), (st.Transaction, "append", "append_total")]:
    wrap(owner, name, label)
# the partition pipeline (cskit/store_pipeline.py): its phases overlap, so each part file's
# write is timed on its own thread, and the whole append as the CPU of all threads
wrap(st.Transaction, "_write_part", "write_part_threads", time.thread_time)
try:
    import cskit.store_pipeline as sp
    wrap(sp, "append_messages", "pipeline_total")
    wrap(st, "identity_keys", "identity_keys_main", time.thread_time)
except ImportError:
    pass
out = sys.argv[2]
shutil.rmtree(out, ignore_errors=True)
c, m = time.process_time(), time.thread_time()
ing.ingest([Path(sys.argv[1])], st.Store(out))
total, main = time.process_time() - c, time.thread_time() - m
cpu.update(imports=imports, ingest=total, main=main, others=total - main,
           idle_model=imports + main + (total - main) / 2)
print(json.dumps(cpu))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("trees", nargs="+", help="NAME=PATH of a source tree (holding cskit/)")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    trees = dict(t.split("=", 1) for t in a.trees)
    runs, loads = ingest_in_trees(a.csv, trees, CHILD, a.repeat, "cskit-phases-")
    keys = list(dict.fromkeys(k for rs in runs.values() for r in rs for k in r))
    print(f"CPU seconds, medians of {a.repeat} runs; load average {min(loads):.1f}-{max(loads):.1f}, "
          f"{os.cpu_count()} cores")
    print(f"{'':14s}" + "".join(f"{t:>12s}" for t in trees))
    for k in keys:
        print(f"{k:14s}" + "".join(f"{statistics.median([r.get(k, 0.0) for r in runs[t]]):12.3f}" for t in trees))


if __name__ == "__main__":
    main()
