"""The class judge has an *unclear* outcome (issue 12, item 4): noise, chains at beta = 0.2 and blends of two
digits are out of the distribution of real images, while real test images keep their class.

Real data, bundled models, seeded noise and chains: every figure here is deterministic. The figures measured
when the judge was written are in the comments; the bars are the issue's.
"""

import numpy as np
import pytest

from rbm_explorer.analysis.judge import UNCLEAR, UNCLEAR_INDEX, class_judge, dataset_for
from rbm_explorer.catalog import families
from rbm_explorer.io import load_model
from rbm_explorer.sampling import GibbsEngine


def bundled_entries():
    return [e for variants in families().values() for e in variants.values() if e.bundled]


def judged_entries():
    """Bundled models whose samples the fitted judge names (Ising spins have the sign-of-m judge instead,
    tested in test_morph_ising.py)."""
    return [e for e in bundled_entries()
            if (load_model(e.path).metadata.get("dataset") or {}).get("name") not in (None, "ising")]


def spec_of(entry):
    return load_model(entry.path).metadata["dataset"]


def distinct_specs():
    seen = {}
    for e in judged_entries():
        spec = spec_of(e)
        seen.setdefault(repr(sorted((k, str(v)) for k, v in spec.items())), spec)
    return list(seen.values())


SPECS = distinct_specs()
SPEC_IDS = [f"{s['name']}-{s.get('digits') or s.get('attribute')}" for s in SPECS]


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
@pytest.mark.parametrize("p", [0.05, 0.15, 0.5])
def test_bernoulli_noise_is_unclear(spec, p):
    """Measured: 1.00 unclear for p = 0.15 and 0.5 on every dataset; p = 0.05 is the hardest (MNIST 0/1 0.98,
    MNIST 0-3 0.97; faces 1.00)."""
    judge = class_judge(spec)
    n_visible = judge.densities[0].mean.size
    noise = (np.random.default_rng(12).random((1000, n_visible)) < p).astype(np.uint8)
    unclear = np.mean(judge.outcomes(noise) == UNCLEAR_INDEX)
    print(f"{SPEC_IDS[SPECS.index(spec)]} p={p}: unclear {unclear:.3f}")
    assert unclear >= 0.90, unclear


@pytest.mark.slow
@pytest.mark.parametrize("entry", judged_entries(), ids=lambda e: e.name)
def test_chains_at_beta_one_fifth_are_unclear(entry):
    """At beta = 0.2 the chains of every bundled model are noise (the Morph page's beta slider at its low end)."""
    model = load_model(entry.path)
    judge = class_judge(model.metadata["dataset"])
    engine = GibbsEngine(model.rbm, 256, seed=5, beta=0.2)
    engine.step(200)
    unclear = np.mean(judge.outcomes(engine.visible_states()) == UNCLEAR_INDEX)
    print(f"{entry.name} beta=0.2: unclear {unclear:.3f}")
    assert unclear >= 0.90, unclear


@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_the_folded_perceptron_is_the_classifier(spec):
    """``probabilities`` computes the fitted pipeline's own P(c | v) without scikit-learn's per-call checks:
    the same numbers to rounding (float64 sums in another order), for two and for four classes."""
    judge = class_judge(spec)
    x_test = dataset_for(spec).part("test")[0][:300]
    expected = judge.classifier.predict_proba(np.asarray(x_test, dtype=np.float64))
    np.testing.assert_allclose(judge.probabilities(x_test), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(judge.probabilities(x_test[0]), expected[:1], rtol=0, atol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)
def test_real_test_images_keep_their_class(spec):
    """Accuracy on the test split with an unclear call counted as a miss. The threshold is the 98 % quantile
    of held-out training images; measured, 1.5-3.3 % of test images are called unclear (MNIST 0/1 96.7 %
    right, 0-3 96.0 %)."""
    judge = class_judge(spec)
    x_test, y_test = dataset_for(spec).part("test")
    outcomes = judge.outcomes(x_test)
    accuracy = float(np.mean(outcomes == y_test))
    unclear = float(np.mean(outcomes == UNCLEAR_INDEX))
    print(f"{SPEC_IDS[SPECS.index(spec)]}: accuracy {accuracy:.4f}, unclear {unclear:.4f}")
    assert 0.0 < unclear <= 0.05, unclear
    if spec["name"] == "mnist":
        assert accuracy >= 0.95, accuracy


def mixtures():
    spec = {"name": "mnist", "digits": "0,1", "threshold": 0.5, "label_names": ["0", "1"]}
    x_test, y_test = dataset_for(spec).part("test")
    zeros, ones = x_test[y_test == 0][:150].astype(np.float64), x_test[y_test == 1][:150].astype(np.float64)
    return class_judge(spec), ((zeros + ones) / 2 >= 0.5).astype(np.uint8)


@pytest.mark.slow
def test_blends_of_a_zero_and_a_one_are_their_own_outcome():
    """A 0 and a 1 averaged pixel by pixel and thresholded at 1/2 (so their union) is neither digit: measured
    84 % unclear, the rest split between the two classes."""
    judge, blends = mixtures()
    shares = judge.shares(blends)
    print(f"0/1 blends: {shares}")
    assert shares[UNCLEAR] >= 0.75, shares
    assert max(shares["0"], shares["1"]) < shares[UNCLEAR]


@pytest.mark.slow
def test_the_api_names_every_outcome():
    judge, blends = mixtures()
    labels, unclear = judge.classify(blends)
    outcomes = judge.outcomes(blends)
    assert np.array_equal(outcomes, np.where(unclear, UNCLEAR_INDEX, labels))
    assert np.array_equal(labels, judge.classes(blends))
    p = judge.probabilities(blends)
    assert p.shape == (len(blends), 2) and np.allclose(p.sum(axis=1), 1.0)
    assert judge.outcome_names == ("0", "1", UNCLEAR) and judge.outcome_names[UNCLEAR_INDEX] == UNCLEAR
    assert sum(judge.shares(blends).values()) == pytest.approx(1.0)


@pytest.mark.slow
def test_samples_of_the_linear_all_variant_are_mostly_unclear():
    """The 'linear, all units' MNIST 0/1 variant constrains every hidden unit to be blind to the label, so its
    samples are blurred blends of 0 and 1 (the point of that variant): the judge must not call them 0s or 1s.
    Measured (256 chains, 1000 sweeps, seed 6): 67 % unclear, 33 % called 0, none called 1; the bar asks that
    unclear is the outcome of most samples."""
    model = load_model(next(e.path for e in bundled_entries() if e.name == "mnist01_linear_all"))
    judge = class_judge(model.metadata["dataset"])
    engine = GibbsEngine(model.rbm, 256, seed=6)
    engine.step(1000)
    shares = judge.shares(engine.visible_states())
    print(f"mnist01_linear_all samples: {shares}")
    assert shares[UNCLEAR] > 0.5, shares
