"""One fresh ``python -m cskit …`` process, measured: what the command benchmarks share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cskit_run(args: list[str]) -> tuple[float, float, float, str]:
    """(wall seconds, peak MiB, CPU seconds user+sys, stdout) of ``python -m cskit ARGS`` in a
    fresh process (start-up and imports included, as a user runs it); exits on failure.
    Output goes through temporary files, so a long CSV cannot block the child."""
    import tempfile

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        p = subprocess.Popen([sys.executable, "-m", "cskit", *args], stdout=out, stderr=err,
                             env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            raise SystemExit(f"cskit {' '.join(args)} failed: {err.read().decode()[-400:]}")
        stdout = out.read().decode("utf-8")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, stdout  # Linux: KiB


def cskit_child(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak MiB, CPU seconds user+sys) of :func:`cskit_run`."""
    return cskit_run(args)[:3]


def summarise(name: str, runs: list[tuple]) -> dict:
    """``{name}_s`` (median wall), ``{name}_runs_s``, ``{name}_cpu_s`` (median user+sys: what
    wall time cannot say on a shared, loaded machine) and ``{name}_peak_mib`` (largest) of
    runs as :func:`cskit_run` / :func:`cskit_child` give them."""
    import statistics

    return {f"{name}_s": round(statistics.median(r[0] for r in runs), 2),
            f"{name}_runs_s": [round(r[0], 2) for r in runs],
            f"{name}_cpu_s": round(statistics.median(r[2] for r in runs), 2),
            f"{name}_peak_mib": round(max(r[1] for r in runs))}


def measure(name: str, args: list[str], repeat: int) -> dict:
    """``repeat`` fresh runs of ``cskit ARGS``, summed up by :func:`summarise`."""
    return summarise(name, [cskit_child(args) for _ in range(repeat)])


def store_bench(doc: str, argv, command: str, variants: list[tuple[str, list[str]]]) -> int:
    """The main of a one-command store benchmark: ``--store DIR [--repeat N]``, then each
    ``(name, extra args)`` variant of ``cskit COMMAND --store DIR --format csv`` measured,
    printed as one JSON line with the store's size, the cores and the load average."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--store", required=True, type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    out: dict = {"store": str(a.store)}
    n = store_messages(a.store)
    if n is not None:
        out["messages"] = n
    out["load_avg_before"] = [round(x, 1) for x in os.getloadavg()]
    for name, extra in variants:
        out.update(measure(name, [command, "--store", str(a.store), "--format", "csv", *extra],
                           a.repeat))
    out["cores"] = os.cpu_count()
    out["load_avg_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0


def store_messages(store: Path) -> int | None:
    """Messages in a store, from its manifest (None when it cannot tell)."""
    import json

    manifest = store / "_cskit_manifest.json"
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
        return sum(f.get("rows", 0) for f in m.get("files", []) if f.get("kind") == "messages")
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def ingest_in_trees(csv: str, trees: dict[str, str], child: str, repeat: int,
                    prefix: str) -> tuple[dict[str, list[dict]], list[float]]:
    """Run ``python -c CHILD CSV STORE`` from each source tree in turn (``{name: path}``,
    byte-compiled first), ``repeat`` times, interleaved, into a fresh temporary store; each
    child prints a JSON object on its last line. Returns the objects per tree and the load
    averages seen before and after each round."""
    import compileall
    import json
    import shutil
    import tempfile

    for path in trees.values():
        compileall.compile_dir(os.path.join(path, "cskit"), quiet=1)
    work = tempfile.mkdtemp(prefix=prefix)
    runs: dict[str, list[dict]] = {t: [] for t in trees}
    loads = [os.getloadavg()[0]]
    try:
        for _ in range(repeat):
            for name, path in trees.items():
                proc = subprocess.run([sys.executable, "-c", child, os.path.abspath(csv),
                                       os.path.join(work, "store")], cwd=path, text=True,
                                      env={**os.environ, "PYTHONPATH": path}, capture_output=True,
                                      check=False)
                if proc.returncode:
                    raise SystemExit(f"{name}: failed\n{proc.stderr[-2000:]}")
                runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return runs, loads


#: code text for the children of the ingest benchmarks: ``rebind(owner, name, f, g)`` puts
#: the wrapper ``g`` in place of ``f`` in every module that holds ``f`` under ``name`` (a
#: name re-exported or imported by name is called through that module's own binding), or
#: on ``owner`` itself when it is a class
REBIND = r"""
import sys as _sys
def rebind(owner, name, f, g):
    homes = [m for m in list(_sys.modules.values())
             if m is not None and getattr(m, "__dict__", {}).get(name) is f] \
        if isinstance(owner, type(_sys)) else []
    for home in homes or [owner]:
        setattr(home, name, g)
"""
