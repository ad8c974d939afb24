"""cskit benchmarks: ingest throughput, `cskit kpi` time and peak memory, vs DuckDB and the
column-read floor.  Prints a table; timing never decides a test.

    python benchmarks/run.py --messages 1000000 10000000 [--workdir /tmp/cskit-bench] [--no-duckdb]

Each step runs in its own process so its peak RSS (ru_maxrss of the child) is its own.
DuckDB is a benchmark-only extra: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable


def child(code: str, *args: str) -> tuple[float, float, str]:
    """Run python code in a fresh process: (seconds, peak RSS MiB, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-c", code, *args], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"step failed: {code[:60]}…")
    # the child prints its own peak RSS (MiB) as its last stderr line
    peak = float(proc.stderr.strip().splitlines()[-1])
    return dt, peak, proc.stdout


PEAK = "import resource,sys; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, file=sys.stderr)"

GEN = """
import sys
from cskit.sample import generate_messages_bulk, write_canonical_csv
n = int(sys.argv[1]); out = sys.argv[2]
df = generate_messages_bulk(n, seed=7)
write_canonical_csv(df, out)
""" + PEAK

INGEST = """
import sys
from pathlib import Path
from cskit.ingest import ingest
from cskit.store import Store
r = ingest([Path(sys.argv[1])], Store(sys.argv[2]))
print(r.totals()["rows_added"])
""" + PEAK

KPI = """
import sys
args = ["kpi", "--store", sys.argv[1], "--by", sys.argv[2], "--format", "csv"]
from cskit.cli import main
sys.argv = ["cskit"] + args
try:
    main()
except SystemExit as e:
    if e.code: raise
""" + PEAK

FLOOR = """
import sys
import pyarrow.dataset as ds
from cskit.store import Store
st = Store(sys.argv[1])
paths = [str(st.root / f.path) for f in st.files("messages")]
t = ds.dataset(paths, format="parquet").to_table(columns=["shop", "buyer_id", "agent_id", "sender", "sent_at", "source_file", "source_row"])
print(t.num_rows)
""" + PEAK

DUCK = """
import sys, json
import duckdb
from cskit.store import Store
st = Store(sys.argv[1])
paths = [str(st.root / f.path) for f in st.files("messages")]
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute("SET enable_progress_bar = false")
q = '''
WITH seq AS (
  SELECT shop, buyer_id, sender, sent_at,
    MIN(CASE WHEN sender = 'agent' THEN sent_at END) OVER (
      PARTITION BY shop, buyer_id ORDER BY sent_at, source_file, source_row
      ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS reply_at
  FROM read_parquet($paths)
  WHERE sender IN ('buyer', 'agent')
), b AS (
  SELECT shop, buyer_id, CAST(sent_at AS DATE) AS d,
    bool_or(reply_at IS NULL OR date_diff('second', sent_at, reply_at) > 300) AS late
  FROM seq
  WHERE sender = 'buyer' AND hour(sent_at) >= 8 AND hour(sent_at) < 23
  GROUP BY 1, 2, 3
)
SELECT shop, CAST(d AS VARCHAR) AS date, count(*) AS consult, sum(CAST(late AS INT)) AS unreplied
FROM b GROUP BY 1, 2 ORDER BY 1, 2
'''
rows = con.execute(q, {"paths": paths}).fetchall()
print(json.dumps([[r[0], r[1], int(r[2]), int(r[3])] for r in rows], ensure_ascii=False))
""" + PEAK


def cskit_day_numbers(csv_text: str) -> list[list]:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(csv_text)))
    return [[r["shop"], r["date"], int(r["consult_buyers"]), int(r["unreplied_buyers"])] for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/cskit-bench"))
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep generated files")
    a = ap.parse_args()
    try:
        import duckdb  # noqa: F401
        have_duck = not a.no_duckdb
    except ImportError:
        have_duck = False
    results = []
    for n in a.messages:
        wd = a.workdir / f"n{n}"
        if wd.exists():
            shutil.rmtree(wd)
        wd.mkdir(parents=True)
        csv_path, store = wd / "messages.csv", wd / "store"
        g_t, g_m, _ = child(GEN, str(n), str(csv_path))
        size_mb = csv_path.stat().st_size / 1e6
        i_t, i_m, added = child(INGEST, str(csv_path), str(store))
        row = {"messages": n, "csv_mb": round(size_mb, 1), "generate_s": round(g_t, 2),
               "ingest_s": round(i_t, 2), "ingest_rows_per_s": round(n / i_t),
               "ingest_mb_per_s": round(size_mb / i_t, 1), "ingest_peak_mib": round(i_m),
               "rows_added": int(added.strip())}
        for by in ("day", "agent"):
            k_t, k_m, out = child(KPI, str(store), by)
            row[f"kpi_{by}_s"] = round(k_t, 2)
            row[f"kpi_{by}_peak_mib"] = round(k_m)
            if by == "day":
                ours = cskit_day_numbers(out)
        f_t, f_m, _ = child(FLOOR, str(store))
        row["floor_s"] = round(f_t, 2)
        row["floor_peak_mib"] = round(f_m)
        if have_duck:
            d_t, d_m, out = child(DUCK, str(store))
            row["duckdb_s"] = round(d_t, 2)
            row["duckdb_peak_mib"] = round(d_m)
            row["numbers_agree"] = json.loads(out) == ours
            row["kpi_day_vs_duckdb"] = round(row["kpi_day_s"] / d_t, 2)
        row["kpi_day_vs_floor"] = round(row["kpi_day_s"] / f_t, 2)
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)  # partial results survive a crash
        if not a.keep:
            csv_path.unlink()
    keys = list(dict.fromkeys(k for r in results for k in r))
    width = max(len(k) for k in keys)
    print(f"{'':{width}}  " + "  ".join(f"{r['messages']:>14,}" for r in results))
    for k in keys:
        print(f"{k:{width}}  " + "  ".join(f"{str(r.get(k, '')):>14}" for r in results))
    print("(times are wall-clock seconds of a fresh process, including Python start-up and imports; "
          f"peak = ru_maxrss of that process; machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
