"""The spectra and reciprocal-space library against analytic values and direct computations: the
Marchenko–Pastur edges, density and CDF; the energy split into modes; saddles and their Hessians; the
Gaussianity of reciprocal variables; the rotation tests of Figs. 4 and 6; the free energy along a mode.
Tolerances are the expected noise of each estimate, stated beside it."""

import numpy as np
import pytest
from conftest import tiny_rbm
from scipy import stats
from scipy.integrate import quad

from rbm_explorer.analysis.spectra import (ReciprocalBasis, count_above_edge, excess_kurtosis, free_energy_from_counts,
                                           haar_kurtosis_reference, haar_orthogonal, js_divergence, mode_free_energy,
                                           mp_cdf, mp_density, mp_edges, oriented_svd, resample_visible,
                                           rotate_eigenvectors, rotation_js_divergence, summarize_projections,
                                           uniform_binary_kurtosis, well_count)
from rbm_explorer.layers import layer_for_role
from rbm_explorer.rbm import RBM

SIGMA_W = 0.01  # the paper's initialisation (Hinton's recipe)


@pytest.mark.parametrize("seed", range(3))
def test_the_upper_edge_is_the_largest_singular_value_of_a_random_784_by_500_matrix(seed):
    w = SIGMA_W * np.random.default_rng(seed).standard_normal((784, 500))
    top = np.linalg.svd(w, compute_uv=False)[0]
    # Tracy-Widom fluctuations of the top value are of relative order N^(-2/3) ~ 1 %, so 2 % is the bar
    assert top == pytest.approx(mp_edges(784, 500, SIGMA_W)[1], rel=0.02)


@pytest.mark.parametrize("m", [500, 784, 1200, 3000])
def test_the_bulk_follows_the_density_in_a_kolmogorov_smirnov_test(m):
    """Fig. 3(a-d)'s shapes. Eigenvalues repel, so their empirical CDF is closer to the law than i.i.d. draws
    would be: the KS p-value is conservative, and 0.01 is a fair bar."""
    s = np.linalg.svd(SIGMA_W * np.random.default_rng(m).standard_normal((784, m)), compute_uv=False)
    result = stats.kstest(s, lambda x: mp_cdf(x, 784, m, SIGMA_W))
    assert result.pvalue > 0.01, result
    assert count_above_edge(s, 784, m, SIGMA_W) <= 2  # at most a Tracy-Widom straggler


@pytest.mark.parametrize("n,m", [(784, 500), (784, 784), (100, 784), (30, 3000)])
def test_the_density_integrates_to_one_and_the_cdf_is_its_integral(n, m):
    lo, hi = mp_edges(n, m, 0.3)
    assert lo == pytest.approx(0.3 * abs(np.sqrt(n) - np.sqrt(m))) and hi == pytest.approx(0.3 * (np.sqrt(n) + np.sqrt(m)))
    assert quad(lambda s: mp_density(s, n, m, 0.3), lo, hi, limit=400)[0] == pytest.approx(1.0, abs=1e-6)
    for q in (0.2, 0.5, 0.9):
        point = lo + q * (hi - lo)
        assert mp_cdf(point, n, m, 0.3) == pytest.approx(quad(lambda s: mp_density(s, n, m, 0.3), lo, point,
                                                              limit=400)[0], abs=1e-5)
    assert mp_density([lo - 1e-3, hi + 1e-3], n, m, 0.3).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("bad", [(0, 5, 0.1), (5, 5, 0.0), (5, 5, float("nan")), (5, 5, -1.0)])
def test_bad_shapes_and_scales_are_named(bad):
    with pytest.raises(ValueError, match="sigma_w|row"):
        mp_edges(*bad)


def random_fields_rbm(visible_kind, hidden_kind, seed=0, n_visible=9, n_hidden=5):
    rbm = tiny_rbm(visible_kind, hidden_kind, seed=seed, n_visible=n_visible, n_hidden=n_hidden)
    rng = np.random.default_rng(seed + 100)
    return RBM(rbm.visible.with_fields(rng.standard_normal(rbm.visible.field_shape)),
               rbm.hidden.with_fields(rng.standard_normal(rbm.n_hidden)), rbm.weights)


@pytest.mark.parametrize("kinds", [("binary", "binary"), ("spin", "spin"), ("binary", "spin"), ("potts", "binary")])
@pytest.mark.parametrize("top", [None, 2])
def test_the_mode_energies_sum_to_the_energy_of_random_states(kinds, top):
    """E(v, h) = sum_k E_k(x_k, y_k) + the fields' terms outside the kept modes, for random states (Potts with W
    as (N*q) x M)."""
    rbm = random_fields_rbm(*kinds)
    rng = np.random.default_rng(1)
    v = rbm.visible.natural_from_features(rbm.visible.random_features(50, rng))
    h = rbm.hidden.natural_from_features(rbm.hidden.random_features(50, rng))
    basis = ReciprocalBasis.from_rbm(rbm, top=top)
    fv, fh = rbm.visible.features(v), rbm.hidden.features(h)
    x, y = basis.visible_coordinates(fv), basis.hidden_coordinates(fh)
    total = basis.mode_energies(x, y).sum(axis=1) + basis.outside_energy(fv, fh)
    if top is not None:  # the kept modes' terms, all fields, and the dropped modes' interaction -sigma x y
        full = ReciprocalBasis.from_rbm(rbm)
        xf, yf = full.visible_coordinates(fv)[:, top:], full.hidden_coordinates(fh)[:, top:]
        total = total - (full.singular_values[top:] * xf * yf).sum(axis=1)
    np.testing.assert_allclose(total, rbm.energy(v, h), rtol=1e-10, atol=1e-10)
    if top is None and rbm.weight_matrix.shape[0] > rbm.n_hidden:
        # all hidden directions are modes, so only visible directions outside W's column space remain
        np.testing.assert_allclose(basis.beta_fields @ basis.v.T, rbm.hidden.fields, atol=1e-12)


def test_the_saddle_is_where_the_gradient_vanishes_with_hessian_plus_minus_sigma():
    basis = ReciprocalBasis.from_rbm(random_fields_rbm("binary", "binary", seed=4))
    sad = basis.saddles()
    a, b, s = basis.alpha_fields, basis.beta_fields, basis.singular_values
    # dE_k/dx = -a - s y, dE_k/dy = -b - s x
    np.testing.assert_allclose(-a - s * sad.y, 0.0, atol=1e-12)
    np.testing.assert_allclose(-b - s * sad.x, 0.0, atol=1e-12)
    np.testing.assert_allclose(sad.energy, basis.mode_energies(sad.x, sad.y), rtol=1e-12)
    np.testing.assert_allclose(sad.energy, a * b / s, rtol=1e-12)
    for k in range(basis.n_modes):  # the Hessian [[0, -s], [-s, 0]] by finite differences
        h = 1e-3
        e = lambda dx, dy: basis.mode_energy(k, sad.x[k] + dx, sad.y[k] + dy)  # noqa: E731
        hessian = np.array([[(e(h, 0) - 2 * e(0, 0) + e(-h, 0)) / h**2,
                             (e(h, h) - e(h, -h) - e(-h, h) + e(-h, -h)) / (4 * h**2)],
                            [0.0, (e(0, h) - 2 * e(0, 0) + e(0, -h)) / h**2]])
        hessian[1, 0] = hessian[0, 1]
        np.testing.assert_allclose(np.linalg.eigvalsh(hessian), sad.hessian_eigenvalues[k], atol=1e-6)


def test_zero_and_data_frequency_fields_put_the_saddle_in_very_different_places():
    """At initialisation (sigma_W = 0.01) zero fields put every saddle at the origin; visible fields from the
    data frequencies move it to -alpha_k / sigma_k, far away, since sigma_k is small."""
    rng = np.random.default_rng(0)
    data = (rng.random((500, 64)) < np.linspace(0.05, 0.5, 64)).astype(float)
    rbm = RBM(layer_for_role("binary", "visible").zeros(64), layer_for_role("binary", "hidden").zeros(20),
              SIGMA_W * rng.standard_normal((64, 20)))
    zero = ReciprocalBasis.from_rbm(rbm, fields="zero").saddles()
    freq = ReciprocalBasis.from_rbm(rbm, fields="data", data=data)
    np.testing.assert_allclose([zero.x, zero.y], 0.0, atol=1e-12)
    p = data.mean(axis=0)
    np.testing.assert_allclose(freq.visible_fields, np.log(np.clip(p, 1e-3, 1 - 1e-3) / (1 - np.clip(p, 1e-3, 1 - 1e-3))),
                               rtol=1e-6)
    data_x = freq.visible_coordinates(data).mean(axis=0)
    assert np.median(np.abs(freq.saddles().y)) > 50 * np.median(np.abs(data_x))
    with pytest.raises(ValueError, match="need the data"):
        ReciprocalBasis.from_rbm(rbm, fields="data")
    with pytest.raises(ValueError, match="unknown fields"):
        ReciprocalBasis.from_rbm(rbm, fields="warm")


def test_gaussian_units_are_refused_by_name_and_nan_weights_too():
    rbm = tiny_rbm("gaussian", "binary")
    with pytest.raises(ValueError, match="gaussian.*quadratic term"):
        ReciprocalBasis.from_rbm(rbm)
    with pytest.raises(ValueError, match="NaN"):
        oriented_svd(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_oriented_svd_reconstructs_w_with_non_negative_column_sums():
    w = np.random.default_rng(2).standard_normal((30, 12))
    u, s, v = oriented_svd(w)
    np.testing.assert_allclose(u * s @ v.T, w, atol=1e-12)
    assert np.all(u.sum(axis=0) >= 0)
    u3, s3, v3 = oriented_svd(w, 3)
    np.testing.assert_allclose(u3, u[:, :3])
    np.testing.assert_allclose(s3, s[:3])
    np.testing.assert_allclose(v3, v[:, :3])


def test_reciprocal_variables_of_uniform_binary_states_are_nearly_gaussian():
    """Fig. 3e: for uniformly random binary v, x_k = u_k^T v has mean sum_i U_ik / 2, variance 1/4 and excess
    kurtosis -2 sum_i U_ik^4, whose Haar average is -6/(n+2)."""
    n, samples = 784, 40000
    rng = np.random.default_rng(5)
    u = haar_orthogonal(n, rng)[:, :64]
    v = (rng.random((samples, n)) < 0.5).astype(np.float32)
    x = v @ u.astype(np.float32)
    # the mean of x_k has standard error 1/2 / sqrt(samples) = 0.0025; 5 sigma
    np.testing.assert_allclose(x.mean(axis=0), 0.5 * u.sum(axis=0), atol=5 * 0.5 / np.sqrt(samples))
    # the variance: standard error ~ 1/4 sqrt(2 / samples) = 0.0018
    np.testing.assert_allclose(x.var(axis=0), 0.25, atol=5 * 0.25 * np.sqrt(2 / samples))
    # the sample excess kurtosis has standard error sqrt(24 / samples) = 0.024 per mode; its mean over 64
    # nearly independent modes 0.003, and the exact values average to -6/(n+2) within their own spread
    measured = excess_kurtosis(x)
    exact = uniform_binary_kurtosis(u)
    assert np.mean(measured - exact) == pytest.approx(0.0, abs=5 * np.sqrt(24 / samples) / np.sqrt(64))
    assert np.mean(exact) == pytest.approx(haar_kurtosis_reference(n), abs=5 * np.std(exact) / np.sqrt(64))


def test_haar_rotations_are_orthogonal_and_their_traces_have_haar_moments():
    """E[tr Q] = 0 and E[(tr Q)^2] = 1 for Haar-random orthogonal Q (Diaconis and Shahshahani 1994)."""
    rng = np.random.default_rng(6)
    q = haar_orthogonal(50, rng)
    np.testing.assert_allclose(q @ q.T, np.eye(50), atol=1e-12)
    traces = np.array([np.trace(haar_orthogonal(20, rng)) for _ in range(4000)])
    assert traces.mean() == pytest.approx(0.0, abs=5 / np.sqrt(4000))
    assert (traces**2).mean() == pytest.approx(1.0, abs=5 * np.sqrt(2 / 4000))


def test_js_divergence_is_zero_for_equal_and_log2_for_disjoint_histograms():
    assert js_divergence([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0, abs=1e-15)
    assert js_divergence([1, 0], [0, 5]) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="same bins"):
        js_divergence([1, 2], [1, 2, 3])


def test_rotating_a_gaussian_matrix_changes_nothing_and_a_trained_one_a_lot():
    """Fig. 4. For i.i.d. Gaussian W, W and its rotation are samples of one law: 4 n JS ~ chi^2(bins - 1) (the
    G-test of homogeneity), so it stays below the 0.999 quantile. A structured W (a few strong, sparse
    features, as a trained one has) loses its structure under rotation: its JS is far above that floor."""
    rng = np.random.default_rng(7)
    n_entries, bins = 200 * 150, 60
    floor = stats.chi2.ppf(0.999, bins - 1) / (4 * n_entries)
    js, edges, a, b = rotation_js_divergence(SIGMA_W * rng.standard_normal((200, 150)), bins=bins, seed=8)
    assert js < floor and a.sum() == b.sum() == n_entries and len(edges) == bins + 1
    sparse = SIGMA_W * rng.standard_normal((200, 150)) * (rng.random((200, 150)) < 0.05) * 10
    js_trained, *_ = rotation_js_divergence(sparse, bins=bins, seed=8)
    assert js_trained > 50 * floor


@pytest.mark.parametrize("where", ["top", "orthogonal"])
def test_rotating_eigenvectors_keeps_the_spectrum_and_moves_only_its_part(where):
    """Fig. 6: "top" rotates within the span of the top-k modes (what lies outside stays); "orthogonal" rotates
    planes orthogonal to them (the top-k modes stay fixed). The singular values never change."""
    rng = np.random.default_rng(9)
    w = rng.standard_normal((40, 25)) * np.linspace(3, 0.1, 25)
    k = 4
    rotated = rotate_eigenvectors(w, k, np.pi / 3, where=where, seed=10)
    np.testing.assert_allclose(np.linalg.svd(rotated, compute_uv=False), np.linalg.svd(w, compute_uv=False), rtol=1e-10)
    u_top = oriented_svd(w, k)[0]
    inside = u_top @ u_top.T
    if where == "top":
        np.testing.assert_allclose((np.eye(40) - inside) @ rotated, (np.eye(40) - inside) @ w, atol=1e-10)
        assert np.linalg.norm(rotated - w) > 0.5 * np.linalg.norm(inside @ w)
    else:
        np.testing.assert_allclose(u_top.T @ rotated, u_top.T @ w, atol=1e-10)
        assert np.linalg.norm(rotated - w) > 0.1 * np.linalg.norm((np.eye(40) - inside) @ w)
    np.testing.assert_allclose(rotate_eigenvectors(w, k, 0.0, where=where, seed=1), w, atol=1e-12)
    with pytest.raises(ValueError, match="unknown rotation"):
        rotate_eigenvectors(w, k, 0.1, where="sideways")


def test_resampled_visibles_follow_their_conditional_means():
    """The last Gibbs step with rotated weights draws v from p(v | h) = sigmoid(g + W h): over 20000 draws each
    unit's mean lies within 5 standard errors (at most 0.5 / sqrt(20000))."""
    rbm = random_fields_rbm("binary", "binary", seed=11)
    h = np.tile(np.array([[1.0, 0, 1, 1, 0]]), (20000, 1))
    w = rotate_eigenvectors(rbm.weight_matrix, 2, 0.7, seed=12)
    v = resample_visible(rbm, h, w, seed=13)
    expected = 1 / (1 + np.exp(-(rbm.visible.fields + w @ h[0])))
    np.testing.assert_allclose(v.mean(axis=0), expected, atol=5 * 0.5 / np.sqrt(20000))


def test_the_free_energy_along_a_mode_is_a_single_or_a_double_well():
    """-log p of Gaussian samples is a parabola x^2 / (2 s^2); two separated Gaussians make a double well."""
    rng = np.random.default_rng(14)
    x = rng.normal(0.0, 2.0, 200000)
    centres, f = mode_free_energy(x, bins=41, range_=(-4, 4))
    expected = centres**2 / 8.0
    # each bin holds >= ~2000 samples; the relative count error <= 1/sqrt(2000) = 0.022 -> 5 sigma in log
    np.testing.assert_allclose(f - f[20], expected - expected[20], atol=5 * 0.022 * 2)
    assert well_count(f) == 1
    double = np.concatenate([rng.normal(-3, 0.7, 60000), rng.normal(2.5, 0.7, 40000)])
    assert well_count(mode_free_energy(double, bins=40)[1]) == 2
    assert np.isnan(free_energy_from_counts([0, 5, 5], [0, 1, 2, 3])[1][0])


def test_projection_summaries_hold_both_samples_on_shared_bins():
    rng = np.random.default_rng(15)
    chains, test = rng.normal(0, 1, (100, 3)), rng.normal(1, 2, (300, 3))
    summary = summarize_projections(chains, test, bins=20)
    assert summary.edges.shape == (3, 21) and summary.chains.shape == summary.test.shape == (3, 20)
    assert (summary.chains.sum(axis=1) == 100).all() and (summary.test.sum(axis=1) == 300).all()
    np.testing.assert_allclose(summary.moments, [chains.mean(0), chains.std(0), test.mean(0), test.std(0)])


@pytest.mark.parametrize("shape", [(60, 25), (25, 60), (30, 30)])
def test_the_gram_route_and_the_svd_agree_and_a_rank_deficient_w_falls_back(shape):
    """The fast route (eigenvectors of the smaller Gram matrix) gives the SVD's singular values and, up to the
    chosen sign, its vectors; a W with a zero singular value (a linear constraint's null direction) takes the SVD."""
    rng = np.random.default_rng(16)
    w = rng.standard_normal(shape) * np.geomspace(5, 0.05, shape[1])
    u, s, v = oriented_svd(w)
    u_ref, s_ref, vt_ref = np.linalg.svd(w, full_matrices=False)
    # the Gram matrix's eigenvalues carry an absolute error ~ eps sigma_max^2, so sigma_k one of eps sigma_max^2
    # / sigma_k (times a modest constant): that, not a flat tolerance, is the bound
    eps = np.finfo(float).eps
    np.testing.assert_array_less(np.abs(s - s_ref), 100 * eps * s_ref[0] ** 2 / s_ref)
    np.testing.assert_allclose(np.abs(np.sum(u * u_ref, axis=0)), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(v * vt_ref.T, axis=0)), 1.0, atol=1e-6)
    q = np.ones(shape[0]) / np.sqrt(shape[0])
    deficient = w - np.outer(q, q @ w)  # every column orthogonal to q
    deficient = deficient if shape[0] <= shape[1] else deficient[:, : shape[0] - 1]
    u, s, v = oriented_svd(deficient)
    assert np.all(np.isfinite(u)) and np.all(np.isfinite(v))
    np.testing.assert_allclose(u * s @ v.T, deficient, atol=1e-10)


def test_potts_spectra_use_w_as_nq_by_m_and_say_so(tmp_path):
    """The spectrum of a Potts model is that of W reshaped to (N*q) x M, and the report names the reshape."""
    from rbm_explorer.analysis.spectra import spectrum_report, weight_shape_note
    from rbm_explorer.io import load_model, save_model

    rbm = tiny_rbm("potts", "binary", n_hidden=4)
    n, q = rbm.visible.n_units, rbm.visible.q
    assert weight_shape_note(rbm) == f"W reshaped to (N·q) × M = ({n}·{q}) × 4 = {n * q} × 4 (potts units)"
    report = spectrum_report(load_model(save_model(tmp_path / "p.npz", rbm, {})), sigma_w=0.1)
    np.testing.assert_allclose(report["singular_values"],
                               np.linalg.svd(rbm.weights.reshape(n * q, 4), compute_uv=False), rtol=1e-5)
    assert report["shape"] == [n * q, 4] and "history" not in report
    basis = ReciprocalBasis.from_rbm(rbm)
    assert basis.u.shape == (n * q, 4)


def test_training_breaks_the_rotational_symmetry_of_the_bundled_mnist_weights():
    """Fig. 4 on a bundled model: the epoch-0 weights (i.i.d. Gaussian) and their random rotation agree within the
    chi^2 noise of the G-test; the trained weights do not, by orders of magnitude."""
    from rbm_explorer.io import load_model
    from rbm_explorer.resources import bundled_model

    model = load_model(bundled_model("mnist01_none"))
    initial = model.weight_history().snapshot(0).weights
    n_entries = initial.size
    js0, *_ = rotation_js_divergence(initial, bins=100, seed=1)
    assert 4 * n_entries * js0 < stats.chi2.ppf(0.999, 99)
    js, *_ = rotation_js_divergence(model.rbm.weight_matrix, bins=100, seed=1)
    assert 4 * n_entries * js > 100 * stats.chi2.ppf(0.999, 99)


# --- what the app's Spectrum and Landscape pages compute (analysis.spectra.interactive) ---------------------------
def test_isolines_are_exact_level_sets_and_the_saddle_level_gives_the_separatrices():
    from rbm_explorer.analysis.spectra.interactive import contour_levels, mode_isolines

    basis = ReciprocalBasis.from_rbm(tiny_rbm("binary", "spin", seed=3))
    sad = basis.saddles()
    x_range, y_range = (sad.x[0] - 2, sad.x[0] + 3), (sad.y[0] - 1.5, sad.y[0] + 2)
    xs, ys, energy = basis.landscape(0, x_range, y_range, 80)
    levels = contour_levels(energy, sad.energy[0])
    assert np.any(np.isclose(levels, sad.energy[0])) and np.all((levels > energy.min()) & (levels < energy.max()))
    lines = mode_isolines(basis, 0, x_range, y_range, levels)
    assert len(lines) >= len(levels)
    for line in lines:
        e = basis.mode_energy(0, line[:, 0], line[:, 1])
        assert np.ptp(e) < 1e-9 and np.any(np.isclose(e[0], levels))
        assert np.all((line[:, 0] >= x_range[0] - 1e-9) & (line[:, 0] <= x_range[1] + 1e-9))
        assert np.all((line[:, 1] >= y_range[0] - 1e-9) & (line[:, 1] <= y_range[1] + 1e-9))
    separatrices = mode_isolines(basis, 0, x_range, y_range, [sad.energy[0]])
    assert sorted(np.ptp(line, axis=0).argmin() for line in separatrices) == [0, 1]  # x = x* and y = y*


def test_other_fields_keep_the_modes_and_move_the_saddle_as_from_rbm_does():
    from rbm_explorer.analysis.spectra.interactive import basis_with_fields

    rbm = tiny_rbm("binary", "binary", seed=4)
    data = (np.random.default_rng(0).random((200, rbm.n_visible)) < 0.3).astype(float)
    basis = ReciprocalBasis.from_rbm(rbm)
    for fields in ("model", "zero", "data"):
        moved = basis_with_fields(basis, fields, rbm.visible, data)
        direct = ReciprocalBasis.from_rbm(rbm, fields=fields, data=data)
        assert moved.fields == fields and np.array_equal(moved.u, basis.u)
        np.testing.assert_allclose(moved.saddles().x, direct.saddles().x, atol=1e-10)
        np.testing.assert_allclose(moved.saddles().y, direct.saddles().y, atol=1e-10)
    with pytest.raises(ValueError, match="need the data"):
        basis_with_fields(basis, "data", rbm.visible, None)
    with pytest.raises(ValueError, match="unknown fields"):
        basis_with_fields(basis, "hidden", rbm.visible)


@pytest.mark.parametrize("kinds", [("binary", "binary"), ("spin", "spin"), ("potts", "binary")])
def test_the_rbm_of_a_full_basis_is_the_model_and_a_random_like_one_keeps_the_fields(kinds):
    from rbm_explorer.analysis.spectra.interactive import rbm_of_basis, rbm_with_parameters

    rbm = tiny_rbm(*kinds, seed=5)
    again = rbm_of_basis(rbm, ReciprocalBasis.from_rbm(rbm))
    np.testing.assert_allclose(again.weight_matrix, rbm.weight_matrix, atol=1e-10)
    np.testing.assert_allclose(again.visible.feature_fields, rbm.visible.feature_fields)
    other = rbm_with_parameters(rbm, np.zeros_like(rbm.weight_matrix))
    assert other.weights.shape == rbm.weights.shape and not other.weight_matrix.any()
    with pytest.raises(ValueError, match="the model needs"):
        rbm_with_parameters(rbm, np.zeros((2, 2)))


def test_snapshots_of_a_bundled_file_give_bases_and_rbms_where_their_full_w_was_kept():
    from rbm_explorer.analysis.spectra import snapshot_basis
    from rbm_explorer.analysis.spectra.interactive import snapshot_choices, snapshot_rbm, weight_scale
    from rbm_explorer.catalog import catalog

    model = next(e for e in catalog(include_user=False) if e.name == "mnist01_none").load()
    choices = snapshot_choices(model)
    assert list(choices.values())[-1] is None and "(the model)" in list(choices)[-1]
    history = model.weight_history()
    for label, epoch in choices.items():
        basis = snapshot_basis(model, epoch)
        rbm = snapshot_rbm(model, epoch)
        full = epoch is None or history.snapshot(epoch).weights is not None
        assert (rbm is not None) == full and ("top modes" in label) == (not full)
        assert basis.n_modes == (400 if full else len(history.snapshot(epoch).modes.singular_values))
    assert weight_scale(model) == (0.01, "the training metadata")


def test_the_spectrum_of_a_history_is_binned_once_and_mp_expects_every_value():
    from rbm_explorer.analysis.spectra import log_bins
    from rbm_explorer.analysis.spectra.interactive import history_lines, spectrum_counts
    from rbm_explorer.analysis.spectra.marchenko_pastur import mp_expected_counts

    rng = np.random.default_rng(0)
    n, m, sigma = 300, 120, 0.02
    values = np.stack([np.linalg.svd(sigma * rng.standard_normal((n, m)), compute_uv=False) * (1 + e)
                       for e in range(3)])
    edges = log_bins(values.reshape(-1), n, m, sigma)
    counts = spectrum_counts(values, edges)
    assert counts.shape == (3, len(edges) - 1) and np.all(counts.sum(axis=1) == m)
    expected = mp_expected_counts(edges, n, m, sigma)
    assert abs(expected.sum() - m) < 1e-6
    assert np.abs(counts[0] - expected).sum() < 0.25 * m  # the first row is a random matrix
    lines = history_lines(values, top=10)
    assert lines["top"].shape == (3, 10) and np.all(lines["rest_high"] <= lines["top"][:, -1])


def test_the_rotation_changes_only_what_it_rotates():
    from rbm_explorer.analysis.spectra.interactive import rotation_hidden_states, rotation_samples

    rbm = tiny_rbm("binary", "binary", seed=6, n_visible=12, n_hidden=6, weight_scale=2.0)
    hidden = rotation_hidden_states(rbm, None, count=20, seed=0, sweeps=20)
    assert hidden.shape == (20, 6)
    before, after = rotation_samples(rbm, hidden, 3, 0.0, "top", seed=1)
    assert np.array_equal(before, after)  # the same random numbers: no rotation, the same pictures
    before, after = rotation_samples(rbm, hidden, 3, np.pi / 2, "orthogonal", seed=1)
    assert before.shape == after.shape == (20, 12) and not np.array_equal(before, after)


def test_one_step_runs_once_on_a_runner_and_keeps_its_result_or_its_words():
    from rbm_explorer.analysis.spectra.interactive import OneStep
    from rbm_explorer.live import Runner, ThreadPerRunner

    calls = []

    def work(x):
        calls.append(x)
        return 2 * x

    runner = Runner(OneStep(work, 21), policy=ThreadPerRunner()).start()
    snap = runner.wait_until(lambda s: s.done, 30, what="the work")
    assert snap.result == 42 and snap.error is None and calls == [21]
    assert runner.stop(10)

    def fails():
        raise ValueError("no data for that")

    runner = Runner(OneStep(fails), policy=ThreadPerRunner()).start()
    snap = runner.wait_until(lambda s: s.done, 30, what="the failure")
    assert snap.error == "no data for that" and snap.result is None
    runner.stop(10)


def test_free_energy_curves_name_the_snapshots_without_projections():
    from rbm_explorer.analysis.spectra.interactive import free_energy_curves
    from rbm_explorer.catalog import catalog

    entries = {e.name: e for e in catalog(include_user=False)}
    curves, missing = free_energy_curves(entries["mnist01_none"].load().weight_history())
    assert [c["epoch"] for c in curves] == entries["mnist01_none"].load().weight_history().mode_epochs and not missing
    assert all(c["wells"] >= 1 and len(c["x"]) == len(c["free_energy"]) for c in curves)
    curves, missing = free_energy_curves(entries["ising16_beta0.44_none"].load().weight_history())
    assert curves == [] and missing == [0, 400]
