"""How many threads or worker processes an ``n_jobs`` option stands for."""

from __future__ import annotations

import multiprocessing
import os


def worker_count(n_jobs: int | None, *, processes: bool = False) -> int:
    """``n_jobs`` as a count: -1 is every core, None or 0 one. For worker processes, one inside a daemonic
    process (a Dask or multiprocessing worker), which may not start children of its own."""
    n = (os.cpu_count() or 1) if n_jobs == -1 else max(1, int(n_jobs or 1))
    if processes and multiprocessing.current_process().daemon:
        return 1
    return n
