"""Where the tasks of a sweep run: a Dask distributed cluster, or this process.

- ``scheduler=None``: a new ``LocalCluster`` of ``workers`` worker processes (one per core by default), each with
  one thread. Dask's nannies start workers with one BLAS/OpenMP thread (its ``pre-spawn-environ`` setting), and
  the Ising kernels follow the BLAS limit, so every worker runs serial kernels and the processes share the cores.
- an address (``tcp://host:8786``): the tasks go to that cluster's scheduler; the cluster is not ours to stop.
- ``"inprocess"``: the tasks run here in order; the reference that cluster runs are compared with.

Results come back as tasks finish (``distributed.as_completed``) and go to the caller's ``finished`` callback,
which writes rows; a progress bar counts tasks. Ctrl-C cancels what has not run and keeps what has.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

INPROCESS = "inprocess"


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _bar(total: int, progress: bool, scheduler: str, label: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="task", desc=f"{label} ({scheduler})", disable=not progress, leave=True)


def _sweep_key(task) -> str:
    return f"ising-L{task.L}-beta{task.beta:.6g}-block{task.block}"


def execute(function: Callable, tasks: Sequence, finished: Callable, *, scheduler: str | None = None,
            progress: bool = True, workers: int | None = None, connect_timeout: float = 20,
            label: str = "ising sweep", key_of: Callable | None = None) -> str:
    """Run ``function(task)`` for every task, calling ``finished(task, *function(task))`` as each completes;
    returns a description of where they ran. ``function`` must be importable by name (workers unpickle it).
    ``label`` names the progress bar; ``key_of(task)`` gives a readable Dask key (default: a sweep task's
    L, β and block)."""
    if scheduler == INPROCESS:
        with _bar(len(tasks), progress, INPROCESS, label) as bar:
            for task in tasks:
                finished(task, *function(task))
                bar.update()
        return INPROCESS
    return _on_dask(function, tasks, finished, scheduler, progress, workers, connect_timeout, label,
                    key_of or _sweep_key)


def _on_dask(function, tasks, finished, address, progress, workers, connect_timeout, label, key_of) -> str:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address is None:
        n = _cores() if workers is None else int(workers)
        if n < 1:
            raise ValueError(f"workers must be at least 1, got {n}")
        # no dashboard; the scheduler's health-check HTTP server takes a free port of localhost, not 8787, so that
        # two clusters (two sweeps, or a sweep beside the app) never collide
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        client = Client(cluster)
        name = f"LocalCluster, {n} worker process{'es' if n != 1 else ''}"
    else:
        try:
            client = Client(address, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError) as exc:
            raise OSError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        name = f"Dask scheduler {address}"
    futures = []
    try:
        by_key = {}
        for task in tasks:
            key = f"{key_of(task)}-{id(task):x}"
            future = client.submit(function, task, key=key, pure=False)
            by_key[future.key] = task
            futures.append(future)
        with _bar(len(tasks), progress, name, label) as bar:
            for future, result in as_completed(futures, with_results=True):
                finished(by_key[future.key], *result)
                bar.update()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return name
