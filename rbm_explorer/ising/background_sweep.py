"""A β sweep in the background of a long-lived process (the app), on Dask, cancellable, keeping its points.

``BackgroundSweep(plan)`` submits the plan's tasks (``rbm_explorer.ising.sweep``: one per (L, β, replica block),
seeded by their key, so the numbers are those of ``run_sweep`` with the same plan) to the process-wide client of
``thread_client()``: Dask distributed with threads in this process (``processes=False``) and no dashboard, made
once, shared by every session. Nothing here starts a thread of its own. The owner calls ``collect()`` now and
then (the page's periodic callback): it gathers the finished tasks and turns every point whose blocks are all
done into a row. ``cancel()`` cancels what has not finished; the finished rows stay.
"""

from __future__ import annotations

import os
import threading
import time

from rbm_explorer.ising.sweep import SweepPlan, row_of, tasks_of, timed_task

_CLIENT = None
_CLIENT_LOCK = threading.Lock()


def thread_client(threads: int | None = None):
    """The process-wide Dask client: a ``LocalCluster`` of one worker with ``threads`` threads (default: one per
    core) in this process, without a dashboard. Made on first use; a closed one is replaced."""
    global _CLIENT
    from distributed import Client

    with _CLIENT_LOCK:
        if _CLIENT is None or _CLIENT.status not in ("running", "connecting", "newly-created"):
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            # no dashboard; the scheduler's small HTTP server (health checks) listens on a free port of
            # localhost instead of 8787 on every interface
            _CLIENT = Client(processes=False, dashboard_address=None, n_workers=1,
                             threads_per_worker=int(threads or cores), set_as_default=False,
                             scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
        return _CLIENT


class BackgroundSweep:
    """The tasks of ``plan`` running on ``client`` (default ``thread_client()``); ``rows`` grows as points finish."""

    def __init__(self, plan: SweepPlan, client=None):
        self.plan = plan
        self.client = client if client is not None else thread_client()
        self.tasks = tasks_of(plan)
        if not self.tasks:
            raise ValueError("the sweep has no points")
        self.started = time.monotonic()
        self._pending = {}
        for task in self.tasks:
            key = f"page-sweep-L{task.L}-beta{task.beta:.6g}-block{task.block}-{id(self):x}"
            self._pending[self.client.submit(timed_task, task, key=key, pure=False)] = task
        self._blocks: dict[tuple, list] = {}
        self._seconds: dict[tuple, float] = {}
        self.done_tasks = 0
        self.rows: list[dict] = []
        self.cancelled = False
        self.error = ""

    @property
    def total_tasks(self) -> int:
        return len(self.tasks)

    @property
    def progress(self) -> float:
        """Finished tasks over all tasks, in [0, 1]."""
        return self.done_tasks / self.total_tasks

    @property
    def finished(self) -> bool:
        """Every task has finished, or the rest was cancelled, or one failed."""
        return not self._pending or self.cancelled or bool(self.error)

    def collect(self) -> bool:
        """Gather finished tasks; returns True when a new row came. A failed task stops the sweep with its
        message in ``error`` (the rows finished before stay)."""
        n_blocks = len(self.plan.blocks())
        new_row = False
        for future in [f for f in self._pending if f.done()]:
            task = self._pending.pop(future)
            if future.status == "cancelled":
                continue
            if future.status == "error":
                self.error = f"the sweep task at L = {task.L}, beta = {task.beta:.4g} failed: {future.exception()}"
                self.cancel()
                break
            series, seconds = future.result()
            self.done_tasks += 1
            point = (task.L, task.beta)
            self._blocks.setdefault(point, [None] * n_blocks)[task.block] = series
            self._seconds[point] = self._seconds.get(point, 0.0) + seconds
            if all(b is not None for b in self._blocks[point]):
                self.rows.append(row_of(self.plan, task.L, task.beta, self._blocks.pop(point), self._seconds.pop(point)))
                self.rows.sort(key=lambda r: (int(r["L"]), float(r["beta"])))
                new_row = True
        return new_row

    def cancel(self) -> None:
        """Cancel the tasks that have not finished; finished rows are kept (``collect`` first to keep them all)."""
        if not self.error and not self.cancelled:
            self.collect()
        pending = list(self._pending)
        if pending:
            self.client.cancel(pending)
        self._pending.clear()
        self.cancelled = True

