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


def central_difference(f, inputs, j, eps=1e-6):
    """(f(inputs + eps e_j) - f(inputs - eps e_j)) / (2 eps): the derivative of f along input column j."""
    step = np.zeros_like(inputs)
    step[:, j] = eps
    return (f(inputs + step) - f(inputs - step)) / (2 * eps)


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
    grad = np.stack([central_difference(layer.cgf, inputs, j) for j in range(inputs.shape[1])], axis=1)
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


# --- the interface callers use instead of the kind name -------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_variance_is_the_derivative_of_the_mean(kind):
    """var_from_inputs equals d mean_j / d input_j at beta = 1 (the diagonal of the cgf's Hessian)."""
    rng = np.random.default_rng(7)
    layer = build(kind, rng)
    inputs = inputs_for(layer, rng, batch=3)
    numeric = np.stack([central_difference(layer.mean_from_inputs, inputs, j)[:, j] for j in range(inputs.shape[1])],
                       axis=1)
    np.testing.assert_allclose(layer.var_from_inputs(inputs), numeric, atol=1e-7)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("beta", [1.0, 0.6])
def test_sample_variance_matches_var_from_inputs(kind, beta):
    """The variance of 40,000 draws lies within 6 standard errors of var_from_inputs. The standard error of
    a sample variance is sqrt((mu4 - var^2) / n); mu4 <= var for features in [-1, 1] and 3 var^2 for Gaussians."""
    rng = np.random.default_rng(8)
    layer = build(kind, rng)
    n = 40_000
    inputs = np.repeat(inputs_for(layer, rng, batch=1), n, axis=0).astype(np.float32)
    out = np.empty_like(inputs)
    layer.sample_from_inputs(inputs, beta, seed_chain_states(n, rng), out)
    var = layer.var_from_inputs(inputs[:1].astype(np.float64), beta)[0]
    mu4 = 3 * var**2 if kind == "gaussian" else var
    se = np.sqrt(np.maximum(mu4 - var**2, 1e-6) / n)
    assert np.all(np.abs(out.var(axis=0) - var) < 6 * se)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "gaussian"])
def test_state_index_numbers_all_states_in_order(kind):
    layer = build(kind, np.random.default_rng(9))
    states = layer.all_states()
    np.testing.assert_array_equal(layer.state_index(states.reshape(len(states), -1)), np.arange(len(states)))


def test_roles_come_from_the_registry():
    from rbm_explorer.layers import layer_for_role, layer_kinds

    assert layer_kinds("visible") == ("binary", "gaussian", "potts", "spin")
    assert layer_kinds("hidden") == ("binary", "gaussian", "spin")
    assert layer_kinds("label") == ("label",)
    with pytest.raises(ValueError, match="potts units cannot be the hidden layer; hidden kinds: binary, gaussian"):
        layer_for_role("potts", "hidden")
    with pytest.raises(ValueError, match="unknown layer role"):
        layer_kinds("middle")


@pytest.mark.parametrize("kind", ["binary", "spin", "potts", "gaussian"])
def test_options_rebuild_the_layer(kind):
    """options() / check_options / field_shape_for / zeros describe a layer completely: a model file can store
    the options as metadata and rebuild the same layer."""
    layer = build(kind, np.random.default_rng(10))
    cls = type(layer)
    options = cls.check_options(layer.options())
    assert set(options) == set(cls.option_names)
    assert cls.field_shape_for(layer.n_units, **options) == layer.field_shape
    assert cls.zeros(layer.n_units, **options).field_shape == layer.field_shape
    np.testing.assert_array_equal(cls(layer.fields, **options).fields, layer.fields)
    assert layer.describe().startswith(kind)


def test_bad_options_are_named():
    from rbm_explorer.layers import Binary, Potts

    with pytest.raises(ValueError, match="integer option 'q' >= 2, got 1"):
        Potts.check_options({"q": 1})
    with pytest.raises(ValueError, match="integer option 'q' >= 2, got None"):
        Potts.field_shape_for(3)
    with pytest.raises(ValueError, match=r"binary units take no option \['q'\]"):
        Binary.check_options({"q": 3})


@pytest.mark.parametrize("kind", ["binary", "spin", "gaussian"])
def test_mirror_keeps_the_non_field_energy(kind):
    """x -> mirror_sum - x maps states onto states and changes the energy only through the fields:
    E(mirror x) with fields g equals E(x) with fields -g, up to a constant independent of x."""
    rng = np.random.default_rng(11)
    layer = build(kind, rng)
    x = layer.all_states() if layer.discrete else rng.standard_normal((20, layer.n_units))
    mirrored = layer.mirror(x)
    if layer.discrete:
        assert set(np.unique(mirrored)) <= set(layer.levels)
    flipped = layer.with_fields(-layer.fields)
    difference = layer.energy(mirrored) - flipped.energy(x)
    np.testing.assert_allclose(difference, difference[0], atol=1e-12)


@pytest.mark.parametrize("kind", ["potts", "label"])
def test_kinds_without_a_mirror_say_so(kind):
    layer = build(kind, np.random.default_rng(12))
    assert layer.mirror_sum is None
    with pytest.raises(ValueError, match=f"{kind} units cannot be flipped"):
        layer.mirror(layer.all_states()[:2])


@pytest.mark.parametrize("kind", KINDS)
def test_value_range_brackets_the_levels(kind):
    layer = build(kind, np.random.default_rng(13))
    low, high = layer.value_range
    assert low < high
    if layer.levels is not None:
        assert (low, high) == (min(layer.levels), max(layer.levels))


def test_states_from_data_names_what_is_wrong():
    from rbm_explorer.layers import Binary, Potts, Spin

    with pytest.raises(ValueError, match="Negative values"):
        Binary.zeros(2).states_from_data(np.array([[-0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"values in \[0, 1\], got a maximum of 2"):
        Binary.zeros(2).states_from_data(np.array([[2.0, 1.0]]))
    assert Binary.zeros(2).is_soft(np.array([[0.5, 1.0]])) and not Binary.zeros(2).is_soft(np.array([[0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"-1 and \+1"):
        Spin.zeros(2).states_from_data(np.array([[0.0, 1.0]]))
    assert Potts.options_from_data(np.array([[0, 4]])) == {"q": 5}
    with pytest.raises(ValueError, match="non-integer"):
        Potts.zeros(2, q=3).states_from_data(np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match=r"must lie in 0..2 \(q = 3\), got 3"):
        Potts.zeros(2, q=3).states_from_data(np.array([[3.0, 1.0]]))
