"""Time `cskit promises` on a benchmark store: wall-clock and CPU seconds and peak memory
(issue 15 item 5).

    python benchmarks/run.py --messages 3000000 --no-duckdb --keep   # builds the store once
    python benchmarks/bench_promises.py --store /tmp/cskit-bench/n3000000-s8/store [--repeat 3]

Runs ``python -m cskit promises --store STORE --format csv`` (the whole store: no period
given; the 日清 list) and ``promises --by agent`` in fresh processes — Python start-up and
imports included, as a user runs it — and prints the median wall time, the median CPU time
(user + system of the child) and the largest peak RSS (``ru_maxrss``) as one JSON line, with
the load average.  Target: ≤ 10 s and ≤ 1 GB on 3 M messages.  On a shared VM wall time
can be far off under load: read CPU time and the load average with it.
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
    out["load_avg_before"] = [round(x, 1) for x in os.getloadavg()]
    for name, extra in (("promises", []), ("promises_by_agent", ["--by", "agent"])):
        out.update(measure(name, ["promises", "--store", str(a.store), "--format", "csv", *extra],
                           a.repeat))
    out["cores"] = os.cpu_count()
    out["load_avg_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
