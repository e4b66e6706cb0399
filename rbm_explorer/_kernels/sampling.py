"""Element-wise samplers of the unit kinds, given the inputs from the other layer.

All take ``inputs`` (chains x features, float32, fields not yet added), the layer's ``fields``, the inverse
temperature ``beta``, the per-chain counters ``states`` (advanced in place) and a preallocated ``out``.
"""

import numba as nb
import numpy as np

from rbm_explorer._kernels.atomics import atomic_fetch_add, atomic_load, spin_pause
from rbm_explorer._kernels.fastmath import exp32
from rbm_explorer._kernels.random import GOLDEN, advance, splitmix_uniform, uniform_pair


@nb.njit(nogil=True, cache=True, fastmath=True, inline="always")
def two_state_chain(inputs, fields, scale, low, high, states, out, c):
    """Sample row ``c`` of ``sample_two_state_into`` (one chain, its own stream).

    Units 2k and 2k + 1 share the chain's k-th 64-bit draw (``uniform_pair``), so a row of n units advances
    the counter by ceil(n / 2). Two passes over the row, which stays in L1: the uniforms go into ``out``, then
    each is compared with its unit's probability (so ``out`` must not overlap ``inputs``). Each loop
    vectorises with fewer live registers than one fused loop.
    """
    n = inputs.shape[1]
    pairs = n // 2
    one = np.float32(1.0)
    s = states[c]
    x, o = inputs[c], out[c]
    z = s
    for k in range(pairs):
        z += GOLDEN
        o[2 * k], o[2 * k + 1] = uniform_pair(z)
    if n % 2:
        z += GOLDEN
        o[n - 1] = uniform_pair(z)[0]
    for j in range(n):
        e = exp32(-scale * (x[j] + fields[j]))
        o[j] = high if o[j] * (one + e) < one else low
    states[c] = advance(s, pairs + n % 2)


@nb.njit(nogil=True, cache=True, fastmath=True)
def sample_two_state_into(inputs, fields, scale, low, high, states, out):
    """Units with two values: ``out = high`` with probability sigmoid(scale * (inputs + fields)), else ``low``.

    Binary units use scale = beta, (low, high) = (0, 1); spin units use scale = 2 beta, (low, high) = (-1, 1),
    since p(s = +1 | x) = e^x / (e^x + e^-x) = sigmoid(2x). The comparison ``u (1 + e^-z) < 1`` is the same
    as ``u < sigmoid(z)`` without a division. ``out`` must be an array of its own (not ``inputs``).
    """
    for c in range(inputs.shape[0]):
        two_state_chain(inputs, fields, scale, low, high, states, out, c)


@nb.njit(nogil=True, cache=True, fastmath=True, inline="always")
def categorical_chain(inputs, fields, beta, states, out, weights, c):
    """Sample row ``c`` of ``sample_categorical_into``; ``weights`` is scratch space of q floats."""
    n_sites, q = inputs.shape[1], inputs.shape[2]
    s = states[c]
    for i in range(n_sites):
        top = beta * (inputs[c, i, 0] + fields[i, 0])
        for a in range(1, q):
            top = max(top, beta * (inputs[c, i, a] + fields[i, a]))
        total = np.float32(0.0)
        for a in range(q):
            weights[a] = exp32(beta * (inputs[c, i, a] + fields[i, a]) - top)
            total += weights[a]
        target = splitmix_uniform(s, i) * total
        chosen = q - 1
        cumulative = np.float32(0.0)
        for a in range(q):
            cumulative += weights[a]
            if target < cumulative:
                chosen = a
                break
        for a in range(q):
            out[c, i, a] = np.float32(1.0) if a == chosen else np.float32(0.0)
    states[c] = advance(s, n_sites)


@nb.njit(nogil=True, cache=True, fastmath=True)
def sample_categorical_into(inputs, fields, beta, states, out):
    """One-hot categorical (Potts) units: ``inputs``, ``fields`` and ``out`` are (chains x sites x q).

    p(x_i = a) = softmax_a(beta (inputs_ia + fields_ia)); one uniform per site, inverse-CDF selection.
    """
    weights = np.empty(inputs.shape[2], dtype=np.float32)
    for c in range(inputs.shape[0]):
        categorical_chain(inputs, fields, beta, states, out, weights, c)


@nb.njit(nogil=True, cache=True, inline="always")
def gaussian_chain(inputs, fields, beta, states, out, c):
    """Sample row ``c`` of ``sample_gaussian_into`` (compiled without fastmath, as its callers)."""
    n = inputs.shape[1]
    sd = np.float32(1.0 / np.sqrt(beta))
    two_pi = np.float32(2.0 * np.pi)
    s = states[c]
    for j in range(n):
        u1 = splitmix_uniform(s, 2 * j)
        u2 = splitmix_uniform(s, 2 * j + 1)
        z = np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(two_pi * u2)
        out[c, j] = inputs[c, j] + fields[j] + sd * z
    states[c] = advance(s, 2 * n)


@nb.njit(nogil=True, cache=True)
def sample_gaussian_into(inputs, fields, beta, states, out):
    """Unit-variance Gaussian units: x ~ N(inputs + fields, 1 / beta), by Box-Muller on two uniforms per unit."""
    for c in range(inputs.shape[0]):
        gaussian_chain(inputs, fields, beta, states, out, c)


# --- the same kernels for a job shared by several threads ---------------------------------------------------
# ``work`` is an int64 array of 2: work[0] the next row to claim, work[1] the rows finished. Each thread that
# runs the kernel on the same job claims blocks of ``rows_per_claim`` rows until none is left, and returns the
# number of rows it sampled; ``wait_for_rows`` blocks (spinning) until every claimed row is finished. A row
# depends only on its own inputs and counter, so the result does not depend on which thread took which rows.

@nb.njit(nogil=True, cache=True, fastmath=True)
def sample_two_state_claimed(inputs, fields, scale, low, high, states, out, work, rows_per_claim):
    """``sample_two_state_into`` on the rows this thread claims from ``work``."""
    n, done = inputs.shape[0], 0
    while True:
        start = atomic_fetch_add(work, 0, rows_per_claim)
        if start >= n:
            return done
        stop = min(n, start + rows_per_claim)
        for c in range(start, stop):
            two_state_chain(inputs, fields, scale, low, high, states, out, c)
        atomic_fetch_add(work, 1, stop - start)
        done += stop - start


@nb.njit(nogil=True, cache=True, fastmath=True)
def sample_categorical_claimed(inputs, fields, beta, states, out, work, rows_per_claim):
    """``sample_categorical_into`` on the rows this thread claims from ``work``."""
    n, done = inputs.shape[0], 0
    weights = np.empty(inputs.shape[2], dtype=np.float32)
    while True:
        start = atomic_fetch_add(work, 0, rows_per_claim)
        if start >= n:
            return done
        stop = min(n, start + rows_per_claim)
        for c in range(start, stop):
            categorical_chain(inputs, fields, beta, states, out, weights, c)
        atomic_fetch_add(work, 1, stop - start)
        done += stop - start


@nb.njit(nogil=True, cache=True)
def sample_gaussian_claimed(inputs, fields, beta, states, out, work, rows_per_claim):
    """``sample_gaussian_into`` on the rows this thread claims from ``work``."""
    n, done = inputs.shape[0], 0
    while True:
        start = atomic_fetch_add(work, 0, rows_per_claim)
        if start >= n:
            return done
        stop = min(n, start + rows_per_claim)
        for c in range(start, stop):
            gaussian_chain(inputs, fields, beta, states, out, c)
        atomic_fetch_add(work, 1, stop - start)
        done += stop - start


@nb.njit(nogil=True, cache=True)
def wait_for_rows(work, n_rows):
    """Return once ``work[1]`` (rows finished) reaches ``n_rows``; spins, so call it only when the missing rows
    are being sampled right now by other threads (every row was claimed)."""
    while atomic_load(work, 1) < n_rows:
        spin_pause()
