"""Numba kernels: pure array functions with preallocated outputs and per-chain random states.

Everything here is ``nogil=True, cache=True`` and serial: none uses numba's ``parallel=True``. The Gibbs step
spends most of its time in two multi-threaded BLAS products, and numba's parallel layer fought OpenBLAS's
spinning threads for the cores (see ``benchmarks/README.md``). A serial kernel is also safe to call from
several Python threads at once, which the app does with one sampler per browser session.

Each sampler also has a ``*_claimed`` form for one job shared by several threads: each thread claims blocks of
rows from an atomic counter (``atomics``). ``rbm_explorer.sampling.kernel_threads`` runs it on the calling
thread and on helper threads; the chains do not depend on how the rows were shared.
"""

from rbm_explorer._kernels.random import seed_chain_states
from rbm_explorer._kernels.sampling import (
    sample_categorical_claimed,
    sample_categorical_into,
    sample_gaussian_claimed,
    sample_gaussian_into,
    sample_two_state_claimed,
    sample_two_state_into,
    wait_for_rows,
)

__all__ = [
    "seed_chain_states",
    "sample_two_state_into",
    "sample_categorical_into",
    "sample_gaussian_into",
    "sample_two_state_claimed",
    "sample_categorical_claimed",
    "sample_gaussian_claimed",
    "wait_for_rows",
]
