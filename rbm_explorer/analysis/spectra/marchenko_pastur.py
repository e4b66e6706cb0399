"""The Marchenko–Pastur law for the singular values of a random N x M weight matrix.

For i.i.d. N(0, σ_W²) entries the singular values fill [s₋, s₊] with s± = σ_W |√N ± √M| and density

    ρ(s) = √((s₊² − s²)(s² − s₋²)) / (π σ_W² min(N, M) s),

normalised over the min(N, M) singular values (Toledo-Marin, Maiti, Fox and Melko 2025, Fig. 3a–d: the
spectrum of an RBM at its Gaussian initialisation). It follows from the eigenvalue law of WᵀW by s = √λ.
"""

from __future__ import annotations

import numpy as np


def _check(n: int, m: int, sigma_w: float) -> tuple[int, int, float]:
    n, m, sigma_w = int(n), int(m), float(sigma_w)
    if n < 1 or m < 1:
        raise ValueError(f"a weight matrix needs at least one row and one column, got {n} x {m}")
    if not np.isfinite(sigma_w) or sigma_w <= 0:
        raise ValueError(f"sigma_w must be a positive number, got {sigma_w}")
    return n, m, sigma_w


def mp_edges(n: int, m: int, sigma_w: float) -> tuple[float, float]:
    """(s₋, s₊) = σ_W |√N ∓ √M|: where the singular values of a random N x M matrix lie."""
    n, m, sigma_w = _check(n, m, sigma_w)
    return sigma_w * abs(np.sqrt(n) - np.sqrt(m)), sigma_w * (np.sqrt(n) + np.sqrt(m))


def mp_density(s, n: int, m: int, sigma_w: float) -> np.ndarray:
    """ρ(s), the density of one singular value (it integrates to 1 over [s₋, s₊]; zero outside)."""
    n, m, sigma_w = _check(n, m, sigma_w)
    lo, hi = mp_edges(n, m, sigma_w)
    s = np.asarray(s, dtype=np.float64)
    inside = (s > lo) & (s < hi)
    s_in = np.where(inside, s, 0.5 * (lo + hi))
    rho = np.sqrt(np.clip((hi**2 - s_in**2) * (s_in**2 - lo**2), 0.0, None)) / (np.pi * sigma_w**2 * min(n, m) * s_in)
    return np.where(inside, rho, 0.0)


def mp_cdf(s, n: int, m: int, sigma_w: float, points: int = 4001) -> np.ndarray:
    """The cumulative distribution of ρ, by the trapezoid rule on a grid uniform in θ where s² = a + b cos θ
    (which removes the square-root edges, so the quadrature is accurate to ~1e-7 with the default points)."""
    n, m, sigma_w = _check(n, m, sigma_w)
    lo, hi = mp_edges(n, m, sigma_w)
    mid, half = 0.5 * (hi**2 + lo**2), 0.5 * (hi**2 - lo**2)
    theta = np.linspace(np.pi, 0.0, points)  # s from s₋ up to s₊
    grid = np.sqrt(mid + half * np.cos(theta))
    # ρ(s) ds with s² = mid + half cos θ: √((s₊²−s²)(s²−s₋²)) = half sin θ and ds = half sin θ dθ / (2s)
    # for a square matrix (s₋ = 0) the ratio tends to 2·half at s = 0, where s² vanishes
    squared = grid**2
    ratio = np.divide((half * np.sin(theta)) ** 2, squared, out=np.full_like(theta, 2 * half), where=squared > 0)
    integrand = ratio / (2 * np.pi * sigma_w**2 * min(n, m))
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (integrand[1:] + integrand[:-1]) * np.diff(-theta))])
    cumulative /= cumulative[-1]
    return np.interp(np.asarray(s, dtype=np.float64), grid, cumulative, left=0.0, right=1.0)


def count_above_edge(singular_values, n: int, m: int, sigma_w: float) -> int:
    """How many singular values lie above s₊: the modes that have left the bulk."""
    return int(np.sum(np.asarray(singular_values, dtype=np.float64) > mp_edges(n, m, sigma_w)[1]))


def log_bins(values, n: int, m: int, sigma_w: float | None, bins: int = 60) -> np.ndarray:
    """Log-spaced bin edges that hold every positive singular value and, with σ_W, the whole MP bulk: the axis
    of a spectrum whose top values have left the bulk by orders of magnitude."""
    values = np.asarray(values, dtype=np.float64)
    positive = values[values > 0]
    lo = float(positive.min()) if len(positive) else 1e-3
    hi = float(positive.max()) if len(positive) else 1.0
    if sigma_w is not None:
        s_lo, s_hi = mp_edges(n, m, sigma_w)
        lo, hi = min(lo, max(s_lo, 0.02 * s_hi)), max(hi, s_hi)
    return np.geomspace(0.9 * lo, 1.1 * hi, int(bins) + 1)


def spectrum_histogram(values, n: int, m: int, sigma_w: float | None, bins: int = 60):
    """(edges, counts, expected): the singular values' counts on ``log_bins`` and the counts Marchenko–Pastur
    expects in each bin for as many values (None without σ_W), for the histogram-against-law plots."""
    values = np.asarray(values, dtype=np.float64)
    edges = log_bins(values, n, m, sigma_w, bins)
    counts, _ = np.histogram(values, edges)
    expected = None if sigma_w is None else mp_expected_counts(edges, n, m, sigma_w)
    return edges, counts, expected


def mp_expected_counts(edges, n: int, m: int, sigma_w: float) -> np.ndarray:
    """How many of the min(N, M) singular values of a random N x M matrix of scale σ_W fall in each bin."""
    return min(int(n), int(m)) * np.diff(mp_cdf(np.asarray(edges, np.float64), n, m, sigma_w))
