"""Split the element-wise sampling of a Gibbs step over a few threads, by rows (chains).

A sweep is two BLAS products, which use every BLAS thread, and two sampling kernels, serial numba functions
(``nogil``). With fast products the serial kernel is the cost that is left, so the engine runs it on several
threads at once: the calling thread and persistent helper threads of this module run the same ``*_claimed``
kernel on one job, each claiming small blocks of rows from an atomic counter until none is left. Rows are
independent and every chain owns its counter, so the states do not depend on who sampled which rows.

Three things make this pay on 2 cores right after a multi-threaded OpenBLAS product (benchmarks/README.md):
- The claim loop runs inside the ``nogil`` kernel, so a helper needs the GIL only to start. Claiming blocks
  from Python, a helper pre-empted while holding the GIL stalled the caller.
- Dynamic claiming: OpenBLAS's worker spins for a while after each product, so a helper on the other core
  gets only part of it; it samples what it can, the caller the rest.
- Each helper is pinned to a CPU other than the caller's: otherwise Linux wakes it on the caller's own CPU.
numba's ``parallel=True`` layers lost instead: their workers and OpenBLAS's fought for the cores.

Several engines may step at once from several Python threads (the app runs one sampler per session). A caller
never waits for rows nobody has started: it claims rows like any helper, so it finishes its job alone if the
helpers are busy, and at the end it waits only for blocks a helper is sampling at that moment. Callers do not
deadlock, and busy helpers make a call serial, not queued.

How many threads: ``threads_for`` gives the engine's ``kernel_threads`` attribute if set, else the value of
``set_kernel_threads``, else the number of BLAS threads numpy's BLAS is limited to right now (threadpoolctl),
capped by the CPUs this process may run on. The app's server limits BLAS to one thread per process, so it keeps
the serial kernels; ``threadpool_limits`` in a script limits both alike.
"""

from __future__ import annotations

import os
import queue
import threading

import numpy as np

from rbm_explorer._kernels.sampling import wait_for_rows

__all__ = ["blas_threads", "claimed_plan", "run_claimed", "set_kernel_threads", "threads_for", "worth_splitting"]

#: A layer is split only from this many units on (about 35 us of binary sampling): waking a helper costs
#: some microseconds.
MIN_UNITS_TO_SPLIT = 32768
#: Threads claim rows in blocks of about this many units (about 9 us of binary sampling), so that the
#: caller never waits long for a block a helper is still sampling.
UNITS_PER_CLAIM = 8192
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


class _Helpers:
    """Daemon threads taking jobs from one queue shared by all callers; started on demand, restarted in a
    forked child (threads do not survive a fork)."""

    def __init__(self):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._pinned: list[int | None] = []
        self._lock = threading.Lock()

    def ensure(self, n: int) -> None:
        if len(self._threads) >= n:
            return
        with self._lock:
            while len(self._threads) < n:
                thread = threading.Thread(target=self._serve, args=(self._queue,), daemon=True,
                                          name=f"rbm-kernel-{len(self._threads) + 1}")
                thread.start()
                self._threads.append(thread)
                self._pinned.append(None)

    @staticmethod
    def _serve(jobs: queue.SimpleQueue) -> None:
        while True:
            kernel, args, work, rows_per_claim = jobs.get()
            try:
                kernel(*args, work, rows_per_claim)
            except Exception:  # pragma: no cover - a kernel raises before it claims rows; the caller does them
                pass

    def dispatch(self, n: int, kernel, args, work, rows_per_claim) -> None:
        """Hand a job to ``n`` helpers, each placed on a CPU other than the caller's (see ``_place``)."""
        self.ensure(n)
        cpus = _other_cpus()
        for i in range(n):
            if cpus:
                self._place(i, cpus[i % len(cpus)])
            self._queue.put((kernel, args, work, rows_per_claim))

    def _place(self, i: int, cpu: int) -> None:
        """Pin helper ``i`` to ``cpu``. Without it Linux wakes the helper on the caller's own CPU, because the
        other one is busy with OpenBLAS's worker, which spins after each product: the helper then pre-empts
        the caller instead of sharing the spinning core (measured: no gain; pinned, 1.3-1.6x)."""
        if self._pinned[i] == cpu:
            return
        try:
            os.sched_setaffinity(self._threads[i].native_id, {cpu})
            self._pinned[i] = cpu
        except (AttributeError, OSError):  # pragma: no cover - no affinity control here
            pass

    def reset_after_fork(self) -> None:
        self._queue = queue.SimpleQueue()
        self._threads = []
        self._pinned = []
        self._lock = threading.Lock()


_helpers = _Helpers()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_helpers.reset_after_fork)


def _load_sched_getcpu():
    try:
        import ctypes

        getcpu = ctypes.CDLL(None, use_errno=True).sched_getcpu
        getcpu.restype = ctypes.c_int
        getcpu.argtypes = []
        return getcpu
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None


_sched_getcpu = _load_sched_getcpu()


def _other_cpus() -> list[int]:
    """CPUs this thread may run on, except the one it is running on now (empty if that is unknown)."""
    if _sched_getcpu is None or not hasattr(os, "sched_getaffinity"):
        return []
    here = _sched_getcpu()
    if here < 0:
        return []
    return [cpu for cpu in sorted(os.sched_getaffinity(0)) if cpu != here]


def claim_size(units_per_row: int) -> int:
    """Rows per claim: about ``UNITS_PER_CLAIM`` units."""
    return max(1, UNITS_PER_CLAIM // max(1, units_per_row))


def worth_splitting(n_rows: int, units_per_row: int, threads: int) -> bool:
    """Whether a layer of ``n_rows`` x ``units_per_row`` units goes to several threads."""
    return threads > 1 and n_rows > 1 and n_rows * units_per_row >= MIN_UNITS_TO_SPLIT


def run_claimed(kernel, args: tuple, n_rows: int, units_per_row: int, threads: int) -> int:
    """Run ``kernel(*args, work, rows_per_claim)`` (a ``_kernels.sampling.*_claimed`` kernel) over
    ``n_rows`` rows on up to ``threads`` threads: this one and ``threads - 1`` helpers, when there are at
    least ``MIN_UNITS_TO_SPLIT`` units. Returns the number of threads the job was offered to.

    The calling thread claims rows like any helper, so it finishes the job alone if no helper gets to it;
    at the end it waits only for rows that a helper has claimed and is sampling right now.
    """
    work = np.zeros(2, np.int64)
    if not worth_splitting(n_rows, units_per_row, threads):
        kernel(*args, work, max(1, n_rows))
        return 1
    rows_per_claim = claim_size(units_per_row)
    helpers = min(threads - 1, -(-n_rows // rows_per_claim) - 1)
    if helpers >= 1:
        _helpers.dispatch(helpers, kernel, args, work, rows_per_claim)
    kernel(*args, work, rows_per_claim)
    wait_for_rows(work, n_rows)
    return 1 + helpers


def claimed_plan(layer, inputs, beta: float, states, out):
    """``(kernel, args, units_per_row)`` that samples like ``layer.sample_from_inputs(inputs, beta, states,
    out)`` with the claimed form of the layer's kernel (``Layer.sampling_kernels``), or None when the layer has
    none or samples in a way of its own (it is then sampled serially by the layer itself).
    tests/test_kernel_split.py checks, for every kind, that both ways give the same chains bit for bit.
    """
    from rbm_explorer.layers import Layer

    if type(layer).sample_from_inputs is not Layer.sample_from_inputs:
        return None  # the layer samples in its own way; its kernels may not describe it
    _, claimed, args = layer.sampling_kernels(inputs, beta, states, out)
    return None if claimed is None else (claimed, args, inputs.shape[1])
