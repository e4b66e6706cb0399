"""Numba kernels: pure array functions with preallocated outputs and per-chain random states.

Everything here is ``nogil=True, cache=True`` and serial. The Gibbs step spends most of its time in two
multi-threaded BLAS products; a serial sampling kernel between them reached 84-96 % of the product-only
ceiling on 2 cores, while numba's parallel layer fought OpenBLAS's spinning threads (see
``benchmarks/README.md``). A serial kernel is also safe to call from several Python threads at once, which
the app does with one sampler per browser session.
"""

from rbm_explorer._kernels.random import seed_chain_states
from rbm_explorer._kernels.sampling import (
    sample_categorical_into,
    sample_gaussian_into,
    sample_two_state_into,
)

__all__ = [
    "seed_chain_states",
    "sample_two_state_into",
    "sample_categorical_into",
    "sample_gaussian_into",
]
