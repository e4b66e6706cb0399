"""Orthogonal projections of weight vectors, and their combination over constraints sharing hidden units.

A hard linear constraint q_k . w_mu = 0 (Eq. 7) is enforced by w_mu <- w_mu - U^T (U w_mu), U an orthonormal
basis (rows) of the span of the q_k. A unit under several such constraints must be projected once onto the
orthogonal complement of the union of their spans: projecting onto each in turn is exact only when the spans
are orthogonal.
"""

from __future__ import annotations

import numpy as np

__all__ = ["orthonormal_rows", "project_columns", "projection_groups"]


def orthonormal_rows(vectors: np.ndarray) -> np.ndarray:
    """Orthonormal basis (rows) of the span of the rows of ``vectors``; rank-revealing SVD, so degenerate or
    zero vectors are fine (the basis then has fewer rows)."""
    if vectors.shape[0] == 0:
        return np.zeros((0, vectors.shape[1]))
    _, s, vt = np.linalg.svd(vectors, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((0, vectors.shape[1]))
    tol = s[0] * max(vectors.shape) * np.finfo(np.float64).eps
    return vt[s > tol].copy()


def project_columns(w: np.ndarray, units: np.ndarray, basis: np.ndarray) -> None:
    """w[:, units] <- w[:, units] - U^T (U w[:, units]) in place, U = ``basis`` (orthonormal rows)."""
    cols = w[:, units]
    w[:, units] = cols - basis.T @ (basis @ cols)


def projection_groups(constraints) -> list[tuple[np.ndarray, np.ndarray]]:
    """(units, basis) pairs, one per set of constraints that share units, in order of their first unit.

    ``constraints`` are those with a ``projection_span``; the units listed by the same members share one
    basis, an orthonormal basis of the union of the members' spans. Groups whose basis is empty (zero
    forbidden vectors) are dropped.
    """
    members: dict[int, list[int]] = {}
    for k, c in enumerate(constraints):
        for mu in c.units.tolist():
            members.setdefault(mu, []).append(k)
    by_key: dict[tuple, list[int]] = {}
    for mu, ks in members.items():
        by_key.setdefault(tuple(ks), []).append(mu)
    groups = []
    for key, units in sorted(by_key.items(), key=lambda kv: min(kv[1])):
        basis = orthonormal_rows(np.concatenate([constraints[k].projection_span for k in key]))
        if basis.shape[0]:
            groups.append((np.array(sorted(units), dtype=np.intp), basis))
    return groups
