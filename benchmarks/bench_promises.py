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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import store_bench


def main(argv=None) -> int:
    return store_bench(__doc__, argv, "promises",
                       [("promises", []), ("promises_by_agent", ["--by", "agent"])])


if __name__ == "__main__":
    sys.exit(main())
