"""Multispin-coded Metropolis: 64 Ising replicas in the bits of one uint64 word per site.

Bit b of ``words[y, x]`` is the spin of replica b at site (y, x): 1 for +1, 0 for -1. One visit of a site updates
all 64 replicas at once with bitwise logic:
- a_k = s XOR neighbour_k marks, per bit, the neighbours that are anti-aligned; a bit-sliced adder gives each
  replica's count c = 0..4, so its neighbour sum is n = s (4 - 2c) and ΔE = 2 s (J n + h) = 2J(4 - 2c) + 2hs;
- the ten classes (s, c) have acceptance probabilities p = min(1, e^{-β ΔE}); those with p = 1 are accepted
  outright, and the others are grouped by their value of p.

Independent acceptance bits. Each replica needs its own decision: with one shared uniform per site, the replicas
coalesce into copies of each other (they feel the same noise, and two replicas that agree at a site stay in
agreement). Here every bit is compared with its own uniform U_b, drawn lazily one binary digit at a time from
the most significant: word t of random bits holds digit t of all 64 uniforms. A bit is accepted at the first
digit where its uniform has a 0 and its class's p has a 1, and rejected at the first where it is the other way
round; undecided bits go on to the next digit. So P(accept) = P(U < p) with p to 64 binary digits, exactly, and
the loop ends after about log2(64) + 2 words when all 64 bits are undecided, fewer when few are.

Order: sites are visited row by row (typewriter order), a valid single-site Metropolis sweep on any L. On odd L,
flips with ΔE = 0 are accepted with probability 1/2 (``zero_move``), as in ``ising_metropolis.sequential_sweeps``:
a fixed order with certain ΔE = 0 flips can cycle for ever (found on a 3×3 torus), and a coin breaks the cycles.
Random numbers come from one SplitMix64 counter per block of 64 replicas (``_kernels.random``); the number of
words a sweep uses depends on the state, so the counter is returned, not predicted.
"""

import numba as nb
import numpy as np

from rbm_explorer._kernels.atomics import atomic_fetch_add
from rbm_explorer._kernels.random import GOLDEN, mix64

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)


def acceptance_groups(beta: float, coupling: float, field: float, zero_move: float = 1.0):
    """Classes of the multispin update grouped by acceptance probability.

    Returns ``(class_group, group_p)``: for class ``5 * s_bit + c`` (s_bit 1 for spin +1, c the number of
    anti-aligned neighbours), ``class_group`` is -1 when the flip is always accepted, -2 when never (p
    underflows to 0), else an index into ``group_p``, the probabilities as 64-bit fixed point floor(p 2^64).
    """
    import math

    class_group = np.empty(10, np.int64)
    values: list[int] = []
    for s_bit in (0, 1):
        s = 1 if s_bit else -1
        for c in range(5):
            delta = 2.0 * coupling * (4 - 2 * c) + 2.0 * field * s
            p = zero_move if delta == 0 else (1.0 if delta < 0 else math.exp(-beta * delta))
            fixed = int(math.ldexp(p, 64)) if p < 1.0 else None
            if fixed is None:
                class_group[5 * s_bit + c] = -1
            elif fixed == 0:
                class_group[5 * s_bit + c] = -2
            else:
                if fixed not in values:
                    values.append(fixed)
                class_group[5 * s_bit + c] = values.index(fixed)
    return class_group, np.array(values or [0], dtype=np.uint64)


@nb.njit(nogil=True, cache=True, inline="always")
def _class_masks(s, a1, a2, a3, a4, masks):
    """``masks[5 * s_bit + c]``: the bits whose spin is s_bit and whose count of anti-aligned neighbours is c."""
    x1, k1 = a1 ^ a2, a1 & a2
    x2, k2 = a3 ^ a4, a3 & a4
    b0 = x1 ^ x2
    carry = x1 & x2
    b1 = k1 ^ k2 ^ carry
    b2 = k1 & k2
    counts = (~(b0 | b1 | b2), b0 & ~b1, ~b0 & b1, b0 & b1, b2)
    for c in range(5):
        masks[c] = counts[c] & ~s
        masks[5 + c] = counts[c] & s


@nb.njit(nogil=True, cache=True)
def _block_sweeps(words, class_group, group_p, counter, n_sweeps, masks, group_masks):
    L = words.shape[0]
    n_groups = group_p.shape[0]
    z = counter
    for _ in range(n_sweeps):
        for y in range(L):
            up, down = (y - 1) % L, (y + 1) % L
            for x in range(L):
                s = words[y, x]
                left, right = x - 1 if x > 0 else L - 1, x + 1 if x < L - 1 else 0
                _class_masks(s, s ^ words[up, x], s ^ words[down, x], s ^ words[y, left], s ^ words[y, right],
                             masks)
                accept = _ZERO
                for g in range(n_groups):
                    group_masks[g] = _ZERO
                for k in range(10):
                    g = class_group[k]
                    if g == -1:
                        accept |= masks[k]
                    elif g >= 0:
                        group_masks[g] |= masks[k]
                undecided = _ZERO
                for g in range(n_groups):
                    undecided |= group_masks[g]
                digit = 63
                while undecided != _ZERO and digit >= 0:
                    z += GOLDEN
                    r = mix64(z)
                    p_digit = _ZERO
                    for g in range(n_groups):
                        if (group_p[g] >> np.uint64(digit)) & _ONE:
                            p_digit |= group_masks[g]
                    accept |= undecided & ~r & p_digit
                    undecided &= ~(r ^ p_digit)
                    digit -= 1
                words[y, x] = s ^ accept
    return z


@nb.njit(nogil=True, cache=True)
def multispin_sweeps_claimed(words, class_group, group_p, counters, n_sweeps, work, blocks_per_claim):
    """``n_sweeps`` sweeps of each block of ``words`` (B × L × L uint64) that this thread claims from ``work``;
    ``counters`` (B,) uint64 advance in place."""
    n = words.shape[0]
    masks = np.empty(10, np.uint64)
    group_masks = np.empty(group_p.shape[0], np.uint64)
    done = 0
    while True:
        start = atomic_fetch_add(work, 0, blocks_per_claim)
        if start >= n:
            return done
        stop = min(n, start + blocks_per_claim)
        for b in range(start, stop):
            counters[b] = _block_sweeps(words[b], class_group, group_p, counters[b], n_sweeps, masks,
                                        group_masks)
        atomic_fetch_add(work, 1, stop - start)
        done += stop - start


@nb.njit(nogil=True, cache=True)
def pack_replicas(spins, words):
    """Spins (64 B × L × L int8, ±1) into words (B × L × L uint64): replica 64 b + i is bit i of block b."""
    B, L = words.shape[0], words.shape[1]
    for b in range(B):
        for y in range(L):
            for x in range(L):
                w = _ZERO
                for i in range(64):
                    if spins[64 * b + i, y, x] > 0:
                        w |= _ONE << np.uint64(i)
                words[b, y, x] = w


@nb.njit(nogil=True, cache=True)
def unpack_replicas(words, spins):
    """The inverse of ``pack_replicas``."""
    B, L = words.shape[0], words.shape[1]
    for b in range(B):
        for i in range(64):
            for y in range(L):
                for x in range(L):
                    spins[64 * b + i, y, x] = 1 if (words[b, y, x] >> np.uint64(i)) & _ONE else -1
