"""Exact references for the 2D Ising model: Onsager's infinite lattice, Kaufman's finite torus and brute-force
enumeration, each checked against the others, against finite differences and against published values."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest

from rbm_explorer.ising.exact import (
    BETA_C,
    ExactMoments,
    enumerate_ising,
    ising_state_table,
    onsager_energy,
    onsager_heat_capacity,
    onsager_magnetization,
    torus_energy,
    torus_heat_capacity,
    torus_log_partition,
)

BETAS = [0.1, 0.3, BETA_C, 0.6, 1.0]
# c(β_c, 2L) − c(β_c, L) → (8/π) β_c² ln 2 (Ferdinand and Fisher 1969); also the slope of Onsager's log divergence
LOG_SLOPE = 8.0 / math.pi * BETA_C**2


def five_point(f, x, step):
    """First and second derivatives of f at x by the 5-point stencils (truncation O(step⁴))."""
    v = f(x + step * np.arange(-2, 3))
    d1 = (8.0 * (v[3] - v[1]) - (v[4] - v[0])) / (12.0 * step)
    d2 = (-v[4] + 16.0 * v[3] - 30.0 * v[2] + 16.0 * v[1] - v[0]) / (12.0 * step**2)
    return d1, d2


# ------------------------------------------------------------------------------------------------------- Onsager


def test_critical_point():
    assert BETA_C == pytest.approx(0.4406867935097715, abs=1e-15)
    assert math.sinh(2 * BETA_C) == pytest.approx(1.0, abs=1e-15)


def test_onsager_magnetization():
    below = np.linspace(0.05, BETA_C, 20)
    assert np.all(onsager_magnetization(below) == 0.0)
    expected = (1.0 - math.sinh(1.0) ** -4) ** 0.125
    assert expected == pytest.approx(0.911319, abs=1e-6)
    assert onsager_magnetization(0.5) == pytest.approx(expected, rel=1e-14)
    above = onsager_magnetization(np.linspace(BETA_C + 1e-6, 2.0, 50))
    assert np.all(above > 0) and np.all(np.diff(above) > 0)
    assert onsager_magnetization(10.0) == pytest.approx(1.0, abs=1e-15)
    assert onsager_magnetization(1000.0) == 1.0  # no overflow at very low temperature


def test_onsager_energy_values():
    assert onsager_energy(BETA_C) == pytest.approx(-math.sqrt(2.0), rel=1e-14)
    # high temperature: log Z / N = log 2 + 2 log cosh β + tanh⁴ β + O(tanh⁶ β) (one plaquette per site), so
    # e = −2t − 4t³ + O(t⁵), t = tanh β; low temperature: e → −2
    t = math.tanh(1e-3)
    assert onsager_energy(1e-3) == pytest.approx(-2 * t - 4 * t**3, rel=1e-10)
    assert onsager_energy(20.0) == pytest.approx(-2.0, abs=1e-15)
    grid = np.linspace(0.05, 3.0, 200)
    e = onsager_energy(grid)
    assert np.all(np.isfinite(e)) and np.all(np.diff(e) < 0)


@pytest.mark.parametrize("beta", [0.2, 0.35, 0.43, 0.45, 0.5, 0.7, 1.0])
def test_onsager_heat_capacity_is_the_derivative_of_the_energy(beta):
    # 5-point derivative with step 1e-4: truncation ~ step⁴ e⁽⁵⁾ (< 1e-9 here, even 0.01 from β_c), rounding
    # ~ 1e-16/step ~ 1e-12
    de, _ = five_point(onsager_energy, beta, 1e-4)
    assert onsager_heat_capacity(beta) == pytest.approx(-(beta**2) * de, rel=1e-8)


def test_onsager_heat_capacity_diverges_logarithmically():
    assert onsager_heat_capacity(BETA_C) > 10
    for side in (+1, -1):
        c = [onsager_heat_capacity(BETA_C * (1 + side * 10.0**-k)) for k in range(2, 8)]
        assert np.all(np.diff(c) > 0)
        # c ≈ −(8/π) β_c² ln|1 − β/β_c| + const: each decade adds (8/π) β_c² ln 10 (the often-quoted 2/π
        # variant of the formula gives half of it)
        assert c[-1] - c[-2] == pytest.approx(LOG_SLOPE * math.log(10), rel=1e-4)


# ------------------------------------------------------------------------------------------------- finite torus


@pytest.mark.parametrize("L, beta, e, c", [(16, 0.4, -1.1313180, 1.0649769), (32, BETA_C, -1.4336585, 1.8467674)])
def test_torus_known_values(L, beta, e, c):
    assert torus_energy(L, beta) == pytest.approx(e, abs=1e-6)
    assert torus_heat_capacity(L, beta) == pytest.approx(c, abs=1e-6)


@pytest.mark.parametrize("L", [2, 3, 4])
def test_torus_matches_enumeration(L):
    exact = enumerate_ising(L, np.array(BETAS))
    np.testing.assert_allclose(torus_log_partition(L, BETAS), exact.log_partition, rtol=1e-12)
    np.testing.assert_allclose(torus_energy(L, BETAS), exact.energy, rtol=1e-12)
    np.testing.assert_allclose(torus_heat_capacity(L, BETAS), exact.heat_capacity, rtol=1e-10)


@pytest.mark.parametrize("L", [2, 4])
@pytest.mark.parametrize("J", [-1.0, -0.7, 2.0])
def test_torus_coupling_scaling_and_antiferromagnet(L, J):
    betas = np.array(BETAS)
    exact = enumerate_ising(L, betas, J=J)
    np.testing.assert_allclose(torus_log_partition(L, betas, J=J), exact.log_partition, rtol=1e-12)
    np.testing.assert_allclose(torus_energy(L, betas, J=J), exact.energy, rtol=1e-12)
    np.testing.assert_allclose(torus_heat_capacity(L, betas, J=J), exact.heat_capacity, rtol=1e-10)
    # e(β, J) = |J| e₁(β|J|), c(β, J) = c₁(β|J|)
    np.testing.assert_allclose(torus_energy(L, betas, J=J), abs(J) * torus_energy(L, abs(J) * betas), rtol=1e-13)
    if J < 0:  # the antiferromagnet orders in the staggered magnetization, not in m
        cold = enumerate_ising(L, 2.0, J=J)
        assert cold.staggered_magnetization > 0.99 and cold.abs_magnetization < 0.01


def test_odd_antiferromagnet_is_refused():
    for fn in (torus_log_partition, torus_energy, torus_heat_capacity):
        with pytest.raises(ValueError, match=r"the antiferromagnet needs an even L; got L=5"):
            fn(5, 0.3, J=-1.0)
    frustrated = enumerate_ising(3, 3.0, J=-1.0)  # enumeration has no such restriction; ground state frustrated
    assert frustrated.energy > -2.0 + 0.1


@pytest.mark.parametrize("L", [8, 32])
@pytest.mark.parametrize("beta", [0.3, BETA_C, 0.6, 1.0])
def test_analytic_derivatives_match_finite_differences(L, beta):
    n = L * L
    step = 1e-3
    d1, d2 = five_point(lambda b: torus_log_partition(L, b) / n, beta, step)
    d1_wide, d2_wide = five_point(lambda b: torus_log_partition(L, b) / n, beta, 2 * step)
    # the stencils' truncation error is O(step⁴), so err(step) ≈ |F(2 step) − F(step)| / 15; allow twice that
    # plus the rounding of log Z / N (|log Z / N| < 3, relative 1e-16) amplified by 1/step and 1/step²
    e, c = torus_energy(L, beta), torus_heat_capacity(L, beta)
    assert abs(-d1 - e) <= 2 * abs(d1_wide - d1) / 15 + 1e-11
    assert abs(beta**2 * d2 - c) <= 2 * beta**2 * abs(d2_wide - d2) / 15 + 1e-8
    # and the heat capacity is −β² de/dβ of the analytic energy
    de, _ = five_point(lambda b: torus_energy(L, b), beta, step)
    de_wide, _ = five_point(lambda b: torus_energy(L, b), beta, 2 * step)
    assert abs(-(beta**2) * de - c) <= 2 * beta**2 * abs(de_wide - de) / 15 + 1e-10


def test_high_temperature_with_cancelling_terms():
    # at L = 64, β = 0.2 the two largest of Kaufman's four terms have opposite signs and nearly cancel
    logz = torus_log_partition(64, 0.2)
    e, c = torus_energy(64, 0.2), torus_heat_capacity(64, 0.2)
    assert np.isfinite(logz) and logz > 64 * 64 * math.log(2)
    # far from β_c the finite-size corrections are exponentially small in L
    assert e == pytest.approx(onsager_energy(0.2), abs=1e-12)
    assert c == pytest.approx(onsager_heat_capacity(0.2), abs=1e-12)


@pytest.mark.parametrize("L", [64, 128, 1024])
def test_large_lattices_are_finite_and_sensible(L):
    grid = np.linspace(0.05, 2.0, 100)
    logz, e, c = torus_log_partition(L, grid), torus_energy(L, grid), torus_heat_capacity(L, grid)
    for values in (logz, e, c):
        assert values.shape == grid.shape and np.all(np.isfinite(values))
    assert np.all(logz >= L * L * math.log(2)) and np.all(np.diff(logz) > 0)
    assert np.all((e > -2) & (e < 0)) and np.all(np.diff(e) < 0)
    assert np.all(c > 0)
    far = np.abs(grid - BETA_C) > 0.1
    np.testing.assert_allclose(e[far], onsager_energy(grid[far]), atol=1e-9)
    np.testing.assert_allclose(c[far], onsager_heat_capacity(grid[far]), atol=1e-8)


def test_large_lattice_is_fast():
    grid = np.linspace(0.05, 2.0, 100)
    torus_heat_capacity(1024, grid)  # warm up
    start = time.perf_counter()
    torus_heat_capacity(1024, grid)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("beta", [0.3, 0.6])
def test_torus_approaches_onsager(beta):
    gaps = [abs(torus_energy(L, beta) - onsager_energy(beta)) for L in (4, 8, 16)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert torus_energy(256, beta) == pytest.approx(onsager_energy(beta), abs=1e-6)
    assert torus_heat_capacity(256, beta) == pytest.approx(onsager_heat_capacity(beta), abs=1e-6)


def test_critical_heat_capacity_grows_like_log_L():
    c = {L: torus_heat_capacity(L, BETA_C) for L in (128, 256, 512)}
    assert c[256] - c[128] == pytest.approx(LOG_SLOPE * math.log(2), rel=5e-3)
    assert c[512] - c[256] == pytest.approx(LOG_SLOPE * math.log(2), rel=5e-3)


def test_vectorised_shapes():
    assert isinstance(torus_energy(8, 0.3), float) and isinstance(onsager_energy(0.3), float)
    grid = np.array([[0.2, 0.3], [0.5, 0.7]])
    for fn in (torus_log_partition, torus_energy, torus_heat_capacity):
        out = fn(8, grid)
        assert out.shape == (2, 2)
        assert out[1, 0] == fn(8, 0.5)
    for fn in (onsager_energy, onsager_heat_capacity, onsager_magnetization):
        assert fn(grid).shape == (2, 2)


@pytest.mark.parametrize(
    "args, message",
    [
        ((1, 0.3), r"L must be an integer >= 2, got L=1"),
        ((2.5, 0.3), r"L must be an integer >= 2, got 2\.5"),
        (("4", 0.3), r"L must be an integer >= 2"),
        ((8, 0.0), r"beta must be > 0"),
        ((8, [0.3, -0.1]), r"beta must be > 0"),
        ((8, np.nan), r"beta must be finite"),
        ((8, np.inf), r"beta must be finite"),
        ((8, 0.3, 0.0), r"J must be nonzero"),
        ((8, 0.3, np.inf), r"J must be finite"),
        ((8, 400.0), r"beta\*\|J\| must be <= 300"),
    ],
)
def test_torus_bad_inputs(args, message):
    for fn in (torus_log_partition, torus_energy, torus_heat_capacity):
        with pytest.raises(ValueError, match=message):
            fn(*args)


def test_onsager_bad_inputs():
    for fn in (onsager_energy, onsager_heat_capacity, onsager_magnetization):
        with pytest.raises(ValueError, match="beta must be > 0"):
            fn(-1.0)
        with pytest.raises(ValueError, match="beta must be finite"):
            fn(np.nan)


# -------------------------------------------------------------------------------------------------- enumeration


def brute_force(L, beta, J, h):
    """Independent enumeration with explicit loops over sites and bonds."""
    n = L * L
    bonds = [(r * L + c, r * L + (c + 1) % L) for r in range(L) for c in range(L)]
    bonds += [(r * L + c, ((r + 1) % L) * L + c) for r in range(L) for c in range(L)]
    weights, energies, ms, mss = [], [], [], []
    for spins in itertools.product((-1, 1), repeat=n):
        energy = -J * sum(spins[i] * spins[j] for i, j in bonds) - h * sum(spins)
        weights.append(math.exp(-beta * energy))
        energies.append(energy)
        ms.append(sum(spins) / n)
        mss.append(sum(s * (-1) ** (i // L + i % L) for i, s in enumerate(spins)) / n)
    w = np.array(weights)
    z = w.sum()
    p = w / z
    energies, ms, mss = np.array(energies), np.array(ms), np.array(mss)
    mean_e = p @ energies
    return {
        "log_partition": math.log(z),
        "energy": mean_e / n,
        "heat_capacity": beta**2 * (p @ (energies - mean_e) ** 2) / n,
        "magnetization": p @ ms,
        "abs_magnetization": p @ np.abs(ms),
        "m2": p @ ms**2,
        "m4": p @ ms**4,
        "susceptibility": beta * n * (p @ ms**2 - (p @ np.abs(ms)) ** 2),
        "staggered_magnetization": p @ np.abs(mss),
    }


@pytest.mark.parametrize(
    "L, beta, J, h", [(2, 0.4, 1.0, 0.3), (2, 0.8, -1.0, -0.5), (3, 0.3, 1.0, 0.2), (3, 0.7, -0.5, 0.1)]
)
def test_enumeration_against_independent_loops(L, beta, J, h):
    got = enumerate_ising(L, beta, J=J, h=h)
    assert isinstance(got, ExactMoments)
    for name, value in brute_force(L, beta, J, h).items():
        assert getattr(got, name) == pytest.approx(value, rel=1e-12, abs=1e-14), name


def test_enumeration_field_and_symmetry():
    for L in (2, 3, 4):
        # ⟨m⟩ = 0 by symmetry, up to the rounding of a weighted sum of 2^N terms of both signs: of order
        # sqrt(2^N) machine epsilons (3e-14 at L = 4), and its order of summation follows the BLAS thread count
        assert abs(enumerate_ising(L, 0.5).magnetization) < 1e-12
        assert enumerate_ising(L, 0.5, h=0.1).magnetization > 0
        assert enumerate_ising(L, 0.5, h=-0.1).magnetization < 0
    grid = enumerate_ising(4, np.array([0.2, 0.5, 1.0]))
    assert grid.energy.shape == (3,) and isinstance(enumerate_ising(4, 0.5).energy, float)
    assert np.all(np.diff(grid.abs_magnetization) > 0)
    assert np.all((grid.m4 <= grid.m2) & (grid.m2 <= grid.abs_magnetization))
    with pytest.raises(AttributeError):
        grid.energy = 0.0  # frozen


def test_state_table():
    table = ising_state_table(3)
    assert ising_state_table(3) is table  # cached
    n = 9
    for arr in table:
        assert arr.dtype == np.int64 and arr.shape == (2**n,) and not arr.flags.writeable
    with pytest.raises(ValueError):
        table.bond_sum[0] = 1
    # k = 0 is all down, k = 2^N − 1 all up; k = 1 flips site 0 (row 0, col 0: four bonds, staggered sign +1)
    assert (table.bond_sum[0], table.spin_sum[0], table.staggered_sum[0]) == (2 * n, -n, -1)
    assert (table.bond_sum[-1], table.spin_sum[-1], table.staggered_sum[-1]) == (2 * n, n, 1)
    assert (table.bond_sum[1], table.spin_sum[1], table.staggered_sum[1]) == (2 * n - 8, -n + 2, 1)
    # k = 2 flips site 1 (row 0, col 1): staggered sign −1
    assert table.staggered_sum[2] == -3
    # L = 2: each pair is joined by two bonds, so the all-up state has 2N = 8 satisfied bonds; the Néel state
    # (sites 0 and 3 up: k = 0b1001) has all 8 broken
    small = ising_state_table(2)
    assert small.bond_sum[0b1111] == 8 and small.bond_sum[0b1001] == -8 and small.staggered_sum[0b1001] == 4
    # the energy histogram at L = 4: 2^16 states, ground states and the symmetry of the bond sums
    big = ising_state_table(4)
    assert big.bond_sum.size == 2**16 and np.sum(big.bond_sum == 32) == 2 and np.sum(big.bond_sum == -32) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"L": 5, "beta": 0.3}, r"exact enumeration is limited to L <= 4 \(2\^16 states\), got L=5"),
        ({"L": 1, "beta": 0.3}, r"L must be an integer >= 2"),
        ({"L": 3.0, "beta": 0.3}, r"L must be an integer >= 2"),
        ({"L": 2, "beta": -0.3}, r"beta must be > 0"),
        ({"L": 2, "beta": 0.3, "J": np.nan}, r"J must be finite"),
        ({"L": 2, "beta": 0.3, "h": np.inf}, r"h must be finite"),
        ({"L": 2, "beta": 0.3, "h": "up"}, r"h must be a real number"),
    ],
)
def test_enumeration_bad_inputs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        enumerate_ising(**kwargs)


def test_state_table_bad_inputs():
    with pytest.raises(ValueError, match="limited to L <= 4"):
        ising_state_table(5)
    with pytest.raises(ValueError, match="L must be an integer"):
        ising_state_table(True)
