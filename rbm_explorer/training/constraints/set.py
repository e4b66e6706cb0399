"""``ConstraintSet``: all constraints of a model, the one object the training loop holds."""

from __future__ import annotations

import numpy as np

from rbm_explorer.training.constraints import storage
from rbm_explorer.training.constraints.base import Constraint
from rbm_explorer.training.constraints.projection import project_columns, projection_groups

__all__ = ["ConstraintSet"]


class ConstraintSet:
    """All constraints of a model: the object the training loop holds.

    Hooks: ``penalty_gradient`` is added to the loss gradient before an update, ``project`` is applied after it.
    Each hook combines the members through the ``Constraint`` protocol only, so any registered kind of
    constraint takes part:

    * ``project``: members with a ``projection_span`` (e.g. ``LinearConstraint``) are combined per hidden
      unit: a unit listed in several of them is projected onto the orthogonal complement of the union of
      their spans in one step (sequential projections would not be exact when the spans are not orthogonal).
      Then every other member's own ``project`` runs, in order.
    * ``penalty`` and ``penalty_gradient``: the sums of the members' penalties and gradients.
    * ``violation``: the largest of the members' violations.

    Parameters
    ----------
    constraints : iterable of ``Constraint`` (LinearConstraint, QuadraticConstraint, ...)
    """

    def __init__(self, constraints=()):
        self.constraints = list(constraints)
        for c in self.constraints:
            if not isinstance(c, Constraint):
                raise TypeError(f"not a constraint: {c!r}")
        sizes = {c.n_features for c in self.constraints}
        if len(sizes) > 1:
            raise ValueError(f"constraints disagree on the number of features: {sorted(sizes)}")
        self._by_span = [c for c in self.constraints if c.projection_span is not None]
        self._groups = projection_groups(self._by_span)
        self._self_projecting = [c for c in self.constraints if c.projection_span is None]

    # --- structure -------------------------------------------------------------------------------------
    def of_kind(self, kind: str) -> list:
        """The members whose ``kind`` (stored type) is ``kind``, in order."""
        return [c for c in self.constraints if c.kind == kind]

    @property
    def linear(self) -> list:
        """The ``LinearConstraint`` members."""
        return self.of_kind("linear")

    @property
    def quadratic(self) -> list:
        """The ``QuadraticConstraint`` members."""
        return self.of_kind("quadratic")

    @property
    def n_features(self) -> int | None:
        return self.constraints[0].n_features if self.constraints else None

    def __len__(self):
        return len(self.constraints)

    def __iter__(self):
        return iter(self.constraints)

    def __repr__(self):
        return f"ConstraintSet({self.constraints!r})"

    # --- hooks -----------------------------------------------------------------------------------------
    def project(self, weight_matrix) -> np.ndarray:
        """Apply every hard constraint in place (one combined projection per unit for those with a
        projection span, then the others' own projections); returns the array."""
        for c in self._by_span:
            c.check_weights(weight_matrix, "ConstraintSet.project")
        for units, basis in self._groups:
            project_columns(weight_matrix, units, basis)
        for c in self._self_projecting:
            c.project(weight_matrix)
        return weight_matrix

    def penalty(self, weight_matrix) -> float:
        """Sum of the members' penalties (hard constraints add nothing)."""
        return float(sum(c.penalty(weight_matrix) for c in self.constraints))

    def penalty_gradient(self, weight_matrix) -> np.ndarray:
        """Gradient of ``penalty`` with respect to the weight matrix, shape (n_features, M)."""
        g = np.zeros(np.shape(weight_matrix))
        for c in self.constraints:
            gc = c.gradient(weight_matrix)
            if gc is not None:
                g += gc
        return g

    def violation(self, weight_matrix) -> float:
        """Largest violation over the members (for linear constraints: the cosine between a forbidden vector
        and a constrained w_mu; soft constraints report 0)."""
        return max((c.violation(weight_matrix) for c in self.constraints), default=0.0)

    def released_units(self, n_hidden: int) -> np.ndarray:
        """Hidden units under no constraint at all."""
        used = set()
        for c in self.constraints:
            used.update(c.units.tolist())
        return np.array([mu for mu in range(n_hidden) if mu not in used], dtype=np.intp)

    # --- storage (format in ``storage``) ------------------------------------------------------------------
    def to_metadata(self, prefix: str = "constraint_") -> dict:
        """JSON-compatible description; the arrays it names come from ``arrays(prefix)``.

        ``{"kind": "rbm_explorer.constraints", "version": 1, "constraints": [{"type": "linear", "units": [...],
        "array": "constraint_0_forbidden", "n_vectors": K, "rank": r, "name": ...}, {"type": "quadratic",
        "units": [...], "array": "constraint_1_matrix", "strength": lambda, "rank": r or null, "name": ...}]}``

        A q2 truncated to a rank r below n_features / 4 is stored as its factors instead of the dense matrix:
        ``constraint_1_factors``, an (r, n_features + 1) array whose rows are lam_k followed by the eigenvector
        v_k, so that q2 = sum_k lam_k v_k v_k^T (a 784 x 784 q2 of rank 15 takes 94 kB instead of 4.9 MB).
        """
        return storage.to_metadata(self.constraints, self.n_features, prefix)

    def arrays(self, prefix: str = "constraint_") -> dict:
        """name -> float64 array (forbidden vectors (K, n_features), q2 (n_features, n_features) or its factors)."""
        return storage.to_arrays(self.constraints, prefix)

    @classmethod
    def from_metadata(cls, meta: dict, arrays: dict) -> "ConstraintSet":
        """Rebuild a set from ``to_metadata()`` and ``arrays()`` (e.g. read back from a model file)."""
        return cls(storage.from_metadata(meta, arrays))
