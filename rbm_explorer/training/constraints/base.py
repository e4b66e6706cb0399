"""The one protocol every constraint implements, and the registry that finds a stored constraint's class.

A constraint acts on the weight matrix W (n_features, M) of an RBM, column ``mu`` being the weight vector
w_mu of hidden unit ``mu``, at the two hooks of the training loop:

* before an update, its **penalty** (a soft constraint, e.g. the quadratic one of Eqs. 8-10) adds a term to
  the loss, and its **gradient** is subtracted from the log-likelihood gradient;
* after the update, its **projection** (a hard constraint, e.g. the linear one of Eq. 7) puts W back on the
  constraint surface.

A constraint may have either or both; the defaults are neutral (no penalty, no projection). A hard
constraint that removes a linear subspace from each of its units says so with ``projection_span``: the
``ConstraintSet`` then combines it with the other such constraints on the same units into one exact
projection, instead of calling ``project`` on each (sequential projections onto non-orthogonal subspaces
would not be exact).

Storage: a constraint is written as one metadata entry (``{"type": kind, "units": [...], "array": name,
...metadata_fields(), "name": ...}``) and one array; ``register_constraint`` maps the stored ``type`` back
to the class whose ``from_stored`` rebuilds it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

__all__ = ["Constraint", "register_constraint", "constraint_type", "as_units", "check_columns"]


def as_units(units) -> np.ndarray:
    """Sorted, unique, non-negative hidden-unit indices as an intp array."""
    u = np.unique(np.asarray(units, dtype=np.int64).reshape(-1))
    if u.size and u[0] < 0:
        raise ValueError(f"hidden unit indices must be non-negative, got {u[0]}")
    return u.astype(np.intp)


def check_columns(weight_matrix, units: np.ndarray, n_features: int, what: str) -> np.ndarray:
    """``weight_matrix`` if it is a 2-d array with ``n_features`` rows and a column for each of ``units``;
    a ValueError naming ``what`` otherwise."""
    w = weight_matrix
    if not isinstance(w, np.ndarray) or w.ndim != 2:
        raise ValueError(f"{what}: the weight matrix must be a 2-d array (n_features, n_hidden)")
    if w.shape[0] != n_features:
        raise ValueError(f"{what}: weight vectors have {w.shape[0]} features but the constraint has {n_features}")
    if units.size and units[-1] >= w.shape[1]:
        raise ValueError(f"{what}: constrains hidden unit {units[-1]} but the weights have {w.shape[1]} hidden units")
    return w


class Constraint(ABC):
    """A constraint on the weight vectors of some hidden units (the ``units`` columns of W).

    Subclasses set ``kind`` (the stored ``type``), implement ``n_features`` and the three storage methods,
    and override the hooks they act through.

    Parameters
    ----------
    units : int array
        Hidden units (columns of the weight matrix) the constraint applies to.
    name : str, optional
        Free-form description kept in the metadata.
    """

    kind: ClassVar[str]

    def __init__(self, units, name: str | None = None):
        self.units = as_units(units)
        self.name = name

    @property
    @abstractmethod
    def n_features(self) -> int:
        """Length of the weight vectors the constraint acts on (rows of the weight matrix)."""

    def check_weights(self, weight_matrix, what: str) -> np.ndarray:
        """``weight_matrix`` after checking that it has the features and the units this constraint needs."""
        return check_columns(weight_matrix, self.units, self.n_features, what)

    # --- hooks (neutral defaults) ------------------------------------------------------------------------
    @property
    def projection_span(self) -> np.ndarray | None:
        """Rows (K, n_features) spanning the subspace ``project`` removes from every constrained w_mu (it keeps
        the component orthogonal to their span), or None when the projection (if any) is not of that form."""
        return None

    def project(self, weight_matrix) -> np.ndarray:
        """After an update: enforce the hard part in place on ``weight_matrix`` (n_features, M); returns it."""
        return weight_matrix

    def penalty(self, weight_matrix) -> float:
        """Before an update: the soft part, the term this constraint adds to the loss."""
        return 0.0

    def gradient(self, weight_matrix) -> np.ndarray | None:
        """d penalty / d W, shape of ``weight_matrix``; None when there is no penalty."""
        return None

    def violation(self, weight_matrix) -> float:
        """How far ``weight_matrix`` is from satisfying the hard part (0 when it does, or when there is none)."""
        return 0.0

    # --- storage -----------------------------------------------------------------------------------------
    @abstractmethod
    def stored_array(self) -> tuple[str, np.ndarray]:
        """(suffix, array): the array written to the model file as ``{prefix}{index}_{suffix}``."""

    @abstractmethod
    def metadata_fields(self) -> dict:
        """The JSON fields of the metadata entry besides type, units, array and name, in stored order."""

    @classmethod
    @abstractmethod
    def from_stored(cls, entry: dict, array: np.ndarray) -> "Constraint":
        """Rebuild from a metadata entry (as written, with ``type``, ``units``, ``array``...) and its array."""


_TYPES: dict[str, type[Constraint]] = {}


def register_constraint(cls: type[Constraint]) -> type[Constraint]:
    """Class decorator: stored entries with ``type == cls.kind`` are read back by ``cls.from_stored``."""
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"{cls.__name__} needs a non-empty string 'kind' to be registered")
    known = _TYPES.get(kind)
    if known is not None and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"constraint type {kind!r} is already registered by {known.__name__}")
    _TYPES[kind] = cls
    return cls


def constraint_type(kind) -> type[Constraint]:
    """The registered class of a stored ``type``."""
    try:
        return _TYPES[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown constraint type {kind!r}") from None
