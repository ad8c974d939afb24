"""Time and peak memory of `cskit lost` (and `--list`) on a large generated store (issue 14).

    python benchmarks/run.py --messages 3000000 --workdir /tmp/cskit-bench --repeat 1 --no-duckdb
    python benchmarks/bench_lost.py --store /tmp/cskit-bench/n3000000-s8/store [--repeat 3]

The generated store of ``benchmarks/run.py`` holds chats only; without orders every shop
is left out of `cskit lost` (whether a buyer bought cannot be known) and nothing would be
classified.  So, when the store has no orders, this script first adds a synthetic order
file (``--paid-share`` of the buyer-days get a paid order 10 minutes after their first
message, ``--unpaid-share`` an unpaid one), deterministic for ``--seed``.  Then it runs
`cskit lost` in fresh processes and prints wall time (median of ``--repeat``), the
largest peak RSS and how many buyer-days were classified.  It prints numbers, never a
pass/fail; it is not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _child import cskit_run, summarise  # noqa: E402

from cskit import schema  # noqa: E402
from cskit.store import Store  # noqa: E402


def add_orders(store_dir: Path, paid_share: float, unpaid_share: float, seed: int) -> int:
    """Synthetic orders for the buyer-days of a chats-only store (ingested as a CSV)."""
    from cskit.ingest import ingest

    store = Store(store_dir)
    rows = []
    rng = np.random.default_rng(seed)
    for shop in store.shops():
        m = store.read(schema.MESSAGES, shops=[shop], columns=["shop", "platform", "buyer_id",
                                                              "sender", "sent_at"])
        m = m[m["sender"] == "buyer"]
        first = m.assign(date=m["sent_at"].dt.date).groupby(["shop", "buyer_id", "date"],
                                                              sort=False).agg(
            platform=("platform", "first"), t=("sent_at", "min")).reset_index()
        u = rng.random(len(first))
        o = first[u < paid_share + unpaid_share].copy()
        paid = (u < paid_share)[u < paid_share + unpaid_share]
        o["created_at"] = o["t"] + pd.Timedelta(minutes=10)
        o["paid_at"] = o["created_at"].where(paid, pd.NaT) + pd.Timedelta(minutes=1)
        o["status"] = np.where(paid, "paid", "unpaid")
        o["amount"] = 59.0
        rows.append(o)
    orders = pd.concat(rows, ignore_index=True)
    orders["order_id"] = [f"bench{i:09d}" for i in range(len(orders))]
    path = store_dir.parent / "bench_orders.csv"
    orders[["shop", "order_id", "buyer_id", "created_at", "paid_at", "amount", "status"]].to_csv(
        path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    ingest([path], store, kind="orders")
    return len(orders)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--paid-share", type=float, default=0.30)
    ap.add_argument("--unpaid-share", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    store = Store(a.store)
    n_msgs = sum(e.rows for e in store.files(schema.MESSAGES))
    if not store.files(schema.ORDERS):
        t0 = time.perf_counter()
        n = add_orders(a.store, a.paid_share, a.unpaid_share, a.seed)
        print(f"added {n:,} synthetic orders in {time.perf_counter() - t0:.1f} s")
    out = {"messages": n_msgs}
    # the summary as JSON (it says how many buyer-days were classified); the list as CSV
    # (what a supervisor exports; 300 k rows of JSON mostly time the JSON writer)
    for name, extra in (("lost", ["--format", "json"]), ("lost_list", ["--list", "--format", "csv"])):
        runs = [cskit_run(["lost", "--store", str(a.store), *extra])
                for _ in range(max(1, a.repeat))]
        out.update(summarise(name, runs))
        stdout = runs[-1][3]
        out[f"{name}_buyer_days"] = json.loads(stdout).get("lost_buyers") if name == "lost" \
            else max(0, len(stdout.splitlines()) - 1)
    for k, v in out.items():
        print(f"{k:<24}{v}")
    print(f"(wall-clock seconds of a fresh process incl. start-up and imports, median of "
          f"{a.repeat}; cpu = user+sys, median; peak = largest ru_maxrss; machine: "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
