"""Process-wide memory settings for the heavy commands (Linux; elsewhere they do nothing).

Both are about the kernel's share of the work on a VM, where every page fault is costly:
``ingest`` and ``kpi`` allocate and free hundreds of megabytes of short-lived arrow and
numpy buffers, and by default much of that memory is handed back to the kernel when freed
and faulted in (zeroed) again on the next allocation.

* :func:`no_huge_pages` (ingest): with transparent huge pages every fault zeroes (and,
  under ``defrag=madvise``, may first compact) a 2 MB page.  On the benchmark VM that was
  over half the CPU time of parsing a large CSV.
* :func:`reuse_freed_memory` (kpi and the commands built on it): arrow allocates from the
  C library's heap (the system pool) instead of its own pool, and the C library keeps up
  to 128 MB of freed heap (and grows it 64 MB at a time) instead of trimming it at once.
  Allocations up to 32 MB come from that heap too: by default glibc gives every block
  above its mmap threshold (128 kB once the trim threshold is set, which fixes it) a
  mapping of its own, unmapped when freed and faulted in again the next time, which is
  nearly every numpy array of a slice.
  kpi reads and counts one slice after another of about the same size, so the next slice
  reuses the last one's pages: about 5× fewer page faults, 10-25 % less wall time at
  10 M messages, for about 60 MB more peak memory (docs/performance.md).

These are settings of the process, not of a computation: the library functions never
call them; the CLI does, for the commands it runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

_PR_SET_THP_DISABLE, _PR_GET_THP_DISABLE = 41, 42
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: freed heap kept (bytes) and the step the heap grows by
TRIM_THRESHOLD = 128 << 20
TOP_PAD = 64 << 20
#: allocations up to this size come from the heap, not from their own mmap (glibc's
#: largest allowed value on 64-bit: 32 MB)
MMAP_THRESHOLD = 32 << 20


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(None, use_errno=True)
    return None


@contextlib.contextmanager
def no_huge_pages():
    """Transparent huge pages off for this process inside the block (restored after)."""
    libc = _libc()
    prctl = getattr(libc, "prctl", None)
    before = prctl(_PR_GET_THP_DISABLE, 0, 0, 0, 0) if prctl else -1
    if before == 0:
        prctl(_PR_SET_THP_DISABLE, 1, 0, 0, 0)
    try:
        yield
    finally:
        if before == 0:
            prctl(_PR_SET_THP_DISABLE, 0, 0, 0, 0)


def reuse_freed_memory() -> bool:
    """Keep freed memory for the next allocation (see the module's docstring).  Returns
    whether the C library took the setting (glibc); arrow uses the system pool either way."""
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    mallopt = getattr(_libc(), "mallopt", None)
    if mallopt is None:
        return False
    return all([bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)),
                bool(mallopt(_M_TOP_PAD, TOP_PAD)),
                bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))])
