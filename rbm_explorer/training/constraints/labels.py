"""Constraint vectors and matrices built from labelled data (Fernandez-de-Cossio-Diaz, Cocco & Monasson 2023).

Labels are used only here: they turn into the first-order vectors q (Eqs. 6-7, Eq. 26 for several classes)
and the second-order matrices q2 (Eq. 10, Eq. 18 for Ising data) the constraint objects are built from; the
training loop never sees a label. ``balanced_subsample`` picks the labelled examples of the semi-supervised
setting (Sec. VIII).

Data are in feature form, float rows (n_samples, n_features) as returned by ``rbm.visible.features(v)``, and
expectations <.> are over the data, optionally with non-negative sample weights normalised to sum 1.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "linear_vector",
    "class_vectors",
    "quadratic_matrix",
    "ising_quadratic_matrix",
    "balanced_subsample",
    "as_features",
    "as_labels",
    "normalised_weights",
]


def as_features(features) -> np.ndarray:
    """Data in feature form as a float64 (n_samples, n_features) array with at least one sample."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be a 2-d array (n_samples, n_features), got shape {f.shape}")
    if f.shape[0] == 0:
        raise ValueError("features hold no samples")
    return f


def normalised_weights(weights, n: int) -> np.ndarray:
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


def as_labels(u, n: int) -> np.ndarray:
    """One real label per sample as a float64 vector of length ``n``."""
    u = np.asarray(u, dtype=np.float64).reshape(-1)
    if u.shape[0] != n:
        raise ValueError(f"{u.shape[0]} labels for {n} samples")
    return u


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
    f = as_features(features)
    w = normalised_weights(weights, f.shape[0])
    u = as_labels(u, f.shape[0])
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
    f = as_features(features)
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
    w = normalised_weights(weights, n)
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
    f = as_features(features)
    w = normalised_weights(weights, f.shape[0])
    u = as_labels(u, f.shape[0])
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
    s = as_features(spins)
    return quadratic_matrix(s, np.abs(s.sum(axis=1)), weights)


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

