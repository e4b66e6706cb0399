"""Wolff cluster updates of the 2D Ising model (Wolff 1989), one counter-based stream per replica.

A cluster grows from a uniformly chosen seed site. A neighbour j of a cluster site i joins with probability
p = 1 - e^{-2β|J|} when its spin is s_j = sign(J) s_i: aligned for the ferromagnet, anti-aligned for the
antiferromagnet (on a bipartite lattice the gauge s → (-1)^{x+y} s maps one onto the other). The whole cluster
is flipped. Only h = 0: a field needs the ghost-spin construction, which the samplers refuse instead.

Spins are flipped as they join, so a site already in the cluster fails the join test and no mark array is
needed. Each join test uses one 64-bit draw compared with floor(p 2^64); the seed site uses one draw.
"""

import numba as nb
import numpy as np

from rbm_explorer._kernels.atomics import atomic_fetch_add
from rbm_explorer._kernels.random import GOLDEN, mix64


@nb.njit(nogil=True, cache=True)
def _one_cluster(lattice, sign, p_join, z, stack):
    """Grow and flip one cluster; returns (its size, the new counter).

    The stack holds sites as ``(y << 16) | x`` and neighbours wrap by comparisons: no ``%`` or ``//`` per visit.
    """
    L = lattice.shape[0]
    z += GOLDEN
    seed = np.int64(mix64(z) % np.uint64(L * L))
    y0 = seed // L
    x0 = seed - y0 * L
    lattice[y0, x0] = -lattice[y0, x0]
    stack[0] = (y0 << 16) | x0
    top, size = 1, 1
    while top > 0:
        top -= 1
        y, x = stack[top] >> 16, stack[top] & 0xFFFF
        want = -sign * lattice[y, x]  # sign(J) times its spin before it was flipped
        for d in range(4):
            ny, nx = y, x
            if d == 0:
                ny = y - 1 if y > 0 else L - 1
            elif d == 1:
                ny = y + 1 if y < L - 1 else 0
            elif d == 2:
                nx = x - 1 if x > 0 else L - 1
            else:
                nx = x + 1 if x < L - 1 else 0
            if lattice[ny, nx] == want:
                z += GOLDEN
                if mix64(z) < p_join:
                    lattice[ny, nx] = -want
                    stack[top] = (ny << 16) | nx
                    top += 1
                    size += 1
    return size, z


@nb.njit(nogil=True, cache=True)
def wolff_flips_claimed(spins, sign, p_join, counters, n_flips, min_spins, sizes, work, replicas_per_claim):
    """Cluster flips on the replicas of ``spins`` (R × L × L int8) that this thread claims from ``work``.

    Each replica flips ``n_flips`` clusters, and more if needed until at least ``min_spins`` spins were flipped
    (0 for a fixed count). ``sizes[r]`` gets the number of spins replica r flipped and the number of clusters,
    and ``counters`` advance.
    """
    n = spins.shape[0]
    L = spins.shape[1]
    stack = np.empty(L * L, np.int64)
    done = 0
    while True:
        start = atomic_fetch_add(work, 0, replicas_per_claim)
        if start >= n:
            return done
        stop = min(n, start + replicas_per_claim)
        for r in range(start, stop):
            z = counters[r]
            flipped, k = 0, 0
            while k < n_flips or flipped < min_spins:
                size, z = _one_cluster(spins[r], sign, p_join, z, stack)
                flipped += size
                k += 1
            counters[r] = z
            sizes[r, 0] = flipped
            sizes[r, 1] = k
        atomic_fetch_add(work, 1, stop - start)
        done += stop - start
