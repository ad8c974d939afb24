"""cskit benchmarks: ingest throughput, `cskit kpi` time and peak memory, vs DuckDB and the
column-read floor.  Prints a table; timing never decides a test.

    python benchmarks/run.py --messages 1000000 10000000 [--shops 8] [--workdir /tmp/cskit-bench]
                             [--repeat 3] [--reuse] [--no-duckdb] [--keep]

Each step runs in its own process so its peak RSS (ru_maxrss of the child) is its own.
kpi, the floor and DuckDB run ``--repeat`` times, interleaved, and the median time (and
the largest peak) is reported: on a shared VM one run can be 20 % off.  ``--reuse`` keeps
a store already generated and ingested in the work directory (no ingest figures then).
DuckDB is a benchmark-only extra: `pip install -e '.[bench]'`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PY = sys.executable
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cskit.kpi import message_columns  # noqa: E402
from cskit.metrics.rules import get_rule  # noqa: E402

#: the columns `cskit kpi` reads with its default rule (pdd5)
MESSAGE_COLUMNS = message_columns(get_rule())


#: CPU seconds (user + sys) of the last :func:`child`: on a shared machine the wall time
#: follows the load, the CPU time much less
LAST_CPU = [0.0]
#: peak RSS (MiB) of the largest worker process the last :func:`child` started (cskit kpi
#: computes several groups of shops in forked workers, cskit/local_pool.py; 0: none)
LAST_WORKER_PEAK = [0.0]


def child(code: str, *args: str) -> tuple[float, float, str]:
    """Run python code in a fresh process: (seconds, peak RSS MiB, stdout); its CPU
    seconds in ``LAST_CPU[0]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-c", code, *args], capture_output=True, text=True)
    dt = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    LAST_CPU[0] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"step failed: {code[:60]}…")
    # the child prints its own peak RSS (MiB) and its largest worker's as its last stderr line
    peak, worker = (float(x) for x in proc.stderr.strip().splitlines()[-1].split())
    LAST_WORKER_PEAK[0] = worker
    return dt, peak, proc.stdout


PEAK = ("import resource,sys; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024, file=sys.stderr)")

GEN = """
import sys
from cskit.sample import generate_messages_bulk, write_canonical_csv
n = int(sys.argv[1]); out = sys.argv[2]; shops = int(sys.argv[3])
df = generate_messages_bulk(n, seed=7, shops=shops)
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
import os, sys
if len(sys.argv) > 4:  # worker processes (CSKIT_JOBS; default: the usable cores, up to 4)
    os.environ["CSKIT_JOBS"] = sys.argv[4]
args = ["kpi", "--store", sys.argv[1], "--by", sys.argv[2], "--format", sys.argv[3]]
from cskit.cli import main
sys.argv = ["cskit"] + args
try:
    main()
except SystemExit as e:
    if e.code: raise
""" + PEAK

# what no `cskit kpi` can do without, in a fresh process: Python and the imports of pandas
# and pyarrow's Parquet and dataset modules (the floor of a cold start, ``imports_floor``)
IMPORTS = "import pandas, pyarrow.parquet, pyarrow.dataset\n" + PEAK

# the floor: the columns `cskit kpi` reads (argv[3], comma-separated), read with pyarrow into
# memory, nothing else imported; argv[2] = "all" reads the whole store, "largest" only its
# largest shop-month partition
FLOOR = """
import sys, json, collections
import pyarrow.dataset as ds
root = sys.argv[1]
files = [f for f in json.load(open(root + "/_cskit_manifest.json", encoding="utf-8"))["files"]
         if f["kind"] == "messages"]
if sys.argv[2] == "largest":
    rows = collections.Counter()
    for f in files:
        rows[(f["shop"], f["month"])] += f["rows"]
    big = max(rows, key=rows.get)
    files = [f for f in files if (f["shop"], f["month"]) == big]
t = ds.dataset([root + "/" + f["path"] for f in files], format="parquet").to_table(
    columns=sys.argv[3].split(","))
print(t.num_rows)
""" + PEAK

DUCK = """
import sys, json
import duckdb
root = sys.argv[1]
paths = [root + "/" + f["path"] for f in json.load(open(root + "/_cskit_manifest.json",
         encoding="utf-8"))["files"] if f["kind"] == "messages"]
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
    ap.add_argument("--shops", type=int, default=8,
                    help="shops to spread the messages over (8 = the sample's; an agency has hundreds)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of kpi, the floor and DuckDB (median reported)")
    ap.add_argument("--reuse", action="store_true",
                    help="use the store already in the work directory (skip generate and ingest)")
    ap.add_argument("--no-duckdb", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep generated files")
    a = ap.parse_args()
    try:
        import duckdb  # noqa: F401
        have_duck = not a.no_duckdb
    except ImportError:
        have_duck = False
    # byte-compile cskit once, as `pip install` does: with PYTHONDONTWRITEBYTECODE set (as
    # on the benchmark VM) every fresh process would otherwise compile it from source again
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "cskit"), quiet=1)
    results = []
    for n in a.messages:
        wd = a.workdir / f"n{n}-s{a.shops}"
        csv_path, store = wd / "messages.csv", wd / "store"
        row = {"messages": n, "shops": a.shops}
        if not (a.reuse and (store / "_cskit_manifest.json").exists()):
            if wd.exists():
                shutil.rmtree(wd)
            wd.mkdir(parents=True)
            g_t, g_m, _ = child(GEN, str(n), str(csv_path), str(a.shops))
            size_mb = csv_path.stat().st_size / 1e6
            i_t, i_m, added = child(INGEST, str(csv_path), str(store))
            row.update({"csv_mb": round(size_mb, 1), "generate_s": round(g_t, 2),
                        "ingest_s": round(i_t, 2), "ingest_cpu_s": round(LAST_CPU[0], 2),
                        "ingest_rows_per_s": round(n / i_t),
                        "ingest_mb_per_s": round(size_mb / i_t, 1),
                        "ingest_peak_mib": round(i_m), "rows_added": int(added.strip())})
            if not a.keep:
                csv_path.unlink()
        cols = ",".join(MESSAGE_COLUMNS)
        steps = {"kpi_day": (KPI, str(store), "day", "csv"),
                 "kpi_agent": (KPI, str(store), "agent", "csv"),
                 "kpi_table": (KPI, str(store), "day", "table"),  # what a person runs
                 # one process (no forked workers): the CPU the machinery saves apart from
                 # using the second core
                 "kpi_agent_1job": (KPI, str(store), "agent", "csv", "1"),
                 "kpi_agent_2jobs": (KPI, str(store), "agent", "csv", "2"),
                 "floor": (FLOOR, str(store), "all", cols),
                 "imports_floor": (IMPORTS,)}
        if have_duck:
            steps["duckdb"] = (DUCK, str(store))
        times: dict[str, list[float]] = {k: [] for k in steps}
        cpus: dict[str, list[float]] = {k: [] for k in steps}
        peaks: dict[str, list[float]] = {k: [] for k in steps}
        workers: dict[str, list[float]] = {k: [] for k in steps}
        outs: dict[str, str] = {}
        loads = [os.getloadavg()[0]]
        for _ in range(max(1, a.repeat)):  # interleaved: drift of the machine hits all alike
            for name, step in steps.items():
                t, m, out = child(*step)
                times[name].append(t)
                cpus[name].append(LAST_CPU[0])
                peaks[name].append(m)
                workers[name].append(LAST_WORKER_PEAK[0])
                outs[name] = out
            loads.append(os.getloadavg()[0])
        row["load_avg_1min"] = f"{min(loads):.1f}-{max(loads):.1f}"
        for name in ("kpi_day", "kpi_agent", "kpi_table", "kpi_agent_1job", "kpi_agent_2jobs",
                     "floor", "imports_floor", "duckdb"):
            if name in times:
                row[f"{name}_s"] = round(statistics.median(times[name]), 2)
                row[f"{name}_cpu_s"] = round(statistics.median(cpus[name]), 2)
                row[f"{name}_peak_mib"] = round(max(peaks[name]))
                if name.startswith("kpi") and max(workers[name]):
                    row[f"{name}_worker_peak_mib"] = round(max(workers[name]))
        if a.repeat > 1:
            row["runs"] = a.repeat
            row["kpi_day_s_min_max"] = f"{min(times['kpi_day']):.2f}-{max(times['kpi_day']):.2f}"
            row["kpi_agent_s_min_max"] = \
                f"{min(times['kpi_agent']):.2f}-{max(times['kpi_agent']):.2f}"
            if have_duck:
                row["duckdb_s_min_max"] = f"{min(times['duckdb']):.2f}-{max(times['duckdb']):.2f}"
        _, p_m, p_rows = child(FLOOR, str(store), "largest", cols)
        row["largest_partition_rows"] = int(p_rows.strip())
        row["largest_partition_read_peak_mib"] = round(p_m)
        if have_duck:
            row["numbers_agree"] = json.loads(outs["duckdb"]) == cskit_day_numbers(outs["kpi_day"])
            for by in ("day", "agent", "agent_1job", "agent_2jobs"):
                row[f"kpi_{by}_vs_duckdb"] = round(row[f"kpi_{by}_s"] / row["duckdb_s"], 2)
                row[f"kpi_{by}_vs_duckdb_cpu"] = round(row[f"kpi_{by}_cpu_s"] / row["duckdb_cpu_s"], 2)
        row["kpi_agent_1job_same"] = outs["kpi_agent_1job"] == outs["kpi_agent"]
        row["kpi_agent_2jobs_same"] = outs["kpi_agent_2jobs"] == outs["kpi_agent"]
        for by in ("day", "agent"):
            row[f"kpi_{by}_vs_floor"] = round(row[f"kpi_{by}_s"] / row["floor_s"], 2)
        results.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)  # partial results survive a crash
    keys = list(dict.fromkeys(k for r in results for k in r))
    width = max(len(k) for k in keys)
    print(f"{'':{width}}  " + "  ".join(f"{r['messages']:>14,}" for r in results))
    for k in keys:
        print(f"{k:{width}}  " + "  ".join(f"{str(r.get(k, '')):>14}" for r in results))
    print("(times are wall-clock seconds of a fresh process, including Python start-up and imports, "
          f"the median of --repeat runs; *_cpu_s its user+sys CPU seconds (its worker processes included); "
          f"peak = the largest ru_maxrss of those processes (*_worker_peak: of one of their forked "
          f"workers; several run at once); kpi_agent_1job/_2jobs: CSKIT_JOBS=1/2 (else the idle cores); "
          f"machine: {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
