"""Time `cskit qc` on a benchmark store: wall-clock seconds and peak memory (issue 14).

    python benchmarks/run.py --messages 3000000 --no-duckdb --keep   # builds the store once
    python benchmarks/bench_qc_store.py --store /tmp/cskit-bench/n3000000-s8/store [--repeat 3]

Runs ``python -m cskit qc --store STORE --format csv`` (the whole store: no period given)
and ``qc --list`` in fresh processes — Python start-up and imports included, as a user
runs it — and prints the median wall time, the median CPU time (user+sys) and the largest peak RSS (``ru_maxrss`` of each
child) as one JSON line.  Target: ≤ 10 s and ≤ 1 GB on 3 M messages.  On a shared VM a
run can be 20 % off: read the median.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import measure, store_messages  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    out: dict = {"store": str(a.store)}
    n = store_messages(a.store)
    if n is not None:
        out["messages"] = n
    for name, extra in (("qc", []), ("qc_list", ["--list"])):
        out.update(measure(name, ["qc", "--store", str(a.store), "--format", "csv", *extra],
                           a.repeat))
    out["cores"] = os.cpu_count()
    out["load_avg_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
