"""Where the per-shop sums are computed: in this process (``--engine local``, the default)
or on a Dask cluster (``--engine dask``, ``pip install 'cskit[dask]'``).

The metrics are per shop and exactly mergeable: a slicer's per-group sums for some shops
pool with another's for other shops (:func:`cskit.metrics.reply.pooled_results`).  So the
Dask engine runs the *same* function the local engine runs (:func:`cskit.kpi.reply_sums`,
:func:`cskit.kpi.reply_conversion_sums`) as one task per group of shops
(:func:`cskit.kpi.shop_groups`: a big shop alone, consecutive small shops together), each
reading its shops from the store; the client gathers the closed slicers, in group order,
and pools and finishes the tables once.  No KPI is implemented twice, and the output is
byte-identical to the local engine's.

Faults: a task whose worker dies is run again on another worker (Dask reschedules it;
a task that kills :data:`ALLOWED_FAILURES` + 1 workers, or fails :data:`RETRIES` + 1
times, fails the command); the command then stops with one ``Error:`` line and exit code
8 (:class:`~cskit.errors.EngineError`) — nothing is printed before every task is in, so
there is never a partial table.  A scheduler that cannot be reached within
``$CSKIT_DASK_TIMEOUT`` seconds (default :data:`CONNECT_TIMEOUT`) fails the same way.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import uuid
import warnings

from cskit.errors import EngineError, UsageError

#: seconds to wait for a scheduler (``--scheduler``) before giving up
CONNECT_TIMEOUT = 10.0
#: times a task that raised is run again (a worker dying is handled by the scheduler)
RETRIES = 1
#: workers a task may take down with it before it is declared failed (Dask's default is 3)
ALLOWED_FAILURES = 2

INSTALL_HINT = "install it: pip install 'cskit[dask]'"


def run_groups(engine, fn, store, shops: list[str], period, before, after, **kw) -> list:
    """``fn(store, shops, period, **kw)`` (a list per group of shops) for all ``shops``:
    one call here (``engine`` None: the local engine, which reads ahead in a thread, and
    runs the groups in forked processes when there are several, :mod:`cskit.local_pool`), or
    one call per group of :func:`cskit.kpi.shop_groups` on the Dask cluster, the lists
    joined in group order.  ``before``/``after``: the read margins ``fn`` plans with."""
    if engine is None:
        from cskit.local_pool import run_local

        return run_local(fn, store, shops, period, before, after, **kw)
    return engine.run(fn, store, shops, period, before, after, **kw)


def connect_timeout() -> float:
    try:
        return float(os.environ.get("CSKIT_DASK_TIMEOUT") or CONNECT_TIMEOUT)
    except ValueError:
        return CONNECT_TIMEOUT


class DaskEngine:
    """Runs the groups of shops as tasks on a ``distributed.Client``."""

    def __init__(self, client):
        self.client = client

    def groups(self, store, shops, period, before, after) -> list[list[str]]:
        from cskit.kpi import _plans, shop_groups

        return shop_groups(_plans(store, shops, period, before, after))

    def run(self, fn, store, shops, period, before, after, **kw) -> list:
        """``fn(store, group, period, **kw)`` per group of shops, the lists joined in order."""
        groups = self.groups(store, shops, period, before, after)
        return [x for r in self.map(fn, store, groups, period, **kw) for x in r]

    def map(self, fn, store, groups: list[list[str]], *args, **kw) -> list:
        """``[fn(store, group, *args, **kw) for group in groups]``, one task per group; every
        result in, or an error (never some of them)."""
        from distributed import KilledWorker

        from cskit import kpi_slices

        task = functools.partial(_task, fn, kpi_slices.SLICE_ROWS, kw)
        run_id = uuid.uuid4().hex[:8]
        futures = [self.client.submit(task, store, group, *args, key=f"cskit-{run_id}-{i}",
                                      retries=RETRIES, pure=False)
                   for i, group in enumerate(groups)]
        try:
            return self.client.gather(futures)
        except KilledWorker:
            raise EngineError("Dask workers kept dying while computing a group of shops",
                              hint="look at the workers' memory (a big shop needs the memory of "
                                   "its largest month) and logs; --engine local computes here"
                              ) from None
        except (OSError, TimeoutError) as exc:
            raise EngineError("lost the Dask scheduler ({error})",
                              hint="check the cluster and run the command again",
                              error=type(exc).__name__) from None
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel(futures)


def _task(fn, slice_rows: int, kw: dict, store, group: list[str], *args) -> list:
    """One task: ``fn`` for one group of shops, slicing as the client planned it (the
    client's :data:`cskit.kpi_slices.SLICE_ROWS`)."""
    from cskit import kpi_slices

    kpi_slices.SLICE_ROWS = slice_rows
    return fn(store, group, *args, **kw)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError("--engine dask needs Dask, which is not installed",
                         hint=INSTALL_HINT) from None
    return distributed


@contextlib.contextmanager
def open_engine(kind: str = "local", scheduler: str | None = None, workers: int | None = None,
                *, quiet: bool = True):
    """The engine of ``--engine``/``--scheduler``/``--workers`` (None: local), closed on exit.
    ``--scheduler ADDRESS`` connects to a running cluster; ``--workers N`` (or neither)
    starts a local cluster of N single-threaded worker processes for this command."""
    kind = getattr(kind, "value", kind) or "local"
    if kind == "local":
        if scheduler or workers:
            raise UsageError("--scheduler and --workers apply to --engine dask")
        yield None
        return
    if scheduler and workers:
        raise UsageError("give either --scheduler (a running cluster) or --workers (a local "
                         "cluster), not both")
    distributed = _import_distributed()
    import dask

    log = logging.getLogger("distributed")
    old_level = log.level
    if quiet:  # one Error: line, not the cluster's log
        log.setLevel(logging.CRITICAL)
    stack = contextlib.ExitStack()
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
            if scheduler:
                timeout = connect_timeout()
                try:
                    client = stack.enter_context(distributed.Client(
                        scheduler, timeout=timeout, set_as_default=False))
                except (OSError, TimeoutError, ValueError) as exc:
                    raise EngineError("cannot reach the Dask scheduler at {address} within "
                                      "{timeout:g} s ({error})",
                                      hint="check the address and that `dask scheduler` runs "
                                           "there; --engine local computes on this machine",
                                      address=scheduler, timeout=timeout,
                                      error=type(exc).__name__) from None
            else:
                n = workers or os.cpu_count() or 1
                with warnings.catch_warnings():
                    if quiet:  # e.g. "Port 8787 is already in use" (its HTTP routes move)
                        warnings.simplefilter("ignore")
                    cluster = stack.enter_context(distributed.LocalCluster(
                        n_workers=n, threads_per_worker=1, processes=True,
                        dashboard_address=None,
                        silence_logs=logging.CRITICAL if quiet else logging.WARNING))
                client = stack.enter_context(distributed.Client(cluster, set_as_default=False))
        with stack:
            yield DaskEngine(client)
    finally:
        stack.close()
        log.setLevel(old_level)
