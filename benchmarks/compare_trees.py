"""Before and after: the same cskit commands from two (or more) source trees, run
alternately in fresh processes, wall and CPU seconds (medians).  Timing never decides a test.

    git archive main | tar -x -C /tmp/before        # clean exports: no edit lands mid-run
    git archive HEAD | tar -x -C /tmp/after
    python benchmarks/compare_trees.py before=/tmp/before after=/tmp/after \\
        --cold STORE_100K --kpi STORE_3M --ingest CANONICAL.csv [--repeat 3]

``--cold STORE``: `cskit --help`, `cskit kpi --format csv` and `cskit kpi` (the table) on
STORE; ``--kpi STORE``: `kpi --by day` and `--by agent` as CSV; ``--ingest CSV``: ingest
of CSV into a new store per run (rows/s printed).  Each tree is byte-compiled first, as
`pip install` does, and each process runs with the tree as its working directory and
``PYTHONPATH`` (``python -m`` puts the working directory first on the path).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

INGEST = ("import sys; from pathlib import Path; from cskit.ingest import ingest; "
          "from cskit.store import Store; ingest([Path(sys.argv[1])], Store(sys.argv[2]))")


def run(tree: str, args: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python ARGS`` with ``tree`` first on the path."""
    env = {**os.environ, "PYTHONPATH": tree}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], env=env, cwd=tree, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", help="NAME=PATH of a source tree (holding cskit/)")
    ap.add_argument("--cold", help="a small store: start-up and a cold kpi")
    ap.add_argument("--kpi", help="a large store: kpi --by day / agent as CSV")
    ap.add_argument("--ingest", help="a canonical CSV: ingest it into a new store")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    trees = dict(t.split("=", 1) for t in a.trees)
    for path in trees.values():
        compileall.compile_dir(os.path.join(path, "cskit"), quiet=1)
    steps: dict[str, list[str]] = {}
    if a.cold:
        steps["help"] = ["-m", "cskit", "--help"]
        steps["kpi_csv_cold"] = ["-m", "cskit", "kpi", "--store", a.cold, "--format", "csv"]
        steps["kpi_table_cold"] = ["-m", "cskit", "kpi", "--store", a.cold]
    if a.kpi:
        for by in ("day", "agent"):
            steps[f"kpi_{by}"] = ["-m", "cskit", "kpi", "--store", a.kpi, "--by", by, "--format", "csv"]
    work = tempfile.mkdtemp(prefix="cskit-compare-")
    if a.ingest:
        steps["ingest"] = ["-c", INGEST, os.path.abspath(a.ingest), os.path.join(work, "store")]
    res: dict[tuple[str, str], list[tuple[float, float]]] = {}
    loads = [os.getloadavg()[0]]
    try:
        for _ in range(a.repeat):  # alternately: drift of the machine hits every tree alike
            for name, args in steps.items():
                for tree, path in trees.items():
                    shutil.rmtree(os.path.join(work, "store"), ignore_errors=True)
                    res.setdefault((name, tree), []).append(run(path, args))
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = 0
    if a.ingest:
        with open(a.ingest, "rb") as fh:
            rows = sum(1 for _ in fh) - 1

    def med(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2

    print(f"runs {a.repeat}, load average {min(loads):.1f}-{max(loads):.1f}, {os.cpu_count()} cores")
    for (name, tree), v in res.items():
        wall, cpu = med([x[0] for x in v]), med([x[1] for x in v])
        extra = f"  {rows / wall:,.0f} rows/s wall, {rows / cpu:,.0f} per CPU s" if name == "ingest" else ""
        print(f"{name:15s} {tree:10s} wall {wall:7.2f} s  cpu {cpu:6.2f} s{extra}")


if __name__ == "__main__":
    main()
