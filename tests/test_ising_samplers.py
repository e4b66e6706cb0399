"""The Ising samplers against exact answers.

- On 3×3 and 4×4 tori every algorithm's states follow the Boltzmann distribution: a chi-square test of the
  histogram of (bond sum, |spin sum|) against exact enumeration, from snapshots far apart in sweeps (τ of the
  energy is a few sweeps there, so they are independent for the test). The threshold p > 1e-4 per test keeps the
  family of a dozen tests below a 0.2 % false alarm rate.
- At L = 16 and 32 and β in {0.3, 0.4, β_c, 0.5, 0.6}, energy and heat capacity per spin lie within 4σ of the
  exact finite torus (Ferdinand and Fisher 1969), σ from ``ising.statistics`` (τ_int and jackknife).
- At L = 64 and β ≥ 0.5, ⟨|m|⟩ agrees with Onsager's spontaneous magnetization.
- The antiferromagnet's staggered magnetization mirrors the ferromagnet's magnetization.
- With a field, ⟨m⟩ agrees with enumeration at L = 4.
- Multispin replicas that start identical become distinct, and each bit is a correct chain by itself.
- The same seed gives the same lattices on one thread or two.
"""

import warnings

import numpy as np
import pytest
from scipy import stats

from rbm_explorer.ising import exact
from rbm_explorer.ising.model import IsingModel
from rbm_explorer.ising.run import sample_series
from rbm_explorer.ising.samplers import ALGORITHMS, make_sampler
from rbm_explorer.ising.statistics import ShortRunWarning, ising_observables

P_MIN = 1e-4


def replicas_for(algorithm, n):
    return max(64, (n // 64) * 64) if algorithm == "multispin" else n


def snapshots(sampler, n_snapshots, gap, thermalization=200):
    """Sums of every replica at ``n_snapshots`` times ``gap`` sweeps apart, after ``thermalization``."""
    sampler.thermalize(thermalization)
    out = []
    for _ in range(n_snapshots):
        sampler.sweep(gap)
        out.append(sampler.sums())
    return np.concatenate(out)


def exact_histogram(L, beta, coupling, field):
    """Exact probability of each (bond sum, |spin sum|) class, keyed by bond sum * 1000 + |spin sum|."""
    table = exact.ising_state_table(L)
    log_w = beta * (coupling * table.bond_sum + field * table.spin_sum)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    classes = table.bond_sum * 1000 + np.abs(table.spin_sum)
    uniq, inverse = np.unique(classes, return_inverse=True)
    mass = np.bincount(inverse, weights=w)
    return dict(zip(uniq.tolist(), mass.tolist()))


def chi_square_p(sums, L, beta, coupling=1.0, field=0.0):
    observed_keys = (np.rint(sums[:, 0]).astype(np.int64) * 1000 + np.abs(np.rint(sums[:, 1]).astype(np.int64)))
    probs = exact_histogram(L, beta, coupling, field)
    keys = sorted(probs)
    assert set(observed_keys.tolist()) <= set(keys), "a state with a bond or spin sum the lattice cannot have"
    n = len(observed_keys)
    expected = np.array([probs[k] * n for k in keys])
    counts = np.array([(observed_keys == k).sum() for k in keys], dtype=float)
    # merge classes with fewer than 5 expected counts into one, as the chi-square approximation needs
    small = expected < 5
    if small.any():
        expected = np.append(expected[~small], expected[small].sum())
        counts = np.append(counts[~small], counts[small].sum())
    return stats.chisquare(counts, expected).pvalue


CASES = [
    (4, 0.4, 1.0, 0.0),
    (4, 0.7, 1.0, 0.0),
    (4, 0.4, -1.0, 0.0),
    (3, 0.35, 1.0, 0.0),
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("L,beta,coupling,field", CASES)
def test_states_follow_the_boltzmann_distribution(algorithm, L, beta, coupling, field):
    model = IsingModel(L, beta, coupling, field)
    sampler = make_sampler(algorithm, model, replicas_for(algorithm, 512), seed=11)
    sums = snapshots(sampler, 16, gap=12)
    assert chi_square_p(sums, L, beta, coupling, field) > P_MIN


@pytest.mark.parametrize("algorithm", ["metropolis", "multispin"])
def test_states_with_a_field_follow_the_boltzmann_distribution(algorithm):
    model = IsingModel(4, 0.35, 1.0, 0.3)
    sampler = make_sampler(algorithm, model, replicas_for(algorithm, 512), seed=5)
    sums = snapshots(sampler, 16, gap=12)
    # with a field the sign of the magnetization matters: test (bond sum, spin sum) with its sign
    keys = np.rint(sums[:, 0]).astype(np.int64) * 1000 + np.rint(sums[:, 1]).astype(np.int64)
    table = exact.ising_state_table(4)
    log_w = 0.35 * (table.bond_sum + 0.3 * table.spin_sum)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    uniq, inverse = np.unique(table.bond_sum * 1000 + table.spin_sum, return_inverse=True)
    mass = np.bincount(inverse, weights=w)
    expected = mass * len(keys)
    counts = np.array([(keys == k).sum() for k in uniq], dtype=float)
    small = expected < 5
    expected = np.append(expected[~small], expected[small].sum())
    counts = np.append(counts[~small], counts[small].sum())
    assert stats.chisquare(counts, expected).pvalue > P_MIN


@pytest.mark.parametrize("algorithm", ["metropolis", "multispin"])
def test_mean_magnetization_in_a_field_matches_enumeration(algorithm):
    beta, field = 0.3, 0.2
    truth = exact.enumerate_ising(4, beta, 1.0, field)
    series = sample_series(IsingModel(4, beta, 1.0, field), algorithm, replicas_for(algorithm, 64), sweeps=4000,
                           thermalization=200, seed=3)
    est = ising_observables(series.series, beta=beta, L=4, sweeps_per_measurement=series.measure_every)
    m = est["magnetization"]
    assert truth.magnetization > 0.1
    assert abs(m.value - truth.magnetization) < 4 * m.error, (m, truth.magnetization)
    e = est["energy"]
    assert abs(e.value - truth.energy) < 4 * e.error, (e, truth.energy)


def run_observables(algorithm, model, replicas, sweeps, thermalization, seed, measure_every=1):
    series = sample_series(model, algorithm, replicas, sweeps, thermalization, seed, measure_every)
    with warnings.catch_warnings():
        # quantities this test does not check (|m| and signed m near and below T_c) may be short of 50 τ;
        # the energy's own τ is checked below instead
        warnings.simplefilter("ignore", ShortRunWarning)
        est = ising_observables(series.series, beta=model.beta, L=model.L,
                                sweeps_per_measurement=series.measure_every)
    return series, est


BETAS = (0.3, 0.4, exact.BETA_C, 0.5, 0.6)
# replicas, measured sweeps and thermalization per algorithm: enough for a few hundred τ of the energy
RUNS = {"metropolis": (16, 3000, 2000, 1), "wolff": (8, 1500, 300, 1), "hybrid": (8, 1500, 300, 1),
        "multispin": (64, 3000, 2000, 3)}


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("L", [16, 32])
def test_energy_and_heat_capacity_match_the_exact_torus(algorithm, L):
    replicas, sweeps, thermalization, every = RUNS[algorithm]
    failures = []
    for i, beta in enumerate(BETAS):
        model = IsingModel(L, beta)
        series, est = run_observables(algorithm, model, replicas, sweeps, thermalization, 100 + i, every)
        n_measurements = series.n_measurements
        tau_e = est["energy"].tau_int / series.measure_every
        assert n_measurements > 50 * tau_e, f"beta={beta}: the run is too short for the energy's τ ({tau_e})"
        e, c = est["energy"], est["heat_capacity"]
        e_exact, c_exact = exact.torus_energy(L, beta), exact.torus_heat_capacity(L, beta)
        if abs(e.value - e_exact) > 4 * e.error:
            failures.append(f"beta={beta:.4f}: energy {e} vs exact {e_exact:.6f}")
        if abs(c.value - c_exact) > 4 * c.error:
            failures.append(f"beta={beta:.4f}: heat capacity {c} vs exact {c_exact:.6f}")
    assert not failures, "\n".join(failures)


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("beta", [0.5, 0.6])
def test_magnetization_matches_onsager_at_L64(algorithm, beta):
    replicas = 64 if algorithm == "multispin" else 4
    every = 10 if algorithm == "multispin" else 2
    _, est = run_observables(algorithm, IsingModel(64, beta), replicas, 1000, 300, 7, every)
    m = est["abs_magnetization"]
    # periodic boundaries: the finite-size shift of ⟨|m|⟩ is exponentially small in L/ξ (ξ ≈ 4 at β = 0.5), far
    # below 1e-3
    assert abs(m.value - exact.onsager_magnetization(beta)) < 4 * m.error + 1e-3, (m, exact.onsager_magnetization(beta))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("beta", [0.38, 0.5])
def test_antiferromagnet_staggered_magnetization_mirrors_the_ferromagnet(algorithm, beta):
    replicas, sweeps = (64, 2000) if algorithm == "multispin" else (8, 2000)
    _, ferro = run_observables(algorithm, IsingModel(16, beta, 1.0), replicas, sweeps, 500, 21)
    _, anti = run_observables(algorithm, IsingModel(16, beta, -1.0), replicas, sweeps, 500, 22)
    for f_name, a_name in (("abs_magnetization", "staggered_magnetization"), ("energy", "energy"),
                           ("susceptibility", "staggered_susceptibility")):
        f, a = ferro[f_name], anti[a_name]
        assert abs(f.value - a.value) < 4 * np.hypot(f.error, a.error), (f_name, f, a_name, a)
    # and the antiferromagnet's uniform magnetization stays small
    assert anti["abs_magnetization"].value < 0.25 * ferro["abs_magnetization"].value + 0.05


def test_multispin_replicas_that_start_identical_become_distinct():
    sampler = make_sampler("multispin", IsingModel(16, 0.3), 64, seed=1, start="ordered")
    assert len({s.tobytes() for s in sampler.spins}) == 1
    sampler.sweep(200)
    spins = sampler.spins.reshape(64, -1).astype(np.float64)
    assert len({s.tobytes() for s in sampler.spins}) == 64
    overlap = spins @ spins.T / spins.shape[1]
    pairs = overlap[np.triu_indices(64, 1)]
    # independent disordered lattices: q ~ N(0, χ/N) with χ = O(1) at β = 0.3; coalesced replicas would give 1
    assert np.abs(pairs).max() < 0.6
    assert abs(pairs.mean()) < 0.05


def test_each_multispin_replica_is_a_correct_chain():
    """Every bit by itself: the histogram of its own states over time, thinned beyond τ, against enumeration."""
    beta = 0.4
    sampler = make_sampler("multispin", IsingModel(4, beta), 64, seed=9)
    sampler.thermalize(100)
    per_time = []
    for _ in range(1500):
        sampler.sweep(10)
        per_time.append(sampler.sums())
    sums = np.stack(per_time, axis=1)  # replicas × time × 4
    p_values = np.array([chi_square_p(sums[r], 4, beta) for r in range(64)])
    assert p_values.min() * 64 > 1e-3, p_values.min()  # Bonferroni over the 64 replicas
    # and the replicas' p-values look uniform, as 64 independent correct chains give
    assert stats.kstest(p_values, "uniform").pvalue > P_MIN


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_the_same_seed_gives_the_same_lattices_on_any_number_of_threads(algorithm):
    replicas = 128 if algorithm == "multispin" else 8
    results = []
    for threads in (1, 2, 1):
        sampler = make_sampler(algorithm, IsingModel(32, 0.42), replicas, seed=77, threads=threads)
        sampler.thermalize(10)
        sampler.sweep(15)
        results.append(sampler.spins)
    assert np.array_equal(results[0], results[1]) and np.array_equal(results[0], results[2])
    other = make_sampler(algorithm, IsingModel(32, 0.42), replicas, seed=78)
    other.thermalize(10)
    other.sweep(15)
    assert not np.array_equal(other.spins, results[0])


def test_bad_models_and_options_are_clear_errors():
    with pytest.raises(ValueError, match="even L"):
        IsingModel(5, 0.4, -1.0)
    with pytest.raises(ValueError, match="L must be an integer"):
        IsingModel(1, 0.4)
    with pytest.raises(ValueError, match="positive"):
        IsingModel(8, -0.1)
    with pytest.raises(ValueError, match="finite"):
        IsingModel(8, float("nan"))
    for algorithm in ("wolff", "hybrid"):
        with pytest.raises(ValueError, match="h = 0"):
            make_sampler(algorithm, IsingModel(8, 0.4, 1.0, 0.1), 2)
    with pytest.raises(ValueError, match="multiple of 64"):
        make_sampler("multispin", IsingModel(8, 0.4), 10)
    with pytest.raises(ValueError, match="unknown Ising algorithm"):
        make_sampler("heatbath", IsingModel(8, 0.4), 1)
    sampler = make_sampler("metropolis", IsingModel(8, 0.4), 2, seed=0)
    with pytest.raises(ValueError, match="shape"):
        sampler.set_spins(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="-1 or \\+1"):
        sampler.set_spins(np.zeros((2, 8, 8)))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_spins_round_trip_through_every_layout(algorithm):
    replicas = 64 if algorithm == "multispin" else 3
    for L in (6, 7) if algorithm != "metropolis" else (6, 7, 8):
        sampler = make_sampler(algorithm, IsingModel(L, 0.4), replicas, seed=2)
        spins = np.where(np.random.default_rng(L).random((replicas, L, L)) < 0.5, -1, 1).astype(np.int8)
        sampler.set_spins(spins)
        assert np.array_equal(sampler.spins, spins)
        # the sums of the sampler's own layout agree with a direct computation
        bonds = (spins * np.roll(spins, 1, axis=1) + spins * np.roll(spins, 1, axis=2)).sum(axis=(1, 2))
        y, x = np.indices((L, L))
        staggered = (spins * np.where((y + x) % 2 == 0, 1, -1)).sum(axis=(1, 2))
        sums = sampler.sums()
        assert np.array_equal(sums[:, 0], bonds) and np.array_equal(sums[:, 1], spins.sum(axis=(1, 2)))
        assert np.array_equal(sums[:, 2], staggered)
        k = np.exp(2j * np.pi * np.arange(L) / L)
        s_k = (np.abs(spins.sum(axis=1) @ k) ** 2 + np.abs(spins.sum(axis=2) @ k) ** 2) / (2 * L * L)
        assert np.allclose(sums[:, 3], s_k)


def test_the_correlation_function_of_each_replica():
    """G(r) of the kernel against a direct numpy computation; G(0) = 1 and G(1) = bond sum / 2N exactly."""
    sampler = make_sampler("metropolis", IsingModel(10, 0.4), 3, seed=4)
    sampler.sweep(20)
    spins = sampler.spins.astype(np.int64)
    g = sampler.correlation()
    assert g.shape == (3, 6)
    for r in range(6):
        direct = (spins * (np.roll(spins, -r, axis=2) + np.roll(spins, -r, axis=1))).sum(axis=(1, 2)) / 200
        assert np.allclose(g[:, r], direct)
    assert np.allclose(g[:, 0], 1.0)
    assert np.allclose(g[:, 1], sampler.sums()[:, 0] / 200)
    series = sample_series(IsingModel(10, 0.4), "metropolis", 2, sweeps=40, thermalization=0, seed=1,
                           correlation_every=5)
    assert series.correlation.shape == (8, 2, 6)
