"""Per-chain counter-based random numbers (SplitMix64).

Each chain owns one ``uint64`` counter. Its k-th 64-bit draw is the SplitMix64 output for the state
``counter + (k + 1) * golden``; after a call that used ``n`` draws the counter advances by ``n * golden``.
The output depends only on the chain's own counter, so results do not depend on how chains are split
across threads, and the draws of one row are independent of each other, which lets LLVM vectorise the loop.
SplitMix64 passes BigCrush; counters are seeded from a ``numpy.random.Generator``.

A draw gives one float32 uniform (``splitmix_uniform``: its top 24 bits), or two (``uniform_pair``: bits
40-63 and 16-39), which halves the generator's cost in the two-state kernel.
"""

import numba as nb
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = np.float32(1.0 / (1 << 24))


def seed_chain_states(n_chains: int, rng: np.random.Generator) -> np.ndarray:
    """Independent 64-bit counters for ``n_chains`` chains, drawn from ``rng``."""
    return rng.integers(0, np.iinfo(np.uint64).max, size=n_chains, dtype=np.uint64, endpoint=True)


@nb.njit(nogil=True, cache=True, inline="always")
def splitmix_uniform(counter, k):
    """The k-th float32 uniform in (0, 1) of a chain whose counter is ``counter``.

    The top 24 bits give ``(m + 0.5) / 2**24``, which is never 0 or 1.
    """
    return uniform_from_key(counter + np.uint64(k + 1) * GOLDEN)


@nb.njit(nogil=True, cache=True, inline="always")
def mix64(z):
    """The SplitMix64 output of state ``z`` (``counter + (k + 1) * golden`` for the k-th draw).

    A loop over a row keeps ``z`` and adds ``GOLDEN`` per draw instead of multiplying ``(k + 1) * GOLDEN``:
    the same numbers without one of the three 64-bit multiplications per draw, which AVX2 lacks and emulates.
    """
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@nb.njit(nogil=True, cache=True, inline="always")
def uniform_from_key(z):
    """The uniform of state ``z``: the top 24 bits m of its output give ``(m + 0.5) / 2**24``, never 0 or 1."""
    return (np.float32(np.int32(mix64(z) >> np.uint64(40))) + np.float32(0.5)) * _TO_UNIT


@nb.njit(nogil=True, cache=True, inline="always")
def bits24_uniform(m):
    """``(m + 0.5) / 2**24`` for a 24-bit integer m (uint64): in (0, 1), never 0 or 1."""
    return (np.float32(np.int32(m)) + np.float32(0.5)) * _TO_UNIT


@nb.njit(nogil=True, cache=True, inline="always")
def uniform_pair(z):
    """Two uniforms from the output r of state ``z``: from bits 40-63 and from bits 16-39 of r."""
    r = mix64(z)
    return bits24_uniform(r >> np.uint64(40)), bits24_uniform((r >> np.uint64(16)) & np.uint64(0xFFFFFF))


@nb.njit(nogil=True, cache=True, inline="always")
def advance(counter, n):
    """Counter after ``n`` draws."""
    return counter + np.uint64(n) * GOLDEN
