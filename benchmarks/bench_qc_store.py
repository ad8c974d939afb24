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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import store_bench


def main(argv=None) -> int:
    return store_bench(__doc__, argv, "qc", [("qc", []), ("qc_list", ["--list"])])


if __name__ == "__main__":
    sys.exit(main())
