"""Label-derived constraints on hidden-unit weight vectors.

Fernandez-de-Cossio-Diaz, Cocco, Monasson, "Disentangling representations in Restricted Boltzmann Machines
without adversaries", Phys. Rev. X 13, 021003 (2023). Labels are used only in ``labels``: they turn into
constraint vectors and matrices, and the training loop sees only constraint objects.

Conventions
-----------
* Data are given in *feature* form: float rows ``(n_samples, n_features)`` as returned by
  ``rbm.visible.features(v)``. ``n_features = N`` for binary/spin visibles and ``N * q`` for Potts (one-hot,
  flattened site-major: feature ``i * q + a``).
* Weights are ``rbm.weight_matrix``, shape ``(n_features, M)``; column ``mu`` is the weight vector ``w_mu`` of
  hidden unit ``mu``. For Potts visibles ``w_mu`` and ``q`` are the ``N x q`` arrays flattened, so every formula
  (dot products, projections) acts on the ``N x q`` vectors as the paper requires, with no special case.
* Expectations ``<.>`` are over the data, optionally with normalised sample weights (e.g. protein
  reweighting): ``<x> = sum_s w_s x_s / sum_s w_s``.

Modules
-------
* ``labels``: constraint vectors and matrices, ``linear_vector`` (Eqs. 6-7), ``class_vectors`` (Eq. 26),
  ``quadratic_matrix`` (Eq. 10), ``ising_quadratic_matrix`` (Eq. 18), and ``balanced_subsample`` for the
  semi-supervised setting (Sec. VIII; its statistics ``overlap`` and ``expected_overlap`` are in
  ``rbm_explorer.analysis.semi_supervised``).
* ``truncation``: ``marchenko_pastur_edge``, ``truncate_quadratic`` (Sec. III.A.2, the Marchenko-Pastur
  truncation; standardising q^(2) and ranking by |eigenvalue| is the project's reading of it).
* ``base``: the ``Constraint`` protocol (projection after an update, penalty and gradient before it,
  violation, units, storage) and the registry of stored types (``register_constraint``).
* ``linear``, ``quadratic``: ``LinearConstraint`` (hard projection after every update, Eq. 7) and
  ``QuadraticConstraint`` (soft penalty, Eqs. 8-10).
* ``projection``: orthogonal projections and their combination over constraints sharing units.
* ``set``: ``ConstraintSet``, what the training loop holds; ``storage``: its model-file format (metadata plus
  extra arrays).
* ``layouts``: ``constrain_all`` (fully constrained, objective A), ``constrain_all_but`` (partially
  constrained, objective B), ``multiclass_released`` (Fig. 9(a)).
"""

from rbm_explorer.training.constraints.base import Constraint, register_constraint
from rbm_explorer.training.constraints.labels import (
    balanced_subsample,
    class_vectors,
    ising_quadratic_matrix,
    linear_vector,
    quadratic_matrix,
)
from rbm_explorer.training.constraints.layouts import constrain_all, constrain_all_but, multiclass_released
from rbm_explorer.training.constraints.linear import LinearConstraint
from rbm_explorer.training.constraints.quadratic import QuadraticConstraint
from rbm_explorer.training.constraints.set import ConstraintSet
from rbm_explorer.training.constraints.storage import METADATA_KIND, METADATA_VERSION
from rbm_explorer.training.constraints.truncation import marchenko_pastur_edge, truncate_quadratic

__all__ = [
    "linear_vector",
    "class_vectors",
    "quadratic_matrix",
    "ising_quadratic_matrix",
    "marchenko_pastur_edge",
    "truncate_quadratic",
    "balanced_subsample",
    "Constraint",
    "register_constraint",
    "LinearConstraint",
    "QuadraticConstraint",
    "ConstraintSet",
    "constrain_all",
    "constrain_all_but",
    "multiclass_released",
    "METADATA_KIND",
    "METADATA_VERSION",
]
