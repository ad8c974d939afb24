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

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _child import store_bench


def main(argv=None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        return store_bench(__doc__, argv, "voice",
                           [("voice", []), ("voice_list", ["--list"]),
                            ("voice_out", ["--out", str(Path(tmp) / "mail")])])


if __name__ == "__main__":
    sys.exit(main())
