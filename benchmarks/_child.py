"""One fresh ``python -m cskit …`` process, measured: what the command benchmarks share."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cskit_child(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak MiB, CPU seconds user+sys) of ``python -m cskit ARGS`` in a fresh
    process (start-up and imports included, as a user runs it); exits on failure."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-m", "cskit", *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"cskit {' '.join(args)} failed: {p.stderr.read().decode()[-400:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # Linux: KiB


def measure(name: str, args: list[str], repeat: int) -> dict:
    """``repeat`` fresh runs of ``cskit ARGS``: ``{name}_s`` (median wall), ``{name}_runs_s``,
    ``{name}_cpu_s`` (median user+sys: what wall time cannot say on a shared, loaded
    machine) and ``{name}_peak_mib`` (largest)."""
    import statistics

    runs = [cskit_child(args) for _ in range(repeat)]
    return {f"{name}_s": round(statistics.median(r[0] for r in runs), 2),
            f"{name}_runs_s": [round(r[0], 2) for r in runs],
            f"{name}_cpu_s": round(statistics.median(r[2] for r in runs), 2),
            f"{name}_peak_mib": round(max(r[1] for r in runs))}


def store_messages(store: Path) -> int | None:
    """Messages in a store, from its manifest (None when it cannot tell)."""
    import json

    manifest = store / "_cskit_manifest.json"
    try:
        m = json.loads(manifest.read_text(encoding="utf-8"))
        return sum(f.get("rows", 0) for f in m.get("files", []) if f.get("kind") == "messages")
    except (OSError, ValueError, AttributeError, TypeError):
        return None
