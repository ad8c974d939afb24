"""Time `cskit voice` on a benchmark store: wall and CPU seconds and peak memory (issue 15).

    python benchmarks/run.py --messages 3000000 --no-duckdb --keep   # builds the store once
    python benchmarks/bench_voice_store.py --store /tmp/cskit-bench/n3000000-s8/store [--repeat 3]

Runs ``python -m cskit voice --store STORE --format csv`` (the whole store: no period
given), ``voice --list`` and ``voice --out DIR`` in fresh processes — Python start-up and
imports included, as a user runs it — and prints the median wall time, the median CPU time
(user + system of the child) and the largest peak RSS (``ru_maxrss``) as one JSON line,
with the 1-minute load average: on a shared VM the wall time follows the load, the CPU
time much less.  Target: ≤ 10 s and ≤ 1 GB on 3 M messages.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import measure  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    out: dict = {"store": str(a.store)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("voice", []), ("voice_list", ["--list"]),
                            ("voice_out", ["--out", str(Path(tmp) / "mail")])):
            out.update(measure(name, ["voice", "--store", str(a.store), "--format", "csv", *extra],
                               a.repeat))
    out["cores"] = os.cpu_count()
    out["load_avg_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
