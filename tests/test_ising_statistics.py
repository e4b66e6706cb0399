"""Monte Carlo statistics of Ising runs: τ_int, honest error bars, blocks and the jackknife, and the observables.

The tests are statistical, with fixed seeds; each tolerance is a few standard deviations of the noise expected
for the sample sizes used, worked out next to it. Every warning is an error in this repository's pytest
configuration, so the tests also check that no numpy RuntimeWarning escapes.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from scipy.signal import lfilter

from rbm_explorer.ising.statistics import (
    Estimate,
    ShortRunWarning,
    block_means,
    choose_block_length,
    integrated_time,
    ising_observables,
    jackknife,
    mean_estimate,
    mean_estimate_vector,
)


def ar1(phi: float, n: int, replicas: int, rng: np.random.Generator) -> np.ndarray:
    """Stationary AR(1) x_t = φ x_{t−1} + √(1−φ²) ε_t, unit variance, shape (n, replicas); τ = (1+φ)/(1−φ)."""
    eps = rng.standard_normal((n, replicas))
    x_before = rng.standard_normal(replicas)  # x_{−1} from the stationary law, so there is no transient
    out, _ = lfilter([math.sqrt(1 - phi**2)], [1.0, -phi], eps, axis=0, zi=(phi * x_before)[None, :])
    return out


# --------------------------------------------------------------------------------------------------------------
# integrated_time
# --------------------------------------------------------------------------------------------------------------


def test_integrated_time_of_ar1_matches_the_exact_value():
    # φ = 0.9: τ = 19. Statistical error of a windowed estimate (Madras and Sokal 1988): relative variance
    # ≈ 2(2M+1)/N_total with M ≈ 5τ ≈ 95 and N_total = 20000·32 = 640000 → 2.4 %. Bias: the per-replica mean
    # subtraction lowers every ρ̂(t) by ≈ τ/n, i.e. τ̂ by ≈ (2M+1)/n ≈ 1 %, and the window truncation is
    # negligible (φ^M ≈ 5e-5). A 10 % tolerance is ≈ 4 standard deviations beyond the bias.
    phi = 0.9
    exact = (1 + phi) / (1 - phi)
    x = ar1(phi, 20000, 32, np.random.default_rng(1))
    tau = integrated_time(x)
    assert isinstance(tau, float)
    assert abs(tau / exact - 1) < 0.10, tau
    # τ is reported in sweeps: measuring every 10 sweeps multiplies it by 10
    assert integrated_time(x, sweeps_per_measurement=10) == pytest.approx(10 * tau, rel=1e-12)


def test_integrated_time_of_independent_measurements_is_one():
    # i.i.d.: τ = 1; M ≈ 5, N = 40000, relative error ≈ sqrt(2·11/40000) ≈ 2.3 %: 10 % is > 4 σ
    x = np.random.default_rng(2).standard_normal((10000, 4))
    assert integrated_time(x) == pytest.approx(1.0, rel=0.10)


def test_a_constant_series_has_tau_one_and_no_warning():
    assert integrated_time(np.ones((100, 3))) == 1.0  # any warning would fail the test
    estimate = mean_estimate(np.ones((100, 3)))
    assert (estimate.value, estimate.error, estimate.tau_int) == (1.0, 0.0, 1.0)


def test_constant_replicas_are_left_out_of_the_autocorrelation():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal((5000, 3)), np.full((5000, 1), 0.0)], axis=1)
    assert integrated_time(x) == pytest.approx(1.0, rel=0.10)


def test_frozen_replicas_have_infinite_tau_and_warn():
    x = np.array([[1.0, -1.0, 1.0]] * 200)  # each replica stuck, in different states
    with pytest.warns(ShortRunWarning, match="magnetization"):
        assert integrated_time(x, name="magnetization") == math.inf
    with pytest.warns(ShortRunWarning):
        estimate = mean_estimate(x)
    assert estimate.error == math.inf


def test_a_short_correlated_run_warns_instead_of_emcee_logging(caplog):
    x = ar1(0.95, 300, 4, np.random.default_rng(4))  # τ ≈ 39 measurements: 300 < 50 τ
    with caplog.at_level(logging.DEBUG), pytest.warns(ShortRunWarning) as record:
        tau = integrated_time(x, sweeps_per_measurement=5, name="energy")
    assert tau > 5 * 10
    assert len(record) == 1
    message = str(record[0].message)
    assert "energy" in message and "300 measurements" in message and "τ_int" in message
    assert not [r for r in caplog.records if r.name.startswith("emcee")]


def test_replicas_trapped_in_different_states_warn():
    # below T_c the signed m of each replica fluctuates about +m0 or −m0 and never tunnels: the within-replica
    # autocorrelation is short, but the replica means disagree
    rng = np.random.default_rng(5)
    signs = np.array([1.0, -1.0, 1.0, -1.0])
    x = 0.8 * signs + 0.02 * rng.standard_normal((2000, 4))
    with pytest.warns(ShortRunWarning, match="replica means"):
        integrated_time(x, name="magnetization")
    integrated_time(np.abs(x), name="abs_magnetization")  # |m| is fine: no warning


def test_bad_series_are_rejected():
    with pytest.raises(ValueError, match="at least 2"):
        integrated_time(np.ones((1, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        integrated_time(np.array([[1.0], [np.nan], [0.0]]))
    with pytest.raises(ValueError, match="sweeps_per_measurement"):
        integrated_time(np.ones((10, 2)), sweeps_per_measurement=0)


# --------------------------------------------------------------------------------------------------------------
# Honest error bars
# --------------------------------------------------------------------------------------------------------------


def test_error_bars_of_correlated_means_are_honest():
    # 200 independent runs of 4 replicas × 4000 measurements of an AR(1) with τ = 19 and true mean 0.
    # Expected: |mean| < error in 68.3 % of the runs, binomial sd sqrt(0.683·0.317/200) = 0.033. The error bar
    # is a little small on average (τ̂ biased low by ≈ (2M+1)/n ≈ 5 %, so errors by ≈ 2.5 %) and noisy
    # (relative sd of τ̂ ≈ sqrt(2·191/16000) ≈ 15 %): the expected coverage is ≈ 0.665 and the expected std of
    # z = mean/error ≈ 1.035, whose sampling sd over 200 runs is ≈ 0.055. Tolerances: 0.10 for the coverage
    # (3 binomial sd) and 0.2 for the std of z (3 sd beyond the expected bias).
    runs, replicas = 200, 4
    x = ar1(0.9, 4000, runs * replicas, np.random.default_rng(6))
    z = np.empty(runs)
    for k in range(runs):
        estimate = mean_estimate(x[:, k * replicas : (k + 1) * replicas])
        z[k] = estimate.value / estimate.error
        assert estimate.tau_int == pytest.approx(19, rel=0.5)
    assert abs(np.mean(np.abs(z) < 1) - 0.683) < 0.10
    assert abs(z.std() - 1) < 0.2
    assert abs(z.mean()) < 4 / math.sqrt(runs)  # unbiased: mean of z is 0 within 4 σ


def test_mean_estimate_uses_the_given_tau():
    x = np.random.default_rng(7).standard_normal((500, 2))
    estimate = mean_estimate(x, sweeps_per_measurement=3, tau_measurements=4.0)
    assert estimate.value == pytest.approx(x.mean())
    assert estimate.error == pytest.approx(math.sqrt(x.var(ddof=1) * 4.0 / x.size))
    assert estimate.tau_int == 12.0


def test_vector_mean_shares_the_largest_tau():
    rng = np.random.default_rng(8)
    # component 0: τ = 9 (φ = 0.8); component 1: independent, τ = 1. With M ≈ 45 and N = 320000 the relative
    # sd of τ̂ is ≈ sqrt(2·91/320000) ≈ 2.4 %: 10 % is 4 σ
    n, replicas = 20000, 16
    x = np.stack([ar1(0.8, n, replicas, rng), rng.standard_normal((n, replicas))], axis=-1)
    estimate = mean_estimate_vector(x, sweeps_per_measurement=2)
    assert estimate.value.shape == estimate.error.shape == (2,)
    assert estimate.tau_int == pytest.approx(2 * 9, rel=0.10)
    tau = estimate.tau_int / 2
    expected = np.sqrt(x.reshape(-1, 2).var(axis=0, ddof=1) * tau / (n * replicas))
    np.testing.assert_allclose(estimate.error, expected, rtol=1e-12)
    given = mean_estimate_vector(x, tau_measurements=1.0)
    np.testing.assert_allclose(given.error, np.sqrt(x.reshape(-1, 2).var(axis=0, ddof=1) / (n * replicas)))
    assert str(given).startswith("[") and str(given).count("(") == 2
    with pytest.raises(ValueError, match="shape"):
        mean_estimate_vector(x[..., 0])


def test_estimate_prints_compactly():
    assert str(Estimate(0.81234, 0.00456, 3.0)) == "0.8123(46)"
    assert str(Estimate(-1.5, 0.25, None)) == "-1.50(25)"
    assert str(Estimate(0.5, 0.0996, None)) == "0.50(10)"
    assert str(Estimate(1234.5, 567.0, None)) == "1230 ± 570"
    assert str(Estimate(1.2345e-8, 4.5e-10, None)) == "1.235(45)e-08"
    assert str(Estimate(2.0, 0.0, 1.0)) == "2 ± 0"
    assert "nan" in str(Estimate(math.nan, math.nan, None))
    with pytest.raises(AttributeError):
        Estimate(1.0, 0.1, None).value = 2.0  # frozen


# --------------------------------------------------------------------------------------------------------------
# Blocks and the jackknife
# --------------------------------------------------------------------------------------------------------------


def test_block_means_stay_inside_replicas_and_drop_the_tail():
    x = np.arange(14.0).reshape(7, 2)  # replica 0: 0, 2, ..., 12; replica 1: 1, 3, ..., 13
    blocks = block_means({"a": x, "b": -x}, 3)
    np.testing.assert_array_equal(blocks["a"], [2.0, 8.0, 3.0, 9.0])  # measurement 6 of each replica dropped
    np.testing.assert_array_equal(blocks["b"], -blocks["a"])
    with pytest.raises(ValueError, match="same shape"):
        block_means({"a": x, "b": x[:6]}, 3)
    with pytest.raises(ValueError, match="longer"):
        block_means({"a": x}, 8)
    with pytest.raises(ValueError, match="positive integer"):
        block_means({"a": x}, 0)


def test_jackknife_of_a_linear_function_is_the_standard_error():
    rng = np.random.default_rng(9)
    means = {"a": rng.standard_normal(37), "b": rng.standard_normal(37) + 2}
    value, error = jackknife(means, lambda q: 3 * q["a"] - 2 * q["b"] + 1)
    combined = 3 * means["a"] - 2 * means["b"] + 1
    assert value == pytest.approx(combined.mean(), rel=1e-12)
    assert error == pytest.approx(combined.std(ddof=1) / math.sqrt(37), rel=1e-10)


def test_jackknife_error_of_the_variance_matches_the_gaussian_formula():
    # For n independent N(0, σ²) values the sample variance has sd sqrt(2/(n−1)) σ². The jackknife estimates it
    # from the fourth moment of the data; with n = 20000 its own relative sd is ≈ sqrt(96/n)/4 ≈ 1.7 %, so
    # 8 % is > 4 σ. Each value is its own block (independent data).
    sigma, n = 2.0, 20000
    x = sigma * np.random.default_rng(10).standard_normal((n, 1))
    blocks = block_means({"x": x, "x2": x * x}, 1)
    value, error = jackknife(blocks, lambda q: q["x2"] - q["x"] ** 2)
    assert value == pytest.approx(x.var(), rel=1e-10)
    assert error == pytest.approx(math.sqrt(2 / (n - 1)) * sigma**2, rel=0.08)


def test_jackknife_needs_a_vectorised_function_and_two_blocks():
    with pytest.raises(ValueError, match="element-wise"):
        jackknife({"a": np.arange(5.0)}, lambda q: np.mean(q["a"]))
    with pytest.raises(ValueError, match="2 blocks"):
        jackknife({"a": np.arange(1.0)}, lambda q: q["a"])
    with pytest.raises(ValueError, match="same number"):
        jackknife({"a": np.arange(5.0), "b": np.arange(4.0)}, lambda q: q["a"])


def test_jackknife_error_is_nan_when_a_leave_one_out_estimate_is_undefined():
    value, error = jackknife({"a": np.array([1.0, 1.0, 1.0, -5.0])}, lambda q: np.sqrt(np.where(q["a"] > 0, q["a"],
                                                                                               np.nan)))
    assert math.isnan(value) and math.isnan(error)


def test_choose_block_length_follows_the_rule():
    assert choose_block_length([3.0, 1.2], 1000, 4) == 6  # ceil(2 τ_max)
    assert choose_block_length([0.4], 1000, 4) == 1  # at least 1
    # ceil(2·30) = 60 gives 2·3 = 6 blocks < 20; 20 blocks need length 20 < ceil(τ) = 30: length 30, 12 blocks
    assert choose_block_length([30.0], 200, 2) == 30
    # 2·τ = 20 gives 5·4 = 20 blocks: kept
    assert choose_block_length([10.0], 100, 4) == 20
    # 2·τ = 16 would give 12·1 blocks; 20 blocks need length 10 ≥ ceil(8): shortened to 10
    assert choose_block_length([8.0], 200, 1) == 10
    with pytest.warns(ShortRunWarning, match="3 jackknife blocks"):
        assert choose_block_length([60.0], 200, 1) == 60
    with pytest.warns(ShortRunWarning):
        assert choose_block_length([math.inf], 200, 4) == 200  # frozen replicas: one block each
    assert choose_block_length(np.array([2.0]), 50, 40) == 4
    with pytest.raises(ValueError):
        choose_block_length([math.nan], 100, 2)


# --------------------------------------------------------------------------------------------------------------
# Ising observables
# --------------------------------------------------------------------------------------------------------------

BETA, L = 0.4, 8
N = L * L
ABS_M_VALUES = np.array([0.25, 0.5, 0.75])
ABS_M_PROBS = np.array([0.2, 0.5, 0.3])


def synthetic_series(n: int, replicas: int, seed: int) -> dict[str, np.ndarray]:
    """Independent measurements from known distributions: e ~ N(−1.2, 0.05²); |m| from ABS_M_VALUES with a random
    sign; m_s uniform on [−0.3, 0.3]; S(k_min) exponential with mean 2."""
    rng = np.random.default_rng(seed)
    shape = (n, replicas)
    return {
        "energy": -1.2 + 0.05 * rng.standard_normal(shape),
        "magnetization": rng.choice(ABS_M_VALUES, size=shape, p=ABS_M_PROBS) * rng.choice([-1.0, 1.0], size=shape),
        "staggered_magnetization": rng.uniform(-0.3, 0.3, size=shape),
        "structure_kmin": rng.exponential(2.0, size=shape),
    }


def moment(k: int) -> float:
    return float(np.sum(ABS_M_PROBS * ABS_M_VALUES**k))


def test_observables_of_independent_synthetic_series_match_the_exact_values():
    n, replicas = 4000, 4
    total = n * replicas
    result = ising_observables(synthetic_series(n, replicas, 11), beta=BETA, L=L, sweeps_per_measurement=2)
    assert list(result) == ["energy", "abs_magnetization", "m2", "m4", "magnetization", "staggered_magnetization",
                            "heat_capacity", "susceptibility", "staggered_susceptibility", "binder",
                            "correlation_length"]
    m1, m2, m4 = moment(1), moment(2), moment(4)
    exact = {
        "energy": -1.2,
        "abs_magnetization": m1,
        "m2": m2,
        "m4": m4,
        "magnetization": 0.0,
        "staggered_magnetization": 0.15,
        "heat_capacity": BETA**2 * N * 0.05**2,
        "susceptibility": BETA * N * (m2 - m1**2),
        "staggered_susceptibility": BETA * N * (0.03 - 0.15**2),
        "binder": 1 - m4 / (3 * m2**2),
        "correlation_length": math.sqrt(N * m2 / 2.0 - 1) / (2 * math.sin(math.pi / L)),
    }
    # Standard errors to first order (delta method) for independent samples: sqrt(Var(g·X)/total), with g the
    # gradient of the quantity with respect to the means it uses.
    expected_error = {
        "energy": 0.05 / math.sqrt(total),
        "abs_magnetization": math.sqrt(m2 - m1**2) / math.sqrt(total),
        "m2": math.sqrt(m4 - m2**2) / math.sqrt(total),
        "m4": math.sqrt(moment(8) - m4**2) / math.sqrt(total),
        "magnetization": math.sqrt(m2) / math.sqrt(total),
        "staggered_magnetization": math.sqrt(0.03 - 0.15**2) / math.sqrt(total),
        "heat_capacity": exact["heat_capacity"] * math.sqrt(2 / (total - 1)),
        # Var(m² − 2 m1 |m|) = m4 − 4 m1 m3 + 4 m1² m2 − (m2 − 2 m1²)²
        "susceptibility": BETA * N * math.sqrt(m4 - 4 * m1 * moment(3) + 4 * m1**2 * m2 - (m2 - 2 * m1**2) ** 2)
        / math.sqrt(total),
    }
    for key, estimate in result.items():
        assert isinstance(estimate, Estimate)
        assert abs(estimate.value - exact[key]) < 4 * estimate.error, (key, estimate, exact[key])
        assert estimate.tau_int is not None and 0 < estimate.tau_int
    for key, error in expected_error.items():
        # errors are τ̂-corrected (τ̂ ≈ 1 within ≈ 4 %) and, for derived quantities, jackknifed over ≈ 5000
        # blocks (relative sd of the error estimate ≈ 2–4 %): 15 % is ≥ 4 σ
        assert result[key].error == pytest.approx(error, rel=0.15), key
    # independent measurements: τ_int ≈ 1 measurement = 2 sweeps, within the ≈ 4 % noise of τ̂
    assert result["energy"].tau_int == pytest.approx(2.0, rel=0.15)
    for key, uses in {"susceptibility": ("abs_magnetization", "m2"), "binder": ("m2", "m4")}.items():
        assert result[key].tau_int == max(result[u].tau_int for u in uses)
    assert result["heat_capacity"].tau_int >= result["energy"].tau_int


def test_observables_with_a_fixed_magnetization_magnitude_are_exact():
    # |m| = m0 always, with a random sign: χ = 0 and U₄ = 2/3 exactly; a constant energy gives C = 0
    n, replicas, m0 = 500, 3, 0.6
    rng = np.random.default_rng(12)
    series = {
        "energy": np.full((n, replicas), -1.9),
        "magnetization": m0 * rng.choice([-1.0, 1.0], size=(n, replicas)),
        "staggered_magnetization": np.full((n, replicas), 0.1),
        "structure_kmin": np.full((n, replicas), 0.5),
    }
    result = ising_observables(series, beta=1.0, L=4)  # no warning: constant series have τ = 1
    assert result["abs_magnetization"].value == pytest.approx(m0, rel=1e-12)
    assert result["abs_magnetization"].error == 0.0
    assert result["abs_magnetization"].tau_int == 1.0
    assert result["susceptibility"].value == pytest.approx(0.0, abs=1e-12)
    assert result["susceptibility"].error == pytest.approx(0.0, abs=1e-12)
    assert result["heat_capacity"].value == pytest.approx(0.0, abs=1e-12)
    assert result["staggered_susceptibility"].value == pytest.approx(0.0, abs=1e-12)
    assert result["binder"].value == pytest.approx(2 / 3, rel=1e-12)
    xi = math.sqrt(16 * m0**2 / 0.5 - 1) / (2 * math.sin(math.pi / 4))
    assert result["correlation_length"].value == pytest.approx(xi, rel=1e-12)


def test_correlation_length_is_nan_when_the_root_argument_is_negative():
    # disordered phase at small L: χ(k_min) > χ(0) by noise. N⟨m²⟩ = 1 < ⟨S(k_min)⟩ = 1.5
    n, replicas, size = 400, 2, 4
    rng = np.random.default_rng(13)
    series = {
        "energy": -0.2 + 0.1 * rng.standard_normal((n, replicas)),
        "magnetization": rng.choice([-1.0, 1.0], size=(n, replicas)) / size,  # m² = 1/N
        "staggered_magnetization": rng.choice([-1.0, 1.0], size=(n, replicas)) / size,
        "structure_kmin": rng.exponential(1.5, size=(n, replicas)),
    }
    xi = ising_observables(series, beta=0.1, L=size)["correlation_length"]  # and no warning
    assert math.isnan(xi.value) and math.isnan(xi.error)
    series["structure_kmin"] = np.zeros((n, replicas))  # every configuration uniform: ξ = inf
    xi = ising_observables(series, beta=0.1, L=size)["correlation_length"]
    assert xi.value == math.inf and math.isnan(xi.error)


def test_a_short_correlated_run_warns_with_the_quantity_named():
    rng = np.random.default_rng(14)
    series = synthetic_series(300, 2, 15)
    series["energy"] = -1.2 + 0.05 * ar1(0.95, 300, 2, rng)  # τ ≈ 39 measurements: 300 < 50 τ
    with pytest.warns(ShortRunWarning) as record:
        result = ising_observables(series, beta=BETA, L=L)
    messages = [str(w.message) for w in record]
    assert any(message.startswith("energy:") for message in messages)
    assert not any(message.startswith("abs_magnetization") for message in messages)
    assert result["energy"].tau_int > 10
    assert result["heat_capacity"].tau_int >= result["energy"].tau_int


def test_ising_observables_validates_its_input():
    good = synthetic_series(50, 2, 16)
    with pytest.raises(ValueError, match="structure_kmin"):
        ising_observables({k: v for k, v in good.items() if k != "structure_kmin"}, beta=BETA, L=L)
    with pytest.raises(ValueError, match="unknown.*'spin'"):
        ising_observables({**good, "spin": good["energy"]}, beta=BETA, L=L)
    with pytest.raises(ValueError, match="same shape"):
        ising_observables({**good, "energy": good["energy"][:40]}, beta=BETA, L=L)
    with pytest.raises(ValueError, match="at least 2"):
        ising_observables({k: v[:1] for k, v in good.items()}, beta=BETA, L=L)
    with pytest.raises(ValueError, match="non-finite"):
        bad = good["magnetization"].copy()
        bad[3, 1] = np.inf
        ising_observables({**good, "magnetization": bad}, beta=BETA, L=L)
    with pytest.raises(ValueError, match="n_measurements, n_replicas"):
        ising_observables({k: v[:, 0] for k, v in good.items()}, beta=BETA, L=L)
    for beta in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="beta"):
            ising_observables(good, beta=beta, L=L)
    for size in (1, 2.5):
        with pytest.raises(ValueError, match="L must"):
            ising_observables(good, beta=BETA, L=size)
