"""Train a model from a dataset name and a constraint recipe, with checkpoints, and save it with its metadata.

This is what ``rbm-explorer train`` and ``scripts/train_bundled_models.py`` call (``train_recipe``). Its two
halves are public so that other front ends (the app's Train page) train the very same models with their own
loop: ``prepare_recipe`` (data, features and constraints) and ``build_trainer`` before the training loop,
``save_trained`` (orientation of the released units, metadata, metrics) after it. The recipe says which hidden
units are constrained and how (Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Sec. III):

* ``constraint='none'``: an ordinary RBM;
* ``'linear'``: hard projection after every update. Two classes: the constrained units are orthogonal to q(1)
  (Eqs. 6-7) and ``released`` units stay free. D > 2 classes: with ``released = D - 1`` the layout of
  Fig. 9(a) (released unit d-1 forbidden from every q_d' with d' != d); with ``released = 0`` every unit is
  orthogonal to all q_d (Eq. 26);
* ``'quadratic'``: the soft penalty lambda ||W_c^T q(2) W_c||^2 (Eqs. 8-10) on the constrained units, with
  q(2) scaled to unit spectral norm so that lambda means the same on every dataset. D > 2 classes: one
  penalty per class d = 1..D-1, with the one-hot label u_d (Eq. 10 with Eq. 26's labels), on the units that
  are not released; a truncated q(2) is applied through its factors. The project's choice: the first-order
  projection is applied to the same units as well (the layouts of ``'linear'``), because the paper presents
  the quadratic constraint as the stronger condition (rho = 0 and C = 0), and Fig. 8(b) shows that simple
  classifiers cannot read the label from such models, which the quadratic term alone does not ensure
  (measured: max |rho| 0.6-0.96). With ``quadratic_statistic='abs_sum'`` the matrix is the Ising Q(2) of
  Eq. 18, built from |sum_k v_k| instead of the label, whose own q(2) vanishes on data symmetric under v -> -v.

Labels are used only to build the constraints; with ``labelled=B`` only a balanced subsample of B labelled
examples is used (semi-supervised, Sec. VIII), and ``quadratic_rank`` truncates q(2) ('mp': the
Marchenko-Pastur edge of Sec. III.A.2, applied to the standardised q(2) with components ranked by |eigenvalue|,
see ``truncate_quadratic``). The saved metadata carries ``released_units``,
``released_classes`` (the class each released unit's high state generates), ``constraint``, ``dataset``,
``binarize_threshold``, the training ``history`` and ``provenance``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from dataclasses import dataclass, field

import numpy as np

from rbm_explorer.datasets import Dataset, load_dataset
from rbm_explorer.io import ModelFile, save_model
from rbm_explorer.io.weight_history import Modes, Snapshot, WeightHistory, history_arrays, model_parameters
from rbm_explorer.layers import layer_class
from rbm_explorer.rbm import RBM
from rbm_explorer.training.checkpoint import resume_trainer, train_with_checkpoints
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.constraints import (
    ConstraintSet,
    QuadraticConstraint,
    balanced_subsample,
    class_vectors,
    constrain_all,
    constrain_all_but,
    linear_vector,
    multiclass_released,
    quadratic_matrix,
    truncate_quadratic,
)
from rbm_explorer.training.loop import History, Trainer, initialize_rbm

CONSTRAINT_KINDS = ("none", "linear", "quadratic")
# what the quadratic constraint decorrelates from: the label (q(2), Eq. 10) or, for spin data symmetric under
# v -> -v where q(2) vanishes, the absolute sum |sum_k v_k| (Q(2) of the Ising model, Eq. 18)
QUADRATIC_STATISTICS = ("label", "abs_sum")
VISIBLE_KIND_OF_ENCODING = {"binary": "binary", "spin": "spin", "potts": "potts"}


@dataclass
class Recipe:
    """What to train: a dataset, a hidden layer, a constraint layout and the training config."""

    dataset: str
    dataset_options: dict = field(default_factory=dict)
    hidden: int = 400
    hidden_kind: str = "binary"
    constraint: str = "none"
    released: int = 0
    quadratic_strength: float = 50.0
    quadratic_rank: int | str | None = None
    quadratic_statistic: str = "label"
    labelled: int | None = None
    config: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self):
        if self.constraint not in CONSTRAINT_KINDS:
            raise ValueError(f"constraint must be one of {', '.join(CONSTRAINT_KINDS)}, got {self.constraint!r}")
        if self.quadratic_rank not in (None, "mp") and not (isinstance(self.quadratic_rank, int)
                                                           and self.quadratic_rank > 0):
            raise ValueError(f"quadratic_rank must be None, 'mp' or a positive integer, got {self.quadratic_rank!r}")
        if self.quadratic_statistic not in QUADRATIC_STATISTICS:
            raise ValueError(f"quadratic_statistic must be one of {', '.join(QUADRATIC_STATISTICS)}, "
                             f"got {self.quadratic_statistic!r}")
        if self.labelled is not None and self.labelled < 2:
            raise ValueError(f"labelled must be at least 2 examples, got {self.labelled}")
        if self.hidden < 1 or self.released < 0 or self.released > self.hidden:
            raise ValueError(f"need 1 <= hidden and 0 <= released <= hidden, got {self.hidden}, {self.released}")


def build_constraints(recipe: Recipe, features: np.ndarray, labels: np.ndarray, n_classes: int):
    """(ConstraintSet or None, released units, constrained units) for the recipe on labelled training data."""
    m, released = recipe.hidden, list(range(recipe.released))
    if recipe.constraint == "none":
        return None, [], []
    if recipe.labelled is not None:  # semi-supervised (Sec. VIII): q from a balanced labelled subsample
        keep = balanced_subsample(labels, recipe.labelled, seed=recipe.config.seed, n_classes=n_classes)
        features, labels = features[keep], labels[keep]
    if n_classes == 2:
        u = (labels == 1).astype(np.float64)
        linear = constrain_all_but(m, linear_vector(features, u)[None, :], released)
        if recipe.constraint == "linear":
            return ConstraintSet([linear]), released, linear.units.tolist()
        units = [mu for mu in range(m) if mu not in released]
        return ConstraintSet([linear, _quadratic(recipe, features, u, units)]), released, units
    qs = class_vectors(features, labels, n_classes)
    if recipe.released == n_classes - 1:
        linear, released = multiclass_released(m, qs)
        released = list(released)
    elif recipe.released == 0:
        linear = ConstraintSet([constrain_all(m, qs)])
    else:
        raise ValueError(f"with {n_classes} classes, released must be 0 or {n_classes - 1}, got {recipe.released}")
    if recipe.constraint == "linear":
        return linear, released, list(range(m))
    # one quadratic penalty per class d = 1..D-1 (Eq. 10 with the one-hot label u_d of Eq. 26), on the units
    # that are not released: they lose the second-order label information too
    units = [mu for mu in range(m) if mu not in released]
    quadratic = [_quadratic(recipe, features, (labels == d).astype(np.float64), units, name=f"class {d}")
                 for d in range(1, n_classes)]
    return ConstraintSet(linear.constraints + quadratic), released, list(range(m))


def _quadratic(recipe: Recipe, features, u, units, name: str | None = None) -> QuadraticConstraint:
    """The soft constraint on q(2) of label ``u`` (Eq. 10), truncated as the recipe says and scaled to unit
    spectral norm, so that the strength means the same on every dataset."""
    if recipe.quadratic_statistic == "abs_sum":  # Eq. 18: the label's own q(2) vanishes by symmetry
        u = np.abs(features.sum(axis=1))
    q2, rank = quadratic_matrix(features, u), None
    if recipe.quadratic_rank is not None:  # keep the top components (Sec. III.A.2; see truncate_quadratic)
        q2, rank = truncate_quadratic(q2, features, rank=None if recipe.quadratic_rank == "mp" else recipe.quadratic_rank)
    q2 /= max(np.linalg.norm(q2, 2), 1e-300)
    return QuadraticConstraint(q2, units, recipe.quadratic_strength, rank=rank, name=name)


def orient_released_units(rbm, features, labels, released, n_classes) -> tuple[list, list[int]]:
    """The class generated by each released unit's high state (``released_classes``).

    Two classes: the class whose samples drive the unit's input up. D classes (Fig. 9(a)): released unit d-1
    is free only along q_d, but training may use either sign; units whose input is lower on class d than on
    the other classes are flipped (an exact relabelling, see ``RBM.flip_hidden_unit``), so that activating unit
    d-1 generates class d, as in the paper. Returns (classes, the units that were flipped)."""
    inputs = features @ rbm.weight_matrix[:, released]
    if n_classes == 2:
        return [int(inputs[labels == 1, k].mean() > inputs[labels == 0, k].mean()) for k in range(len(released))], []
    flipped = []
    for k, unit in enumerate(released):
        d = k + 1
        if inputs[labels == d, k].mean() < inputs[labels != d, k].mean():
            rbm.flip_hidden_unit(unit)
            flipped.append(int(unit))
    return [k + 1 for k in range(len(released))], flipped


def label_metrics(rbm, dataset: Dataset, released, constrained, constraints) -> dict:
    """How the label sits in the hidden units, on held-out data: the largest |rho_mu| (Eq. 5) over constrained
    units against its noise scale 4 / sqrt(n), the released units' ROC AUC for a two-class label, the final
    constraint violation and the reconstruction error."""
    from sklearn.metrics import roc_auc_score

    data, labels = dataset.part("test")
    layer = rbm.visible
    inputs = layer.features(data) @ rbm.weight_matrix
    metrics = {"test_samples": int(len(labels))}
    if constrained and len(dataset.label_names) == 2 and labels.std() > 0:
        cols = inputs[:, constrained]
        ok = cols.std(axis=0) > 0
        rho = np.zeros(len(constrained))
        rho[ok] = [np.corrcoef(labels, c)[0, 1] for c in cols[:, ok].T]
        metrics["max_abs_rho_constrained"] = float(np.abs(rho).max())
        metrics["rho_noise_bound"] = float(4 / np.sqrt(len(labels)))
    if released and len(dataset.label_names) == 2:
        metrics["released_auc"] = [float(max(a, 1 - a)) for a in
                                   (roc_auc_score(labels, inputs[:, mu]) for mu in released)]
    if constraints is not None:
        metrics["constraint_violation"] = float(constraints.violation(rbm.weight_matrix))
        if constraints.quadratic:  # the largest over the classes' penalties (one per class d = 1..D-1)
            metrics["quadratic_residual"] = max(quadratic_residual(c, rbm.weight_matrix) for c in constraints.quadratic)
    return metrics


def quadratic_norm(constraint: QuadraticConstraint) -> float:
    """||q2||_2, the spectral norm of a quadratic constraint's matrix (an SVD: compute it once per run)."""
    return max(float(np.linalg.norm(constraint.matrix, 2)), 1e-300)


def quadratic_residual(constraint: QuadraticConstraint, weight_matrix: np.ndarray, norm: float | None = None) -> float:
    """||W_c^T q2 W_c||_F / (||q2||_2 ||W_c||_F^2): how far the constrained units are from C = 0 (Eqs. 8-10),
    scale-free so that runs and datasets compare. ``norm`` is ``quadratic_norm(constraint)`` when known
    (a live view measures often and should not redo the SVD)."""
    norm = quadratic_norm(constraint) if norm is None else norm
    w_c = weight_matrix[:, constraint.units]
    scale = norm * max(float(np.linalg.norm(w_c)) ** 2, 1e-300)
    return float(np.linalg.norm(w_c.T @ constraint.matrix @ w_c) / scale)


def flip_snapshots(history: WeightHistory, rbm, units) -> WeightHistory:
    """``history`` with ``RBM.flip_hidden_unit`` applied to each of ``units`` in every snapshot, as it was to
    the model ``rbm`` (same kinds and shapes): the snapshots then share the model's labelling of the units.
    Singular values do not change under the flip."""
    if not units:
        return history
    snapshots = []
    for snap in history.snapshots:
        fields = snap.visible_fields if snap.visible_fields is not None else np.zeros(rbm.visible.n_features)
        theta = snap.hidden_fields if snap.hidden_fields is not None else np.zeros(rbm.n_hidden)
        copy = RBM(rbm.visible.with_fields(np.array(fields).reshape(rbm.visible.field_shape)),
                   rbm.hidden.with_fields(np.array(theta)), np.array(snap.weights).reshape(rbm.weights.shape))
        for unit in units:
            copy.flip_hidden_unit(unit)
        modes = snap.modes
        if modes is not None:  # W D = U Σ (D V)ᵀ: the flip negates the flipped units' rows of V
            signs = np.ones(rbm.n_hidden)
            signs[list(units)] = -1.0
            modes = Modes(modes.u, modes.singular_values, modes.v * signs[:, None])
        snapshots.append(Snapshot(snap.epoch, copy.weight_matrix,
                                  None if snap.visible_fields is None else copy.visible.feature_fields,
                                  None if snap.hidden_fields is None else copy.hidden.fields, modes, snap.projections))
    return WeightHistory(history.epochs, history.singular_values, tuple(snapshots))


def recipe_metadata(recipe: Recipe, dataset: Dataset, released, constrained, classes, history: History,
                    command: str) -> dict:
    """The metadata of a trained model (see the module docstring); ``history`` gives the epochs' monitors and
    which weight snapshots exist."""
    from rbm_explorer import __version__

    return {
        "image_shape": list(dataset.display.shape) if dataset.display.shape else None,
        "released_units": released,
        "released_classes": classes,
        "constraint": {"kind": recipe.constraint, "units": constrained, "labelled": recipe.labelled,
                       **({"strength": recipe.quadratic_strength, "rank": recipe.quadratic_rank,
                           "statistic": recipe.quadratic_statistic}
                          if recipe.constraint == "quadratic" else {})},
        "dataset": {"name": recipe.dataset, **recipe.dataset_options, "label_names": list(dataset.label_names)},
        "binarize_threshold": dataset.info.get("threshold"),
        "history": {"epochs": [vars(r) for r in history.epochs]},  # save_trained adds where the arrays are
        "training": {"config": recipe.config.to_dict(), "hidden_kind": recipe.hidden_kind},
        "provenance": {
            "command": command,
            "package_version": __version__,
            "seed": recipe.config.seed,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    }


@dataclass
class PreparedRecipe:
    """Everything a recipe needs before its training loop: the training split (natural states, labels, sample
    weights, features), the visible layer and the constraints with their released and constrained units."""

    recipe: Recipe
    dataset: Dataset
    data: np.ndarray
    labels: np.ndarray
    sample_weights: np.ndarray | None
    features: np.ndarray
    visible_kind: str
    visible_options: dict  # the visible layer's options: {"q": alphabet size} for Potts data, else {}
    constraints: ConstraintSet | None
    released: list
    constrained: list

    @property
    def n_classes(self) -> int:
        return len(self.dataset.label_names)

    @property
    def visible_layer(self):
        """A zero-field visible layer of the recipe's kind and size (for its shapes, levels and features)."""
        return layer_class(self.visible_kind).zeros(self.data.shape[1], **self.visible_options)


def prepare_recipe(recipe: Recipe, dataset: Dataset | None = None) -> PreparedRecipe:
    """Load the recipe's dataset (or use ``dataset``, already loaded with the recipe's options, e.g. from a
    cache) and build its constraints; every front end goes through here so that the same recipe gives the
    same model."""
    dataset = load_dataset(recipe.dataset, **recipe.dataset_options) if dataset is None else dataset
    visible_kind = VISIBLE_KIND_OF_ENCODING.get(dataset.encoding)
    if visible_kind is None:
        raise ValueError(f"dataset {dataset.name} has {dataset.encoding} data; binarize it to train an RBM")
    data, labels = dataset.part("train")
    weights = None if dataset.weights is None else dataset.weights[dataset.train]
    options = dataset.layer_options()
    features = layer_class(visible_kind).zeros(data.shape[1], **options).features(data)
    constraints, released, constrained = build_constraints(recipe, features, labels, len(dataset.label_names))
    return PreparedRecipe(recipe, dataset, data, labels, weights, features, visible_kind, options, constraints,
                          released, constrained)


def build_trainer(prepared: PreparedRecipe, resume_from=None) -> Trainer:
    """A trainer for the prepared recipe: a fresh model, or the run saved in the checkpoint ``resume_from``
    (which must have been made with the recipe's training config)."""
    p, recipe = prepared, prepared.recipe
    test_data = p.dataset.part("test")[0]
    if resume_from is not None:
        return resume_trainer(resume_from, p.data, constraints=p.constraints, sample_weights=p.sample_weights,
                              config=recipe.config, test_data=test_data)
    rbm = initialize_rbm(p.visible_kind, recipe.hidden_kind, p.data.shape[1], recipe.hidden, p.features,
                         recipe.config, visible_options=p.visible_options)
    return Trainer(rbm, p.data, recipe.config, constraints=p.constraints, sample_weights=p.sample_weights,
                   test_data=test_data)


def save_trained(out, rbm, history: History, prepared: PreparedRecipe, command: str = "",
                 dtype=np.float64, snapshot_dtype=np.float16) -> ModelFile:
    """Save a trained model to ``out`` with the recipe's metadata, held-out label metrics, the weight
    snapshots of ``history`` and the constraint arrays. The released units of ``rbm`` are oriented in place
    (``orient_released_units``), so pass a copy of a model that keeps training. ``snapshot_dtype`` (float16
    by default: enough for spectra and saddles, a quarter of float64) is the snapshots' storage type.
    The weight history goes in as ``rbm_explorer.io.weight_history`` describes, its snapshots relabelled like
    the model, so that the snapshot of the last epoch is the model itself and is not stored twice."""
    p, recipe, dataset = prepared, prepared.recipe, prepared.dataset
    classes, flipped = orient_released_units(rbm, p.features, p.labels, p.released, p.n_classes)
    meta = recipe_metadata(recipe, dataset, p.released, p.constrained, classes, history, command)
    meta["metrics"] = label_metrics(rbm, dataset, p.released, p.constrained, p.constraints)
    if meta["image_shape"] is None:
        del meta["image_shape"]
    final_epoch = history.epochs[-1].epoch if history.epochs else 0
    # full W at the first and the last snapshot; the others keep their fields, top modes and projections
    snapshot_epochs = sorted(history.snapshots)
    full = {snapshot_epochs[0], final_epoch} if snapshot_epochs else set()
    extra, stored = history_arrays(flip_snapshots(history.weight_history(), rbm, flipped), final_epoch,
                                   model_parameters(rbm), snapshot_dtype=snapshot_dtype, full_weight_epochs=full)
    meta["history"].update(stored)
    if p.constraints is not None:
        extra.update(p.constraints.arrays())
        meta["constraint"]["spec"] = p.constraints.to_metadata()
    save_model(out, rbm, meta, extra_arrays=extra, dtype=dtype)
    return ModelFile(rbm, meta, extra)


def train_recipe(recipe: Recipe, out, checkpoint=None, resume: bool = False, command: str = "",
                 progress=None, checkpoint_seconds: float = 30.0, dtype=np.float64,
                 snapshot_dtype=np.float16) -> ModelFile:
    """Train ``recipe`` and save the model to ``out``; checkpoints go to ``checkpoint`` (default
    ``out`` + '.checkpoint.npz') at the first epoch end after every ``checkpoint_seconds`` and at the end.
    ``progress(update_record)`` sees every update; ``dtype`` and ``snapshot_dtype`` as in ``save_trained``."""
    prepared = prepare_recipe(recipe)
    checkpoint = checkpoint or f"{out}.checkpoint.npz"
    trainer = build_trainer(prepared, checkpoint if resume else None)
    for _ in train_with_checkpoints(trainer, checkpoint, checkpoint_seconds, {"recipe_dataset": recipe.dataset},
                                    progress):
        pass
    return save_trained(out, trainer.rbm, trainer.history, prepared, command, dtype, snapshot_dtype)


# --- recipes as JSON, and run names ----------------------------------------------------------------------
def recipe_to_dict(recipe: Recipe) -> dict:
    """A recipe as JSON-ready values (what a checkpoint stores to resume its run)."""
    values = dataclasses.asdict(recipe)
    values["config"] = recipe.config.to_dict()
    return values


def recipe_from_dict(values: dict) -> Recipe:
    """The inverse of ``recipe_to_dict``; unknown or missing entries raise ``TypeError``/``KeyError``."""
    values = dict(values)
    config = dict(values.pop("config"))
    config["snapshot_epochs"] = tuple(config.get("snapshot_epochs", (0,)))
    return Recipe(**values, config=TrainingConfig.from_dict(config))


def run_name_for(recipe: Recipe, when: datetime.datetime | None = None) -> str:
    """A file-name-safe run name, e.g. ``mnist-0,1-linear-r1-h64-20250101-120000``."""
    when = when or datetime.datetime.now()
    option = recipe.dataset_options.get("digits") or recipe.dataset_options.get("attribute") or ""
    kind = recipe.constraint if recipe.constraint == "none" else f"{recipe.constraint}-r{recipe.released}"
    parts = [recipe.dataset, str(option), kind, f"h{recipe.hidden}", when.strftime("%Y%m%d-%H%M%S")]
    return re.sub(r"[^A-Za-z0-9,._-]", "_", "-".join(p for p in parts if p))
