"""Conformance of every unit kind to the Layer interface (one suite, parametrised over the kinds)."""

import numpy as np
import pytest
from conftest import make_layer
from scipy.special import logsumexp

from rbm_explorer._kernels import seed_chain_states
from rbm_explorer.layers import LAYER_KINDS, Label, layer_class

KINDS = ["binary", "spin", "potts", "gaussian", "label"]


def build(kind, rng):
    if kind == "label":
        return Label(rng.standard_normal(4))
    return make_layer(kind, 3, rng)


def inputs_for(layer, rng, batch=5):
    return rng.standard_normal((batch, layer.n_features))


@pytest.mark.parametrize("kind", KINDS)
def test_registry_knows_every_kind(kind):
    assert kind in LAYER_KINDS
    assert layer_class(kind).kind == kind


def test_unknown_kind_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown unit kind 'ising'.*binary.*spin"):
        layer_class("ising")


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "gaussian"])
def test_cgf_equals_log_sum_over_states(kind):
    rng = np.random.default_rng(1)
    layer = build(kind, rng)
    inputs = inputs_for(layer, rng)
    states = layer.all_states()
    feats = layer.features(states)
    # log sum_x exp(-E(x) + I . f(x)), brute force over all states of the layer
    brute = logsumexp(-layer.energy(states)[None, :] + inputs @ feats.T, axis=1)
    np.testing.assert_allclose(layer.cgf(inputs), brute, rtol=0, atol=1e-12)


def test_gaussian_cgf_equals_numerical_integral():
    rng = np.random.default_rng(2)
    layer = make_layer("gaussian", 1, rng)
    x = np.linspace(-30, 30, 200001)
    for value in (-1.3, 0.0, 2.1):
        integrand = np.exp(-layer.energy(x[:, None]) + value * x)
        numeric = np.log(np.trapezoid(integrand, x))
        assert layer.cgf(np.array([[value]]))[0] == pytest.approx(numeric, abs=1e-9)


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_of_cgf_is_the_mean(kind):
    rng = np.random.default_rng(3)
    layer = build(kind, rng)
    inputs = inputs_for(layer, rng, batch=2)
    eps = 1e-6
    grad = np.empty_like(inputs)
    for j in range(inputs.shape[1]):
        step = np.zeros_like(inputs)
        step[:, j] = eps
        grad[:, j] = (layer.cgf(inputs + step) - layer.cgf(inputs - step)) / (2 * eps)
    np.testing.assert_allclose(grad, layer.mean_from_inputs(inputs), atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beta", [1.0, 0.6])
def test_sample_moments_match_the_mean(kind, beta):
    """Sample means of 40,000 draws lie within 5 standard errors of mean_from_inputs."""
    rng = np.random.default_rng(4)
    layer = build(kind, rng)
    n = 40_000
    inputs = np.repeat(inputs_for(layer, rng, batch=1), n, axis=0).astype(np.float32)
    out = np.empty_like(inputs)
    layer.sample_from_inputs(inputs, beta, seed_chain_states(n, rng), out)
    mean = layer.mean_from_inputs(inputs[:1].astype(np.float64), beta)[0]
    # per-feature variance of the draws: Bernoulli-like for discrete kinds, 1/beta for Gaussian
    var = np.full_like(mean, 1 / beta) if kind == "gaussian" else np.abs(mean * (1 - mean)) + 1e-3
    if kind == "spin":
        var = 1 - mean**2 + 1e-3
    z = (out.mean(axis=0) - mean) / np.sqrt(var / n)
    assert np.all(np.abs(z) < 5), z


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "gaussian"])
def test_natural_and_feature_forms_round_trip(kind):
    rng = np.random.default_rng(5)
    layer = build(kind, rng)
    states = layer.all_states()
    back = layer.natural_from_features(layer.features(states))
    np.testing.assert_array_equal(back.reshape(states.shape), states)


def test_bad_clamp_values_are_named():
    rng = np.random.default_rng(6)
    with pytest.raises(ValueError, match="spin units take the values -1 and 1, got \\[0.0\\]"):
        make_layer("spin", 2, rng).check_values([0.0])
    with pytest.raises(ValueError, match="potts units take integer values 0..2"):
        make_layer("potts", 2, rng).check_values([3])
