"""The bundled trained models do what the PRX paper's models do (Fernandez-de-Cossio-Diaz, Cocco and
Monasson (2023), Sec. VI, Fig. 8).

Samples are judged by the class judge (``rbm_explorer.analysis.judge``: class densities fitted on real
binarized images, independent of any RBM), and a sample it calls *unclear* counts as a miss. Chains are
seeded, so each test is deterministic; the thresholds are the issue's.
"""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from rbm_explorer.datasets import load_dataset
from rbm_explorer.io import load_model
from rbm_explorer.resources import assets_dir
from rbm_explorer.sampling import GibbsEngine
from rbm_explorer.training.constraints import ConstraintSet, linear_vector

MODELS = assets_dir() / "models"
EXPECTED = [
    "mnist01_none", "mnist01_linear_all", "mnist01_quadratic_all", "mnist01_linear_released1",
    "mnist0123_linear_released3", "faces_smiling_linear_released1", "faces_eyeglasses_linear_released1",
    "faces_smiling_linear_all",
]


def model(name):
    return load_model(MODELS / f"{name}.npz")


def judge_of(m):
    from rbm_explorer.analysis.judge import class_judge

    return class_judge(m.metadata["dataset"])


@pytest.mark.parametrize("name", EXPECTED)
def test_every_bundled_model_loads_with_its_metadata(name):
    meta = model(name).metadata
    for key in ("released_units", "released_classes", "constraint", "dataset", "binarize_threshold", "metrics"):
        assert key in meta, key
    assert meta["provenance"]["command"] == f"rbm-explorer train --preset {name}"
    assert meta["constraint"]["kind"] == next(k for k in ("none", "linear", "quadratic") if f"_{k}_" in f"_{name}_")


@pytest.mark.parametrize("name", [n for n in EXPECTED if "linear" in n])
def test_linear_constraints_hold(name):
    m = model(name)
    constraints = ConstraintSet.from_metadata(m.metadata["constraint"]["spec"], m.extra_arrays)
    assert constraints.violation(m.rbm.weight_matrix.astype(np.float64)) < 1e-5


def test_the_released_unit_carries_the_label():
    m = model("mnist01_linear_released1")
    data = load_dataset("mnist", digits="0,1")
    (x_train, y_train), (x_test, y_test) = data.part("train"), data.part("test")
    w = m.rbm.weight_matrix
    q = linear_vector(x_train.astype(np.float64), (y_train == 1).astype(np.float64))
    assert abs(q @ w[:, 0]) / np.linalg.norm(q) / np.linalg.norm(w[:, 0]) >= 0.8
    inputs = x_test.astype(np.float64) @ w
    auc = roc_auc_score(y_test, inputs[:, 0])
    assert max(auc, 1 - auc) >= 0.99
    rho = [np.corrcoef(y_test, inputs[:, mu])[0, 1] for mu in range(1, w.shape[1])]
    assert np.max(np.abs(rho)) < 4 / np.sqrt(len(y_test))
    train_inputs = x_train.astype(np.float64) @ w[:, 1:]
    rho_train = [np.corrcoef(y_train, c)[0, 1] for c in train_inputs.T]
    assert np.max(np.abs(rho_train)) < 1e-4  # zero up to the float32 rounding of the stored weights


def released_value(meta, k, target_class):
    """Value of released unit k that generates ``target_class`` (its high state generates released_classes[k])."""
    return 1.0 if meta["released_classes"][k] == target_class else 0.0


ONES_UNCLEAR = ("the judge calls most of this model's 1s unclear: a 1 inside a speckled ring of 0 ink, which the "
                "classifier alone calls a 1 (100 %) but no real 1 looks like; measured on these 64 chains (the model retrained "
                "with its spectral history, 2026-12-02), {}")


@pytest.mark.slow
@pytest.mark.parametrize("start,end", [
    pytest.param(0, 1, marks=pytest.mark.xfail(strict=True, reason=ONES_UNCLEAR.format(
        "0s 86 % (14 % unclear), then 1s 14 % (86 % unclear) < 90 %"))),
    pytest.param(1, 0, marks=pytest.mark.xfail(strict=True, reason=ONES_UNCLEAR.format(
        "1s 16 % (84 % unclear) < 90 %, then 0s 84 % (16 % unclear) < 90 %"))),
])
def test_flipping_the_released_unit_morphs_one_digit_into_the_other(start, end):
    m = model("mnist01_linear_released1")
    judge = judge_of(m)
    x_test, y_test = load_dataset("mnist", digits="0,1").part("test")
    starts = x_test[y_test == start][:64]
    engine = GibbsEngine(m.rbm, 64, seed=7, init_v=starts)
    engine.clamp("h", [0], [released_value(m.metadata, 0, start)])
    engine.step(500)
    assert np.mean(judge.outcomes(engine.visible_states()) == start) >= 0.9
    engine.clamp("h", [0], [released_value(m.metadata, 0, end)])
    engine.step(200)
    assert np.mean(judge.outcomes(engine.visible_states()) == end) >= 0.9


@pytest.mark.slow
def test_the_unconstrained_model_generates_recognisable_digits():
    m = model("mnist01_none")
    engine = GibbsEngine(m.rbm, 64, seed=9)
    engine.step(1000)
    named = np.mean(judge_of(m).outcomes(engine.visible_states()) != -1)  # a class, not unclear
    assert named >= 0.8, named


WALK = (1, 2, 3, 0)  # Fig. 9(e)


@pytest.fixture(scope="module")
def multiclass_walk():
    from rbm_explorer.analysis.judge import class_judge
    from rbm_explorer.analysis.morph import class_walk

    m = model("mnist0123_linear_released3")
    meta = m.metadata
    judge = class_judge(meta["dataset"])
    return class_walk(m.rbm, judge, meta["released_units"], meta["released_classes"], WALK, steps=500,
                      n_chains=WALK_CHAINS, seed=8)


WALK_CHAINS = 256  # the share of a phase has sd <= 0.025 at this size (binomial, p >= 0.8)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="with unclear counted as a miss (issue 12, item 4) the walk ends its phases "
                   "at 1: 0.99, 2: 0.95, 3: 0.79, 0: 0.67 (measured on the model retrained with its spectral "
                   "history, 256 chains, seed 8): 3 and 0 are below 0.80")
def test_the_multiclass_walk_generates_every_class(multiclass_walk):
    """Fig. 9(e): 1 -> 2 -> 3 -> 0, switching the released units every 500 sweeps (unit d on and the others
    off for class d, all off for 0). Each phase ends with at least 80 % of the chains showing its class, as the
    independent judge sees them. The bundled model's stationary shares are about 0.97 / 1.0 / 0.98 / 0.88 for
    classes 0-3 (assets/README.md). Class 3 is the closest to the bar: its stationary share is 3 sd above it
    at 256 chains (binomial sd 0.025), and this walk ends its class-3 phase at 0.86."""
    assert min(multiclass_walk) >= 0.80, dict(zip(WALK, multiclass_walk))


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="with unclear counted as a miss (issue 12, item 4) the phases score "
                   "0.52 / 0.60 / 0.56 (measured, 256 chains, seed 1), below 0.70; 0.36 / 0.33 / 0.17 of the chains "
                   "are unclear, and the classifier alone names 0.84 / 0.91 / 0.72 right")
def test_the_smiling_released_unit_switches_the_faces_smile():
    """Fig. 6 on procedural faces: the released unit clamped to the state of each class in turn (not smiling,
    smiling, not smiling; 500 sweeps each, 256 chains). The judge names 97 % of held-out faces right (1.5 %
    unclear), so a perfect model would score about 0.97 per phase; 0.70 is the bar set when the judge was a
    logistic regression (88 % right, on which the model scored 0.81-0.85). The earlier
    model, trained at a fifth of the learning rate, reached only 0.50 for the smiling phase."""
    from rbm_explorer.analysis.judge import class_judge
    from rbm_explorer.analysis.morph import class_walk

    m = model("faces_smiling_linear_released1")
    meta = m.metadata
    shares = class_walk(m.rbm, class_judge(meta["dataset"]), meta["released_units"], meta["released_classes"],
                        (0, 1, 0), steps=500, n_chains=256, seed=1)
    assert min(shares) >= 0.70, shares


ISING = [f"ising16_beta{beta:.2f}_{variant}" for beta, variant in
         [(0.44, "none"), (0.44, "linear_all"), (0.44, "quadratic_all"), (0.44, "linear_released1"),
          (0.35, "linear_released1"), (0.40, "linear_released1"), (0.46, "linear_released1"),
          (0.50, "linear_released1")]]


@pytest.mark.parametrize("name", ISING)
def test_the_bundled_ising_models_are_the_fig7_recipes(name):
    """Each was trained by its preset's recipe (the one ``rbm-explorer report fig7`` trains), so a report folder
    holding it reuses it; its metadata says what it is; its constraints hold."""
    from rbm_explorer.reports.fig7 import recipe_matches
    from rbm_explorer.training.presets import PRESETS

    m = model(name)
    assert recipe_matches(m, PRESETS[name])
    meta = m.metadata
    assert meta["dataset"]["name"] == "ising" and meta["dataset"]["L"] == 16
    assert meta["provenance"]["command"].startswith("rbm-explorer report fig7")
    assert m.rbm.visible.kind == m.rbm.hidden.kind == "spin"
    assert np.all(m.rbm.visible.fields == 0) and np.all(m.rbm.hidden.fields == 0)
    if meta["constraint"]["kind"] != "none":
        constraints = ConstraintSet.from_metadata(meta["constraint"]["spec"], m.extra_arrays)
        assert constraints.violation(m.rbm.weight_matrix.astype(np.float64)) < 1e-5
    if "quadratic" in name:  # Q(2) stored as factors, not as a dense 256 x 256 matrix
        assert not any(k.endswith("_matrix") for k in m.extra_arrays)
        assert any(k.endswith("_factors") for k in m.extra_arrays)


@pytest.mark.parametrize("name", [n for n in ISING if "released" in n and "0.35" not in n and "0.40" not in n])
def test_the_released_ising_unit_has_uniform_weights_that_set_the_sign_of_m(name):
    """Fig. 7(i): below T_c the released unit's weights are nearly uniform (w* > 0 after orientation), and
    clamping it on or off sets the sign of the samples' magnetization."""
    m = model(name)
    up = 1 if m.metadata["released_classes"] == [1] else -1  # the state of h* that generates m > 0
    w = up * m.rbm.weight_matrix[:, 0]
    assert w.mean() > 0 and w.std() < 0.5 * w.mean()
    for state, sign in ((1.0 * up, 1), (-1.0 * up, -1)):
        engine = GibbsEngine(m.rbm, 64, seed=3)
        engine.clamp("h", [0], [state])
        engine.step(300)
        magnetization = engine.visible_states().mean(axis=1)
        assert np.mean(np.sign(magnetization) == sign) > 0.9, (state, magnetization)
