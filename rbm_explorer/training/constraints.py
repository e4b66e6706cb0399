"""Label-derived constraints on hidden-unit weight vectors (PAPERS.md section 1; seed 000, PRX 2023).

Fernandez-de-Cossio-Diaz, Cocco, Monasson, "Disentangling representations in Restricted Boltzmann Machines
without adversaries", Phys. Rev. X 13, 021003 (2023). Labels are used only in this module: they turn into
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

Contents
--------
* Constraint vectors and matrices: ``linear_vector`` (Eqs. 6-7), ``class_vectors`` (Eq. 26),
  ``quadratic_matrix`` (Eq. 10), ``ising_quadratic_matrix`` (Eq. 18), ``truncate_quadratic`` (Sec. III.B, the
  Marchenko-Pastur truncation, decision [D] of PAPERS.md).
* Semi-supervised helpers (Sec. VIII): ``balanced_subsample``, ``overlap`` (Eq. 27), ``expected_overlap``
  (Eq. 30, with the factor-2 correction documented there).
* Constraint objects: ``LinearConstraint`` (hard projection after every update), ``QuadraticConstraint``
  (soft penalty), ``ConstraintSet`` (what the training loop holds; serialisable to model-file metadata plus
  extra arrays).
* Layouts: ``constrain_all`` (fully constrained, objective A), ``constrain_all_but`` (partially constrained,
  objective B), ``multiclass_released`` (Fig. 9(a)).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "linear_vector",
    "class_vectors",
    "quadratic_matrix",
    "ising_quadratic_matrix",
    "marchenko_pastur_edge",
    "truncate_quadratic",
    "balanced_subsample",
    "overlap",
    "expected_overlap",
    "LinearConstraint",
    "QuadraticConstraint",
    "ConstraintSet",
    "constrain_all",
    "constrain_all_but",
    "multiclass_released",
    "METADATA_KIND",
]

METADATA_KIND = "rbm_explorer.constraints"
METADATA_VERSION = 1


# --------------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------------
def _features(features) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be a 2-d array (n_samples, n_features), got shape {f.shape}")
    if f.shape[0] == 0:
        raise ValueError("features hold no samples")
    return f


def _sample_weights(weights, n: int) -> np.ndarray:
    """Normalised sample weights (sum 1), uniform when ``weights`` is None."""
    if weights is None:
        return np.full(n, 1.0 / n)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(f"{w.shape[0]} sample weights for {n} samples")
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError("sample weights must be finite and non-negative")
    total = w.sum()
    if total <= 0:
        raise ValueError("sample weights sum to zero")
    return w / total


def _label_vector(u, n: int) -> np.ndarray:
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    if u.shape[0] != n:
        raise ValueError(f"{u.shape[0]} labels for {n} samples")
    return u


def _units(units) -> np.ndarray:
    u = np.unique(np.asarray(units, dtype=np.int64).reshape(-1))
    if u.size and u[0] < 0:
        raise ValueError(f"hidden unit indices must be non-negative, got {u[0]}")
    return u.astype(np.intp)


def _check_columns(weight_matrix, units: np.ndarray, n_features: int, what: str) -> np.ndarray:
    w = weight_matrix
    if not isinstance(w, np.ndarray) or w.ndim != 2:
        raise ValueError(f"{what}: the weight matrix must be a 2-d array (n_features, n_hidden)")
    if w.shape[0] != n_features:
        raise ValueError(f"{what}: weight vectors have {w.shape[0]} features but the constraint has {n_features}")
    if units.size and units[-1] >= w.shape[1]:
        raise ValueError(f"{what}: constrains hidden unit {units[-1]} but the weights have {w.shape[1]} hidden units")
    return w


def _orthonormal_rows(vectors: np.ndarray) -> np.ndarray:
    """Orthonormal basis (rows) of the span of the rows of ``vectors``; rank-revealing SVD, so degenerate or
    zero vectors are fine (the basis then has fewer rows)."""
    if vectors.shape[0] == 0:
        return np.zeros((0, vectors.shape[1]))
    _, s, vt = np.linalg.svd(vectors, full_matrices=False)
    if s.size == 0 or s[0] == 0:
        return np.zeros((0, vectors.shape[1]))
    tol = s[0] * max(vectors.shape) * np.finfo(np.float64).eps
    return vt[s > tol].copy()


# --------------------------------------------------------------------------------------------------------
# constraint vectors and matrices (labels are used only here)
# --------------------------------------------------------------------------------------------------------
def linear_vector(features, u, weights=None) -> np.ndarray:
    """First-order constraint vector q^(1)_i = <u f_i> - <u><f_i> (Eqs. 6-7).

    Parameters
    ----------
    features : array (n_samples, n_features)
        Data in feature form (one-hot for Potts).
    u : array (n_samples,)
        Label of each sample, binary {0, 1} or spin {-1, +1} (any real label works; the vector is the
        covariance of u with each feature, so {0,1} and {-1,+1} give parallel vectors, the latter twice as long).
    weights : array (n_samples,), optional
        Non-negative sample weights; normalised here.

    Returns
    -------
    q : array (n_features,), float64. A constrained unit satisfies q . w_mu = 0 (Eq. 7).
    """
    f = _features(features)
    w = _sample_weights(weights, f.shape[0])
    u = _label_vector(u, f.shape[0])
    centred = u - w @ u
    return (w * centred) @ f


def class_vectors(features, labels, n_classes: int, weights=None) -> np.ndarray:
    """Multi-class constraint vectors q_d = <u_d f> - <u_d><f> with one-hot labels u_d (Eq. 26).

    Since sum_d u_d = 1, the D vectors sum to zero; only d = 1..D-1 are returned (q_0 = -sum of the others).

    Parameters
    ----------
    features : array (n_samples, n_features)
    labels : array (n_samples,) of integers in 0..n_classes-1, or one-hot (n_samples, n_classes)
    n_classes : int, D >= 2
    weights : array (n_samples,), optional

    Returns
    -------
    q : array (n_classes - 1, n_features); row d-1 is q_d.
    """
    f = _features(features)
    n = f.shape[0]
    if n_classes < 2:
        raise ValueError(f"class_vectors needs n_classes >= 2, got {n_classes}")
    labels = np.asarray(labels)
    if labels.ndim == 2:
        if labels.shape != (n, n_classes):
            raise ValueError(f"one-hot labels must be ({n}, {n_classes}), got {labels.shape}")
        onehot = labels.astype(np.float64)
    else:
        lab = labels.reshape(-1)
        if lab.shape[0] != n:
            raise ValueError(f"{lab.shape[0]} labels for {n} samples")
        if np.any(lab != np.round(lab)) or lab.min() < 0 or lab.max() >= n_classes:
            raise ValueError(f"labels must be integers in 0..{n_classes - 1}")
        onehot = np.zeros((n, n_classes))
        onehot[np.arange(n), lab.astype(np.intp)] = 1.0
    w = _sample_weights(weights, n)
    centred = onehot - w @ onehot
    return (centred[:, 1:] * w[:, None]).T @ f


def quadratic_matrix(features, u, weights=None) -> np.ndarray:
    """Second-order constraint matrix q^(2)_ij = <u f_i f_j> - <u><f_i f_j> (Eq. 10).

    A constrained pair of units satisfies w_mu^T q^(2) w_nu = 0 (Eq. 9); see ``QuadraticConstraint``.

    Parameters
    ----------
    features : array (n_samples, n_features)
    u : array (n_samples,), the label (binary or spin)
    weights : array (n_samples,), optional

    Returns
    -------
    q2 : array (n_features, n_features), symmetric, float64. Its eigenvalues have both signs.
    """
    f = _features(features)
    w = _sample_weights(weights, f.shape[0])
    u = _label_vector(u, f.shape[0])
    c = w * (u - w @ u)
    q2 = (f * c[:, None]).T @ f
    return 0.5 * (q2 + q2.T)


def ising_quadratic_matrix(spins, weights=None) -> np.ndarray:
    """Ising second-order matrix Q^(2)_ij = <|sum_k v_k| v_i v_j> - <|sum_k v_k|><v_i v_j> (Eq. 18).

    For Ising data q^(2) with u = sign(sum v) vanishes by the v -> -v symmetry; Eq. 18 uses the absolute
    magnetisation as the "label" instead.

    Parameters
    ----------
    spins : array (n_samples, N) of +-1
    weights : array (n_samples,), optional

    Returns
    -------
    Q2 : array (N, N), symmetric.
    """
    s = _features(spins)
    return quadratic_matrix(s, np.abs(s.sum(axis=1)), weights)


def marchenko_pastur_edge(n_features: int, n_samples: float) -> float:
    """Upper Marchenko-Pastur edge (1 + sqrt(r))^2, r = n_features / n_samples (Sec. III.B)."""
    if n_samples <= 0:
        raise ValueError("n_samples must be positive")
    return (1.0 + math.sqrt(n_features / n_samples)) ** 2


def truncate_quadratic(q2, features, rank: int | None = None, weights=None):
    """Low-rank truncation of q^(2) (Sec. III.B; PAPERS.md decision [D]).

    The paper keeps the components of q^(2) above the Marchenko-Pastur edge lambda_+ = (1 + sqrt(r))^2,
    r = n_features / n_samples. That edge is for a standardised (unit-variance) noise matrix, and q^(2) is
    neither standardised nor positive, so ([D]):

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
    f = _features(features)
    q2 = np.asarray(q2, dtype=np.float64)
    n, p = f.shape
    if q2.shape != (p, p):
        raise ValueError(f"q2 must be {p} x {p} to match the features, got {q2.shape}")
    if rank is not None and rank < 0:
        raise ValueError(f"rank must be >= 0, got {rank}")
    w = _sample_weights(weights, n)
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


# --------------------------------------------------------------------------------------------------------
# semi-supervised (Sec. VIII)
# --------------------------------------------------------------------------------------------------------
def balanced_subsample(labels, B: int, seed=0, n_classes: int | None = None) -> np.ndarray:
    """Indices of ``B`` labelled examples balanced across classes (Sec. VIII), drawn without replacement.

    Each class gets B // D examples; when D does not divide B, the B % D remaining examples go to distinct
    classes chosen at random (so counts differ by at most one). Deterministic for a given ``seed``.

    Parameters
    ----------
    labels : array (n_samples,)
        Class of each sample (any comparable values; binary {0,1} or {-1,+1} labels give two classes).
    B : int, total number of examples.
    seed : int or numpy Generator
    n_classes : int, optional
        If given, labels must be integers 0..n_classes-1 and every one of these classes takes part
        (an absent class is an error rather than silently ignored).

    Returns
    -------
    indices : array (B,) of intp, sorted.
    """
    labels = np.asarray(labels).reshape(-1)
    if n_classes is None:
        classes = np.unique(labels)
    else:
        classes = np.arange(n_classes)
    D = len(classes)
    if D < 1:
        raise ValueError("no labels given")
    B = int(B)
    if B < D:
        raise ValueError(f"B = {B} is too small: each of the {D} classes needs at least one example")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    counts = np.full(D, B // D)
    if B % D:
        counts[rng.choice(D, size=B % D, replace=False)] += 1
    chosen = []
    for cls, k in zip(classes, counts):
        pool = np.flatnonzero(labels == cls)
        if k > pool.size:
            name = cls.item() if isinstance(cls, np.generic) else cls
            raise ValueError(f"B = {B} is too large: class {name!r} needs {k} examples but has only {pool.size}")
        chosen.append(rng.choice(pool, size=k, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.intp)


def overlap(q_a, q_b) -> float:
    """phi = cos(q_a, q_b) = q_a . q_b / (|q_a| |q_b|) (Eq. 27); 0 if either vector is zero.

    Arrays of any shape (e.g. Potts N x q) are flattened.
    """
    a = np.asarray(q_a, dtype=np.float64).reshape(-1)
    b = np.asarray(q_b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"vectors of different sizes: {a.size} and {b.size}")
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def expected_overlap(features, u, B: int, finite_population: bool = False) -> float:
    """Theoretical mean overlap <phi> between q^(1) of the full data and of a balanced subsample of B (Eq. 30).

    <phi> ~ (1 + Tr(C^0 + C^1) / (n ||v^0 - v^1||^2))^(-1/2),  n = B / 2 examples per class,

    with C^c the class-conditional covariance (Eq. 28) and v^c the class mean (Eq. 29) over ``features``.

    Derivation and the factor 2: for a balanced subsample q_sub = (1/4)(m^1 - m^0) with m^c the mean of the n
    examples of class c, while q_full is parallel to v^1 - v^0 whatever the class balance. m^1 - m^0 =
    (v^1 - v^0) + xi with E|xi|^2 = Tr(C^0 + C^1) / n. In high dimension xi is nearly orthogonal to v^1 - v^0
    and |xi|^2 concentrates, so cos ~ |dv| / sqrt(|dv|^2 + E|xi|^2). The paper prints Eq. 30 with "B the total
    number of labelled examples, B/2 per class" but with B in the denominator; that is the formula for B
    examples *per class*. Here B is the total (as in ``balanced_subsample``), and the denominator is B / 2;
    this was checked against simulation in tests/test_constraints.py.

    Assumptions: two classes (u takes exactly two values; the smaller is class 0), a balanced subsample drawn
    uniformly without replacement within each class, unweighted data, and enough dimensions for the
    concentration argument (corrections are O(1/n_features)).

    Parameters
    ----------
    features : array (n_samples, n_features), the full labelled data
    u : array (n_samples,), two-valued label
    B : int, total size of the balanced subsample (B / 2 per class; B must be even)
    finite_population : bool
        Multiply each class's variance term by (N_c - n) / (N_c - 1), the exact correction for sampling
        without replacement from the N_c examples of class c (matters when n is not small against N_c).

    Returns
    -------
    float in (0, 1].
    """
    f = _features(features)
    u = _label_vector(u, f.shape[0])
    values = np.unique(u)
    if values.size != 2:
        raise ValueError(f"expected_overlap needs a two-valued label, got {values.size} distinct values")
    if B < 2 or B % 2:
        raise ValueError(f"B must be a positive even number (B / 2 per class), got {B}")
    n = B // 2
    noise = 0.0
    means = []
    for val in values:
        fc = f[u == val]
        if n > fc.shape[0]:
            raise ValueError(f"B = {B} is too large: class {val} has only {fc.shape[0]} examples")
        m = fc.mean(axis=0)
        means.append(m)
        trace = float(np.sum((fc - m) ** 2) / fc.shape[0])  # Tr C^c, population (ddof = 0) covariance
        factor = (fc.shape[0] - n) / (fc.shape[0] - 1) if (finite_population and fc.shape[0] > 1) else 1.0
        noise += trace * factor / n
    dv2 = float(np.sum((means[1] - means[0]) ** 2))
    if dv2 == 0:
        return 0.0
    return float((1.0 + noise / dv2) ** -0.5)


# --------------------------------------------------------------------------------------------------------
# constraint objects
# --------------------------------------------------------------------------------------------------------
class LinearConstraint:
    """Hard linear constraints q_k . w_mu = 0 for the listed hidden units (Eq. 7).

    Enforced by projection after every update: w_mu <- w_mu - Q (Q^+ w_mu), Q = (n_features x K) matrix of the
    forbidden vectors, implemented with a precomputed orthonormal basis U of span(Q) (rank-revealing SVD):
    w <- w - U^T (U w). Degenerate or zero forbidden vectors are fine.

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
        self.forbidden = q
        self.units = _units(units)
        self.name = name
        self.basis = _orthonormal_rows(q)

    @property
    def n_features(self) -> int:
        return self.forbidden.shape[1]

    @property
    def rank(self) -> int:
        """Dimension of the span of the forbidden vectors."""
        return self.basis.shape[0]

    def __repr__(self):
        return f"LinearConstraint({self.forbidden.shape[0]} vectors of rank {self.rank} on {self.units.size} units)"

    def project(self, weight_matrix) -> np.ndarray:
        """Project the constrained columns of ``weight_matrix`` (n_features, M) in place; returns it."""
        w = _check_columns(weight_matrix, self.units, self.n_features, "LinearConstraint.project")
        if self.units.size and self.rank:
            _project_columns(w, self.units, self.basis)
        return w

    def violation(self, weight_matrix) -> float:
        """max over constrained units and forbidden vectors of |q . w_mu| / (|q| |w_mu|); 0 for zero columns."""
        w = _check_columns(weight_matrix, self.units, self.n_features, "LinearConstraint.violation")
        return _cosine_violation(self.forbidden, w[:, self.units])


def _project_columns(w: np.ndarray, units: np.ndarray, basis: np.ndarray) -> None:
    cols = w[:, units]
    w[:, units] = cols - basis.T @ (basis @ cols)


def _cosine_violation(q: np.ndarray, cols: np.ndarray) -> float:
    if cols.shape[1] == 0 or q.shape[0] == 0:
        return 0.0
    qn = np.linalg.norm(q, axis=1)
    wn = np.linalg.norm(cols, axis=0)
    dots = np.abs(q @ cols)
    denom = np.outer(qn, wn)
    ok = denom > 0
    if not np.any(ok):
        return 0.0
    return float(np.max(dots[ok] / denom[ok]))


class QuadraticConstraint:
    """Soft quadratic constraint w_mu^T q2 w_nu = 0 for all pairs of listed units (Eqs. 8-10).

    Penalty (added to the loss, large lambda): lambda * sum_{mu,nu} (w_mu^T q2 w_nu)^2 = lambda ||W_c^T q2 W_c||_F^2,
    W_c = the constrained columns; gradient 4 lambda q2 W_c (W_c^T q2 W_c) (q2 symmetrised on construction).

    Parameters
    ----------
    matrix : array (n_features, n_features)
        q^(2) (``quadratic_matrix``, ``ising_quadratic_matrix``), possibly truncated (``truncate_quadratic``).
    units : int array
    strength : float, lambda_Q >= 0
    rank : int, optional
        Truncation rank used to build ``matrix`` (recorded in the metadata only).
    name : str, optional
    """

    kind = "quadratic"

    def __init__(self, matrix, units, strength: float = 1.0, rank: int | None = None, name: str | None = None):
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"the quadratic constraint matrix must be square, got shape {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError("the quadratic constraint matrix must be finite")
        if strength < 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        self.matrix = 0.5 * (m + m.T)
        self.units = _units(units)
        self.strength = float(strength)
        self.rank = None if rank is None else int(rank)
        self.name = name
        self._factors = None
        if self.rank is not None and self.rank < self.matrix.shape[0] // 4:
            # a truncated q2 = V diag(lam) V^T of rank r: the penalty and its gradient go through the
            # r x M_c matrix V^T W_c (measured for MNIST, r = 15, 397 units: 6.5 ms per gradient instead of 40)
            lam, vec = np.linalg.eigh(self.matrix)
            top = np.argsort(-np.abs(lam), kind="stable")[:self.rank]
            self._factors = (vec[:, top], lam[top])

    @property
    def n_features(self) -> int:
        return self.matrix.shape[0]

    def __repr__(self):
        return f"QuadraticConstraint(strength={self.strength}, {self.units.size} units, rank={self.rank})"

    def _inner(self, weight_matrix, what):
        w = _check_columns(weight_matrix, self.units, self.n_features, what)
        wc = w[:, self.units]
        qw = self.matrix @ wc
        return w, qw, wc.T @ qw

    def _low_rank_inner(self, weight_matrix, what):
        """(W, B = V^T W_c, A = W_c^T q2 W_c = B^T diag(lam) B) for a truncated q2 = V diag(lam) V^T."""
        w = _check_columns(weight_matrix, self.units, self.n_features, what)
        vec, lam = self._factors
        b = vec.T @ w[:, self.units]
        return w, b, b.T @ (lam[:, None] * b)

    def penalty(self, weight_matrix) -> float:
        """lambda ||W_c^T q2 W_c||_F^2 (the sum over pairs of Eq. 9 squared)."""
        inner = self._inner if self._factors is None else self._low_rank_inner
        a = inner(weight_matrix, "QuadraticConstraint.penalty")[-1]
        return self.strength * float(np.sum(a * a))

    def gradient(self, weight_matrix) -> np.ndarray:
        """d penalty / d W: 4 lambda q2 W_c (W_c^T q2 W_c) in the constrained columns, zeros elsewhere."""
        if self._factors is None:
            w, qw, a = self._inner(weight_matrix, "QuadraticConstraint.gradient")
            grad = qw @ a
        else:  # q2 W_c A = V (diag(lam) (B A)), never forming the N x M_c product q2 W_c
            w, b, a = self._low_rank_inner(weight_matrix, "QuadraticConstraint.gradient")
            vec, lam = self._factors
            grad = vec @ (lam[:, None] * (b @ a))
        g = np.zeros(w.shape)
        g[:, self.units] = 4.0 * self.strength * grad
        return g


class ConstraintSet:
    """All constraints of a model: the object the training loop holds.

    Hooks: ``penalty_gradient`` is added to the loss gradient before an update, ``project`` is applied after it.

    Linear constraints are combined per hidden unit: a unit listed in several ``LinearConstraint``s is projected
    onto the orthogonal complement of the union of their forbidden vectors in one step (sequential projections
    would not be exact when the spans are not orthogonal).

    Parameters
    ----------
    constraints : iterable of LinearConstraint / QuadraticConstraint
    """

    def __init__(self, constraints=()):
        self.constraints = list(constraints)
        for c in self.constraints:
            if not isinstance(c, (LinearConstraint, QuadraticConstraint)):
                raise TypeError(f"not a constraint: {c!r}")
        sizes = {c.n_features for c in self.constraints}
        if len(sizes) > 1:
            raise ValueError(f"constraints disagree on the number of features: {sorted(sizes)}")
        self._groups = self._linear_groups()

    # --- structure -------------------------------------------------------------------------------------
    @property
    def linear(self) -> list:
        return [c for c in self.constraints if isinstance(c, LinearConstraint)]

    @property
    def quadratic(self) -> list:
        return [c for c in self.constraints if isinstance(c, QuadraticConstraint)]

    @property
    def n_features(self) -> int | None:
        return self.constraints[0].n_features if self.constraints else None

    def __len__(self):
        return len(self.constraints)

    def __iter__(self):
        return iter(self.constraints)

    def __repr__(self):
        return f"ConstraintSet({self.constraints!r})"

    def _linear_groups(self):
        """(units, basis) pairs: units sharing the same set of linear constraints share one basis."""
        linear = self.linear
        members: dict[int, list[int]] = {}
        for k, c in enumerate(linear):
            for mu in c.units.tolist():
                members.setdefault(mu, []).append(k)
        by_key: dict[tuple, list[int]] = {}
        for mu, ks in members.items():
            by_key.setdefault(tuple(ks), []).append(mu)
        groups = []
        for key, units in sorted(by_key.items(), key=lambda kv: min(kv[1])):
            if len(key) == 1:
                basis = linear[key[0]].basis
            else:
                basis = _orthonormal_rows(np.concatenate([linear[k].forbidden for k in key]))
            if basis.shape[0]:
                groups.append((np.array(sorted(units), dtype=np.intp), basis))
        return groups

    # --- hooks -----------------------------------------------------------------------------------------
    def project(self, weight_matrix) -> np.ndarray:
        """Apply every linear constraint in place (one combined projection per unit); returns the array."""
        for c in self.linear:
            _check_columns(weight_matrix, c.units, c.n_features, "ConstraintSet.project")
        for units, basis in self._groups:
            _project_columns(weight_matrix, units, basis)
        return weight_matrix

    def penalty(self, weight_matrix) -> float:
        """Sum of the quadratic penalties (linear constraints are hard and add nothing)."""
        return float(sum(c.penalty(weight_matrix) for c in self.quadratic))

    def penalty_gradient(self, weight_matrix) -> np.ndarray:
        """Gradient of ``penalty`` with respect to the weight matrix, shape (n_features, M)."""
        g = np.zeros(np.shape(weight_matrix))
        for c in self.quadratic:
            g += c.gradient(weight_matrix)
        return g

    def violation(self, weight_matrix) -> float:
        """Largest linear-constraint violation (cosine between a forbidden vector and a constrained w_mu)."""
        return max((c.violation(weight_matrix) for c in self.linear), default=0.0)

    def released_units(self, n_hidden: int) -> np.ndarray:
        """Hidden units under no constraint at all."""
        used = set()
        for c in self.constraints:
            used.update(c.units.tolist())
        return np.array([mu for mu in range(n_hidden) if mu not in used], dtype=np.intp)

    # --- storage -----------------------------------------------------------------------------------------
    def _array_name(self, prefix: str, k: int, c) -> str:
        if isinstance(c, LinearConstraint):
            return f"{prefix}{k}_forbidden"
        return f"{prefix}{k}_{'factors' if c._factors is not None else 'matrix'}"

    def to_metadata(self, prefix: str = "constraint_") -> dict:
        """JSON-compatible description; the arrays it names come from ``arrays(prefix)``.

        ``{"kind": "rbm_explorer.constraints", "version": 1, "constraints": [{"type": "linear", "units": [...],
        "array": "constraint_0_forbidden", "n_vectors": K, "rank": r, "name": ...}, {"type": "quadratic",
        "units": [...], "array": "constraint_1_matrix", "strength": lambda, "rank": r or null, "name": ...}]}``

        A q2 truncated to a rank r below n_features / 4 is stored as its factors instead of the dense matrix:
        ``constraint_1_factors``, an (r, n_features + 1) array whose rows are lam_k followed by the eigenvector
        v_k, so that q2 = sum_k lam_k v_k v_k^T (a 784 x 784 q2 of rank 15 takes 94 kB instead of 4.9 MB).
        """
        entries = []
        for k, c in enumerate(self.constraints):
            entry = {"type": c.kind, "units": c.units.tolist(), "array": self._array_name(prefix, k, c)}
            if isinstance(c, LinearConstraint):
                entry.update(n_vectors=int(c.forbidden.shape[0]), rank=int(c.rank))
            else:
                entry.update(strength=c.strength, rank=c.rank)
            if c.name is not None:
                entry["name"] = str(c.name)
            entries.append(entry)
        return {"kind": METADATA_KIND, "version": METADATA_VERSION, "n_features": self.n_features,
                "constraints": entries}

    def arrays(self, prefix: str = "constraint_") -> dict:
        """name -> float64 array (forbidden vectors (K, n_features) or q2 (n_features, n_features))."""
        out = {}
        for k, c in enumerate(self.constraints):
            if isinstance(c, LinearConstraint):
                value = c.forbidden
            elif c._factors is not None:
                vec, lam = c._factors
                value = np.column_stack([lam, vec.T])
            else:
                value = c.matrix
            out[self._array_name(prefix, k, c)] = value
        return out

    @classmethod
    def from_metadata(cls, meta: dict, arrays: dict) -> "ConstraintSet":
        """Rebuild a set from ``to_metadata()`` and ``arrays()`` (e.g. read back from a model file)."""
        if not isinstance(meta, dict) or meta.get("kind") != METADATA_KIND:
            raise ValueError(f"not constraint metadata (expected kind {METADATA_KIND!r})")
        if meta.get("version") != METADATA_VERSION:
            raise ValueError(f"unsupported constraint metadata version {meta.get('version')!r}")
        out = []
        for entry in meta.get("constraints", []):
            name = entry.get("array")
            if name not in arrays:
                raise ValueError(f"constraint array {name!r} is missing")
            arr = np.asarray(arrays[name], dtype=np.float64)
            if entry.get("type") == "linear":
                out.append(LinearConstraint(arr, entry["units"], name=entry.get("name")))
            elif entry.get("type") == "quadratic":
                if name.endswith("_factors"):  # rows (lam_k, v_k): q2 = sum_k lam_k v_k v_k^T
                    if arr.ndim != 2 or arr.shape[1] < 2:
                        raise ValueError(f"constraint array {name!r} must be (rank, n_features + 1), got {arr.shape}")
                    arr = (arr[:, 1:].T * arr[:, 0]) @ arr[:, 1:]
                out.append(QuadraticConstraint(arr, entry["units"], entry.get("strength", 1.0),
                                               rank=entry.get("rank"), name=entry.get("name")))
            else:
                raise ValueError(f"unknown constraint type {entry.get('type')!r}")
        return cls(out)


# --------------------------------------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------------------------------------
def constrain_all(n_hidden: int, forbidden, name: str | None = None) -> LinearConstraint:
    """Fully constrained RBM (objective A, Fig. 3(a)): every hidden unit orthogonal to the forbidden vectors."""
    return LinearConstraint(forbidden, np.arange(n_hidden), name=name)


def constrain_all_but(n_hidden: int, forbidden, released, name: str | None = None) -> LinearConstraint:
    """Partially constrained RBM (objective B, Fig. 3(b)): all units but ``released`` are constrained."""
    released = _units(released)
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
