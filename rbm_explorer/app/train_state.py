"""Per-session state of the Train page: one training run in a background thread, published to the page.

PAPERS.md section 1 (seed 000, PRX 2023): an RBM is trained with PCD, CD or Rdm, optionally with the label
constraints of the paper - a hard linear projection (Eqs. 6-7, Eq. 26 for several classes) or the quadratic
penalty (Eqs. 8-10). The numbers come from ``rbm_explorer.training``, through the very calls of
``rbm-explorer train`` (``recipes.prepare_recipe``, ``build_trainer``, ``checkpoint.train_with_checkpoints``,
``recipes.save_trained``); this module only runs them where a browser session can watch.

Threading follows the sampler pages (``morph_state``):

* ``TrainRun`` owns one daemon thread and the ``Trainer``. The thread prepares the data, trains, and publishes
  an immutable ``TrainSnapshot`` under a lock (progress at most 20 times a second, samples and constraint
  residuals at most 5 times a second). It never touches Panel or Bokeh objects.
* ``TrainSession`` (``param.Parameterized``) holds the user's settings and the read-only published parameters.
  ``poll`` (the page's 20 fps frame callback) copies the newest snapshot into them; views render only those.
* The run holds a slot of ``SAMPLERS`` from ``start`` until its thread ends; a full server gives a message.
* Stopping, and closing the tab, stop the thread at the next update boundary (``Trainer.run``'s ``stop``),
  checkpoint atomically into ``checkpoints_dir()`` and join. A later session offers to resume the newest
  checkpoint; the resumed run reaches the very weights an uninterrupted run with the same seed reaches (the
  trainer replays the rest of a half-done epoch with that epoch's minibatch order).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import param

from rbm_explorer.analysis.judge import dataset_for
from rbm_explorer.app.budget import SAMPLERS, CapacityError, ThreadBudget
from rbm_explorer.pictures import tile_chains
from rbm_explorer.catalog import user_models_dir
from rbm_explorer.datasets import DatasetError, list_datasets
from rbm_explorer.datasets.encode import parse_classes
from rbm_explorer.datasets.faces import ATTRIBUTES
from rbm_explorer.training.checkpoint import checkpoint_busy, read_checkpoint_metadata, train_with_checkpoints
from rbm_explorer.training.config import ALGORITHMS, TrainingConfig
from rbm_explorer.training.loop import History, Trainer
from rbm_explorer.training.recipes import (
    CONSTRAINT_KINDS,
    PreparedRecipe,
    Recipe,
    build_constraints,
    build_trainer,
    prepare_recipe,
    quadratic_norm,
    quadratic_residual,
    save_trained,
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
class Prepared(PreparedRecipe):
    """A recipe prepared by ``recipes.prepare_recipe`` (so a model trained here equals one of ``rbm-explorer
    train`` with the same recipe), with what the page's views add."""

    monitor: object  # ConstraintSet whose violation the residual curve shows
    quadratic_norms: list  # ||q2||_2 of each quadratic constraint, computed once
    image_shape: tuple
    levels: tuple


def prepare(recipe: Recipe) -> Prepared:
    """``prepare_recipe`` on the app's cached copy of the dataset, plus the label probe of unconstrained runs
    (how far free units align with the label), the quadratic norms, the picture shape and the state range."""
    base = prepare_recipe(recipe, dataset_for({"name": recipe.dataset, **recipe.dataset_options}))
    monitor = base.constraints
    if recipe.constraint == "none" and base.n_classes >= 2:
        probe = dataclasses.replace(recipe, constraint="linear", released=0)
        monitor, _, _ = build_constraints(probe, base.features, base.labels, base.n_classes)
    quadratic = [] if base.constraints is None else base.constraints.quadratic
    display, n_visible = base.dataset.display, base.data.shape[1]
    shape = tuple(display.shape) if display.kind != "sequence" and display.shape else (1, n_visible)
    levels = base.visible_layer.value_range
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(PreparedRecipe)}
    return Prepared(**fields, monitor=monitor, quadratic_norms=[quadratic_norm(c) for c in quadratic],
                    image_shape=shape, levels=levels)


def quadratic_residuals(prepared: Prepared, weight_matrix: np.ndarray) -> list[float]:
    """``recipes.quadratic_residual`` of each quadratic constraint, with the norms computed once."""
    if prepared.constraints is None:
        return []
    return [quadratic_residual(c, weight_matrix, norm)
            for c, norm in zip(prepared.constraints.quadratic, prepared.quadratic_norms)]


# --- checkpoints and saved models ----------------------------------------------------------------------------
def checkpoints_dir() -> Path:
    """``$RBM_EXPLORER_HOME/checkpoints``: where closed or stopped runs of the Train page wait to resume."""
    return user_models_dir().parent / "checkpoints"


def read_checkpoint(path) -> dict | None:
    """The metadata of a Train-page checkpoint (only the small metadata entry is read), or None."""
    try:
        meta = read_checkpoint_metadata(path)
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
        if self.epoch >= self.epochs:  # a run that finished but was never saved: reopening it lets it be saved
            return f"Reopen {self.run_name} (finished, {self.epochs} epochs) to save it"
        return f"Resume {self.run_name} (epoch {self.epoch} of {self.epochs})"


def newest_checkpoint(folder: Path | None = None, exclude: Path | None = None) -> ResumeOffer | None:
    """The most recently written Train-page checkpoint (other than ``exclude``), or None."""
    folder = checkpoints_dir() if folder is None else folder
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        if (exclude is not None and path == exclude) or checkpoint_busy(path):  # busy: running in another tab
            continue
        meta = read_checkpoint(path)
        if meta is None:
            continue
        training, page = meta["training"], meta["train_page"]
        epochs = int(training["config"]["epochs"])
        return ResumeOffer(path, page.get("run_name", path.stem), int(training["epoch"]), epochs,
                           int(training["update"]), int(page.get("total_updates", 0)))
    return None


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
        return copy.deepcopy(t.rbm), t.history.copy(), t.epoch, t.update

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
            curves["quadratic"].append(max(quadratic) if quadratic else float("nan"))  # the worst class
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

    def _checkpoint_metadata(self) -> dict:
        """What the page adds to its checkpoints: the run's name and recipe (to resume it) and what the Models
        page shows of a model file."""
        t, p = self.trainer, self.prepared
        return {
            "train_page": {"run_name": self.run_name, "recipe": recipe_to_dict(self.recipe),
                           "total_updates": t.total_updates},
            "dataset": {"name": self.recipe.dataset, **self.recipe.dataset_options,
                        "label_names": list(p.dataset.label_names)},
            "image_shape": list(p.image_shape),
        }

    def _main(self) -> None:
        try:
            self.prepared = prepare(self.recipe)
            if self._stop.is_set():
                self._publish(phase="stopped", message="Stopped before training began.")
                return
            self.trainer = trainer = build_trainer(self.prepared, self.resume_from)
            self._publish(residual_note=self._residual_note(), levels=self.prepared.levels)
            self._train(trainer)
        except Exception as exc:  # never die silently: the page shows it
            self._publish(phase="failed", error=_problem_text(exc), message="")
        finally:
            self._copy_wanted.clear()
            if self._on_exit is not None:
                self._on_exit()

    def _train(self, trainer: Trainer) -> None:
        """Train to the end or to a stop, publishing as it goes. ``train_with_checkpoints`` checkpoints at the
        first epoch end after every ``CHECKPOINT_SECONDS``, at the end, and where a stop ended the run."""
        first_update, started = trainer.update, time.monotonic()
        doing = self._doing()
        self._measure()
        self._publish_epochs()
        self._publish_progress("training", doing, measured=True)
        after_update = self._update_hook(doing, first_update)
        for _ in train_with_checkpoints(trainer, self.checkpoint, CHECKPOINT_SECONDS, self._checkpoint_metadata(),
                                        progress=after_update, stop=self._stop.is_set):
            self._publish_epochs()
        self._serve_copy()
        self._measure()
        self._publish_end(trainer.update - first_update, time.monotonic() - started)

    def _doing(self) -> str:
        """The status line of a run in progress: algorithm, model size and constraint layout."""
        cfg, recipe, trainer = self.recipe.config, self.recipe, self.trainer
        layout = ("no constraint" if recipe.constraint == "none"
                  else f"{recipe.constraint} constraint, {len(self.prepared.released)} released")
        resumed = f"Resumed at epoch {trainer.epoch}: " if self.resume_from is not None else ""
        return (f"{resumed}{ALGORITHM_NAMES[cfg.algorithm]} with k = {cfg.gibbs_steps}, {recipe.hidden} hidden "
                f"units, {layout}, batches of {cfg.batch_size}")

    def _update_hook(self, doing: str, first_update: int) -> Callable:
        """The callback ``Trainer.run`` calls after every update: serve a wanted copy, measure and publish at
        their rates, and wait in slow motion (waking at once for a stop)."""
        trainer, window = self.trainer, []
        last_publish = last_measure = last_step = time.monotonic()

        def after_update(record) -> None:
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
            if pace and pace > 0:
                self._stop.wait(max(0.0, last_step + 1.0 / pace - time.monotonic()))
            last_step = time.monotonic()

        return after_update

    def _publish_end(self, updates: int, seconds: float) -> None:
        """The final snapshot: done, or stopped (with where the checkpoint stands)."""
        trainer = self.trainer
        if trainer.epoch >= trainer.config.epochs:
            message = (f"Finished {trainer.config.epochs} epochs ({updates} updates in {seconds:.0f} s). Save the "
                       "model to open it on the other pages.")
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
            rbm, history, epoch, update = state  # a copy: save_trained orients its released units in place
            path = user_models_dir(create=True) / (name if name.endswith(".npz") else f"{name}.npz")
            save_trained(path, rbm, history, run.prepared, f"rbm-explorer serve: Train page, run {run.run_name}")
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
