"""Which hidden units are constrained and which are released (Fernandez-de-Cossio-Diaz, Cocco & Monasson
2023, Fig. 3 and Fig. 9(a)).

A released unit is free to take the label information the constraints remove from all the others; the
set's ``released_units`` lists the units under no constraint at all.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.training.constraints.base import as_units
from rbm_explorer.training.constraints.linear import LinearConstraint
from rbm_explorer.training.constraints.set import ConstraintSet

__all__ = ["constrain_all", "constrain_all_but", "multiclass_released"]


def constrain_all(n_hidden: int, forbidden, name: str | None = None) -> LinearConstraint:
    """Fully constrained RBM (objective A, Fig. 3(a)): every hidden unit orthogonal to the forbidden vectors."""
    return LinearConstraint(forbidden, np.arange(n_hidden), name=name)


def constrain_all_but(n_hidden: int, forbidden, released, name: str | None = None) -> LinearConstraint:
    """Partially constrained RBM (objective B, Fig. 3(b)): all units but ``released`` are constrained."""
    released = as_units(released)
    if released.size and released[-1] >= n_hidden:
        raise ValueError(f"released unit {released[-1]} does not exist among {n_hidden} hidden units")
    units = np.setdiff1d(np.arange(n_hidden), released)
    return LinearConstraint(forbidden, units, name=name)


def multiclass_released(n_hidden: int, class_vectors) -> tuple[ConstraintSet, list[int]]:
    """Multi-class architecture of Fig. 9(a) (Eq. 26).

    With the D-1 vectors q_1..q_{D-1} (rows of ``class_vectors``): released unit d-1 (d = 1..D-1) is forbidden
    from every q_{d'} with d' != d, and keeps its component along q_d; every other hidden unit is forbidden
    from all of them. Activating released unit d-1 generates class d; all released units off gives class 0.

    Returns
    -------
    constraints : ConstraintSet
    released : list of int, [0, ..., D-2]
    """
    q = np.asarray(class_vectors, dtype=np.float64)
    if q.ndim == 1:
        q = q[None, :]
    n_released = q.shape[0]
    if n_hidden < n_released:
        raise ValueError(f"{n_released} released units do not fit in {n_hidden} hidden units")
    parts = []
    for d in range(n_released):
        others = np.delete(q, d, axis=0)
        if others.shape[0]:
            parts.append(LinearConstraint(others, [d], name=f"released unit for class {d + 1}"))
    if n_hidden > n_released:
        parts.append(LinearConstraint(q, np.arange(n_released, n_hidden), name="all class vectors"))
    return ConstraintSet(parts), list(range(n_released))
