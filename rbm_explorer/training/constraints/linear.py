"""The hard linear constraint q_k . w_mu = 0 (Fernandez-de-Cossio-Diaz, Cocco & Monasson 2023, Eq. 7)."""

from __future__ import annotations

import numpy as np

from rbm_explorer.training.constraints.base import Constraint, register_constraint
from rbm_explorer.training.constraints.projection import orthonormal_rows, project_columns

__all__ = ["LinearConstraint"]


@register_constraint
class LinearConstraint(Constraint):
    """Hard linear constraints q_k . w_mu = 0 for the listed hidden units (Eq. 7).

    Enforced by projection after every update: w_mu <- w_mu - Q (Q^+ w_mu), Q = (n_features x K) matrix of the
    forbidden vectors, implemented with a precomputed orthonormal basis U of span(Q) (rank-revealing SVD):
    w <- w - U^T (U w). Degenerate or zero forbidden vectors are fine. No penalty.

    Parameters
    ----------
    forbidden : array (K, n_features) or (n_features,)
        Forbidden directions (e.g. ``linear_vector`` or rows of ``class_vectors``). Potts: flattened N x q.
    units : int array
        Hidden units (columns of the weight matrix) the constraint applies to.
    name : str, optional
        Free-form description kept in the metadata.
    """

    kind = "linear"

    def __init__(self, forbidden, units, name: str | None = None):
        q = np.asarray(forbidden, dtype=np.float64)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2:
            raise ValueError(f"forbidden vectors must be (K, n_features), got shape {q.shape}")
        if not np.all(np.isfinite(q)):
            raise ValueError("forbidden vectors must be finite")
        super().__init__(units, name)
        self.forbidden = q
        self.basis = orthonormal_rows(q)

    @property
    def n_features(self) -> int:
        return self.forbidden.shape[1]

    @property
    def rank(self) -> int:
        """Dimension of the span of the forbidden vectors."""
        return self.basis.shape[0]

    def __repr__(self):
        return f"LinearConstraint({self.forbidden.shape[0]} vectors of rank {self.rank} on {self.units.size} units)"

    @property
    def projection_span(self) -> np.ndarray:
        return self.forbidden

    def project(self, weight_matrix) -> np.ndarray:
        """Project the constrained columns of ``weight_matrix`` (n_features, M) in place; returns it."""
        w = self.check_weights(weight_matrix, "LinearConstraint.project")
        if self.units.size and self.rank:
            project_columns(w, self.units, self.basis)
        return w

    def violation(self, weight_matrix) -> float:
        """max over constrained units and forbidden vectors of |q . w_mu| / (|q| |w_mu|); 0 for zero columns."""
        w = self.check_weights(weight_matrix, "LinearConstraint.violation")
        cols, q = w[:, self.units], self.forbidden
        if cols.shape[1] == 0 or q.shape[0] == 0:
            return 0.0
        denom = np.outer(np.linalg.norm(q, axis=1), np.linalg.norm(cols, axis=0))
        ok = denom > 0
        if not np.any(ok):
            return 0.0
        return float(np.max(np.abs(q @ cols)[ok] / denom[ok]))

    # --- storage: the forbidden vectors, (K, n_features) --------------------------------------------------
    def stored_array(self) -> tuple[str, np.ndarray]:
        return "forbidden", self.forbidden

    def metadata_fields(self) -> dict:
        return {"n_vectors": int(self.forbidden.shape[0]), "rank": int(self.rank)}

    @classmethod
    def from_stored(cls, entry: dict, array: np.ndarray) -> "LinearConstraint":
        return cls(array, entry["units"], name=entry.get("name"))
