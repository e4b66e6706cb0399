"""Checkerboard Metropolis for the 2D Ising model on int8 sublattices, one counter-based stream per replica.

Layout (even L). Site (y, x) has colour c = (y + x) mod 2. Sublattice c of a replica is an L × L/2 int8 array
``sub[c, y, k]`` holding the site x = 2k + ((y + c) mod 2). All four neighbours of a colour-c site lie in the
other sublattice, at ``other[y-1, k]``, ``other[y+1, k]``, ``other[y, k]`` and ``other[y, k + d]`` with
d = +1 when (y + c) is odd and d = -1 when it is even. A half-sweep updates every site of one colour, which are
independent of each other given the other colour, so each row is one contiguous loop that LLVM vectorises.

Acceptance. ΔE of flipping s is 2 s (J n + h), n the sum of the four neighbours, so there are ten cases
(s = ±1, n = -4..4 in steps of 2). ``thresholds[case]`` is round(min(1, e^{-β ΔE}) · 2^30) (an int32), and a
flip is accepted when a 30-bit uniform integer u is below it: the acceptance probability is the threshold
over 2^30 exactly, within 5e-10 of the Metropolis value, and exactly 1 when ΔE ≤ 0.

Random numbers. Replica r owns a SplitMix64 counter (``_kernels.random``); the half-sweep of colour c in row y
of that replica's t-th sweep uses the draws numbered ((2t + c) L + y) ceil(L/4) + k, two 30-bit uniforms per
64-bit draw. The stream depends only on the replica, so a run gives the same lattices on any number of
threads; after a call of n sweeps the counter has advanced by 2 n L ceil(L/4) draws.
"""

import numba as nb
import numpy as np

from rbm_explorer._kernels.atomics import atomic_fetch_add
from rbm_explorer._kernels.random import GOLDEN, advance, mix64

_MASK30 = np.uint64((1 << 30) - 1)
ONE_30 = 1 << 30


def acceptance_thresholds(beta: float, coupling: float, field: float, zero_move: float = 1.0) -> np.ndarray:
    """The ten int32 acceptance thresholds, indexed by ``case = 5 (s + 1) / 2 + (n + 4) / 2``.

    ``zero_move`` is the acceptance of a flip with ΔE = 0: 1 for Metropolis, 1/2 for the typewriter sweep of odd
    L (``sequential_sweeps``). Any value keeps detailed balance, since such a flip and its reverse are alike.
    """
    out = np.empty(10, np.int32)
    for s_index, s in enumerate((-1, 1)):
        for n_index, n in enumerate(range(-4, 5, 2)):
            delta = 2.0 * s * (coupling * n + field)
            p = zero_move if delta == 0 else (1.0 if delta < 0 else float(np.exp(-beta * delta)))
            out[5 * s_index + n_index] = int(round(p * ONE_30))
    return out


def draws_per_sweep(L: int) -> int:
    """64-bit draws one sweep uses: two colours, L rows, ceil(L/4) draws per row (two uniforms each)."""
    return 2 * L * ((L // 2 + 1) // 2)


@nb.njit(nogil=True, cache=True, inline="always")
def _threshold(thresholds, s, n):
    return thresholds[5 * ((s + 1) >> 1) + ((n + 4) >> 1)]


@nb.njit(nogil=True, cache=True, inline="always")
def _pick(n, t0, t1, t2, t3, t4):
    """The threshold of neighbour sum n = -4, -2, 0, 2, 4 as a chain of selects: a table lookup would be a
    gather, which kept the row loop from vectorising (3.5 ns a site instead of 0.7)."""
    return t0 if n == -4 else (t1 if n == -2 else (t2 if n == 0 else (t3 if n == 2 else t4)))


@nb.njit(nogil=True, cache=True, fastmath=True, inline="always")
def _update_row_field_free(row, above, below, same, fourth, u, t0, t1, t2, t3, t4):
    """Without a field the threshold depends on s n only: one chain of selects on it."""
    for k in range(row.shape[0]):
        s = row[k]
        n = np.int8(np.int8(above[k] + below[k]) + np.int8(same[k] + fourth[k]))
        sn = np.int8(s * n)
        row[k] = np.int8(-s) if u[k] < _pick(sn, t0, t1, t2, t3, t4) else s


@nb.njit(nogil=True, cache=True, fastmath=True, inline="always")
def _update_row(row, above, below, same, fourth, u, m0, m1, m2, m3, m4, p0, p1, p2, p3, p4):
    """With a field: the chain of spin -1 or of spin +1."""
    for k in range(row.shape[0]):
        s = np.int32(row[k])
        n = np.int32(above[k]) + np.int32(below[k]) + np.int32(same[k]) + np.int32(fourth[k])
        t = _pick(n, p0, p1, p2, p3, p4) if s > 0 else _pick(n, m0, m1, m2, m3, m4)
        row[k] = -s if u[k] < t else s


@nb.njit(nogil=True, cache=True, fastmath=True)
def _half_sweep(sub, colour, thresholds, field_free, counter, u, fourth):
    """Update every site of one colour of one replica. ``u`` (int32) and ``fourth`` (int8) are scratch rows:
    the row's uniforms, and the fourth neighbours gathered so that the update loop has no edge case."""
    L, half = sub.shape[1], sub.shape[2]
    pairs = (half + 1) // 2
    mine, other = sub[colour], sub[1 - colour]
    m0, m1, m2, m3, m4 = thresholds[0], thresholds[1], thresholds[2], thresholds[3], thresholds[4]
    p0, p1, p2, p3, p4 = thresholds[5], thresholds[6], thresholds[7], thresholds[8], thresholds[9]
    for y in range(L):
        z = counter + np.uint64(y * pairs) * GOLDEN
        for k in range(pairs):
            z += GOLDEN
            r = mix64(z)
            u[2 * k] = np.int32(r >> np.uint64(34))
            u[2 * k + 1] = np.int32((r >> np.uint64(2)) & _MASK30)
        row, same = mine[y], other[y]
        above, below = other[y - 1 if y > 0 else L - 1], other[y + 1 if y < L - 1 else 0]
        # explicit loops: numba's slice assignment cost 1.6 ns a site at L = 64 (0.4 as a loop)
        if (y + colour) & 1:  # the fourth neighbour is at k + 1
            for k in range(half - 1):
                fourth[k] = same[k + 1]
            fourth[half - 1] = same[0]
        else:  # at k - 1
            for k in range(1, half):
                fourth[k] = same[k - 1]
            fourth[0] = same[half - 1]
        if field_free:
            _update_row_field_free(row, above, below, same, fourth[:half], u, p0, p1, p2, p3, p4)
        else:
            _update_row(row, above, below, same, fourth[:half], u, m0, m1, m2, m3, m4, p0, p1, p2, p3, p4)
    return advance(counter, L * pairs)


@nb.njit(nogil=True, cache=True)
def _replica_sweeps(sub, thresholds, counters, r, n_sweeps, u, fourth):
    # without a field, the threshold of (s, n) is that of (+1, s n)
    field_free = True
    for i in range(5):
        field_free = field_free and thresholds[i] == thresholds[9 - i]
    c = counters[r]
    for _ in range(n_sweeps):
        c = _half_sweep(sub[r], 0, thresholds, field_free, c, u, fourth)
        c = _half_sweep(sub[r], 1, thresholds, field_free, c, u, fourth)
    counters[r] = c


@nb.njit(nogil=True, cache=True)
def metropolis_sweeps_claimed(sub, thresholds, counters, n_sweeps, work, replicas_per_claim):
    """``n_sweeps`` checkerboard sweeps of each replica of ``sub`` (R × 2 × L × L/2 int8) that this thread
    claims from ``work`` (see ``_kernels.atomics``); ``counters`` (R,) uint64 advance in place."""
    n = sub.shape[0]
    u = np.empty(sub.shape[3] + 1, np.int32)
    fourth = np.empty(sub.shape[3], np.int8)
    done = 0
    while True:
        start = atomic_fetch_add(work, 0, replicas_per_claim)
        if start >= n:
            return done
        stop = min(n, start + replicas_per_claim)
        for r in range(start, stop):
            _replica_sweeps(sub, thresholds, counters, r, n_sweeps, u, fourth)
        atomic_fetch_add(work, 1, stop - start)
        done += stop - start


@nb.njit(nogil=True, cache=True)
def _between_layouts(spins, sub, into_sublattices):
    R, L = spins.shape[0], spins.shape[1]
    for r in range(R):
        for y in range(L):
            for c in range(2):
                p = (y + c) & 1
                for k in range(L // 2):
                    if into_sublattices:
                        sub[r, c, y, k] = spins[r, y, 2 * k + p]
                    else:
                        spins[r, y, 2 * k + p] = sub[r, c, y, k]


@nb.njit(nogil=True, cache=True)
def to_sublattices(spins, sub):
    """Natural R × L × L spins into the R × 2 × L × L/2 sublattice layout."""
    _between_layouts(spins, sub, True)


@nb.njit(nogil=True, cache=True)
def from_sublattices(sub, spins):
    """The inverse of ``to_sublattices``."""
    _between_layouts(spins, sub, False)


@nb.njit(nogil=True, cache=True)
def sequential_sweeps(spins, thresholds, counters, n_sweeps):
    """Typewriter-order single-spin Metropolis for any L (odd L has no checkerboard on a torus).

    One 30-bit uniform per site visit, from the replica's counter (two per 64-bit draw); used for odd L only,
    with ``thresholds`` that accept ΔE = 0 flips with probability 1/2. With probability 1, a fixed visiting
    order can cycle for ever through states where every visit is a ΔE = 0 flip: on a 3×3 torus such cycles
    trap chains in the most frustrated states (a chi-square test against enumeration found them), so the chain
    is not ergodic. Any randomness in those flips breaks the cycles and keeps detailed balance.
    """
    R, L = spins.shape[0], spins.shape[1]
    for r in range(R):
        z = counters[r]
        lattice = spins[r]
        for _ in range(n_sweeps):
            for y in range(L):
                up, down = (y - 1) % L, (y + 1) % L
                for x in range(0, L, 2):
                    z += GOLDEN
                    bits = mix64(z)
                    for j in range(2):
                        xx = x + j
                        if xx >= L:
                            break
                        u = np.int32(bits >> np.uint64(34)) if j == 0 else np.int32((bits >> np.uint64(2)) & _MASK30)
                        s = np.int32(lattice[y, xx])
                        n = (np.int32(lattice[up, xx]) + np.int32(lattice[down, xx])
                             + np.int32(lattice[y, (xx - 1) % L]) + np.int32(lattice[y, (xx + 1) % L]))
                        if u < _threshold(thresholds, s, n):
                            lattice[y, xx] = -s
        counters[r] = z
