"""Split the element-wise sampling of a Gibbs step over a few threads, by blocks of chains.

A sweep is two BLAS products, which use every BLAS thread, and two sampling kernels, which are serial numba
functions (``nogil``). With fast products the serial kernel becomes the cost that is left, so the engine may
run it on several row blocks of the chains at once: the calling thread samples the first block and persistent
helper threads of this module sample the others. Rows are independent and every chain owns its counter, so the
states do not depend on how the rows are split.

Why not numba's ``parallel=True``: its OpenMP/TBB workers spin after each call and fight OpenBLAS's spinning
workers for the same cores (benchmarks/README.md). The helpers here are plain Python threads that sleep on a
queue between tasks and release the GIL inside the kernels.

Several engines may step at once from several Python threads (the app runs one sampler per session). No caller
ever waits for a block that has not started: when its own block is done, it takes back every block no helper
has claimed yet and samples it itself. So callers never deadlock, and when the helpers are busy with other
callers' blocks a call degrades to the serial kernel, not to a queue.

How many threads: ``threads_for`` gives the engine's ``kernel_threads`` attribute if set, else the value of
``set_kernel_threads``, else the number of BLAS threads numpy's BLAS is limited to right now (threadpoolctl),
capped by the CPUs this process may run on. The app's server limits BLAS to one thread per process, so it keeps
the serial kernel; ``threadpool_limits`` in a script limits both alike.
"""

from __future__ import annotations

import os
import queue
import threading

__all__ = ["blas_threads", "run_row_blocks", "set_kernel_threads", "threads_for", "MIN_ELEMENTS_PER_BLOCK"]

#: A row block is worth handing to a helper only if it holds at least this many units (about 20 us of
#: sampling): waking a helper thread costs some microseconds.
MIN_ELEMENTS_PER_BLOCK = 16384
#: Never more threads than this, whatever is asked.
MAX_THREADS = 64

_configured: int | None = None


def set_kernel_threads(n: int | None) -> None:
    """Threads for the sampling kernels of every engine without its own ``kernel_threads``; ``None`` (the
    default) follows the BLAS thread limit in force."""
    global _configured
    if n is not None:
        n = int(n)
        if n < 1:
            raise ValueError(f"kernel threads must be at least 1, got {n}")
    _configured = n


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _BlasThreads:
    """The current thread limit of numpy's BLAS, read through threadpoolctl (a cheap call per read)."""

    def __init__(self):
        self._controller = None
        self._lock = threading.Lock()

    def _find(self):
        from threadpoolctl import ThreadpoolController

        blas = ThreadpoolController().select(user_api="blas").lib_controllers
        numpy_own = [c for c in blas if "numpy" in os.path.basename(os.path.dirname(c.filepath))]
        return (numpy_own or blas or [False])[0]

    def __call__(self) -> int:
        if self._controller is None:
            with self._lock:
                if self._controller is None:
                    self._controller = self._find()
        if self._controller is False:
            return 1
        return int(self._controller.num_threads or 1)


blas_threads = _BlasThreads()


def threads_for(requested: int | None = None) -> int:
    """Threads to sample with: ``requested`` (an engine's own setting) if given, else ``set_kernel_threads``'s
    value, else the BLAS thread limit in force capped by the available CPUs."""
    if requested is None:
        requested = _configured
    if requested is None:
        return max(1, min(blas_threads(), _cpu_count(), MAX_THREADS))
    return max(1, min(int(requested), MAX_THREADS))


class _Block:
    """One row block: ``claim`` decides who runs it (the first to call it), ``wait`` blocks until it ran."""

    __slots__ = ("func", "start", "stop", "_claim", "_done", "error")

    def __init__(self, func, start, stop):
        self.func, self.start, self.stop = func, start, stop
        self._claim = threading.Lock()
        self._done = threading.Lock()
        self._done.acquire()
        self.error = None

    def claim(self) -> bool:
        return self._claim.acquire(blocking=False)

    def run(self) -> None:
        try:
            self.func(self.start, self.stop)
        except BaseException as error:  # handed to the caller, which re-raises it
            self.error = error
        finally:
            self._done.release()

    def wait(self) -> None:
        self._done.acquire()
        self._done.release()


class _Helpers:
    """Daemon threads taking blocks from one queue shared by all callers; started on demand, restarted in a
    forked child (threads do not survive a fork)."""

    def __init__(self):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()

    def ensure(self, n: int) -> None:
        if self._count >= n:
            return
        with self._lock:
            while self._count < n:
                self._count += 1
                threading.Thread(target=self._serve, args=(self._queue,), name=f"rbm-kernel-{self._count}",
                                 daemon=True).start()

    @staticmethod
    def _serve(blocks: queue.SimpleQueue) -> None:
        while True:
            block = blocks.get()
            if block.claim():
                block.run()

    def submit(self, block: _Block) -> None:
        self._queue.put(block)

    def reset_after_fork(self) -> None:
        self._queue = queue.SimpleQueue()
        self._count = 0
        self._lock = threading.Lock()


_helpers = _Helpers()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_helpers.reset_after_fork)


def block_bounds(n_rows: int, n_elements: int, threads: int) -> list[int]:
    """Row boundaries of the blocks: at most ``threads`` blocks of at least ``MIN_ELEMENTS_PER_BLOCK`` units
    each (one block when the work is small), sizes differing by at most one row."""
    per_row = max(1, n_elements // max(1, n_rows))
    n_blocks = max(1, min(threads, n_rows, (n_rows * per_row) // MIN_ELEMENTS_PER_BLOCK))
    return [n_rows * k // n_blocks for k in range(n_blocks + 1)]


def run_row_blocks(func, n_rows: int, n_elements: int, threads: int) -> None:
    """Call ``func(start, stop)`` on row blocks covering ``range(n_rows)``, the first block in this thread and
    the others on helper threads when ``threads`` > 1 and the work is large enough (see ``block_bounds``).

    ``func`` must be safe to run on disjoint blocks at once (a ``nogil`` kernel on row slices). Returns when
    every block has run; the first error of a block is raised here.
    """
    bounds = block_bounds(n_rows, n_elements, threads)
    if len(bounds) == 2:
        func(0, n_rows)
        return
    blocks = [_Block(func, bounds[k], bounds[k + 1]) for k in range(1, len(bounds) - 1)]
    _helpers.ensure(len(blocks))
    for block in blocks:
        _helpers.submit(block)
    try:
        func(bounds[0], bounds[1])
    finally:
        # take back what no helper has started, then wait for the rest (they are running, so they finish)
        for block in reversed(blocks):  # helpers take blocks from the front of the queue
            if block.claim():
                block.run()
        for block in blocks:
            block.wait()
    for block in blocks:
        if block.error is not None:
            raise block.error
