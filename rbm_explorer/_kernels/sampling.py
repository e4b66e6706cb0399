"""Element-wise samplers of the unit kinds, given the inputs from the other layer.

All take ``inputs`` (chains x features, float32, fields not yet added), the layer's ``fields``, the inverse
temperature ``beta``, the per-chain counters ``states`` (advanced in place) and a preallocated ``out``.
"""

import numba as nb
import numpy as np

from rbm_explorer._kernels.fastmath import exp32
from rbm_explorer._kernels.random import GOLDEN, advance, splitmix_uniform, uniform_from_key


@nb.njit(nogil=True, cache=True, fastmath=True, inline="always")
def two_state_chain(inputs, fields, scale, low, high, states, out, c):
    """Sample row ``c`` of ``sample_two_state_into`` (one chain, its own stream).

    Two passes over the row, which stays in L1: the uniforms go into ``out``, then each is compared with its
    unit's probability, so ``out`` must not overlap ``inputs``. Each loop vectorises with fewer live registers
    than one fused loop: 1.50 -> 1.35 ns per unit on an AMD EPYC (AVX2); the numbers drawn are the same.
    """
    n = inputs.shape[1]
    one = np.float32(1.0)
    s = states[c]
    x, o = inputs[c], out[c]
    z = s
    for j in range(n):
        z += GOLDEN
        o[j] = uniform_from_key(z)
    for j in range(n):
        e = exp32(-scale * (x[j] + fields[j]))
        o[j] = high if o[j] * (one + e) < one else low
    states[c] = advance(s, n)


@nb.njit(nogil=True, cache=True, fastmath=True)
def sample_two_state_into(inputs, fields, scale, low, high, states, out):
    """Units with two values: ``out = high`` with probability sigmoid(scale * (inputs + fields)), else ``low``.

    Binary units use scale = beta, (low, high) = (0, 1); spin units use scale = 2 beta, (low, high) = (-1, 1),
    since p(s = +1 | x) = sigmoid(2x) (PAPERS.md section 0). The comparison ``u (1 + e^-z) < 1`` is the same
    as ``u < sigmoid(z)`` without a division. ``out`` must be an array of its own (not ``inputs``).
    """
    for c in range(inputs.shape[0]):
        two_state_chain(inputs, fields, scale, low, high, states, out, c)


@nb.njit(nogil=True, cache=True, fastmath=True)
def sample_categorical_into(inputs, fields, beta, states, out):
    """One-hot categorical (Potts) units: ``inputs``, ``fields`` and ``out`` are (chains x sites x q).

    p(x_i = a) = softmax_a(beta (inputs_ia + fields_ia)); one uniform per site, inverse-CDF selection.
    """
    n_chains, n_sites, q = inputs.shape
    weights = np.empty(q, dtype=np.float32)
    for c in range(n_chains):
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


@nb.njit(nogil=True, cache=True)
def sample_gaussian_into(inputs, fields, beta, states, out):
    """Unit-variance Gaussian units: x ~ N(inputs + fields, 1 / beta), by Box-Muller on two uniforms per unit."""
    n_chains, n = inputs.shape
    sd = np.float32(1.0 / np.sqrt(beta))
    two_pi = np.float32(2.0 * np.pi)
    for c in range(n_chains):
        s = states[c]
        for j in range(n):
            u1 = splitmix_uniform(s, 2 * j)
            u2 = splitmix_uniform(s, 2 * j + 1)
            z = np.sqrt(np.float32(-2.0) * np.log(u1)) * np.cos(two_pi * u2)
            out[c, j] = inputs[c, j] + fields[j] + sd * z
        states[c] = advance(s, 2 * n)
