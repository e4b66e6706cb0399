"""Neighbour counts of aligned sequences, for the sequence reweighting of protein alignments.

Alignments over-represent some sub-families; the usual correction gives sequence n the weight
1 / (number of sequences within a Hamming distance threshold of n, itself included). Counting the
neighbours is an all-pairs loop over (n, L) states; done with numpy it needs an (n, n) or (n, n, L) temporary,
here it is O(n) memory. Each pair is visited once and credited to both ends.

The distance loop has no early exit: without the branch LLVM vectorises it, which measured 3x faster than
stopping at the threshold (WW domain, 4,025 x 30: 70 ms against 200 ms; also faster at L = 300). Serial like
the other kernels (see ``_kernels/__init__.py``): a ``prange`` version over full rows does twice the pair work
and was slower on 2 cores (80 ms).
"""

import numba as nb


@nb.njit(nogil=True, cache=True)
def neighbour_counts_into(states, max_mismatches, out):
    """``out[n]`` = number of rows m (n itself included) whose Hamming distance to row n is <= ``max_mismatches``.

    ``states`` is (n, L) int8 (any integer codes; a gap is a state like any other), ``out`` a preallocated
    float64 (n,) array, returned.
    """
    n, length = states.shape
    for i in range(n):
        out[i] = 1.0
    for i in range(n):
        row = states[i]
        for j in range(i + 1, n):
            other = states[j]
            d = 0
            for k in range(length):
                d += row[k] != other[k]
            if d <= max_mismatches:
                out[i] += 1.0
                out[j] += 1.0
    return out
