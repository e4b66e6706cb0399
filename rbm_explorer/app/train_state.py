"""Per-session state of the Train page: one training run in the background, published to the page.

The run is a ``training.live_run.TrainingRun`` on a ``live.Runner``: the same live-work machinery as the
sampler pages, and the same calls as ``rbm-explorer train``. This module holds what a browser session adds:

* ``TrainSession`` (a ``SessionState``) keeps the user's settings (checked by ``train_settings``) and the
  read-only published parameters; ``poll`` (the page's frame callback) copies the runner's newest
  ``TrainSnapshot`` into them, and views render only those.
* A run is a task of the shared pool (``live.pool``) and holds a slot of ``budget.TRAINING_RUNS`` from its
  start until it ends. A run over that bound waits in a queue: the page says so, and the run starts by
  itself when a slot is free (``poll`` tries); Stop takes it out of the queue.
* Stopping, and closing the tab, end the run at the next update boundary; the run checkpoints atomically into
  ``catalog.checkpoints_dir(owner)`` and the runner is joined. A later session of the same owner offers to
  resume the newest checkpoint (``catalog.newest_checkpoint``); the resumed run reaches the very weights an
  uninterrupted run with the same seed reaches (the trainer replays the rest of a half-done epoch with its
  minibatch order).
* Everything a session writes or offers is its owner's (``ExplorerSession.owner``): checkpoints and saved
  models go to the owner's folders, and another owner's runs are never offered.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import param

from rbm_explorer.app.budget import TRAINING_RUNS, Budget, CapacityError
from rbm_explorer.app.session_state import SessionState
from rbm_explorer.app.train_settings import offered_datasets, recipe_from_settings, settings_problems
from rbm_explorer.catalog import (CURRENT, ResumeOffer, checkpoints_dir, newest_checkpoint, read_run_checkpoint,
                                  resolve_owner, save_target, user_models_dir)
from rbm_explorer.datasets.faces import ATTRIBUTES
from rbm_explorer.live import Runner, shared_pool
from rbm_explorer.training.checkpoint import RUN_METADATA_KEY
from rbm_explorer.training.config import ALGORITHMS
from rbm_explorer.training.live_run import FINAL_PHASES, TrainingRun, problem_text
from rbm_explorer.training.loop import Trainer
from rbm_explorer.training.recipes import CONSTRAINT_KINDS, Recipe, recipe_from_dict, run_name_for, save_trained

PUBLISH_HZ = 20  # progress: the page's frame rate
THREAD_PREFIX = "rbm-trainer"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.,_-]{0,79}$")
NO_CURVE = {"epoch": np.empty(0), "error": np.empty(0)}


def _problem(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CapacityError) else problem_text(exc)


# --- the session state ---------------------------------------------------------------------------------------
def _dataset_objects() -> dict[str, str]:
    return {choice.label: name for name, choice in offered_datasets().items()}


class TrainSession(SessionState):
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

    # published (read-only); views read these
    running = param.Boolean(default=False, constant=True, doc="A run is working")
    phase = param.String(default="idle", constant=True)
    updates_done = param.Integer(default=0, constant=True, doc="Updates made so far in the run")
    total_updates = param.Integer(default=0, constant=True)
    epoch = param.Integer(default=0, constant=True)
    total_epochs = param.Integer(default=0, constant=True)
    rate = param.Number(default=0.0, constant=True)
    reconstruction = param.Dict(default=NO_CURVE, constant=True)
    residuals = param.Dict(default={}, constant=True)
    residual_note = param.String(default="", constant=True)
    run_constraint = param.String(default="", constant=True, doc="Constraint kind of the run on display")
    mosaic = param.Array(default=None, constant=True, doc="Tiled picture of the negative chains")
    spectrum = param.Dict(default={}, constant=True, doc="Singular values now and at epoch 0, shape and σ_W")
    levels = param.Tuple(default=(0.0, 1.0), length=2, constant=True)
    status = param.String(default="", constant=True)
    resume_label = param.String(default="", constant=True)
    saved_path = param.String(default="", constant=True)
    can_save = param.Boolean(default=False, constant=True)
    run_name = param.String(default="", constant=True)

    def __init__(self, budget: Budget = TRAINING_RUNS, owner=CURRENT, **params):
        super().__init__(**params)
        # whose runs these are: fixed here, since later actions run outside the page build's catalog.owned_by
        self.owner = resolve_owner(owner)
        self._budget = budget
        self._run: TrainingRun | None = None
        self._runner: Runner | None = None
        self._offer: ResumeOffer | None = None
        self._queued: tuple | None = None  # (recipe, run name, checkpoint to resume) waiting for a slot
        self._last_version = -1
        self._closed = False
        self._applying = False
        self._forced_from: str | None = None  # the constraint a single-class dataset replaced by 'none'
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
        if choice.classes == 1:  # forced: remember the user's choice, to give it back with a labelled dataset
            if self._forced_from is None:
                self._forced_from = self.constraint
            updates["constraint"] = "none"
        elif self._forced_from is not None:
            updates["constraint"], self._forced_from = self._forced_from, None
        self.param.update(**updates)

    @param.depends("constraint", watch=True)
    def _on_constraint(self):
        if not self._applying and offered_datasets()[self.dataset].classes != 1:
            self._forced_from = None  # the user chose a constraint themselves

    @param.depends("max_updates_per_second", watch=True)
    def _on_pace(self):
        if self._runner is not None:
            self._runner.steps_per_second = self._pace()

    def _pace(self) -> float | None:
        return self.max_updates_per_second if self.max_updates_per_second > 0 else None

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
                gibbs_steps=cfg.gibbs_steps, quadratic_strength=recipe.quadratic_strength, seed=cfg.seed,
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
        """A run is queued, or alive (preparing, training or writing its checkpoint)."""
        return self._queued is not None or (self._runner is not None and self._runner.alive)

    def start(self) -> bool:
        """Start a new run with the current settings; problems become ``error`` messages. True if started."""
        if self.active:
            self.publish(error="A run is already in progress: stop it first.")
            return False
        problems = settings_problems(self.settings())
        if problems:
            self.publish(error=" ".join(problems))
            return False
        try:
            recipe = recipe_from_settings(self.settings())
        except ValueError as exc:
            self.publish(error=str(exc))
            return False
        name = run_name_for(recipe)
        taken = ({p.stem for p in checkpoints_dir(self.owner).glob("*.npz")}
                 | {p.stem for p in user_models_dir(self.owner).glob("*.npz")})
        unique, k = name, 2
        while unique in taken:  # two runs started in the same second
            unique, k = f"{name}-{k}", k + 1
        return self._launch(recipe, unique, None)

    def resume(self) -> bool:
        """Continue the newest checkpoint's run where it stopped. True if started."""
        if self.active:
            self.publish(error="A run is already in progress: stop it first.")
            return False
        self.refresh_resume()
        offer = self._offer
        if offer is None:
            self.publish(error="There is no checkpoint to resume.")
            return False
        meta = read_run_checkpoint(offer.path)
        try:
            recipe = recipe_from_dict(meta[RUN_METADATA_KEY]["recipe"])
        except (TypeError, ValueError, KeyError) as exc:
            self.publish(error=f"Cannot resume {offer.path.name}: {exc}")
            return False
        self._apply_recipe(recipe)
        return self._launch(recipe, offer.run_name, offer.path)

    def _launch(self, recipe: Recipe, run_name: str, resume_from: Path | None) -> bool:
        if self._closed:
            self.publish(error="This page has been closed.")
            return False
        try:
            self._budget.acquire(self)
        except CapacityError as exc:
            self._queued = (recipe, run_name, resume_from)
            self.publish(running=True, phase="queued", error="", saved_path="", can_save=False, run_name=run_name,
                         status=f"Waiting in the queue: {exc} The run starts by itself as soon as another ends.")
            return True
        return self._start_run(recipe, run_name, resume_from)

    def _start_run(self, recipe: Recipe, run_name: str, resume_from: Path | None) -> bool:
        """Start the run on the shared pool; the caller holds a slot of the budget."""
        try:
            run = TrainingRun(recipe, run_name, checkpoints_dir(self.owner) / f"{run_name}.npz", resume_from)
            runner = Runner(run, self._pace(), publish_hz=PUBLISH_HZ, name=f"{THREAD_PREFIX}-{run_name}",
                            on_exit=lambda: self._budget.release(self), policy=shared_pool())
            runner.share = 1.0  # as much of the pool as one Morph session at its default speed
            self._run, self._runner, self._last_version = run, runner, -1
            self.publish(
                running=True, phase="preparing", error="", saved_path="", can_save=False, run_name=run_name,
                run_constraint=recipe.constraint, status=f"Loading {recipe.dataset} and building the constraints…",
                updates_done=0, total_updates=0, epoch=0, total_epochs=recipe.config.epochs, rate=0.0, mosaic=None,
                reconstruction=NO_CURVE, residuals={}, residual_note="",
            )
            runner.start()
        except Exception as exc:
            self._budget.release(self)
            self.publish(running=False, phase="failed", error=_problem(exc))
            return False
        return True

    def stop(self, timeout: float = 60.0) -> None:
        """Stop at the next update boundary, checkpoint and join; a queued run leaves the queue."""
        if self._queued is not None:
            self._queued = None
            self.publish(running=False, phase="idle", status="Taken out of the queue: the run never started.")
            return
        if not self.active:
            return
        self.publish(status="Stopping…")
        ended = self._runner.stop(timeout)
        self.poll()
        if not ended:
            self.publish(status="Stopping: waiting for the current update to end…")

    def save(self) -> Path | None:
        """Write the current model into the owner's ``user_models_dir``, even under the name of a shared model
        (which stays as it is); returns the path (None, with an ``error``, if there is nothing to save or the name
        is bad)."""
        run = self._run
        name = self.model_name.strip() or (run.run_name if run is not None else "")
        if run is None or run.trainer is None:
            self.publish(error="Nothing to save yet: start a run (or resume one) first.")
            return None
        if not NAME_PATTERN.match(name):
            self.publish(error=f"Model name {name!r} is not a plain file name: use letters, digits, '.', '_', ',' "
                               "or '-' (up to 80 characters).")
            return None
        try:
            state = self._runner.call(TrainingRun.consistent_copy)
            if state is None:
                self.publish(error="Nothing to save yet: training has not begun.")
                return None
            rbm, history, epoch, update = state  # a copy: save_trained orients its released units in place
            path = save_target(name, self.owner)
            save_trained(path, rbm, history, run.prepared, f"rbm-explorer serve: Train page, run {run.run_name}")
        except Exception as exc:
            self.publish(error=f"Could not save the model: {_problem(exc)}")
            return None
        if not self.active and run.phase == "done":  # a finished run that is saved has nothing left to resume
            run.checkpoint.unlink(missing_ok=True)
            self.refresh_resume()
        self.publish(error="", saved_path=str(path),
                     status=f"Saved {path.name} (epoch {epoch}, update {update}) in {path.parent}; the Morph and "
                            "Models pages can open it now.")
        return path

    def refresh_resume(self) -> None:
        """Offer the newest checkpoint (unless a run is going); a run that finished on this page is not offered
        again (its model can be saved as it is)."""
        self._offer = self._newest_offer()
        self.publish(resume_label=self._offer.label if self._offer is not None else "")

    def _newest_offer(self) -> ResumeOffer | None:
        if self.active:
            return None
        run = self._run
        finished = run.checkpoint if run is not None and run.phase == "done" else None
        return newest_checkpoint(exclude=finished, owner=self.owner)

    # --- publishing ------------------------------------------------------------------------------------
    def poll(self) -> None:
        """Copy the run's newest snapshot into the published parameters (runs on the session's loop); start a
        queued run once a slot is free."""
        if self._queued is not None and not self._closed:
            try:
                self._budget.acquire(self)
            except CapacityError:
                return
            queued, self._queued = self._queued, None
            self._start_run(*queued)
        runner = self._runner
        if runner is None:
            return
        snap = runner.snapshot()
        ended = not runner.alive
        if snap.version == self._last_version and not (ended and self.running):
            return
        self._last_version = snap.version
        updates = dict(phase=snap.phase, updates_done=snap.update, total_updates=snap.total_updates, epoch=snap.epoch,
                       total_epochs=snap.epochs, rate=snap.rate, levels=tuple(snap.levels),
                       residual_note=snap.residual_note, can_save=snap.trained)
        if snap.message:
            updates["status"] = snap.message
        if snap.error:
            updates["error"] = snap.error
        if snap.mosaic is not None and snap.mosaic is not self.mosaic:
            updates["mosaic"] = snap.mosaic
        if snap.spectrum is not None and snap.spectrum is not self.spectrum:
            updates["spectrum"] = snap.spectrum
        if len(snap.reconstruction[0]) != len(self.reconstruction["epoch"]):
            updates["reconstruction"] = {"epoch": snap.reconstruction[0], "error": snap.reconstruction[1]}
        if snap.residuals is not None and snap.residuals is not self.residuals:
            updates["residuals"] = snap.residuals
        if ended and snap.phase in FINAL_PHASES:
            updates["running"] = False
            self._offer = self._newest_offer()
            updates["resume_label"] = self._offer.label if self._offer is not None else ""
        self.publish(**updates)

    def close(self) -> None:
        """End the run at the next update boundary, checkpoint it, join, give the slot back."""
        if self._closed:
            return
        self._closed = True
        self._queued = None
        try:
            if self._runner is not None and not self._runner.stop(timeout=120.0):
                raise RuntimeError("the training run did not stop within 120 s")
        finally:
            self._budget.release(self)
