"""Procedural faces: determinism, attribute statistics, independence of the nuisances, where each attribute
puts its ink, and the registry loader with good and bad options."""

import numpy as np
import pytest

from rbm_explorer._kernels import faces as k
from rbm_explorer.datasets import DatasetError, load_dataset
from rbm_explorer.datasets.faces import ATTRIBUTES, generate_faces, render, sample_parameters

SIZES = (64, 48, 32)
# Per attribute, a region (rows v0 <= v < v1, columns |u| < u1, in fractions of the image side from its
# centre, v down) where the attribute adds ink on average, and one it never touches.
EFFECT_REGION = {"smiling": (0.25, 0.32, 0.06),  # the low middle of an upturned mouth
                 "eyeglasses": (-0.06, 0.06, 0.04),  # the bridge between the eyes
                 "bangs": (-0.25, -0.12, 0.12),  # the forehead
                 "beard": (0.31, 0.38, 0.08),  # the chin
                 "hat": (-0.19, -0.125, 0.3)}  # the brim
UNTOUCHED_REGION = {"smiling": (-0.5, 0.0, 0.5), "eyeglasses": (0.25, 0.5, 0.5), "bangs": (0.1, 0.5, 0.5),
                    "beard": (-0.5, -0.05, 0.5), "hat": (0.05, 0.5, 0.5)}
# Rows an attribute may change when switched on for the same person (worst case over shift and rotation).
CHANGED_ROWS = {"smiling": (0.05, 0.45), "eyeglasses": (-0.22, 0.25), "bangs": (-0.45, 0.05),
                "beard": (0.0, 0.5), "hat": (-0.5, 0.0)}


def region(size, v0, v1, u1):
    centres = (np.arange(size) + 0.5) / size - 0.5
    v, u = np.meshgrid(centres, centres, indexing="ij")
    return (v >= v0) & (v < v1) & (np.abs(u) < u1)


def difference_and_error(values, mask):
    """Difference of means between the two classes and its standard error (Welch)."""
    a, b = values[mask], values[~mask]
    return a.mean() - b.mean(), np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))


@pytest.fixture(scope="module", params=SIZES)
def many_faces(request):
    size = request.param
    images, attributes = generate_faces(3000, size=size, seed=7)
    return size, images, attributes


@pytest.mark.parametrize("size", SIZES)
def test_shapes_dtypes_and_determinism(size):
    images, attributes = generate_faces(40, size=size, seed=3)
    assert images.shape == (40, size, size) and images.dtype == np.uint8
    assert set(np.unique(images)) == {0, 1}
    assert set(attributes) == set(ATTRIBUTES) and len(ATTRIBUTES) >= 4
    assert all(a.shape == (40,) and a.dtype == np.uint8 for a in attributes.values())
    again, attributes_again = generate_faces(40, size=size, seed=3)
    np.testing.assert_array_equal(images, again)
    for name in ATTRIBUTES:
        np.testing.assert_array_equal(attributes[name], attributes_again[name])
    other, _ = generate_faces(40, size=size, seed=4)
    assert (other != images).any(axis=(1, 2)).all()
    ink = images.mean(axis=(1, 2))
    assert 0.05 < ink.min() and ink.max() < 0.6  # drawings, neither blank nor solid


def test_no_two_faces_are_identical():
    images, _ = generate_faces(200, seed=0)
    assert len(np.unique(images.reshape(200, -1), axis=0)) == 200


@pytest.mark.parametrize("p", [0.5, 0.2])
def test_attribute_frequencies_within_five_standard_errors(p):
    n = 4000
    _, attributes = generate_faces(n, size=32, seed=11, attribute_probability=p)
    for name, values in attributes.items():
        assert abs(values.mean() - p) < 5 * np.sqrt(p * (1 - p) / n), name


def test_attributes_are_not_correlated_with_each_other(many_faces):
    _, _, attributes = many_faces
    n = len(attributes["smiling"])
    names = list(ATTRIBUTES)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            r = np.corrcoef(attributes[first], attributes[second])[0, 1]
            assert abs(r) < 5 / np.sqrt(n), (first, second)


def test_probability_zero_and_one():
    _, none = generate_faces(50, size=32, attribute_probability=0.0)
    _, every = generate_faces(50, size=32, attribute_probability=1.0)
    assert all(v.sum() == 0 for v in none.values()) and all(v.all() for v in every.values())


def test_nuisance_parameters_do_not_depend_on_the_attributes():
    """The structural guarantee: from the same nuisance stream, every column but the attribute switches and
    the mouth curve (the smile itself) is the same whatever the attributes are."""
    n = 500
    zeros = {name: np.zeros(n, np.uint8) for name in ATTRIBUTES}
    mixed = {name: np.random.default_rng(i).integers(0, 2, n).astype(np.uint8) for i, name in enumerate(ATTRIBUTES)}
    a = sample_parameters(n, 64, np.random.default_rng(9), zeros)
    b = sample_parameters(n, 64, np.random.default_rng(9), mixed)
    attribute_columns = [k.GLASSES, k.BANGS, k.BEARD, k.HAT, k.MOUTH_RISE]
    nuisance = np.setdiff1d(np.arange(k.N_PARAMS), attribute_columns)
    np.testing.assert_array_equal(a[:, nuisance], b[:, nuisance])
    for column, name in [(k.GLASSES, "eyeglasses"), (k.BANGS, "bangs"), (k.BEARD, "beard"), (k.HAT, "hat")]:
        np.testing.assert_array_equal(b[:, column], mixed[name])
    smiles = mixed["smiling"] == 1
    assert (b[smiles, k.MOUTH_RISE] > 0.04).all() and (np.abs(b[~smiles, k.MOUTH_RISE]) < 0.01).all()


def test_pixels_an_attribute_does_not_touch_do_not_differ_between_its_classes(many_faces):
    """Ink in a region an attribute never draws in (e.g. the upper half for smiling) reflects only nuisances
    and the other attributes, so its class means must agree within noise."""
    size, images, attributes = many_faces
    for name in ATTRIBUTES:
        ink = images[:, region(size, *UNTOUCHED_REGION[name])].mean(axis=1)
        difference, error = difference_and_error(ink, attributes[name] == 1)
        assert abs(difference) < 5 * error, (name, difference, error)


def test_each_attribute_adds_ink_where_expected(many_faces):
    size, images, attributes = many_faces
    for name in ATTRIBUTES:
        ink = images[:, region(size, *EFFECT_REGION[name])].mean(axis=1)
        difference, error = difference_and_error(ink, attributes[name] == 1)
        assert difference > 0.08 and difference > 8 * error, (name, difference, error)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", ATTRIBUTES)
def test_switching_one_attribute_changes_only_its_region(size, name):
    """The same people drawn with and without one attribute differ in every face, and only in that
    attribute's rows; glasses, bangs and beards only add ink."""
    n = 300
    drawn = []
    for value in (0, 1):
        attributes = {a: np.zeros(n, np.uint8) for a in ATTRIBUTES}
        attributes[name][:] = value
        drawn.append(render(sample_parameters(n, size, np.random.default_rng(5), attributes), size))
    changed = drawn[0] != drawn[1]
    assert changed.any(axis=(1, 2)).all()
    rows = (np.flatnonzero(changed.any(axis=(0, 2))) + 0.5) / size - 0.5
    low, high = CHANGED_ROWS[name]
    assert low <= rows.min() and rows.max() <= high
    if name in ("eyeglasses", "bangs", "beard"):
        assert (drawn[1] >= drawn[0]).all()


def test_smile_curves_up_and_neutral_mouth_is_flat():
    """Without pose and pen wobble, the centre line of a smiling mouth sits lower in the middle than near its
    corners by a few pixels; a neutral mouth is flat to within a pixel."""
    n = 300
    for value in (0, 1):
        attributes = {a: np.zeros(n, np.uint8) for a in ATTRIBUTES}
        attributes["smiling"][:] = value
        params = sample_parameters(n, 64, np.random.default_rng(2), attributes)
        params[:, [k.ROTATION, k.SHIFT_X, k.SHIFT_Y, k.WARP_AMP]] = 0.0
        drops = []
        for image, p in zip(render(params, 64), params):
            # rows around the mouth, where nothing else is drawn without a beard (nose above, chin below)
            band = image[int((0.45 + p[k.MOUTH_Y]) * 64):int((0.55 + p[k.MOUTH_Y]) * 64)].astype(float)
            rows = np.arange(len(band))

            def centre_row(columns):
                ink = band[:, columns].sum(axis=1)
                return (rows * ink).sum() / ink.sum()

            drops.append(centre_row([31, 32]) - centre_row([int((0.5 + 0.9 * p[k.MOUTH_HW]) * 64)]))
        drops = np.array(drops)
        if value:
            assert (drops >= 1.5).mean() > 0.95 and np.median(drops) >= 2
        else:
            assert (np.abs(drops) <= 1).all()


def test_generate_rejects_bad_arguments():
    with pytest.raises(DatasetError, match="64, 48, 32"):
        generate_faces(5, size=40)
    with pytest.raises(DatasetError, match="attribute_probability"):
        generate_faces(5, attribute_probability=1.5)


def test_registry_loads_with_options():
    data = load_dataset("faces", attribute="eyeglasses", size=32, n_samples=400, seed=2, encoding="spin",
                        n_test=100)
    assert data.data.shape == (400, 32 * 32) and data.data.dtype == np.int8
    assert set(np.unique(data.data)) == {-1, 1}
    assert data.label_names == ("no eyeglasses", "eyeglasses")
    images, attributes = generate_faces(400, size=32, seed=2)
    np.testing.assert_array_equal(data.data, 2 * images.reshape(400, -1).astype(np.int8) - 1)
    np.testing.assert_array_equal(data.labels, attributes["eyeglasses"])
    assert set(data.attributes) == set(ATTRIBUTES)
    assert len(data.test) == 100 and len(data.train) == 300
    assert len(np.union1d(data.train, data.test)) == 400
    test_fraction = data.labels[data.test].mean()
    assert abs(test_fraction - data.labels.mean()) <= 0.01  # stratified
    assert data.display.kind == "image" and data.display.shape == (32, 32)
    assert data.info["options"]["attribute"] == "eyeglasses" and data.info["generator"]
    again = load_dataset("faces", attribute="eyeglasses", size=32, n_samples=400, seed=2, encoding="spin",
                         n_test=100)
    np.testing.assert_array_equal(again.test, data.test)


def test_registry_defaults():
    data = load_dataset("faces", n_samples=300, n_test=60)
    assert data.data.shape == (300, 64 * 64) and data.data.dtype == np.uint8
    assert data.label_names == ("not smiling", "smiling") and data.encoding == "binary"


@pytest.mark.parametrize("options,message", [
    (dict(attribute="moustache"), "smiling, eyeglasses, bangs, beard, hat"),
    (dict(size=40), "64, 48, 32"),
    (dict(encoding="potts"), "'binary' or 'spin'"),
    (dict(n_samples=100, n_test=100), "n_test"),
    (dict(colour="red"), "no option colour"),
])
def test_registry_rejects_bad_options(options, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset("faces", **options)
