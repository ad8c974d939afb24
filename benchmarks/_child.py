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
