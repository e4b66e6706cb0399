"""Per-replica sums of an Ising lattice, the raw material of every observable.

For each replica: the bond sum Σ_⟨ij⟩ s_i s_j (each of the 2N bonds once), the spin sum Σ s, the staggered sum
Σ (-1)^{y+x} s, and the structure factor at the smallest wave vector,
S(k_min) = (|Σ_x C_x e^{2πix/L}|² + |Σ_y R_y e^{2πiy/L}|²) / (2N), with C and R the column and row sums
(the two directions k = (2π/L, 0) and (0, 2π/L) averaged). Sums are exact integers held in float64.
"""

import numba as nb
import numpy as np


@nb.njit(nogil=True, cache=True)
def _structure(rows, cols, cosines, sines, n_sites):
    a_re = a_im = b_re = b_im = 0.0
    for i in range(rows.shape[0]):
        a_re += rows[i] * cosines[i]
        a_im += rows[i] * sines[i]
        b_re += cols[i] * cosines[i]
        b_im += cols[i] * sines[i]
    return (a_re * a_re + a_im * a_im + b_re * b_re + b_im * b_im) / (2.0 * n_sites)


@nb.njit(nogil=True, cache=True)
def lattice_sums_into(spins, cosines, sines, out):
    """Sums of the natural layout, ``spins`` R × L × L int8, into ``out`` (R × 4 float64)."""
    R, L = spins.shape[0], spins.shape[1]
    rows = np.empty(L, np.float64)
    cols = np.empty(L, np.float64)
    for r in range(R):
        lattice = spins[r]
        bonds = 0
        total = 0
        staggered = 0
        cols[:] = 0.0
        for y in range(L):
            down = y + 1 if y < L - 1 else 0
            row_sum = 0
            for x in range(L):
                s = np.int64(lattice[y, x])
                right = x + 1 if x < L - 1 else 0
                bonds += s * (np.int64(lattice[y, right]) + np.int64(lattice[down, x]))
                row_sum += s
                staggered += s if (x + y) % 2 == 0 else -s
                cols[x] += s
            rows[y] = row_sum
            total += row_sum
        out[r, 0] = bonds
        out[r, 1] = total
        out[r, 2] = staggered
        out[r, 3] = _structure(rows, cols, cosines, sines, L * L)


@nb.njit(nogil=True, cache=True)
def sublattice_sums_into(sub, cosines, sines, out):
    """The same sums from the sublattice layout of ``_kernels.ising_metropolis`` (R × 2 × L × L/2 int8).

    Every bond joins the two colours, so the bond sum is Σ over colour-0 sites of s times its four neighbours.
    """
    R, L, half = sub.shape[0], sub.shape[2], sub.shape[3]
    rows = np.empty(L, np.float64)
    cols = np.empty(L, np.float64)
    for r in range(R):
        even, odd = sub[r, 0], sub[r, 1]
        bonds = 0
        sums = np.zeros(2, np.int64)
        cols[:] = 0.0
        for y in range(L):
            above, below = odd[y - 1 if y > 0 else L - 1], odd[y + 1 if y < L - 1 else 0]
            same = odd[y]
            d = 1 if y & 1 else -1  # colour 0 in row y sits at x = 2k + (y mod 2); its fourth neighbour
            row_sum = 0
            for k in range(half):
                kk = k + d
                if kk < 0:
                    kk = half - 1
                elif kk >= half:
                    kk = 0
                s = np.int64(even[y, k])
                bonds += s * (np.int64(above[k]) + np.int64(below[k]) + np.int64(same[k]) + np.int64(same[kk]))
                t = np.int64(odd[y, k])
                sums[0] += s
                sums[1] += t
                row_sum += s + t
                cols[2 * k + (y & 1)] += s
                cols[2 * k + 1 - (y & 1)] += t
            rows[y] = row_sum
        out[r, 0] = bonds
        out[r, 1] = sums[0] + sums[1]
        out[r, 2] = sums[0] - sums[1]
        out[r, 3] = _structure(rows, cols, cosines, sines, L * L)


@nb.njit(nogil=True, cache=True)
def correlation_into(spins, out):
    """G(r) = (1 / 2N) Σ_sites s(y, x) [s(y, x + r) + s(y + r, x)] for r = 0 .. L/2, per replica (R × (L//2 + 1))."""
    R, L = spins.shape[0], spins.shape[1]
    n_r = out.shape[1]
    for r in range(R):
        lattice = spins[r]
        for d in range(n_r):
            acc = 0
            for y in range(L):
                yd = (y + d) % L
                for x in range(L):
                    acc += np.int64(lattice[y, x]) * (np.int64(lattice[y, (x + d) % L]) + np.int64(lattice[yd, x]))
            out[r, d] = acc / (2.0 * L * L)
