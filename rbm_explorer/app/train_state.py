"""Per-session state of the Train page: one training run in a background thread, published to the page.

PAPERS.md section 1 (seed 000, PRX 2023): an RBM is trained with PCD, CD or Rdm, optionally with the label
constraints of the paper - a hard linear projection (Eqs. 6-7, Eq. 26 for several classes) or the quadratic
penalty (Eqs. 8-10). The numbers come from ``rbm_explorer.training`` (``recipes.build_constraints``, the
``Trainer``, ``checkpoint.save_checkpoint`` / ``resume_trainer``); this module only runs them where a browser
session can watch.

Threading follows the sampler pages (``morph_state``):

* ``TrainRun`` owns one daemon thread and the ``Trainer``. The thread prepares the data, trains, and publishes
  an immutable ``TrainSnapshot`` under a lock (progress at most 20 times a second, samples and constraint
  residuals at most 5 times a second). It never touches Panel or Bokeh objects.
* ``TrainSession`` (``param.Parameterized``) holds the user's settings and the read-only published parameters.
  ``poll`` (the page's 20 fps frame callback) copies the newest snapshot into them; views render only those.
* The run holds a slot of ``SAMPLERS`` from ``start`` until its thread ends; a full server gives a message.
* Stopping, and closing the tab, stop the thread at the next update boundary, checkpoint atomically into
  ``checkpoints_dir()`` and join. A later session offers to resume the newest checkpoint; the resumed run
  reaches the very weights an uninterrupted run with the same seed reaches (``run_updates`` replays the rest
  of a half-done epoch with that epoch's minibatch order).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import json
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import param

from rbm_explorer.analysis.judge import dataset_for
from rbm_explorer.app.budget import SAMPLERS, CapacityError, ThreadBudget
from rbm_explorer.app.chain_state import tile_chains
from rbm_explorer.catalog import user_models_dir
from rbm_explorer.datasets import DatasetError, list_datasets
from rbm_explorer.datasets.encode import parse_classes
from rbm_explorer.datasets.faces import ATTRIBUTES
from rbm_explorer.io import save_model
from rbm_explorer.layers import layer_class
from rbm_explorer.training.checkpoint import resume_trainer, save_checkpoint
from rbm_explorer.training.config import ALGORITHMS, TrainingConfig
from rbm_explorer.training.loop import EpochRecord, History, Trainer, initialize_rbm
from rbm_explorer.training.recipes import (
    CONSTRAINT_KINDS,
    VISIBLE_KIND_OF_ENCODING,
    Recipe,
    _metadata,
    build_constraints,
    label_metrics,
    orient_released_units,
)

PUBLISH_PERIOD = 1 / 20  # progress: the page's frame rate
MEASURE_PERIOD = 0.2  # samples and constraint residuals: each costs a product with W
CHECKPOINT_SECONDS = 60.0  # also checkpoint at the first epoch end after this long (a crash loses little)
MAX_CHAINS_SHOWN = 64
MAX_CURVE_POINTS = 4000
THREAD_PREFIX = "rbm-trainer"
FINAL_PHASES = ("done", "stopped", "failed")
ALGORITHM_NAMES = {"pcd": "PCD", "cd": "CD", "rdm": "Rdm"}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.,_-]{0,79}$")


# --- the datasets the page offers --------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetChoice:
    """A dataset of the registry as the page offers it: its label, which option the page asks for, the fixed
    options (those of the bundled models, so that a saved model joins their family) and a batch size that
    fits the training split."""

    name: str
    label: str
    asks: str | None  # "digits", "attribute" or None
    fixed: dict
    batch_size: int = 20
    classes: int | None = None  # number of label classes when it does not depend on the asked option


DATASET_CHOICES = (
    DatasetChoice("mnist", "MNIST digits (28×28)", "digits", {"threshold": 0.5}),
    DatasetChoice("faces", "Procedural faces (32×32)", "attribute", {"size": 32, "n_samples": 10000}, classes=2),
    DatasetChoice("digits8", "scikit-learn digits (8×8)", "digits", {"threshold": 0.5}),
    DatasetChoice("bars_stripes12", "Bars and stripes (12×12 spins)", None, {}, classes=2),
    DatasetChoice("bars4", "Vertical bars (4×4 spins, tiny)", None, {}, batch_size=10, classes=1),
    DatasetChoice("ww_domain", "WW protein domain (Potts, 30 sites)", None, {}, classes=1),
)


def offered_datasets() -> dict[str, DatasetChoice]:
    """The choices whose dataset the registry has (the path-only ``alignment`` and ``celeba`` need files)."""
    registered = {entry.name for entry in list_datasets()}
    return {c.name: c for c in DATASET_CHOICES if c.name in registered}


def dataset_options(choice: DatasetChoice, digits: str, attribute: str) -> dict:
    """``load_dataset`` options for the page's settings."""
    options = dict(choice.fixed)
    if choice.asks == "digits":
        options["digits"] = digits.replace(" ", "")
    elif choice.asks == "attribute":
        options["attribute"] = attribute
    return options


def class_count(choice: DatasetChoice, options: dict) -> int:
    """Number of label classes (raises ``DatasetError`` for an unreadable digit subset)."""
    if choice.classes is not None:
        return choice.classes
    known = range(10)
    digits = parse_classes(options.get("digits", "all"), known)
    if len(set(digits)) != len(digits):
        raise DatasetError(f"digit {sorted(d for d in digits if digits.count(d) > 1)[0]} is listed twice")
    return len(digits)


# --- settings, checked before any work ----------------------------------------------------------------------
def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def settings_problems(settings: dict) -> list[str]:
    """What is wrong with the page's settings, in words a user can act on (empty when they are fine).

    Checks everything that can be checked without loading data, including the constraint layouts that
    ``build_constraints`` accepts for the dataset's number of classes."""
    problems = []
    s = settings
    choices = offered_datasets()
    choice = choices.get(s["dataset"])
    if choice is None:
        return [f"Unknown dataset {s['dataset']!r}; choose one of {', '.join(choices)}."]
    for key, label, least in (("hidden", "Hidden units", 1), ("epochs", "Epochs", 1), ("batch_size", "Batch size", 1),
                              ("chains", "Negative chains", 1), ("gibbs_steps", "Gibbs steps per update", 1),
                              ("released", "Released units", 0)):
        if not _whole(s[key]) or s[key] < least:
            problems.append(f"{label} must be a whole number of at least {least} (got {s[key]}).")
    if not (isinstance(s["learning_rate"], (int, float)) and np.isfinite(s["learning_rate"])
            and s["learning_rate"] > 0):
        problems.append(f"The learning rate must be a positive number (got {s['learning_rate']}).")
    if s["constraint"] not in CONSTRAINT_KINDS:
        problems.append(f"Constraint must be one of {', '.join(CONSTRAINT_KINDS)}.")
    if s["algorithm"] not in ALGORITHMS:
        problems.append(f"Algorithm must be one of {', '.join(ALGORITHMS)}.")
    if not (isinstance(s["quadratic_strength"], (int, float)) and s["quadratic_strength"] >= 0):
        problems.append(f"The quadratic strength λ must be a number ≥ 0 (got {s['quadratic_strength']}).")
    try:
        n_classes = class_count(choice, dataset_options(choice, s["digits"], s["attribute"]))
    except DatasetError as exc:
        problems.append(f"Digits: {exc}.")
        return problems
    if choice.asks == "digits" and n_classes < 2 and s["constraint"] != "none":
        problems.append("A label constraint needs at least two digits, e.g. 0,1 or 0-3.")
    elif n_classes < 2 and s["constraint"] != "none":
        problems.append(f"{choice.label} has a single class: choose constraint 'none' (the label constraints "
                        "need two or more classes).")
    if problems or s["constraint"] == "none":
        return problems
    if s["released"] > s["hidden"]:
        problems.append(f"Too many released units: {s['released']} released of {s['hidden']} hidden units.")
    elif s["constraint"] == "quadratic" and n_classes != 2:
        problems.append(f"The quadratic constraint needs a two-class label; these digits have {n_classes} classes.")
    elif n_classes > 2 and s["released"] not in (0, n_classes - 1):
        problems.append(f"Too many released units for {n_classes} classes: use 0 (every unit blind to the label) "
                        f"or {n_classes - 1} (one unit per class but the first, Fig. 9a), not {s['released']}.")
    return problems


def recipe_from_settings(settings: dict) -> Recipe:
    """The ``Recipe`` of valid page settings. The learning rate decays linearly to a tenth over the run, as
    for the bundled models (``training.presets``); CD runs one chain per batch sample whatever ``chains``."""
    s = settings
    choice = offered_datasets()[s["dataset"]]
    config = TrainingConfig(
        algorithm=s["algorithm"], gibbs_steps=int(s["gibbs_steps"]), batch_size=int(s["batch_size"]),
        n_chains=int(s["chains"]), epochs=int(s["epochs"]), learning_rate=float(s["learning_rate"]),
        final_learning_rate=float(s["learning_rate"]) / 10, schedule="linear", optimizer="sgd",
        seed=int(s["seed"]), snapshot_epochs=(0, int(s["epochs"])),
    )
    constraint = s["constraint"]
    return Recipe(s["dataset"], dataset_options(choice, s["digits"], s["attribute"]), hidden=int(s["hidden"]),
                  constraint=constraint, released=int(s["released"]) if constraint != "none" else 0,
                  quadratic_strength=float(s["quadratic_strength"]), config=config)


def recipe_to_dict(recipe: Recipe) -> dict:
    values = dataclasses.asdict(recipe)
    values["config"] = recipe.config.to_dict()
    return values


def recipe_from_dict(values: dict) -> Recipe:
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


# --- data and constraints ------------------------------------------------------------------------------------
@dataclass
class Prepared:
    """A recipe's training data and constraints, as ``train_recipe`` builds them."""

    recipe: Recipe
    dataset: object
    data: np.ndarray
    labels: np.ndarray
    sample_weights: np.ndarray | None
    features: np.ndarray
    visible_kind: str
    q: int | None
    constraints: object
    released: list
    constrained: list
    monitor: object  # ConstraintSet whose violation the residual curve shows
    quadratic_norms: list  # ||q2||_2 of each quadratic constraint, computed once
    image_shape: tuple
    levels: tuple


def prepare(recipe: Recipe) -> Prepared:
    """Load the data and build the constraints exactly as ``recipes.train_recipe`` does (same calls, same
    order), so that a model trained here equals one of ``rbm-explorer train`` with the same recipe."""
    dataset = dataset_for({"name": recipe.dataset, **recipe.dataset_options})
    visible_kind = VISIBLE_KIND_OF_ENCODING.get(dataset.encoding)
    if visible_kind is None:
        raise ValueError(f"dataset {dataset.name} has {dataset.encoding} data; binarize it to train an RBM")
    data, labels = dataset.part("train")
    weights = None if dataset.weights is None else dataset.weights[dataset.train]
    q = len(dataset.display.alphabet) if visible_kind == "potts" else None
    layer = layer_class(visible_kind)(np.zeros((data.shape[1], q) if q else data.shape[1]))
    features = layer.features(data)
    n_classes = len(dataset.label_names)
    constraints, released, constrained = build_constraints(recipe, features, labels, n_classes)
    monitor = constraints
    if recipe.constraint == "none" and n_classes >= 2:  # show how far free units align with the label
        probe = dataclasses.replace(recipe, constraint="linear", released=0)
        monitor, _, _ = build_constraints(probe, features, labels, n_classes)
    quadratic = [] if constraints is None else constraints.quadratic
    norms = [max(float(np.linalg.norm(c.matrix, 2)), 1e-300) for c in quadratic]
    shape = tuple(dataset.display.shape) if dataset.display.kind != "sequence" and dataset.display.shape \
        else (1, data.shape[1])
    levels = (0.0, float(q - 1)) if q else (float(layer.low), float(layer.high))
    return Prepared(recipe, dataset, data, labels, weights, features, visible_kind, q, constraints, released,
                    constrained, monitor, norms, shape, levels)


def quadratic_residuals(prepared: Prepared, weight_matrix: np.ndarray) -> list[float]:
    """||W_c^T q2 W_c||_F / (||q2||_2 ||W_c||_F^2) of each quadratic constraint, as in ``label_metrics``."""
    out = []
    if prepared.constraints is None:
        return out
    for c, norm in zip(prepared.constraints.quadratic, prepared.quadratic_norms):
        w_c = weight_matrix[:, c.units]
        scale = norm * max(float(np.linalg.norm(w_c)) ** 2, 1e-300)
        out.append(float(np.linalg.norm(w_c.T @ c.matrix @ w_c) / scale))
    return out


def run_updates(trainer: Trainer, should_stop: Callable[[], bool], after_update: Callable[[], None],
                after_epoch: Callable[[EpochRecord], None]) -> bool:
    """``Trainer.run`` that can stop at any update boundary and resume in the middle of an epoch.

    The same calls in the same order as ``Trainer.run`` (so the weights are bit-identical), starting at batch
    ``update - epoch * updates_per_epoch`` of the current epoch's minibatch order. Returns True when every
    epoch is done, False when ``should_stop`` ended it early."""
    cfg = trainer.config
    per_epoch = trainer.updates_per_epoch
    while trainer.epoch < cfg.epochs:
        start = time.perf_counter()
        order = trainer._epoch_order(trainer.epoch)
        first = trainer.update - trainer.epoch * per_epoch
        if not 0 <= first < per_epoch:
            raise ValueError(f"update {trainer.update} does not lie in epoch {trainer.epoch}")
        for b in range(first, per_epoch):
            if should_stop():
                return False
            trainer._update(order[b * cfg.batch_size : (b + 1) * cfg.batch_size])
            after_update()
        trainer.epoch += 1
        record = EpochRecord(trainer.epoch, trainer.reconstruction_error(), time.perf_counter() - start)
        if trainer.epoch in cfg.snapshot_epochs:
            trainer.history.weight_snapshots[trainer.epoch] = trainer.rbm.weight_matrix.copy()
            record.singular_values = np.linalg.svd(trainer.rbm.weight_matrix, compute_uv=False).tolist()
        trainer.history.epochs.append(record)
        after_epoch(record)
    return True


# --- checkpoints and saved models ----------------------------------------------------------------------------
def checkpoints_dir() -> Path:
    """``$RBM_EXPLORER_HOME/checkpoints``: where closed or stopped runs of the Train page wait to resume."""
    return user_models_dir().parent / "checkpoints"


def read_checkpoint(path) -> dict | None:
    """The metadata of a Train-page checkpoint (only the small metadata entry is read), or None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["metadata"]))
    except Exception:
        return None
    page = meta.get("train_page")
    training = meta.get("training")
    if not isinstance(page, dict) or not isinstance(training, dict) or "recipe" not in page:
        return None
    return meta


@dataclass(frozen=True)
class ResumeOffer:
    path: Path
    run_name: str
    epoch: int
    epochs: int
    update: int
    total_updates: int

    @property
    def label(self) -> str:
        return f"Resume {self.run_name} (epoch {self.epoch} of {self.epochs})"


def newest_checkpoint(folder: Path | None = None, exclude: Path | None = None) -> ResumeOffer | None:
    """The most recently written Train-page checkpoint (other than ``exclude``), or None."""
    folder = checkpoints_dir() if folder is None else folder
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        if exclude is not None and path == exclude:
            continue
        meta = read_checkpoint(path)
        if meta is None:
            continue
        training, page = meta["training"], meta["train_page"]
        epochs = int(training["config"]["epochs"])
        return ResumeOffer(path, page.get("run_name", path.stem), int(training["epoch"]), epochs,
                           int(training["update"]), int(page.get("total_updates", 0)))
    return None


def save_trained_model(path, rbm, history: History, prepared: Prepared, run_name: str) -> Path:
    """Write a model file with the metadata of ``recipes.train_recipe`` (released_units, released_classes,
    constraint, dataset, binarize_threshold, history, provenance, metrics). ``rbm`` is oriented in place, so
    pass a copy of a model that keeps training."""
    recipe, dataset = prepared.recipe, prepared.dataset
    n_classes = len(dataset.label_names)
    classes = orient_released_units(rbm, prepared.features, prepared.labels, prepared.released, n_classes)
    holder = SimpleNamespace(history=history)
    meta = _metadata(recipe, dataset, prepared.released, prepared.constrained, classes, holder,
                     f"rbm-explorer serve: Train page, run {run_name}")
    meta["metrics"] = label_metrics(rbm, dataset, prepared.released, prepared.constrained, prepared.constraints)
    if meta["image_shape"] is None:
        del meta["image_shape"]
    extra = {f"history_weights_epoch_{e}": w for e, w in history.weight_snapshots.items()}
    if prepared.constraints is not None:
        extra.update(prepared.constraints.arrays())
        meta["constraint"]["spec"] = prepared.constraints.to_metadata()
    return save_model(path, rbm, meta, extra_arrays=extra)


# --- the background run --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainSnapshot:
    """What the thread last published; immutable, so the page reads it without holding the lock."""

    version: int = 0
    phase: str = "preparing"  # preparing, training, done, stopped, failed
    update: int = 0
    total_updates: int = 0
    epoch: int = 0
    epochs: int = 0
    rate: float = 0.0
    reconstruction: tuple = ((), ())  # (epochs, errors)
    residuals: dict | None = None  # update, linear and quadratic arrays
    residual_note: str = ""
    mosaic: np.ndarray | None = None
    levels: tuple = (0.0, 1.0)
    message: str = ""
    error: str = ""


def _problem_text(exc: BaseException) -> str:
    if isinstance(exc, (ValueError, FloatingPointError, CapacityError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class TrainRun:
    """One training run in a daemon thread: prepare, train (or resume), checkpoint, publish snapshots.

    Only the thread touches the trainer while it runs; ``consistent_copy`` asks it for a copy taken at an
    update boundary, and ``stop`` ends it at the next boundary (after a checkpoint)."""

    def __init__(self, recipe: Recipe, run_name: str, checkpoint: Path, resume_from: Path | None = None,
                 max_updates_per_second: float = 0.0, on_exit: Callable[[], None] | None = None):
        self.recipe, self.run_name, self.checkpoint = recipe, run_name, Path(checkpoint)
        self.resume_from = resume_from
        self.max_updates_per_second = max_updates_per_second
        self.prepared: Prepared | None = None
        self.trainer: Trainer | None = None
        self._on_exit = on_exit
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._copy_wanted = threading.Event()
        self._copy_ready = threading.Event()
        self._copy = None
        self._snapshot = TrainSnapshot(epochs=recipe.config.epochs, message=f"Loading {recipe.dataset}…")
        self._residuals = {"update": [], "linear": [], "quadratic": []}
        self._mosaic = None
        self._thread = threading.Thread(target=self._main, name=f"{THREAD_PREFIX}-{run_name}", daemon=True)

    # --- control (page side) ----------------------------------------------------------------------------
    def start(self) -> "TrainRun":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def snapshot(self) -> TrainSnapshot:
        with self._lock:
            return self._snapshot

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop at the next update boundary; the thread checkpoints, then it is joined. True when it ended."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def consistent_copy(self, timeout: float = 60.0):
        """(rbm copy, history copy, epoch, update) taken at an update boundary, or None before training."""
        if self.alive:
            self._copy_ready.clear()
            self._copy_wanted.set()
            deadline = time.monotonic() + timeout
            while self.alive and time.monotonic() < deadline:
                if self._copy_ready.wait(0.05):
                    return self._copy
        if self.alive:
            raise TimeoutError("the training thread did not answer in time; try again")
        return None if self.trainer is None else self._take_copy()

    # --- the thread -------------------------------------------------------------------------------------
    def _publish(self, **changes) -> None:
        with self._lock:
            self._snapshot = dataclasses.replace(self._snapshot, version=self._snapshot.version + 1, **changes)

    def _take_copy(self):
        t = self.trainer
        history = History(list(t.history.epochs), dict(t.history.weight_snapshots))
        return copy.deepcopy(t.rbm), history, t.epoch, t.update

    def _serve_copy(self) -> None:
        if self._copy_wanted.is_set() and self.trainer is not None:
            self._copy = self._take_copy()
            self._copy_wanted.clear()
            self._copy_ready.set()

    def _measure(self) -> None:
        """Sample grid and constraint residuals, appended to the thread's curves."""
        t, p = self.trainer, self.prepared
        samples = t.live_statistics(singular_values=False)["samples"][:MAX_CHAINS_SHOWN]
        columns = 1 if p.image_shape[0] == 1 else int(np.ceil(np.sqrt(len(samples))))
        self._mosaic = tile_chains(np.asarray(samples, np.float32), p.image_shape, columns)
        if p.monitor is not None:
            w = t.rbm.weight_matrix
            quadratic = quadratic_residuals(p, w)
            curves = self._residuals
            if curves["update"] and curves["update"][-1] == t.update:  # measured already at this update
                for values in curves.values():
                    values.pop()
            curves["update"].append(t.update)
            curves["linear"].append(float(p.monitor.violation(w)))
            curves["quadratic"].append(quadratic[0] if quadratic else float("nan"))
            if len(curves["update"]) > MAX_CURVE_POINTS:  # keep the whole run at half the resolution
                for key in curves:
                    curves[key] = curves[key][::2]

    def _publish_progress(self, phase: str, message: str, rate: float = 0.0, measured: bool = False) -> None:
        t = self.trainer
        changes = dict(phase=phase, update=t.update, total_updates=t.total_updates, epoch=t.epoch,
                       epochs=t.config.epochs, rate=rate, message=message)
        if measured:
            changes["mosaic"] = self._mosaic
            if self.prepared.monitor is not None:
                changes["residuals"] = {k: np.array(v, dtype=np.float64) for k, v in self._residuals.items()}
        self._publish(**changes)

    def _publish_epochs(self) -> None:
        records = self.trainer.history.epochs
        self._publish(reconstruction=(np.array([r.epoch for r in records]),
                                      np.array([r.reconstruction_error for r in records])))

    def _residual_note(self) -> str:
        p = self.prepared
        if p.monitor is None:
            return "This dataset has a single class: there is no label direction to measure."
        if self.recipe.constraint == "none":
            return ("No constraint: the curve is max |q·w_μ| / (|q| |w_μ|) over all units, for comparison — "
                    "free units are allowed to pick up the label.")
        note = ("Linear: max |q·w_μ| / (|q| |w_μ|) over constrained units; the projection after every update "
                "(Eqs. 6–7) keeps it at rounding level.")
        if self.recipe.constraint == "quadratic":
            note += " Quadratic: ‖W_cᵀ q⁽²⁾ W_c‖ / (‖q⁽²⁾‖ ‖W_c‖²), pushed down by the penalty (Eqs. 8–10)."
        return note

    def _build_trainer(self) -> Trainer:
        p, recipe = self.prepared, self.recipe
        if self.resume_from is not None:
            return resume_trainer(self.resume_from, p.data, constraints=p.constraints,
                                  sample_weights=p.sample_weights, config=recipe.config)
        rbm = initialize_rbm(p.visible_kind, recipe.hidden_kind, p.data.shape[1], recipe.hidden, p.features,
                             recipe.config, q=p.q)
        return Trainer(rbm, p.data, recipe.config, constraints=p.constraints, sample_weights=p.sample_weights)

    def _checkpoint(self) -> None:
        t, p = self.trainer, self.prepared
        meta = {
            "train_page": {"run_name": self.run_name, "recipe": recipe_to_dict(self.recipe),
                           "total_updates": t.total_updates},
            "dataset": {"name": self.recipe.dataset, **self.recipe.dataset_options,
                        "label_names": list(p.dataset.label_names)},
            "image_shape": list(p.image_shape),
        }
        save_checkpoint(t, self.checkpoint, meta)

    def _main(self) -> None:
        try:
            self.prepared = prepare(self.recipe)
            if self._stop.is_set():
                self._publish(phase="stopped", message="Stopped before training began.")
                return
            self.trainer = trainer = self._build_trainer()
            self._publish(residual_note=self._residual_note(), levels=self.prepared.levels)
            self._train(trainer)
        except Exception as exc:  # never die silently: the page shows it
            self._publish(phase="failed", error=_problem_text(exc), message="")
        finally:
            self._copy_wanted.clear()
            if self._on_exit is not None:
                self._on_exit()

    def _train(self, trainer: Trainer) -> None:
        first_update, started = trainer.update, time.monotonic()
        last_publish = last_measure = last_checkpoint = started
        last_step = started
        window: list[float] = []
        cfg, recipe = trainer.config, self.recipe
        layout = ("no constraint" if recipe.constraint == "none"
                  else f"{recipe.constraint} constraint, {len(self.prepared.released)} released")
        resumed = f"Resumed at epoch {trainer.epoch}: " if self.resume_from is not None else ""
        doing = (f"{resumed}{ALGORITHM_NAMES[cfg.algorithm]} with k = {cfg.gibbs_steps}, {recipe.hidden} hidden "
                 f"units, {layout}, batches of {cfg.batch_size}")
        self._measure()
        self._publish_epochs()
        self._publish_progress("training", doing, measured=True)

        def after_update():
            nonlocal last_publish, last_measure, last_step
            now = time.monotonic()
            window.append(now)
            del window[:-32]
            rate = (len(window) - 1) / max(window[-1] - window[0], 1e-9) if len(window) > 1 else 0.0
            self._serve_copy()
            measured = now - last_measure >= MEASURE_PERIOD or trainer.update == first_update + 1
            if measured:
                self._measure()
                last_measure = now
            if measured or now - last_publish >= PUBLISH_PERIOD:
                self._publish_progress("training", doing, rate, measured)
                last_publish = now
            pace = self.max_updates_per_second
            if pace and pace > 0:  # slow motion: wait, but wake at once for a stop
                self._stop.wait(max(0.0, last_step + 1.0 / pace - time.monotonic()))
            last_step = time.monotonic()

        def after_epoch(record):
            nonlocal last_checkpoint
            self._publish_epochs()
            if time.monotonic() - last_checkpoint >= CHECKPOINT_SECONDS:
                self._checkpoint()
                last_checkpoint = time.monotonic()

        finished = run_updates(trainer, self._stop.is_set, after_update, after_epoch)
        self._serve_copy()
        self._measure()
        seconds = time.monotonic() - started
        if trainer.update > first_update or finished:
            self._checkpoint()
        if finished:
            message = (f"Finished {trainer.config.epochs} epochs ({trainer.update - first_update} updates in "
                       f"{seconds:.0f} s). Save the model to open it on the other pages.")
            self._publish_progress("done", message, measured=True)
        else:
            message = (f"Stopped at epoch {trainer.epoch} of {trainer.config.epochs}, update {trainer.update} of "
                       f"{trainer.total_updates}; checkpoint saved, Resume continues the run.")
            self._publish_progress("stopped", message, measured=True)


# --- the session state ---------------------------------------------------------------------------------------
def _dataset_objects() -> dict[str, str]:
    return {choice.label: name for name, choice in offered_datasets().items()}


class TrainSession(param.Parameterized):
    """The Train page's settings, actions (start, stop, resume, save, close) and published progress."""

    dataset = param.Selector(default="mnist", objects=_dataset_objects(), doc="The data to train on")
    digits = param.String(default="0,1", doc="Which digits to train on: e.g. 0,1 or 0-3 or all")
    attribute = param.Selector(default="smiling", objects=list(ATTRIBUTES),
                               doc="The face attribute that is the label the constraints act on")
    hidden = param.Integer(default=64, doc="Number of hidden units M")
    constraint = param.Selector(default="linear", objects=list(CONSTRAINT_KINDS),
                                doc="Label constraint on the hidden units: none, linear projection (Eqs. 6-7) "
                                    "or quadratic penalty (Eqs. 8-10)")
    released = param.Integer(default=1, doc="Hidden units left free of the constraint (the knobs of the Morph "
                                            "page); with D > 2 classes use 0 or D - 1")
    algorithm = param.Selector(default="pcd", objects=list(ALGORITHMS),
                               doc="PCD keeps persistent chains, CD restarts them at the minibatch, Rdm restarts "
                                   "them from random noise")
    epochs = param.Integer(default=10, doc="Passes over the training data")
    learning_rate = param.Number(default=0.05, doc="Initial learning rate; it decays linearly to a tenth")
    batch_size = param.Integer(default=20, doc="Data samples per update (CD also runs this many chains)")
    chains = param.Integer(default=64, doc="Negative chains of PCD and Rdm (the grid shows up to 64)")
    gibbs_steps = param.Integer(default=5, doc="Gibbs sweeps of the negative chains per update (k)")
    quadratic_strength = param.Number(default=50.0, doc="Strength λ of the quadratic penalty (Eq. 10)")
    seed = param.Integer(default=0, doc="Random seed: the same seed gives the same weights")
    max_updates_per_second = param.Number(default=0.0, bounds=(0, None),
                                          doc="Slow motion: at most this many updates per second (0: full speed)")
    model_name = param.String(default="", doc="File name of the saved model (default: the run's name)")

    # published; views read these
    running = param.Boolean(default=False, doc="A run's thread is working")
    phase = param.String(default="idle")
    updates_done = param.Integer(default=0, doc="Updates made so far in the run")
    total_updates = param.Integer(default=0)
    epoch = param.Integer(default=0)
    total_epochs = param.Integer(default=0)
    rate = param.Number(default=0.0)
    reconstruction = param.Dict(default={"epoch": np.empty(0), "error": np.empty(0)})
    residuals = param.Dict(default={})
    residual_note = param.String(default="")
    run_constraint = param.String(default="", doc="Constraint kind of the run on display")
    mosaic = param.Array(default=None, doc="Tiled picture of the negative chains")
    levels = param.Tuple(default=(0.0, 1.0), length=2)
    status = param.String(default="")
    error = param.String(default="")
    resume_label = param.String(default="")
    saved_path = param.String(default="")
    can_save = param.Boolean(default=False)
    run_name = param.String(default="")

    def __init__(self, budget: ThreadBudget = SAMPLERS, **params):
        super().__init__(**params)
        self._budget = budget
        self._run: TrainRun | None = None
        self._offer: ResumeOffer | None = None
        self._last_version = -1
        self._closed = False
        self._applying = False
        self.refresh_resume()

    # --- settings ---------------------------------------------------------------------------------------
    def settings(self) -> dict:
        names = ("dataset", "digits", "attribute", "hidden", "constraint", "released", "algorithm", "epochs",
                 "learning_rate", "batch_size", "chains", "gibbs_steps", "quadratic_strength", "seed")
        return {name: getattr(self, name) for name in names}

    @param.depends("dataset", watch=True)
    def _on_dataset(self):
        """A batch that fits the dataset, and no constraint for single-class data."""
        if self._applying:
            return
        choice = offered_datasets()[self.dataset]
        updates = {"batch_size": choice.batch_size}
        if choice.classes == 1:
            updates["constraint"] = "none"
        self.param.update(**updates)

    @param.depends("max_updates_per_second", watch=True)
    def _on_pace(self):
        if self._run is not None:
            self._run.max_updates_per_second = self.max_updates_per_second

    def _apply_recipe(self, recipe: Recipe) -> None:
        """Show a resumed run's settings in the controls."""
        options = recipe.dataset_options
        cfg = recipe.config
        self._applying = True
        try:
            self.param.update(
                dataset=recipe.dataset, digits=str(options.get("digits", self.digits)),
                attribute=options.get("attribute", self.attribute), hidden=recipe.hidden,
                constraint=recipe.constraint, released=recipe.released, algorithm=cfg.algorithm, epochs=cfg.epochs,
                learning_rate=cfg.learning_rate, batch_size=cfg.batch_size, chains=cfg.chains,
                gibbs_steps=cfg.gibbs_steps,
                quadratic_strength=recipe.quadratic_strength, seed=cfg.seed,
            )
        finally:
            self._applying = False

    # --- actions ----------------------------------------------------------------------------------------
    @property
    def trainer(self) -> Trainer | None:
        """The current run's trainer (None before one is built); read it only when ``running`` is False."""
        return None if self._run is None else self._run.trainer

    @property
    def active(self) -> bool:
        """A run's thread is alive (preparing, training or writing its checkpoint)."""
        return self._run is not None and self._run.alive

    def start(self) -> bool:
        """Start a new run with the current settings; problems become ``error`` messages. True if started."""
        if self.active:
            self.error = "A run is already in progress: stop it first."
            return False
        problems = settings_problems(self.settings())
        if problems:
            self.error = " ".join(problems)
            return False
        try:
            recipe = recipe_from_settings(self.settings())
        except ValueError as exc:
            self.error = str(exc)
            return False
        name = run_name_for(recipe)
        taken = {p.stem for p in checkpoints_dir().glob("*.npz")} | {p.stem for p in user_models_dir().glob("*.npz")}
        unique, k = name, 2
        while unique in taken:  # two runs started in the same second
            unique, k = f"{name}-{k}", k + 1
        return self._launch(recipe, unique, None)

    def resume(self) -> bool:
        """Continue the newest checkpoint's run where it stopped. True if started."""
        if self.active:
            self.error = "A run is already in progress: stop it first."
            return False
        self.refresh_resume()
        offer = self._offer
        if offer is None:
            self.error = "There is no checkpoint to resume."
            return False
        meta = read_checkpoint(offer.path)
        try:
            recipe = recipe_from_dict(meta["train_page"]["recipe"])
        except (TypeError, ValueError, KeyError) as exc:
            self.error = f"Cannot resume {offer.path.name}: {exc}"
            return False
        self._apply_recipe(recipe)
        return self._launch(recipe, offer.run_name, offer.path)

    def _launch(self, recipe: Recipe, run_name: str, resume_from: Path | None) -> bool:
        if self._closed:
            self.error = "This page has been closed."
            return False
        try:
            self._budget.acquire(self)
        except CapacityError as exc:
            self.error = str(exc)
            return False
        try:
            run = TrainRun(recipe, run_name, checkpoints_dir() / f"{run_name}.npz", resume_from,
                           self.max_updates_per_second, on_exit=lambda: self._budget.release(self))
            self._run = run
            self._last_version = -1
            self.param.update(
                running=True, phase="preparing", error="", saved_path="", can_save=False, run_name=run_name,
                run_constraint=recipe.constraint,
                status=f"Loading {recipe.dataset} and building the constraints…", updates_done=0,
                total_updates=0, epoch=0, total_epochs=recipe.config.epochs, rate=0.0, mosaic=None,
                reconstruction={"epoch": np.empty(0), "error": np.empty(0)}, residuals={}, residual_note="",
            )
            run.start()
        except Exception as exc:
            self._budget.release(self)
            self.param.update(running=False, phase="failed", error=_problem_text(exc))
            return False
        return True

    def stop(self, timeout: float = 60.0) -> None:
        """Stop at the next update boundary, checkpoint and join the thread."""
        if self._run is None or not self.active:
            return
        self.status = "Stopping…"
        ended = self._run.stop(timeout)
        self.poll()
        if not ended:
            self.status = "Stopping: waiting for the current update to end…"

    def save(self) -> Path | None:
        """Write the current model into ``user_models_dir()``; returns the path (None, with an ``error``, if
        there is nothing to save or the name is bad)."""
        run = self._run
        name = self.model_name.strip() or (run.run_name if run is not None else "")
        if run is None or run.trainer is None:
            self.error = "Nothing to save yet: start a run (or resume one) first."
            return None
        if not NAME_PATTERN.match(name):
            self.error = (f"Model name {name!r} is not a plain file name: use letters, digits, '.', '_', ',' "
                          "or '-' (up to 80 characters).")
            return None
        try:
            state = run.consistent_copy()
            if state is None:
                self.error = "Nothing to save yet: training has not begun."
                return None
            rbm, history, epoch, update = state
            path = user_models_dir(create=True) / (name if name.endswith(".npz") else f"{name}.npz")
            save_trained_model(path, rbm, history, run.prepared, run.run_name)
        except Exception as exc:
            self.error = f"Could not save the model: {_problem_text(exc)}"
            return None
        done = not run.alive and run.snapshot().phase == "done"
        if done:  # a finished run that is saved has nothing left to resume
            run.checkpoint.unlink(missing_ok=True)
            self.refresh_resume()
        self.param.update(
            error="", saved_path=str(path),
            status=f"Saved {path.name} (epoch {epoch}, update {update}) in {path.parent}; the Morph and Models "
                   "pages can open it now.",
        )
        return path

    def refresh_resume(self) -> None:
        """Offer the newest checkpoint (unless a run is going); a run that finished on this page is not offered
        again (its model can be saved as it is)."""
        self._offer = self._newest_offer()
        self.resume_label = self._offer.label if self._offer is not None else ""

    def _newest_offer(self) -> ResumeOffer | None:
        run = self._run
        if self.active:
            return None
        finished = run.checkpoint if run is not None and run.snapshot().phase == "done" else None
        return newest_checkpoint(exclude=finished)

    # --- publishing ------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Copy the run's newest snapshot into the published parameters (runs on the session's loop)."""
        run = self._run
        if run is None:
            return
        snap = run.snapshot()
        ended = not run.alive
        if snap.version == self._last_version and not (ended and self.running):
            return
        self._last_version = snap.version
        updates = dict(phase=snap.phase, updates_done=snap.update, total_updates=snap.total_updates, epoch=snap.epoch,
                       total_epochs=snap.epochs, rate=snap.rate, levels=tuple(snap.levels),
                       residual_note=snap.residual_note, can_save=run.trainer is not None)
        if snap.message:
            updates["status"] = snap.message
        if snap.error:
            updates["error"] = snap.error
        if snap.mosaic is not None and snap.mosaic is not self.mosaic:
            updates["mosaic"] = snap.mosaic
        if len(snap.reconstruction[0]) != len(self.reconstruction["epoch"]):
            updates["reconstruction"] = {"epoch": snap.reconstruction[0], "error": snap.reconstruction[1]}
        if snap.residuals is not None and snap.residuals is not self.residuals:
            updates["residuals"] = snap.residuals
        if ended and snap.phase in FINAL_PHASES:
            updates["running"] = False
            self._offer = self._newest_offer()
            updates["resume_label"] = self._offer.label if self._offer is not None else ""
        self.param.update(**updates)

    def close(self) -> None:
        """Stop the run at the next update boundary, checkpoint it, join the thread, give the slot back."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._run is not None and not self._run.stop(timeout=120.0):
                raise RuntimeError("the training thread did not stop within 120 s")
        finally:
            self._budget.release(self)
