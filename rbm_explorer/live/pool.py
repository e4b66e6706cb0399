"""The shared pool: a fixed set of worker threads that serves the ticks of every runner in a process.

A classroom opens 30 sessions on a 2-core server. A thread per session gives each of them the machine's
attention in turns decided by the operating system, and a bound on threads refuses students. The pool instead
keeps one worker per core and hands the ticks of all runners to them in *weighted fair shares*:

* every runner has a virtual time, advanced after each of its ticks by the tick's duration divided by the
  runner's ``share`` (by default 1; the Morph page sets it from the user's requested sweeps per second);
* a free worker takes the ready runner with the smallest virtual time, so over any stretch of time each busy
  runner gets CPU in proportion to its share, and a loaded server gives every session fewer steps per second
  instead of refusing some of them;
* a runner that waits for its own rate (``tick`` returned a delay) sleeps in a timer queue and costs nothing;
  a paused or hidden one is parked until it is woken (a command, a control change, a stop) and costs nothing;
* a runner that comes back from a sleep or a park gets at least the virtual time of the last tick dispatched,
  so a long rest does not become a long monopoly.

The workers run at a lower priority than the rest of the process (``WORKER_NICENESS``), so the server's event
loop, which sends the frames and answers the clicks, never waits behind them.

The pool is the only place where live work gets a thread (``ThreadPerRunner`` remains for scripts and
tests). Random streams belong to the computations, never to workers, so which worker runs a tick changes no
result. The numba kernels and BLAS release the GIL, so two workers really run two ticks at once.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time

from rbm_explorer.live.policy import ExecutionPolicy

PARKED, READY, SLEEPING, RUNNING, GONE = "parked", "ready", "sleeping", "running", "gone"
WORKER_NICENESS = 10  # how much lower than the process the workers' threads run (Linux; 0 leaves them alone;
# $RBM_EXPLORER_WORKER_NICENESS overrides it)


def _setting(name: str, default: int, minimum: int) -> int:
    """The integer ``$name`` (at least ``minimum``), else ``default``; a ``ValueError`` names a bad value."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value}")
    return value


def default_workers() -> int:
    """``$RBM_EXPLORER_POOL_WORKERS``, else one per core. ``rbm-explorer serve --num-procs P`` sets it to the
    cores over P, so that P processes together have one worker per core, not P per core fighting for them."""
    return _setting("RBM_EXPLORER_POOL_WORKERS", os.cpu_count() or 1, 1)


def lower_thread_priority(niceness: int) -> None:
    """Lower the calling thread's priority by ``niceness`` (Linux schedules threads one by one; elsewhere,
    or without the right, nothing happens).

    The pool's workers always have work on a loaded server: a class's chains want more sweeps than 2 cores
    give. At the same priority the server's event loop, which sends every frame and answers every click, got
    a third of a core beside two busy workers, and frames and flips waited for it. A niced worker yields to
    the loop whenever the loop has something to do, and takes the rest."""
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except OSError:
        pass


class PoolTask:
    """The pool's record of one runner: where it is in the schedule and its virtual time."""

    __slots__ = ("runner", "virtual_time", "where", "woken", "generation", "ticks", "busy_seconds")

    def __init__(self, runner, virtual_time: float):
        self.runner = runner
        self.virtual_time = virtual_time
        self.where = READY
        self.woken = False  # a wake-up arrived while a worker was running this task's tick
        self.generation = 0  # bumps when the task leaves a queue, so stale heap entries are skipped
        self.ticks = 0
        self.busy_seconds = 0.0

    @property
    def share(self) -> float:
        share = getattr(self.runner, "share", 1.0)
        return share if share and share > 0 else 1.0


class SharedPool(ExecutionPolicy):
    """``workers`` threads (default: one per core) serving any number of runners in weighted fair shares."""

    def __init__(self, workers: int | None = None, name: str = "rbm-pool"):
        workers = workers if workers is not None else default_workers()
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, got {workers}")
        self.workers = int(workers)
        self.niceness = _setting("RBM_EXPLORER_WORKER_NICENESS", WORKER_NICENESS, 0)
        self.name = name
        self._cond = threading.Condition()
        self._ready: list = []  # (virtual time, order, generation, task)
        self._sleeping: list = []  # (due time, order, generation, task)
        self._tasks: dict[int, PoolTask] = {}
        self._order = itertools.count()
        self._virtual_now = 0.0
        self._threads: list[threading.Thread] = []
        self._closed = False

    # --- the policy --------------------------------------------------------------------------------------------
    def launch(self, runner) -> PoolTask:
        """Serve ``runner`` from now on; its wake-ups reach the pool through ``runner.attach_waker``."""
        with self._cond:
            if self._closed:
                raise RuntimeError(f"{self.name} is shut down")
            task = PoolTask(runner, self._virtual_now)
            self._tasks[id(task)] = task
            runner.attach_waker(lambda: self._wake(task))
            self._push_ready(task)
            self._start_workers()
            self._cond.notify()
        return task

    # --- what tests and the status page read -------------------------------------------------------------------
    @property
    def tasks(self) -> int:
        """Runners the pool serves now (ended ones are gone)."""
        with self._cond:
            return len(self._tasks)

    def runner_names(self) -> list[str]:
        """The names of the runners the pool serves now."""
        with self._cond:
            return [task.runner.name for task in self._tasks.values()]

    def counts(self) -> dict[str, int]:
        """How many tasks are ready, running, sleeping for their rate, and parked."""
        with self._cond:
            out = {PARKED: 0, READY: 0, SLEEPING: 0, RUNNING: 0}
            for task in self._tasks.values():
                out[task.where] += 1
            return out

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every runner, let the workers finish them, and end the workers."""
        with self._cond:
            runners = [t.runner for t in self._tasks.values()]
        for runner in runners:
            runner.stop(timeout=0)
        deadline = time.monotonic() + timeout
        while self.tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # --- scheduling (all under the condition's lock) -----------------------------------------------------------
    def _push_ready(self, task: PoolTask) -> None:
        task.generation += 1
        task.where = READY
        task.virtual_time = max(task.virtual_time, self._virtual_now)
        heapq.heappush(self._ready, (task.virtual_time, next(self._order), task.generation, task))

    def _push_sleeping(self, task: PoolTask, due: float) -> None:
        task.generation += 1
        task.where = SLEEPING
        heapq.heappush(self._sleeping, (due, next(self._order), task.generation, task))

    def _wake(self, task: PoolTask) -> None:
        with self._cond:
            if task.where == RUNNING:
                task.woken = True
            elif task.where in (PARKED, SLEEPING):
                self._push_ready(task)
                self._cond.notify()

    def _start_workers(self) -> None:
        while len(self._threads) < self.workers:
            thread = threading.Thread(target=self._work, name=f"{self.name}-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _next(self) -> PoolTask | None:
        """Wait for the ready task with the smallest virtual time (None once the pool is shut down)."""
        while True:
            if self._closed:
                return None
            now = time.monotonic()
            while self._sleeping and self._sleeping[0][0] <= now:
                _, _, generation, task = heapq.heappop(self._sleeping)
                if generation == task.generation and task.where == SLEEPING:
                    self._push_ready(task)
            while self._ready:
                virtual_time, _, generation, task = heapq.heappop(self._ready)
                if generation == task.generation and task.where == READY:
                    task.where = RUNNING
                    task.woken = False
                    self._virtual_now = max(self._virtual_now, virtual_time)
                    return task
            task = None  # a stale entry just skipped must not stay alive while this worker waits
            timeout = self._sleeping[0][0] - now if self._sleeping else None
            self._cond.wait(timeout)

    def _work(self) -> None:
        lower_thread_priority(self.niceness)
        while True:
            with self._cond:
                task = self._next()
            if task is None:
                return
            runner = task.runner
            started = time.perf_counter()
            delay, ended = None, False
            try:
                if runner.done:
                    runner.finish()
                    ended = True
                else:
                    delay = runner.tick()
            except BaseException as exc:  # never die silently: the last snapshot carries the error
                try:
                    runner.finish(failure=exc)
                finally:
                    ended = True
            elapsed = time.perf_counter() - started
            with self._cond:
                task.ticks += 1
                task.busy_seconds += elapsed
                task.virtual_time += elapsed / task.share
                if ended:
                    task.where = GONE
                    task.generation += 1
                    self._tasks.pop(id(task), None)
                elif task.woken or runner.done or delay == 0:
                    self._push_ready(task)
                    self._cond.notify()
                elif delay is None:
                    task.generation += 1
                    task.where = PARKED
                else:
                    self._push_sleeping(task, time.monotonic() + delay)
                    self._cond.notify()
            # a worker waiting for its next task must not keep an ended runner (and its engine) alive
            task = runner = None


_SHARED: SharedPool | None = None
_SHARED_LOCK = threading.Lock()


def shared_pool() -> SharedPool:
    """The process's pool, created on first use with one worker per core."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = SharedPool()
        return _SHARED
