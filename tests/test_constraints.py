"""Label-derived constraints (Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Secs. III and VIII,
Eqs. 5-10, 18, 26-30): formulas, projections, layouts, storage, the constraint protocol, and the
semi-supervised theory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.linalg import null_space

from rbm_explorer.analysis.semi_supervised import expected_overlap, overlap
from rbm_explorer.layers import Binary, Potts
from rbm_explorer.rbm import RBM
from rbm_explorer.training.constraints import (
    Constraint,
    ConstraintSet,
    LinearConstraint,
    QuadraticConstraint,
    balanced_subsample,
    class_vectors,
    constrain_all,
    constrain_all_but,
    ising_quadratic_matrix,
    linear_vector,
    marchenko_pastur_edge,
    multiclass_released,
    quadratic_matrix,
    register_constraint,
    truncate_quadratic,
)


def _binary_data(rng, n=300, n_features=8):
    return (rng.random((n, n_features)) < rng.uniform(0.2, 0.8, n_features)).astype(float)


# --- formulas ---------------------------------------------------------------------------------------------
def test_linear_vector_matches_direct_covariance():
    rng = np.random.default_rng(0)
    f = _binary_data(rng)
    u = (rng.random(len(f)) < 0.4).astype(float)
    direct = (u[:, None] * f).mean(0) - u.mean() * f.mean(0)
    np.testing.assert_allclose(linear_vector(f, u), direct, atol=1e-14)
    # spin labels give the parallel vector, twice as long
    np.testing.assert_allclose(linear_vector(f, 2 * u - 1), 2 * direct, atol=1e-14)
    # weighted data (weights normalised inside)
    w = rng.random(len(f))
    p = w / w.sum()
    direct_w = (p * u) @ f - (p @ u) * (p @ f)
    np.testing.assert_allclose(linear_vector(f, u, weights=10 * w), direct_w, atol=1e-14)


def test_class_vectors_match_direct_and_sum_to_zero():
    rng = np.random.default_rng(1)
    f = _binary_data(rng, n=400)
    D = 4
    labels = rng.integers(0, D, len(f))
    q = class_vectors(f, labels, D)
    assert q.shape == (D - 1, f.shape[1])
    all_q = []
    for d in range(D):
        ud = (labels == d).astype(float)
        all_q.append((ud[:, None] * f).mean(0) - ud.mean() * f.mean(0))
    np.testing.assert_allclose(q, np.array(all_q[1:]), atol=1e-14)
    np.testing.assert_allclose(np.sum(all_q, axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(all_q[0] + q.sum(0), 0.0, atol=1e-14)  # q_0 is minus the kept ones
    np.testing.assert_allclose(class_vectors(f, np.eye(D)[labels], D), q, atol=1e-14)  # one-hot input


def test_quadratic_matrices_match_direct():
    rng = np.random.default_rng(2)
    f = _binary_data(rng, n=200, n_features=6)
    u = (rng.random(len(f)) < 0.5).astype(float)
    direct = np.einsum("s,si,sj->ij", u, f, f) / len(f) - u.mean() * np.einsum("si,sj->ij", f, f) / len(f)
    q2 = quadratic_matrix(f, u)
    np.testing.assert_allclose(q2, direct, atol=1e-14)
    np.testing.assert_array_equal(q2, q2.T)
    w = rng.random(len(f))
    p = w / w.sum()
    direct_w = np.einsum("s,si,sj->ij", p * u, f, f) - (p @ u) * np.einsum("s,si,sj->ij", p, f, f)
    np.testing.assert_allclose(quadratic_matrix(f, u, weights=w), direct_w, atol=1e-14)

    spins = 2 * _binary_data(rng, n=200, n_features=6) - 1
    m = np.abs(spins.sum(1))
    direct_i = np.einsum("s,si,sj->ij", m, spins, spins) / 200 - m.mean() * spins.T @ spins / 200
    np.testing.assert_allclose(ising_quadratic_matrix(spins), direct_i, atol=1e-12)


# --- linear projection --------------------------------------------------------------------------------------
def test_linear_projection_exact_idempotent_and_local():
    rng = np.random.default_rng(3)
    n_features, M = 12, 6
    q = rng.standard_normal((3, n_features))
    forbidden = np.vstack([q, q[0] - 2 * q[1], np.zeros(n_features)])  # degenerate and zero vectors are fine
    con = LinearConstraint(forbidden, [0, 2, 5])
    assert con.rank == 3
    w = rng.standard_normal((n_features, M))
    before = w.copy()
    assert con.violation(w) > 1e-3
    out = con.project(w)
    assert out is w
    assert con.violation(w) < 1e-12
    assert np.abs(forbidden @ w[:, [0, 2, 5]]).max() < 1e-12
    np.testing.assert_array_equal(w[:, [1, 3, 4]], before[:, [1, 3, 4]])  # untouched, bit for bit
    # same as the pseudo-inverse formula w - Q (Q^+ w), Q = n_features x K
    Q = forbidden.T
    cols = before[:, [0, 2, 5]]
    np.testing.assert_allclose(w[:, [0, 2, 5]], cols - Q @ (np.linalg.pinv(Q) @ cols), atol=1e-12)
    again = w.copy()
    con.project(again)
    np.testing.assert_allclose(again, w, atol=1e-14)


def test_projection_leaves_orthogonal_vectors_and_zero_columns_alone():
    rng = np.random.default_rng(4)
    q = rng.standard_normal((2, 10))
    ortho = null_space(q) @ rng.standard_normal(8)  # exactly orthogonal (to rounding)
    w = np.column_stack([ortho, np.zeros(10)])
    con = constrain_all(2, q)
    assert con.violation(w) < 1e-14  # zero column counts as 0, not nan
    expected = w.copy()
    con.project(w)
    np.testing.assert_allclose(w, expected, atol=1e-14)


def test_violation_value():
    q = np.array([[1.0, 0.0, 0.0]])
    w = np.array([[1.0], [1.0], [0.0]])
    assert LinearConstraint(q, [0]).violation(w) == pytest.approx(1 / np.sqrt(2))


def test_layouts_all_and_all_but():
    q = np.arange(5.0)
    assert constrain_all(4, q).units.tolist() == [0, 1, 2, 3]
    con = constrain_all_but(6, q, released=[0, 3])
    assert con.units.tolist() == [1, 2, 4, 5]
    assert ConstraintSet([con]).released_units(6).tolist() == [0, 3]
    with pytest.raises(ValueError):
        constrain_all_but(3, q, released=[5])


def test_multiclass_released_layout():
    rng = np.random.default_rng(5)
    f = _binary_data(rng, n=500, n_features=15)
    D, n_hidden = 4, 7
    labels = rng.integers(0, D, len(f))
    q = class_vectors(f, labels, D)
    cset, released = multiclass_released(n_hidden, q)
    assert released == [0, 1, 2]
    w = rng.standard_normal((15, n_hidden))
    for d in range(1, D):  # released unit d-1 starts along its own q_d
        w[:, d - 1] = q[d - 1] / np.linalg.norm(q[d - 1])
    cset.project(w)
    assert cset.violation(w) < 1e-12
    for d in range(1, D):
        mu = d - 1
        for dp in range(1, D):
            cos = abs(overlap(q[dp - 1], w[:, mu]))
            if dp == d:
                assert cos > 0.3  # keeps its component along q_d
            else:
                assert cos < 1e-12
    assert np.abs(q @ w[:, D - 1:]).max() < 1e-12  # every other unit is forbidden from all of them


def test_constraint_set_combines_overlapping_linear_constraints():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal(9), rng.standard_normal(9)  # not orthogonal
    cset = ConstraintSet([LinearConstraint(a, [0, 1]), LinearConstraint(b, [1, 2])])
    w = rng.standard_normal((9, 4))
    before = w.copy()
    cset.project(w)
    assert cset.violation(w) < 1e-12
    assert abs(a @ w[:, 1]) < 1e-12 and abs(b @ w[:, 1]) < 1e-12  # unit 1: one projection on span(a, b)
    np.testing.assert_array_equal(w[:, 3], before[:, 3])


def test_potts_weights_projected_as_n_by_q_vectors():
    """Feature layout i*q + a: projecting rbm.weight_matrix in place constrains the N x q x M weights, and the
    constrained hidden inputs become uncorrelated with the label over the data (Eq. 5 gives rho = 0)."""
    rng = np.random.default_rng(7)
    N, q, M = 5, 3, 4
    rbm = RBM(Potts(0.3 * rng.standard_normal((N, q))), Binary(np.zeros(M)), rng.standard_normal((N, q, M)))
    states = rng.integers(0, q, (400, N))
    u = (states[:, 0] == 2).astype(float)  # label depends on site 0 being in state 2
    f = rbm.visible.features(states)
    assert f.shape == (400, N * q)
    qv = linear_vector(f, u)
    direct = np.array([[np.mean(u * (states[:, i] == a)) - u.mean() * np.mean(states[:, i] == a)
                        for a in range(q)] for i in range(N)])
    np.testing.assert_allclose(qv.reshape(N, q), direct, atol=1e-14)
    con = constrain_all_but(M, qv, released=[3])
    before = rbm.weights.copy()
    con.project(rbm.weight_matrix)
    assert np.shares_memory(rbm.weight_matrix, rbm.weights)
    assert np.abs(np.einsum("ia,iam->m", direct, rbm.weights[:, :, :3])).max() < 1e-12
    np.testing.assert_array_equal(rbm.weights[:, :, 3], before[:, :, 3])
    inputs = rbm.inputs_h_from_v(states)
    cov = (u - u.mean()) @ (inputs - inputs.mean(0)) / len(u)
    assert np.abs(cov[:3]).max() < 1e-12 and abs(cov[3]) > 1e-3


# --- quadratic penalty ----------------------------------------------------------------------------------------
def test_quadratic_penalty_and_gradient_vs_finite_differences():
    rng = np.random.default_rng(8)
    n_features, M, units = 6, 4, [0, 2, 3]
    a = rng.standard_normal((n_features, n_features))
    con = QuadraticConstraint(a + a.T, units, strength=2.5)
    w = rng.standard_normal((n_features, M))
    direct = 2.5 * sum((w[:, m] @ (a + a.T) @ w[:, n]) ** 2 for m in units for n in units)
    assert con.penalty(w) == pytest.approx(direct, rel=1e-12)
    grad = con.gradient(w)
    assert np.all(grad[:, 1] == 0)
    h = 1e-5
    numeric = np.zeros_like(w)
    for i in range(n_features):
        for j in range(M):
            wp, wm = w.copy(), w.copy()
            wp[i, j] += h
            wm[i, j] -= h
            numeric[i, j] = (con.penalty(wp) - con.penalty(wm)) / (2 * h)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(grad).max())
    cset = ConstraintSet([con, LinearConstraint(rng.standard_normal(n_features), [1])])
    np.testing.assert_allclose(cset.penalty_gradient(w), grad)
    assert cset.penalty(w) == pytest.approx(con.penalty(w))


def test_a_truncated_quadratic_constraint_computes_through_its_factors_exactly():
    """With a rank r much below N the penalty and its gradient go through V^T W_c (r x M_c); they equal the
    dense formulas to rounding."""
    rng = np.random.default_rng(12)
    N, r, units = 64, 5, [1, 2, 4, 5, 7]
    v = np.linalg.qr(rng.standard_normal((N, r)))[0]
    q2 = (v * rng.standard_normal(r)) @ v.T
    w = rng.standard_normal((N, 9))
    fast, dense = QuadraticConstraint(q2, units, 3.0, rank=r), QuadraticConstraint(q2, units, 3.0)
    assert fast.factors is not None and dense.factors is None
    assert fast.penalty(w) == pytest.approx(dense.penalty(w), rel=1e-10)
    np.testing.assert_allclose(fast.gradient(w), dense.gradient(w), rtol=1e-9, atol=1e-9 * np.abs(dense.gradient(w)).max())
    # stored as its factors (r x (N + 1) numbers instead of N x N) and read back to the same constraint
    cset = ConstraintSet([fast, dense])
    arrays, meta = cset.arrays(), cset.to_metadata()
    assert [a.shape for a in arrays.values()] == [(r, N + 1), (N, N)]
    back = ConstraintSet.from_metadata(meta, arrays)
    np.testing.assert_allclose(back.quadratic[0].matrix, q2, atol=1e-12)
    assert back.quadratic[0].factors is not None and back.penalty(w) == pytest.approx(cset.penalty(w), rel=1e-10)


# --- truncation -------------------------------------------------------------------------------------------------
def test_truncation_keeps_planted_rank_two_signal():
    """Features 0 and 1 share a large mean c and shift by +-d with the label: q2 restricted to them is
    (1/4)[[2cd + d^2, -d^2], [-d^2, -2cd + d^2]], standardised eigenvalues ~ +-2 (one of each sign), far above
    the MP edge 1.06 (N = 20, n = 20000); the sampling noise of the other components is ~0.03."""
    rng = np.random.default_rng(9)
    N, n, c, d = 20, 20000, 5.0, 1.0
    u = (rng.random(n) < 0.5).astype(float)
    f = rng.standard_normal((n, N))
    f[:, 0] += c + d * u
    f[:, 1] += c - d * u
    f = np.column_stack([f, np.full(n, 0.7)])  # a zero-variance feature is skipped
    q2 = quadratic_matrix(f, u)
    truncated, kept = truncate_quadratic(q2, f)
    assert kept == 2
    assert marchenko_pastur_edge(N + 1, n) == pytest.approx((1 + np.sqrt((N + 1) / n)) ** 2)
    lam = np.linalg.eigvalsh(truncated)
    assert np.sum(lam > 0.1) == 1 and np.sum(lam < -0.1) == 1  # both signs ranked by |lambda|
    np.testing.assert_allclose(truncated[:2, :2], q2[:2, :2], rtol=0.05)
    assert np.abs(truncated[2:, 2:]).max() < 0.02
    assert np.all(truncated[-1] == 0) and np.all(truncated[:, -1] == 0)
    one, k1 = truncate_quadratic(q2, f, rank=1)
    assert k1 == 1 and np.linalg.matrix_rank(one, tol=1e-10) == 1
    full, kf = truncate_quadratic(q2, f, rank=10**6)
    assert kf == N
    np.testing.assert_allclose(full[:N, :N], q2[:N, :N], atol=1e-12)


# --- semi-supervised ----------------------------------------------------------------------------------------------
def test_balanced_subsample():
    rng = np.random.default_rng(10)
    labels = rng.permutation(np.r_[np.zeros(50), np.ones(30), np.full(20, 2)]).astype(int)
    idx = balanced_subsample(labels, 30, seed=3)
    assert len(idx) == 30 and len(np.unique(idx)) == 30
    assert np.bincount(labels[idx]).tolist() == [10, 10, 10]
    np.testing.assert_array_equal(idx, balanced_subsample(labels, 30, seed=3))
    assert not np.array_equal(idx, balanced_subsample(labels, 30, seed=4))
    odd = balanced_subsample(labels, 31, seed=0)
    assert sorted(np.bincount(labels[odd]).tolist()) == [10, 10, 11]
    with pytest.raises(ValueError, match="too large.*class 2"):
        balanced_subsample(labels, 63, seed=0)
    with pytest.raises(ValueError, match="class 3"):
        balanced_subsample(labels, 8, seed=0, n_classes=4)


def test_overlap():
    assert overlap([1, 0], [2, 0]) == pytest.approx(1.0)
    assert overlap([1, 0], [0, 3]) == pytest.approx(0.0)
    assert overlap([1, 1], [-1, -1]) == pytest.approx(-1.0)
    assert overlap([0, 0], [1, 2]) == 0.0


@pytest.mark.parametrize("binarised", [False, True])
def test_expected_overlap_matches_simulation(binarised):
    """Eq. 30 against the empirical mean of phi = cos(q_full, q_sub) over R = 300 balanced subsamples of B = 40.

    Tolerance: the empirical mean has standard error s / sqrt(R) (s = sample std of phi, ~0.05 here, so
    SE ~ 0.003); 4 SE makes a statistical failure a ~1e-4 event (and the seeds are fixed anyway). Eq. 30 is
    itself an approximation (it replaces E[cos] by the cosine of the root-mean-square noise), with corrections
    of relative order 1/N_eff for N = 200 dimensions of comparable variance, i.e. a few 1e-3; we allow 0.01 for
    it. The paper's printed version (B in the denominator with B the total) predicts a clearly larger overlap
    and must fall outside that tolerance: that is the factor 2 documented in ``expected_overlap``.
    """
    rng = np.random.default_rng(11)
    N, n = 200, 2000
    scale = rng.uniform(0.5, 1.5, N)
    shift = rng.normal(0.16, 0.1, N)
    f0 = rng.standard_normal((n, N)) * scale
    f1 = rng.standard_normal((n, N)) * scale * 1.2 + shift
    f = np.vstack([f0, f1])
    if binarised:
        f = (f > 0.3).astype(float)
    u = np.r_[np.zeros(n), np.ones(n)]
    q_full = linear_vector(f, u)
    B, R = 40, 300
    phis = np.array([overlap(q_full, linear_vector(f[idx], u[idx]))
                     for idx in (balanced_subsample(u, B, seed=r) for r in range(R))])
    se = phis.std(ddof=1) / np.sqrt(R)
    tol = 4 * se + 0.01
    theory = expected_overlap(f, u, B)
    assert 0.3 < theory < 0.9  # an informative regime
    assert abs(phis.mean() - theory) < tol, (phis.mean(), theory, tol)
    printed = expected_overlap(f, u, 2 * B)  # = (1 + Tr / (B |dv|^2))^-1/2 with B the total
    assert abs(phis.mean() - printed) > tol
    assert expected_overlap(f, u, B, finite_population=True) == pytest.approx(theory, abs=0.005)


# --- storage ---------------------------------------------------------------------------------------------------------
def test_metadata_round_trip_through_model_file(tmp_path):
    from rbm_explorer.io.model_file import load_model, save_model

    rng = np.random.default_rng(12)
    n_features, M = 10, 6
    f = _binary_data(rng, n=300, n_features=n_features)
    labels = rng.integers(0, 3, len(f))
    cset, _ = multiclass_released(M, class_vectors(f, labels, 3))
    q2, rank = truncate_quadratic(quadratic_matrix(f, (labels == 1).astype(float)), f, rank=3)
    cset = ConstraintSet(cset.constraints + [QuadraticConstraint(q2, [3, 4], strength=50.0, rank=rank, name="q2")])
    meta = cset.to_metadata()
    assert json.loads(json.dumps(meta)) == meta
    assert [c["type"] for c in meta["constraints"]] == ["linear", "linear", "linear", "quadratic"]
    assert meta["constraints"][-1]["strength"] == 50.0 and meta["constraints"][-1]["rank"] == 3

    rbm = RBM(Binary(np.zeros(n_features)), Binary(np.zeros(M)), rng.standard_normal((n_features, M)))
    path = save_model(tmp_path / "m.npz", rbm, metadata={"constraints": meta}, extra_arrays=cset.arrays())
    loaded = load_model(path)
    back = ConstraintSet.from_metadata(loaded.metadata["constraints"], loaded.extra_arrays)
    w1, w2 = rbm.weight_matrix.copy(), rbm.weight_matrix.copy()
    cset.project(w1)
    back.project(w2)
    np.testing.assert_array_equal(w1, w2)
    assert back.penalty(w1) == cset.penalty(w1)
    np.testing.assert_array_equal(back.penalty_gradient(w1), cset.penalty_gradient(w1))
    assert back.to_metadata() == meta
    with pytest.raises(ValueError, match="missing"):
        ConstraintSet.from_metadata(meta, {})


# --- the protocol: a third kind of constraint needs no change to ConstraintSet ----------------------------------
@register_constraint
class BoxBound(Constraint):
    """Toy constraint: lower[i] <= W[i, mu] <= upper[i] for the listed units, hard (clipped after an update) and,
    with ``strength`` > 0, soft as well (strength * sum of the squared excess beyond the box)."""

    kind = "test_box"

    def __init__(self, bounds, units, strength: float = 0.0, name=None):
        super().__init__(units, name)
        self.bounds = np.asarray(bounds, dtype=np.float64)
        self.strength = float(strength)

    @property
    def n_features(self):
        return self.bounds.shape[1]

    def _excess(self, w):
        cols = self.check_weights(w, "BoxBound")[:, self.units]
        lower, upper = self.bounds[0][:, None], self.bounds[1][:, None]
        return np.maximum(cols - upper, 0.0) - np.maximum(lower - cols, 0.0)  # signed distance outside the box

    def project(self, weight_matrix):
        weight_matrix[:, self.units] = np.clip(weight_matrix[:, self.units], self.bounds[0][:, None],
                                               self.bounds[1][:, None])
        return weight_matrix

    def penalty(self, weight_matrix):
        return self.strength * float(np.sum(self._excess(weight_matrix) ** 2))

    def gradient(self, weight_matrix):
        g = np.zeros(weight_matrix.shape)
        g[:, self.units] = 2.0 * self.strength * self._excess(weight_matrix)
        return g

    def violation(self, weight_matrix):
        return float(np.abs(self._excess(weight_matrix)).max(initial=0.0))

    def stored_array(self):
        return "bounds", self.bounds

    def metadata_fields(self):
        return {"strength": self.strength}

    @classmethod
    def from_stored(cls, entry, array):
        return cls(array, entry["units"], entry["strength"], name=entry.get("name"))


def test_a_third_constraint_kind_joins_the_set_and_its_storage(tmp_path):
    from rbm_explorer.io.model_file import load_model, save_model

    rng = np.random.default_rng(13)
    n_features, M = 7, 5
    a = rng.standard_normal(n_features)
    q2 = rng.standard_normal((n_features, n_features))
    bounds = np.vstack([np.full(n_features, -0.5), np.full(n_features, 0.4)])
    linear, quadratic = LinearConstraint(a, [0, 1]), QuadraticConstraint(q2 + q2.T, [1, 2], strength=2.0)
    box = BoxBound(bounds, [2, 3], strength=3.0, name="box")
    cset = ConstraintSet([linear, quadratic, box])
    w = rng.standard_normal((n_features, M))

    # hooks: sums and maxima of the members', the box clipped after the linear projection
    assert cset.penalty(w) == pytest.approx(quadratic.penalty(w) + box.penalty(w)) and box.penalty(w) > 0
    np.testing.assert_allclose(cset.penalty_gradient(w), quadratic.gradient(w) + box.gradient(w))
    assert cset.violation(w) == max(linear.violation(w), box.violation(w)) and box.violation(w) > 0.1
    h, i, j = 1e-6, 3, 2
    wp, wm = w.copy(), w.copy()
    wp[i, j] += h
    wm[i, j] -= h
    assert cset.penalty_gradient(w)[i, j] == pytest.approx((cset.penalty(wp) - cset.penalty(wm)) / (2 * h), rel=1e-5)
    projected = cset.project(w.copy())
    expected = box.project(linear.project(w.copy()))
    np.testing.assert_array_equal(projected, expected)
    assert cset.violation(projected) < 1e-12 and box.penalty(projected) == 0.0
    assert [len(cset.of_kind(k)) for k in ("linear", "quadratic", "test_box")] == [1, 1, 1]
    assert cset.released_units(M).tolist() == [4]

    # storage: found again by its stored type, through a model file
    meta, arrays = cset.to_metadata(), cset.arrays()
    assert meta["constraints"][2] == {"type": "test_box", "units": [2, 3], "array": "constraint_2_bounds",
                                      "strength": 3.0, "name": "box"}
    rbm = RBM(Binary(np.zeros(n_features)), Binary(np.zeros(M)), w)
    path = save_model(tmp_path / "m.npz", rbm, metadata={"constraints": meta}, extra_arrays=arrays)
    loaded = load_model(path)
    back = ConstraintSet.from_metadata(loaded.metadata["constraints"], loaded.extra_arrays)
    assert type(back.constraints[2]) is BoxBound and back.to_metadata() == meta
    np.testing.assert_array_equal(back.project(w.copy()), projected)
    assert back.penalty(w) == cset.penalty(w)
    unknown = json.loads(json.dumps(meta))
    unknown["constraints"][2]["type"] = "no_such_kind"
    with pytest.raises(ValueError, match="unknown constraint type"):
        ConstraintSet.from_metadata(unknown, arrays)


def test_registering_needs_a_kind_that_is_not_taken():
    class Nameless(BoxBound):
        kind = ""

    class Impostor(BoxBound):
        kind = "linear"

    with pytest.raises(TypeError, match="kind"):
        register_constraint(Nameless)
    with pytest.raises(ValueError, match="already registered"):
        register_constraint(Impostor)
    with pytest.raises(TypeError, match="not a constraint"):
        ConstraintSet([object()])
