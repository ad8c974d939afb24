"""Time `cskit.text` on synthetic messages.

    python benchmarks/bench_text.py [--messages 400000] [--distinct]

Prints jieba's start-up, ``classify`` over every buyer-day (``--distinct`` makes
every buyer message unique, the worst case for the per-distinct-text caches) and
``inspect`` over every agent message.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cskit.sample import generate_messages_bulk  # noqa: E402
from cskit.text.jieba_setup import tokenizer  # noqa: E402
from cskit.text.lost import classify  # noqa: E402
from cskit.text.qc import inspect  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=400_000)
    ap.add_argument("--distinct", action="store_true", help="make every buyer message unique")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    tokenizer()
    print(f"jieba start-up            {time.perf_counter() - t:6.2f} s")
    m = generate_messages_bulk(args.messages)
    m["date"] = pd.to_datetime(m["sent_at"]).dt.date
    b = m[m["sender"] == "buyer"][["shop", "buyer_id", "date", "content"]].copy()
    if args.distinct:
        rng = np.random.default_rng(1)
        b["content"] = b["content"].astype(str) + pd.Series(
            rng.integers(0, 10**9, len(b)).astype(str), index=b.index)
    n_units = b.groupby(["shop", "buyer_id", "date"]).ngroups
    t = time.perf_counter()
    classify(b)
    print(f"classify {len(b):>8,} buyer messages / {n_units:,} buyer-days "
          f"({b['content'].nunique():,} distinct)  {time.perf_counter() - t:6.2f} s")
    agent = m[m["sender"] == "agent"]
    t = time.perf_counter()
    flags = inspect(m)
    print(f"inspect  {len(agent):>8,} agent messages ({len(flags):,} flags)  "
          f"{time.perf_counter() - t:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
