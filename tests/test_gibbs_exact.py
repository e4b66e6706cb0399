"""The Gibbs engine samples the exact distribution of tiny models, for every unit-kind combination.

Chains start from exact draws of P(v) (or P(v | clamped units)), run k sweeps, and the histogram of their
final visible states is compared with the exact distribution by total-variation distance. The chains are
independent, so under a correct sampler that histogram is a multinomial draw from the exact distribution.
The acceptance band is the null distribution of the TV distance of such multinomial draws, simulated with
the same number of samples: mean + 5 standard deviations (a false alarm well below 1e-4 per test).
"""

import numpy as np
import pytest
from conftest import HIDDEN_KINDS, VISIBLE_KINDS, tiny_rbm

from rbm_explorer.analysis.exact import log_partition_exact, log_prob_visible_exact, state_index
from rbm_explorer.rbm import RBM
from rbm_explorer.sampling import GibbsEngine

N_CHAINS = 40_000
SWEEPS = 4


def tv_band(p: np.ndarray, n: int, rng: np.random.Generator, reps: int = 400) -> float:
    """Mean + 5 sd of the TV distance between the empirical histogram of n exact draws and p."""
    counts = rng.multinomial(n, p, size=reps)
    tv = 0.5 * np.abs(counts / n - p).sum(axis=1)
    return tv.mean() + 5 * tv.std()


def empirical_tv(rbm, engine, p):
    counts = np.bincount(state_index(rbm, engine.visible_states()), minlength=p.size)
    return 0.5 * np.abs(counts / engine.n_chains - p).sum()


def run_from_exact(rbm, clamp=None, label=None, seed=0, beta=1.0, sampler_beta=None, sweeps=SWEEPS):
    rng = np.random.default_rng(seed)
    states, log_p = log_prob_visible_exact(rbm, clamp, label=label)
    p = np.exp(log_p)
    start = states[rng.choice(len(states), size=N_CHAINS, p=p)]
    init_label = None
    if rbm.label is not None and label is None:
        # draw labels from P(l | v) so the chains start in the joint stationary distribution
        logits = np.stack([-rbm.free_energy_v(start, np.full(N_CHAINS, lab)) for lab in range(rbm.label.n_classes)], 1)
        probs = np.exp(logits - logits.max(1, keepdims=True))
        probs /= probs.sum(1, keepdims=True)
        init_label = (probs.cumsum(1) > rng.random((N_CHAINS, 1))).argmax(1)
    engine = GibbsEngine(rbm, N_CHAINS, seed=seed + 1, init_v=start, beta=sampler_beta or beta,
                         init_label=label if label is not None else init_label)
    if label is not None:
        engine.clamp("label", [0], [label])
    for unit, value in (clamp or {}).items():
        engine.clamp("h", [unit], [value])
    engine.reinitialize(start, label if label is not None else init_label)
    engine.step(sweeps)
    return engine, p, rng


@pytest.mark.parametrize("clamped", [False, True], ids=["free", "clamped"])
@pytest.mark.parametrize("hidden", HIDDEN_KINDS)
@pytest.mark.parametrize("visible", VISIBLE_KINDS)
def test_chains_stay_at_the_exact_distribution(visible, hidden, clamped):
    rbm = tiny_rbm(visible, hidden, seed=11)
    clamp = {1: rbm.hidden.high} if clamped else None
    engine, p, rng = run_from_exact(rbm, clamp)
    tv, band = empirical_tv(rbm, engine, p), tv_band(p, N_CHAINS, rng)
    assert tv < band, f"TV {tv:.4f} outside the sampling-noise band {band:.4f}"


@pytest.mark.parametrize("clamp_label", [None, 2])
def test_label_unit_chains_stay_at_the_exact_distribution(clamp_label):
    rbm = tiny_rbm("binary", "spin", seed=12, label_classes=3)
    engine, p, rng = run_from_exact(rbm, label=clamp_label)
    tv, band = empirical_tv(rbm, engine, p), tv_band(p, N_CHAINS, rng)
    assert tv < band, f"TV {tv:.4f} outside the sampling-noise band {band:.4f}"


def test_clamped_visible_units_hold_and_the_rest_is_conditional():
    rbm = tiny_rbm("spin", "binary", seed=13)
    engine = GibbsEngine(rbm, 20_000, seed=3)
    engine.clamp("v", [0, 2], [1.0, -1.0])
    engine.step(30)
    v = engine.visible_states()
    assert np.all(v[:, 0] == 1) and np.all(v[:, 2] == -1)
    states, log_p = log_prob_visible_exact(rbm)
    keep = (states[:, 0] == 1) & (states[:, 2] == -1)
    p = np.where(keep, np.exp(log_p), 0)
    p /= p.sum()
    counts = np.bincount(state_index(rbm, v), minlength=p.size)
    tv = 0.5 * np.abs(counts / len(v) - p).sum()
    assert tv < tv_band(p, len(v), np.random.default_rng(0))


def scaled(rbm, beta):
    """The RBM whose energy is beta times ``rbm``'s: P_beta(v, h) of the original model."""
    layer = lambda l: l.with_fields(beta * l.fields)  # noqa: E731
    label = None if rbm.label is None else layer(rbm.label)
    weights = None if rbm.label is None else beta * rbm.label_weights
    return RBM(layer(rbm.visible), layer(rbm.hidden), beta * rbm.weights, label, weights)


@pytest.mark.parametrize("visible", VISIBLE_KINDS)
@pytest.mark.parametrize("beta", [0.5, 1.7])
def test_sampling_at_inverse_temperature_beta(visible, beta):
    """Chains run at beta reach the exact distribution of the beta-scaled model."""
    rbm = tiny_rbm(visible, "spin", seed=14)
    hot = scaled(rbm, beta)
    rng = np.random.default_rng(1)
    states, log_p = log_prob_visible_exact(hot)
    p = np.exp(log_p)
    engine = GibbsEngine(rbm, N_CHAINS, seed=2, beta=beta, init_v=states[rng.choice(len(p), N_CHAINS, p=p)])
    engine.step(SWEEPS)
    assert empirical_tv(rbm, engine, p) < tv_band(p, N_CHAINS, rng)


@pytest.mark.parametrize("visible", VISIBLE_KINDS)
def test_chains_from_one_state_reach_the_exact_distribution(visible):
    """Stationarity alone would pass a sampler that never moves: here every chain starts in the same state
    and must spread to the exact distribution."""
    rbm = tiny_rbm(visible, "binary", seed=15)
    states, log_p = log_prob_visible_exact(rbm)
    p = np.exp(log_p)
    engine = GibbsEngine(rbm, N_CHAINS, seed=4, init_v=states[:1])
    engine.step(60)
    assert empirical_tv(rbm, engine, p) < tv_band(p, N_CHAINS, np.random.default_rng(5))


def test_the_tv_test_detects_a_wrong_sampler():
    """The same test fails for a sampler at the wrong temperature (beta = 1.3): the band has power."""
    rbm = tiny_rbm("binary", "binary", seed=11)
    engine, p, rng = run_from_exact(rbm, sampler_beta=1.3, sweeps=20)
    assert empirical_tv(rbm, engine, p) > tv_band(p, N_CHAINS, rng)


@pytest.mark.parametrize("visible", VISIBLE_KINDS)
@pytest.mark.parametrize("hidden", HIDDEN_KINDS)
@pytest.mark.parametrize("label", [0, 3])
def test_log_partition_by_either_layer_agrees(visible, hidden, label):
    rbm = tiny_rbm(visible, hidden, seed=21, label_classes=label, weight_scale=1.5)
    by_v, by_h = log_partition_exact(rbm, "visible"), log_partition_exact(rbm, "hidden")
    assert abs(by_v - by_h) < 1e-10


def test_log_partition_matches_brute_force_joint_sum():
    rbm = tiny_rbm("spin", "binary", seed=22)
    vs, hs = rbm.visible.all_states(), rbm.hidden.all_states()
    energies = np.array([rbm.energy(np.repeat(v[None], len(hs), 0), hs) for v in vs])
    brute = np.log(np.exp(-energies).sum())
    assert log_partition_exact(rbm) == pytest.approx(brute, abs=1e-12)


def test_same_seed_gives_the_same_chains_and_other_seeds_differ():
    rbm = tiny_rbm("potts", "spin", seed=5)
    runs = []
    for seed in (7, 7, 8):
        engine = GibbsEngine(rbm, 64, seed=seed)
        engine.clamp("h", [0], [1.0])
        engine.step(25)
        runs.append((engine.visible_states(), engine.hidden_states()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])


def test_results_do_not_depend_on_the_number_of_blas_threads():
    from threadpoolctl import threadpool_limits

    rbm = tiny_rbm("binary", "binary", seed=6, n_visible=784, n_hidden=500, weight_scale=0.05)
    outputs = []
    for threads in (1, 2):  # products of 512 x 784 x 500 run on both BLAS threads when allowed
        with threadpool_limits(limits=threads, user_api="blas"):
            engine = GibbsEngine(rbm, 512, seed=9)
            engine.step(20)
            outputs.append(engine.visible_states())
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_a_chain_does_not_depend_on_how_many_chains_run_beside_it():
    """Streams belong to chains: chain k of a 10-chain run equals chain k of a 3-chain run with the same
    per-chain counters."""
    rbm = tiny_rbm("spin", "spin", seed=7)
    big = GibbsEngine(rbm, 10, seed=1)
    small = GibbsEngine(rbm, 3, seed=2)
    small.state.v[:] = big.state.v[:3]
    small.state.h[:] = big.state.h[:3]
    small.state.counters[:] = big.state.counters[:3]
    big.step(15)
    small.step(15)
    np.testing.assert_array_equal(big.visible_states()[:3], small.visible_states())


def test_gaussian_hidden_units_sample_their_conditional():
    """Binary visibles with Gaussian hidden units: P(v) proportional to exp(g.v + sum (theta + I)^2 / 2) is
    exact by enumeration of v."""
    rbm = tiny_rbm("binary", "gaussian", seed=8, weight_scale=0.4)
    engine, p, rng = run_from_exact(rbm)
    assert empirical_tv(rbm, engine, p) < tv_band(p, N_CHAINS, rng)
