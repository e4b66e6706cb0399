"""A training run as a live computation: what the Train page watches, with no GUI in it.

``TrainingRun`` plugs into ``rbm_explorer.live.Runner`` like the Gibbs sampler does. Its first step prepares
the recipe (loads the data, builds the constraints and the trainer, or resumes a checkpoint); every later
step is one ``Trainer.step`` update. Around the updates it keeps the run's checkpoints (``CheckpointedRun``:
claimed for the run's life, written at the first epoch end after every ``CHECKPOINT_SECONDS``, at the end,
and where a stop ends the run), measures the sample grid and the constraint residuals at most every
``MEASURE_PERIOD`` seconds, and describes itself in an immutable ``TrainSnapshot``.

The numbers come through the very calls of ``rbm-explorer train`` (``recipes.prepare_recipe``,
``build_trainer``, ``save_trained``), so a model trained live equals one trained on the command line with
the same recipe. The constraints are those of Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023): the hard
linear projection (Eqs. 6–7, Eq. 26 for several classes) and the quadratic penalty (Eqs. 8–10).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rbm_explorer.analysis.judge import dataset_for
from rbm_explorer.io.weight_history import singular_values
from rbm_explorer.live import RunStatus
from rbm_explorer.pictures import tile_chains
from rbm_explorer.training.checkpoint import RUN_METADATA_KEY, CheckpointedRun
from rbm_explorer.training.recipes import (
    PreparedRecipe,
    Recipe,
    build_constraints,
    build_trainer,
    quadratic_norm,
    quadratic_residual,
    prepare_recipe,
    recipe_to_dict,
)

MEASURE_PERIOD = 0.2  # samples and constraint residuals: each costs a product with W
SPECTRUM_PERIOD = 1.0  # the live singular values: a Gram product and its eigenvalues (~20 ms at 784 x 400)
CHECKPOINT_SECONDS = 60.0  # also checkpoint at the first epoch end after this long (a crash loses little)
MAX_CHAINS_SHOWN = 64
MAX_CURVE_POINTS = 4000
FINAL_PHASES = ("done", "stopped", "failed")
ALGORITHM_NAMES = {"pcd": "PCD", "cd": "CD", "rdm": "Rdm"}


@dataclass
class Prepared(PreparedRecipe):
    """A prepared recipe with what a live view adds: the constraint set whose violation the residual curve
    shows, the norms of the quadratic constraints (computed once), the picture shape and the state range."""

    monitor: object
    quadratic_norms: list
    image_shape: tuple
    levels: tuple


def prepare(recipe: Recipe) -> Prepared:
    """``prepare_recipe`` on the process's cached copy of the dataset, plus the label probe of unconstrained
    runs (how far free units align with the label), the quadratic norms, the picture shape and the range."""
    base = prepare_recipe(recipe, dataset_for({"name": recipe.dataset, **recipe.dataset_options}))
    monitor = base.constraints
    if recipe.constraint == "none" and base.n_classes >= 2:
        probe = dataclasses.replace(recipe, constraint="linear", released=0)
        monitor, _, _ = build_constraints(probe, base.features, base.labels, base.n_classes)
    quadratic = [] if base.constraints is None else base.constraints.quadratic
    display, n_visible = base.dataset.display, base.data.shape[1]
    shape = tuple(display.shape) if display.kind != "sequence" and display.shape else (1, n_visible)
    fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(PreparedRecipe)}
    return Prepared(**fields, monitor=monitor, quadratic_norms=[quadratic_norm(c) for c in quadratic],
                    image_shape=shape, levels=base.visible_layer.value_range)


def quadratic_residuals(prepared: Prepared, weight_matrix: np.ndarray) -> list[float]:
    """``recipes.quadratic_residual`` of each quadratic constraint, with the norms computed once."""
    if prepared.constraints is None:
        return []
    return [quadratic_residual(c, weight_matrix, norm)
            for c, norm in zip(prepared.constraints.quadratic, prepared.quadratic_norms)]


@dataclass(frozen=True)
class TrainSnapshot:
    """What a run last published; immutable, so a page reads it without a lock."""

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
    spectrum: dict | None = None  # values now, at epoch 0, the shape and σ_W of the initialisation
    message: str = ""
    error: str = ""
    trained: bool = False  # a trainer exists, so there is a model to save


def problem_text(exc: BaseException) -> str:
    """A failure in words: the message of the errors a user can act on, the type too for the others."""
    if isinstance(exc, (ValueError, FloatingPointError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class TrainingRun:
    """One training run, step by step (see the module docstring), checkpointed to ``checkpoint``; with
    ``resume_from``, it continues that checkpoint's run."""

    def __init__(self, recipe: Recipe, run_name: str, checkpoint, resume_from: Path | None = None):
        self.recipe, self.run_name, self.checkpoint = recipe, run_name, Path(checkpoint)
        self.resume_from = resume_from
        self.prepared: Prepared | None = None
        self.trainer = None
        self.finished = False
        self.phase, self.message, self.error = "preparing", f"Loading {recipe.dataset}…", ""
        self._checkpoints: CheckpointedRun | None = None
        self._residuals = {"update": [], "linear": [], "quadratic": []}
        self._residual_arrays = None
        self._reconstruction = ((), ())
        self._mosaic = None
        self._spectrum = None
        self._last_spectrum = -np.inf
        self._residual_note = ""
        self._last_measure = -np.inf
        self._first_update = 0
        self._started = time.monotonic()

    # --- the live computation --------------------------------------------------------------------------
    def step(self) -> None:
        if self.trainer is None:
            self._begin()
            return
        trainer = self.trainer
        record = trainer.step()
        now = time.monotonic()
        if now - self._last_measure >= MEASURE_PERIOD or trainer.update == self._first_update + 1:
            self._measure()
        if now - self._last_spectrum >= SPECTRUM_PERIOD:
            self._measure_spectrum()
        if record is not None:
            self._checkpoints.epoch_ended(record)
            self._record_epochs()
        if trainer.epoch >= trainer.config.epochs:
            self._end("done")

    def snapshot(self, status: RunStatus) -> TrainSnapshot:
        t = self.trainer
        progress = {} if t is None else dict(update=t.update, total_updates=t.total_updates, epoch=t.epoch)
        return TrainSnapshot(
            version=status.version, phase=self.phase, epochs=self.recipe.config.epochs,
            rate=status.rate if self.phase == "training" else 0.0, reconstruction=self._reconstruction,
            residuals=self._residual_arrays, residual_note=self._residual_note, mosaic=self._mosaic,
            levels=(0.0, 1.0) if self.prepared is None else self.prepared.levels, spectrum=self._spectrum,
            message=self.message,
            error=self.error, trained=t is not None, **progress,
        )

    def on_error(self, exc: BaseException) -> str:
        """A failed step ends the run; the page shows why."""
        self.error, self.message, self.phase, self.finished = problem_text(exc), "", "failed", True
        return self.error

    def close(self) -> None:
        """The run has ended: checkpoint a stopped run's progress (not a failed one's), release the claim."""
        if self._checkpoints is not None:
            self._checkpoints.close(save=self.phase != "failed")
        if self.phase in ("preparing", "training"):
            if self.trainer is None or self.trainer.update == self._first_update:
                self.phase, self.message = "stopped", "Stopped before training began."
            else:
                self._measure()
                self._end("stopped")

    # --- commands ----------------------------------------------------------------------------------------
    def consistent_copy(self):
        """(rbm copy, history copy, epoch, update), taken between two updates; None before training."""
        t = self.trainer
        if t is None:
            return None
        return copy.deepcopy(t.rbm), t.history.copy(), t.epoch, t.update

    # --- internals -----------------------------------------------------------------------------------------
    def _begin(self) -> None:
        self.prepared = prepare(self.recipe)
        self.trainer = trainer = build_trainer(self.prepared, self.resume_from)
        self._checkpoints = CheckpointedRun(trainer, self.checkpoint, CHECKPOINT_SECONDS, self.checkpoint_metadata())
        self._first_update, self._started = trainer.update, time.monotonic()
        self._residual_note = self.residual_note()
        self.phase, self.message = "training", self.doing()
        self._measure()
        self._measure_spectrum()
        self._record_epochs()

    def _end(self, phase: str) -> None:
        trainer, cfg = self.trainer, self.trainer.config
        updates, seconds = trainer.update - self._first_update, time.monotonic() - self._started
        self._measure()
        self._measure_spectrum()
        if phase == "done":
            self.message = (f"Finished {cfg.epochs} epochs ({updates} updates in {seconds:.0f} s). Save the model "
                            "to open it on the other pages.")
        else:
            self.message = (f"Stopped at epoch {trainer.epoch} of {cfg.epochs}, update {trainer.update} of "
                            f"{trainer.total_updates}; checkpoint saved, Resume continues the run.")
        self.phase, self.finished = phase, True

    def _record_epochs(self) -> None:
        records = self.trainer.history.epochs
        self._reconstruction = (np.array([r.epoch for r in records]),
                                np.array([r.reconstruction_error for r in records]))

    def _measure_spectrum(self) -> None:
        """The singular values of W now and at epoch 0, against the Marchenko–Pastur law of the initialisation
        (Toledo-Marin, Maiti, Fox and Melko 2025, Fig. 3): what the Train page's spectrum plot shows."""
        t = self.trainer
        self._last_spectrum = time.monotonic()
        w = t.rbm.weight_matrix
        self._spectrum = {"values": singular_values(w), "initial": t.history.spectra.get(0), "shape": w.shape,
                          "sigma_w": float(t.config.weight_std), "epoch": t.epoch, "update": t.update}

    def _measure(self) -> None:
        """The sample grid and the constraint residuals, appended to the run's curves."""
        t, p = self.trainer, self.prepared
        self._last_measure = time.monotonic()
        samples = t.live_statistics(singular_values=False)["samples"][:MAX_CHAINS_SHOWN]
        columns = 1 if p.image_shape[0] == 1 else int(np.ceil(np.sqrt(len(samples))))
        self._mosaic = tile_chains(np.asarray(samples, np.float32), p.image_shape, columns)
        if p.monitor is None:
            return
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
        self._residual_arrays = {k: np.array(v, dtype=np.float64) for k, v in curves.items()}

    def residual_note(self) -> str:
        """What the residual curve measures for this run's constraint."""
        if self.prepared.monitor is None:
            return "This dataset has a single class: there is no label direction to measure."
        if self.recipe.constraint == "none":
            return ("No constraint: the curve is max |q·w_μ| / (|q| |w_μ|) over all units, for comparison — "
                    "free units are allowed to pick up the label.")
        note = ("Linear: max |q·w_μ| / (|q| |w_μ|) over constrained units; the projection after every update "
                "(Eqs. 6–7) keeps it at rounding level.")
        if self.recipe.constraint == "quadratic":
            note += " Quadratic: ‖W_cᵀ q⁽²⁾ W_c‖ / (‖q⁽²⁾‖ ‖W_c‖²), pushed down by the penalty (Eqs. 8–10)."
        return note

    def doing(self) -> str:
        """The status line of a run in progress: algorithm, model size and constraint layout."""
        cfg, recipe, trainer = self.recipe.config, self.recipe, self.trainer
        layout = ("no constraint" if recipe.constraint == "none"
                  else f"{recipe.constraint} constraint, {len(self.prepared.released)} released")
        resumed = f"Resumed at epoch {trainer.epoch}: " if self.resume_from is not None else ""
        return (f"{resumed}{ALGORITHM_NAMES[cfg.algorithm]} with k = {cfg.gibbs_steps}, {recipe.hidden} hidden "
                f"units, {layout}, batches of {cfg.batch_size}")

    def checkpoint_metadata(self) -> dict:
        """What the run adds to its checkpoints: its name and recipe (to resume it) and what the Models page
        shows of a model file."""
        t, p = self.trainer, self.prepared
        return {
            RUN_METADATA_KEY: {"run_name": self.run_name, "recipe": recipe_to_dict(self.recipe),
                               "total_updates": t.total_updates},
            "dataset": {"name": self.recipe.dataset, **self.recipe.dataset_options,
                        "label_names": list(p.dataset.label_names)},
            "image_shape": list(p.image_shape),
        }
