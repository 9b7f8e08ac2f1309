"""Choosing where partitions run (this process, a LocalCluster, or a running Dask scheduler) and running them.

Every distributed path in matforge is "a list of independent partitions, each writing one file": this module
owns the one loop that sends them out, shows progress from the cluster, and lets Dask recompute the
partitions of a worker that dies (a partition is only done once its file has been renamed into place, so a
half-written one is simply written again).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from matforge.errors import InputError

__all__ = ["SCHEDULER_ENV", "scheduler_from_options", "map_partitions", "describe_scheduler"]

SCHEDULER_ENV = "MATFORGE_SCHEDULER"
"""Environment variable read when no ``--scheduler`` is given (``tcp://host:8786`` or ``local``)."""


def _need_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise InputError(
            "running on a Dask cluster needs the [dist] extra", hint="pip install 'matforge[dist]'"
        ) from None


def describe_scheduler(scheduler: str | None, workers: int | None = None) -> str | None:
    """The scheduler an option/environment pair resolves to, as text for logs and run folders (None: in-process)."""
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None or scheduler in ("none", "sync"):
        return None
    if scheduler == "local":
        return f"local ({workers or os.cpu_count() or 1} workers)"
    return scheduler


@contextlib.contextmanager
def scheduler_from_options(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A Dask `Client` for ``--scheduler``/``--workers``, or None for today's single-process path.

    Parameters
    ----------
    scheduler : ``None`` (then the ``MATFORGE_SCHEDULER`` environment variable; unset = in-process),
        ``"local"`` for a LocalCluster on this machine, or the address of a running scheduler
        (``tcp://host:8786``, started with ``dask scheduler``).
    workers : worker processes of a LocalCluster (default: one per core). Each worker runs one task at a
        time (one thread), so a worker's memory is that of one partition.

    A LocalCluster listens on the loopback interface only and is closed when the block ends.
    """
    scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None or scheduler in ("none", "sync"):
        if workers not in (None, 0, 1):
            raise InputError("--workers needs --scheduler local (or a scheduler address)")
        yield None
        return
    _need_dask()
    import logging

    from distributed import Client, LocalCluster

    if scheduler == "local":
        n = workers or os.cpu_count() or 1
        if n < 1:
            raise InputError(f"--workers must be at least 1, not {n}")
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
            # CRITICAL: a task's exception comes back to this process and is reported there in one line (bad
            # input) or as an internal error; the workers' "Compute Failed" log would print it a second time
            silence_logs=logging.CRITICAL,
        )  # fmt: skip
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    if workers not in (None, 0):
        raise InputError("--workers only applies to --scheduler local", hint="Start workers with 'dask worker ADDRESS'")
    if "://" not in scheduler:
        raise InputError(f"unknown scheduler '{scheduler}'", hint="Use 'local' or an address like tcp://host:8786")
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as err:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler}: {err}", hint="Start it with 'dask scheduler'") from None
    with client:
        yield client


def map_partitions(
    work: Callable[..., Any],
    partitions: Sequence[Any],
    *,
    client: Any = None,
    shared: dict | None = None,
    label: str = "partitions",
    on_done: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run ``work(partition, **shared)`` for every partition, here (client None) or on the cluster.

    Results come back in partition order whatever order the workers finish in. `shared` (e.g. a model) is
    sent to the cluster once, not once per partition. A worker that dies mid-task has its partitions
    rescheduled by Dask on the surviving or restarted workers; `work` must therefore be idempotent (write
    its file atomically). `on_done(index, result)` is called on this process as partitions finish.
    """
    from matforge.progress import progress_bar

    shared = shared or {}
    results: list[Any] = [None] * len(partitions)
    with progress_bar() as bar:
        task = bar.add_task(label, total=len(partitions))
        if client is None:
            for i, part in enumerate(partitions):
                results[i] = work(part, **shared)
                if on_done is not None:
                    on_done(i, results[i])
                bar.advance(task)
            return results
        from concurrent.futures import CancelledError

        from distributed import as_completed

        plain = (str, int, float, bool, type(None), list, tuple, dict)
        # the workers warn as this process would: the CLI's filters (a Gaussian process' length scale at its
        # bound, expected in a search) are not inherited by a spawned worker, whose stderr is this console's. The
        # categories travel by name: a class only this process has (a notebook's) must not fail the worker's unpickling
        filters = [(action, getattr(message, "pattern", ""), f"{category.__module__}:{category.__qualname__}", getattr(module, "pattern", ""), lineno) for action, message, category, module, lineno in warnings.filters]
        todo = list(range(len(partitions)))
        for attempt in range(3):
            # one copy of each large shared object (model, design space, arrays) per worker instead of one per
            # task; plain values and containers (which scatter would split into pieces) travel with each task
            shared_futures = {k: v if isinstance(v, plain) else client.scatter(v, broadcast=True, hash=False) for k, v in shared.items()}
            futures = [client.submit(_on_worker, work, filters, partitions[i], **shared_futures, pure=False, key=f"{label.replace(' ', '-')}-{i}-{os.urandom(4).hex()}") for i in todo]
            index = {f.key: i for f, i in zip(futures, todo, strict=True)}
            try:
                for future in as_completed(futures):
                    i = index[future.key]
                    results[i] = future.result()
                    future.release()
                    todo.remove(i)
                    if on_done is not None:
                        on_done(i, results[i])
                    bar.advance(task)
                break
            except CancelledError:
                # scattered data cannot be recomputed: when a killed worker held its only copy (a worker that
                # joined after the broadcast holds none), the tasks needing it are cancelled; scatter again
                # and resubmit the partitions not yet done (work is idempotent)
                if attempt == 2:
                    raise
            finally:
                for f in futures:
                    f.release()
    return results


_MALLOC_TUNED = False


def _on_worker(function: Callable[..., Any], filters: list[tuple], part: Any, /, **shared: Any) -> Any:
    """Run one partition on a worker, after giving the worker's allocator back its usual behaviour, under the
    submitting process' warning `filters` (``warnings.filters`` as (action, message, category, module, lineno)
    with the patterns and the category, ``module:qualname``, as text)."""
    global _MALLOC_TUNED
    if not _MALLOC_TUNED:
        _MALLOC_TUNED = True
        _restore_malloc_thresholds()
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for action, message, name, module, lineno in reversed(filters):  # each goes to the front: same order
            category = _warning_class(name)
            if category is not None:
                warnings.filterwarnings(action, message, category, module, lineno)
        return function(part, **shared)


def _warning_class(name: str) -> type[Warning] | None:
    """The warning class named ``module:qualname``, or None where this process cannot import it."""
    import importlib

    module, _, qualname = name.partition(":")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and issubclass(found, Warning) else None


def _restore_malloc_thresholds() -> None:
    """Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_`` set, which makes glibc stop adapting its
    mmap threshold: every array above 128 kB is then mapped and unmapped afresh, and numpy code full of
    temporaries ran 4x slower per screened candidate in a worker than in a plain process (measured). Large
    fixed thresholds (64 MB mmap, 128 MB trim) give back the plain-process speed; memory stays bounded by
    the partition. No-op off glibc."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 2**20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 128 * 2**20)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # musl or another libc: leave the allocator as it is
        pass
