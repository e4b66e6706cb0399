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
    Each row is a few contiguous loops (the fourth neighbours gathered first, column sums kept per sublattice and
    row parity), which vectorise: a branch per site cost 2.9 ns a site, more than a sweep.
    """
    R, L, half = sub.shape[0], sub.shape[2], sub.shape[3]
    rows = np.empty(L, np.float64)
    cols = np.empty(L, np.float64)
    fourth = np.empty(half, np.int8)
    col_parts = np.empty((2, 2, half), np.int32)  # [sublattice, row parity, k]
    for r in range(R):
        even, odd = sub[r, 0], sub[r, 1]
        bonds = 0
        total_even = 0
        total_odd = 0
        col_parts[:] = 0
        for y in range(L):
            above, below = odd[y - 1 if y > 0 else L - 1], odd[y + 1 if y < L - 1 else 0]
            same = odd[y]
            p = y & 1
            if p:  # colour 0 sits at x = 2k + 1: its fourth neighbour is at k + 1
                for k in range(half - 1):
                    fourth[k] = same[k + 1]
                fourth[half - 1] = same[0]
            else:
                for k in range(1, half):
                    fourth[k] = same[k - 1]
                fourth[0] = same[half - 1]
            row_bonds = np.int32(0)
            row_even = np.int32(0)
            row_odd = np.int32(0)
            e, ce, co = even[y], col_parts[0, p], col_parts[1, p]
            for k in range(half):
                s = np.int32(e[k])
                t = np.int32(same[k])
                row_bonds += s * (np.int32(above[k]) + np.int32(below[k]) + t + np.int32(fourth[k]))
                row_even += s
                row_odd += t
                ce[k] += s
                co[k] += t
            bonds += row_bonds
            total_even += row_even
            total_odd += row_odd
            rows[y] = row_even + row_odd
        # column x = 2k + q: colour 0 from rows of parity q, colour 1 from rows of parity 1 - q
        for k in range(half):
            for q in range(2):
                cols[2 * k + q] = col_parts[0, q, k] + col_parts[1, 1 - q, k]
        out[r, 0] = bonds
        out[r, 1] = total_even + total_odd
        out[r, 2] = total_even - total_odd
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
