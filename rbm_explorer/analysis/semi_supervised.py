"""Semi-supervised statistics (Fernandez-de-Cossio-Diaz, Cocco & Monasson 2023, Sec. VIII): how well the
constraint vector q^(1) of a small balanced labelled subsample (``balanced_subsample``) agrees with the one
of the fully labelled data, measured (``overlap``, Eq. 27) and predicted (``expected_overlap``, Eq. 30)."""

from __future__ import annotations

import numpy as np

from rbm_explorer.training.constraints.labels import as_features, as_labels

__all__ = ["overlap", "expected_overlap"]


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
    f = as_features(features)
    u = as_labels(u, f.shape[0])
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
