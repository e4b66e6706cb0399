"""Low-rank truncation of the second-order constraint matrix q2 at the Marchenko-Pastur edge
(Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Sec. III.A.2; the standardisation and the ranking by
|eigenvalue| are the project's reading of it, see ``truncate_quadratic``)."""

from __future__ import annotations

import math

import numpy as np

from rbm_explorer.training.constraints.labels import as_features, normalised_weights

__all__ = ["marchenko_pastur_edge", "truncate_quadratic"]


def marchenko_pastur_edge(n_features: int, n_samples: float) -> float:
    """Upper Marchenko-Pastur edge (1 + sqrt(r))^2, r = n_features / n_samples (Sec. III.A.2)."""
    if n_samples <= 0:
        raise ValueError("n_samples must be positive")
    return (1.0 + math.sqrt(n_features / n_samples)) ** 2


def truncate_quadratic(q2, features, rank: int | None = None, weights=None):
    """Low-rank truncation of q^(2) (Sec. III.A.2, as the project reads it: steps 1-4 below).

    The paper keeps the components of q^(2) above the Marchenko-Pastur edge lambda_+ = (1 + sqrt(r))^2,
    r = n_features / n_samples. That edge is for a standardised (unit-variance) noise matrix, and q^(2) is
    neither standardised nor positive, so (the project's choice; the paper does not say):

    1. standardise: q~ = S^-1 q^(2) S^-1 with S = diag(std of each feature) over ``features``; features with
       zero variance are skipped (their rows and columns of the result are 0);
    2. eigendecompose q~ = U Lambda U^T and rank the components by |lambda| (both signs count);
    3. keep the top ``rank`` components, or with ``rank=None`` those with |lambda| > lambda_+;
    4. map back: S U~ Lambda~ U~^T S.

    r uses all ``n_features`` columns (as the paper does: lambda_+ ~ 1.6 for MNIST 0/1) and the number of
    samples, or Kish's effective sample size (sum w)^2 / sum w^2 with ``weights``. Do not expect the paper's
    60-61 surviving components on MNIST 0/1 to reproduce exactly.

    Parameters
    ----------
    q2 : array (n_features, n_features), symmetric (symmetrised here)
    features : array (n_samples, n_features), the data q2 was computed from
    rank : int, optional
        Number of components to keep (clipped to the number of non-constant features); None = MP rule.
    weights : array (n_samples,), optional

    Returns
    -------
    truncated : array (n_features, n_features), symmetric
    n_kept : int
    """
    f = as_features(features)
    q2 = np.asarray(q2, dtype=np.float64)
    n, p = f.shape
    if q2.shape != (p, p):
        raise ValueError(f"q2 must be {p} x {p} to match the features, got {q2.shape}")
    if rank is not None and rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    w = normalised_weights(weights, n)
    mean = w @ f
    std = np.sqrt(np.maximum(w @ (f - mean) ** 2, 0.0))
    scale = max(1.0, float(np.max(np.abs(f))))
    keep = std > 1e-12 * scale
    out = np.zeros((p, p))
    if not np.any(keep):
        return out, 0
    s = std[keep]
    sub = 0.5 * (q2 + q2.T)[np.ix_(keep, keep)] / np.outer(s, s)
    lam, vec = np.linalg.eigh(sub)
    order = np.argsort(-np.abs(lam), kind="stable")
    if rank is None:
        n_eff = n if weights is None else 1.0 / np.sum(w**2)
        edge = marchenko_pastur_edge(p, n_eff)
        n_kept = int(np.sum(np.abs(lam) > edge))
    else:
        n_kept = int(min(rank, lam.size))
    top = order[:n_kept]
    low = (vec[:, top] * lam[top]) @ vec[:, top].T
    out[np.ix_(keep, keep)] = low * np.outer(s, s)
    return 0.5 * (out + out.T), n_kept

