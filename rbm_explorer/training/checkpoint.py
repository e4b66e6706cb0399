"""Atomic training checkpoints in the public model format, and resuming from them.

A checkpoint is a model file (``rbm_explorer.io``) holding ``Trainer.state_dict()``: its metadata holds the
training config, the epoch, update and minibatch counters and the state of the chains' noise generator, and
its extra arrays hold the optimizer moments, the persistent chains, their random counters and the weight
history (``rbm_explorer.io.weight_history``). It may be written at any update boundary - at an
epoch end, or where ``Trainer.run`` was stopped mid-epoch - and a resumed run replays exactly the minibatches
and chain steps an uninterrupted run would have made, so it reaches the same weights bit for bit.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from rbm_explorer.io import load_model, save_model
from rbm_explorer.io.weight_history import history_arrays, model_parameters, read_weight_history
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.loop import EpochRecord, History, Trainer

RUN_METADATA_KEY = "train_page"  # checkpoints of live runs (the Train page): the run's name, recipe and size


def save_checkpoint(trainer: Trainer, path, metadata: dict | None = None) -> Path:
    """Write the trainer's full state (``Trainer.state_dict``) to ``path`` atomically; call it between updates,
    never during one. Snapshots keep their full precision here, unlike in trained model files."""
    state = trainer.state_dict()
    chains = state["chains"]
    arrays = dict(state["optimizer"])
    arrays.update(chains_v=chains["v"], chains_h=chains["h"], chains_counters=chains["counters"])
    history_arrays_, history_meta = history_arrays(state["history"].weight_history(), snapshot_dtype=None)
    arrays.update(history_arrays_)
    training = {
        "config": trainer.config.to_dict(),
        "epoch": state["epoch"],
        "update": state["update"],
        "batch": state["batch"],
        "engine_rng": chains["rng"],
        "engine_steps": chains["steps"],
        "epochs": [vars(r) for r in state["history"].epochs],
        "history": history_meta,
    }
    meta = dict(metadata or {})
    meta["training"] = training
    return save_model(path, trainer.rbm, meta, extra_arrays=arrays, compress=False)


def read_checkpoint_metadata(path) -> dict:
    """The metadata of a checkpoint (or any model file) without reading its arrays: cheap enough to list many
    checkpoints. Raises ``OSError``, ``KeyError`` or ``ValueError`` for a file that is not one."""
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["metadata"]))
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the metadata is not a JSON object")
    return meta


def _saved_config(path, training: dict, config: TrainingConfig | None) -> TrainingConfig:
    """The checkpoint's training config; ``config``, if given, must equal it."""
    saved = TrainingConfig.from_dict({k: tuple(v) if k == "snapshot_epochs" else v
                                      for k, v in training["config"].items()})
    if config is not None and config != saved:
        changed = sorted(k for k, v in config.to_dict().items() if saved.to_dict()[k] != v)
        raise ValueError(f"{path}: the checkpoint was made with other training settings ({', '.join(changed)})")
    return saved


def resume_trainer(path, data, constraints=None, sample_weights=None, config: TrainingConfig | None = None,
                   test_data=None) -> Trainer:
    """A trainer in exactly the state saved at ``path``, ready to ``run`` the rest of the run (also the rest
    of an epoch that was stopped in the middle).

    ``config``, if given, must equal the saved one (a resumed run continues the same run); it guards against
    resuming with other settings by mistake.
    """
    model = load_model(path)
    training = model.metadata.get("training")
    if not training or "epoch" not in training:
        raise ValueError(f"{path}: not a training checkpoint (no 'training' metadata)")
    config = _saved_config(path, training, config)
    trainer = Trainer(model.rbm, data, config, constraints=constraints, sample_weights=sample_weights,
                      resuming=True, test_data=test_data)
    try:
        trainer.load_state_dict(_state_from_checkpoint(path, model, training, trainer.updates_per_epoch))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return trainer


def _state_from_checkpoint(path, model, training: dict, updates_per_epoch: int) -> dict:
    """The ``Trainer.state_dict`` a checkpoint holds. Older checkpoints lack ``batch`` (their run stopped at
    the update counter's place in the epoch), named snapshots ``weights_epoch_E`` and kept singular values in
    the epoch records; all of that still reads."""
    arrays = model.extra_arrays
    epoch, update = training["epoch"], training["update"]
    batch = training.get("batch", update - epoch * updates_per_epoch)  # Trainer.load_state_dict checks the range
    recorded = {"history": {"epochs": training.get("epochs", []), **(training.get("history") or {})}}
    weights = read_weight_history(recorded, arrays, model_parameters(model.rbm), where=str(path))
    epochs = [EpochRecord.from_dict(r) for r in training.get("epochs", [])]
    return {
        "epoch": epoch,
        "update": update,
        "batch": batch,
        "optimizer": arrays,
        "chains": {"v": arrays["chains_v"], "h": arrays["chains_h"], "counters": arrays["chains_counters"],
                   "steps": training.get("engine_steps", 0), "rng": training["engine_rng"]},
        "history": History.from_weight_history(epochs, weights),
    }


class CheckpointBusy(RuntimeError):
    """Another run is writing this checkpoint."""


class CheckpointClaim:
    """An exclusive claim on a checkpoint while a run writes it, so that two runs - two browser tabs resuming
    the same run, two server processes, a second ``rbm-explorer train --resume`` - never write one file.

    The claim is an ``flock`` on ``<checkpoint>.lock``, removed again on release. The operating system drops
    the lock when the process ends, so a crash leaves no stale claim (only the small file). A lock taken on a
    file that a finishing run removed meanwhile is not a claim: the inode is checked and the lock taken again.
    Where ``flock`` does not exist (Windows), claims are not enforced."""

    def __init__(self, path):
        self.path = Path(f"{path}.lock")
        self._file = None
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            handle = open(self.path, "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                break
            try:
                current = os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
            except FileNotFoundError:
                current = False
            if current:
                self._file = handle
                return
            handle.close()
        raise CheckpointBusy(f"checkpoint {Path(path).name} is in use by another run (another tab, server process "
                             "or command); wait for it to stop")

    def release(self) -> None:
        """Give the claim up (idempotent): remove the lock file while still holding it, then unlock."""
        if self._file is not None:
            try:
                self.path.unlink()
            except OSError:
                pass
            self._file.close()  # closing the file drops the flock
            self._file = None


def checkpoint_busy(path) -> bool:
    """True while another run holds the checkpoint's claim (``CheckpointClaim``)."""
    try:
        CheckpointClaim(path).release()
        return False
    except CheckpointBusy:
        return True


class CheckpointedRun:
    """The checkpoints of one run: a claim on the file for the run's whole life, an atomic checkpoint at the
    first epoch end after every ``seconds`` of training (0: after every epoch) and at the last epoch, and one
    where the run stops early, unless no update was made since it began (there is nothing new to save).

    ``CheckpointClaim`` is taken here, so a second run on the same file raises ``CheckpointBusy`` before it
    trains. ``train_with_checkpoints`` and the Train page's live run both keep their checkpoints this way."""

    def __init__(self, trainer: Trainer, path, seconds: float = 30.0, metadata: dict | None = None):
        self.trainer, self.path, self.seconds, self.metadata = trainer, Path(path), float(seconds), metadata
        self._claim = CheckpointClaim(path)
        self._last = time.monotonic()
        self._first_update = trainer.update

    def epoch_ended(self, record) -> None:
        """Checkpoint if it is time, or if the run has reached its last epoch."""
        if time.monotonic() - self._last >= self.seconds or record.epoch == self.trainer.config.epochs:
            save_checkpoint(self.trainer, self.path, self.metadata)
            self._last = time.monotonic()

    def close(self, save: bool = True) -> None:
        """The run has ended: save an early stop's progress (unless ``save`` is False, as after a failure),
        and give up the claim. Idempotent."""
        if self._claim is None:
            return
        trainer = self.trainer
        try:
            if save and trainer.epoch < trainer.config.epochs and trainer.update > self._first_update:
                save_checkpoint(trainer, self.path, self.metadata)
        finally:
            self._claim.release()
            self._claim = None


def train_with_checkpoints(trainer: Trainer, path, seconds: float = 30.0, metadata: dict | None = None,
                           progress=None, stop=None):
    """Run the trainer with the checkpoints of ``CheckpointedRun``; yields epoch records. ``stop`` (see
    ``Trainer.run``) ends the run at an update boundary, and the state there is checkpointed too."""
    run = CheckpointedRun(trainer, path, seconds, metadata)
    try:
        for record in trainer.run(callback=progress, stop=stop):
            run.epoch_ended(record)
            yield record
    except BaseException:  # a failure, or the caller closed the generator: keep the last good checkpoint
        run.close(save=False)
        raise
    run.close()
