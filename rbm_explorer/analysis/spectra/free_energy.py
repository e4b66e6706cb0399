"""The one-dimensional free energy along a mode, and the projection summaries kept during training.

−log p(x_k), estimated from a histogram of the reciprocal variable x_k = u_kᵀv of samples, goes from one well
to an asymmetric double well as a mode leaves the Marchenko–Pastur bulk, as in Landau theory (Toledo-Marin,
Maiti, Fox and Melko 2025, Figs. 7–8). Gibbs samples of an old training snapshot cannot be redrawn without its
full W, so the trainer keeps, at each snapshot, a histogram per mode of the persistent chains' and the test
data's projections with their means and standard deviations (``ProjectionSummary``).
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.io.weight_history import ProjectionSummary

DEFAULT_BINS = 40


def summarize_projections(chain_x, test_x, bins: int = DEFAULT_BINS) -> ProjectionSummary:
    """The histogram summary of projections (samples x modes) of chains and test data, on bins per mode that
    cover both (test data may be None: its counts and moments are then zero and NaN)."""
    chain_x = np.asarray(chain_x, dtype=np.float64)
    test_x = np.zeros((0, chain_x.shape[1])) if test_x is None else np.asarray(test_x, dtype=np.float64)
    both = np.concatenate([chain_x, test_x])
    lo, hi = both.min(axis=0), both.max(axis=0)
    pad = np.maximum(1e-6, 0.02 * (hi - lo))
    edges = np.linspace(lo - pad, hi + pad, int(bins) + 1).T
    chains = np.stack([np.histogram(chain_x[:, k], edges[k])[0] for k in range(len(edges))])
    test = np.stack([np.histogram(test_x[:, k], edges[k])[0] for k in range(len(edges))])
    with np.errstate(invalid="ignore"):
        moments = np.stack([chain_x.mean(axis=0), chain_x.std(axis=0),
                            test_x.mean(axis=0) if len(test_x) else np.full(len(edges), np.nan),
                            test_x.std(axis=0) if len(test_x) else np.full(len(edges), np.nan)])
    return ProjectionSummary(edges, chains.astype(np.int64), test.astype(np.int64), moments)


def projection_free_energy(summary: ProjectionSummary, k: int, of: str = "chains",
                           merge: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, −log p) of mode k (0-based) from a snapshot's chain or test-data histogram, with every
    ``merge`` neighbouring bins summed (a hundred chains fill 40 bins thinly; 20 or 10 show the wells)."""
    if of not in ("chains", "test"):
        raise ValueError(f"unknown sample {of!r}; choose chains or test")
    counts, edges = np.asarray(getattr(summary, of)[k]), np.asarray(summary.edges[k])
    merge = int(merge)
    if merge < 1 or len(counts) % merge:
        raise ValueError(f"merge must divide the {len(counts)} bins, got {merge}")
    return free_energy_from_counts(counts.reshape(-1, merge).sum(axis=1), edges[::merge])


def free_energy_from_counts(counts, edges) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, −log p(x)) from histogram counts, shifted so its minimum is 0; empty bins are NaN."""
    counts, edges = np.asarray(counts, np.float64), np.asarray(edges, np.float64)
    centres = 0.5 * (edges[1:] + edges[:-1])
    density = counts / max(counts.sum(), 1.0) / np.diff(edges)
    with np.errstate(divide="ignore"):
        f = np.where(counts > 0, -np.log(np.where(counts > 0, density, 1.0)), np.nan)
    if np.isfinite(f).any():
        f = f - np.nanmin(f)
    return centres, f


def mode_free_energy(x, bins: int = DEFAULT_BINS, range_=None) -> tuple[np.ndarray, np.ndarray]:
    """−log p(x_k) of one mode from samples of x_k (a histogram estimate)."""
    counts, edges = np.histogram(np.asarray(x, np.float64), bins=int(bins), range=range_)
    return free_energy_from_counts(counts, edges)


def well_count(free_energy, min_depth: float = 0.5) -> int:
    """How many local minima of a free-energy curve are at least ``min_depth`` below the highest point between
    them and their neighbours: 1 for a single well, 2 for a double well (NaN bins are skipped)."""
    f = np.asarray(free_energy, np.float64)
    f = f[np.isfinite(f)]
    if len(f) < 3:
        return int(len(f) > 0)
    minima = [i for i in range(len(f)) if (i == 0 or f[i] < f[i - 1]) and (i == len(f) - 1 or f[i] <= f[i + 1])]
    kept = [minima[0]]
    for i in minima[1:]:
        barrier = f[kept[-1]:i + 1].max()
        if barrier - f[kept[-1]] >= min_depth and barrier - f[i] >= min_depth:
            kept.append(i)
        elif f[i] < f[kept[-1]]:
            kept[-1] = i
    return len(kept)
