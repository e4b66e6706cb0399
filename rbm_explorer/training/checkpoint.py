"""Atomic training checkpoints in the public model format, and resuming from them.

A checkpoint is a model file (``rbm_explorer.io``) whose metadata holds the training config, the epoch and
update counters and the state of the chains' noise generator, and whose extra arrays hold the optimizer
moments, the persistent chains and their random counters. Checkpoints are written at epoch boundaries, so a
resumed run replays exactly the minibatches and chain steps an uninterrupted run would have made.
"""

from __future__ import annotations

import time
from pathlib import Path

from rbm_explorer.io import load_model, save_model
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.loop import EpochRecord, Trainer


def save_checkpoint(trainer: Trainer, path, metadata: dict | None = None) -> Path:
    """Write the trainer's full state to ``path`` (atomically)."""
    engine = trainer.engine
    arrays = dict(trainer.optimizer.state_arrays())
    arrays.update(
        chains_v=engine.state.v,
        chains_h=engine.state.h,
        chains_counters=engine.state.counters,
    )
    for epoch, snapshot in trainer.history.weight_snapshots.items():
        arrays[f"weights_epoch_{epoch}"] = snapshot
    training = {
        "config": trainer.config.to_dict(),
        "epoch": trainer.epoch,
        "update": trainer.update,
        "engine_rng": engine._rng.bit_generator.state,
        "epochs": [vars(r) for r in trainer.history.epochs],
    }
    meta = dict(metadata or {})
    meta["training"] = training
    return save_model(path, trainer.rbm, meta, extra_arrays=arrays, compress=False)


def resume_trainer(path, data, constraints=None, sample_weights=None, config: TrainingConfig | None = None) -> Trainer:
    """A trainer in exactly the state saved at ``path``, ready to ``run`` the remaining epochs.

    ``config``, if given, must equal the saved one (a resumed run continues the same run); it guards against
    resuming with other settings by mistake.
    """
    model = load_model(path)
    training = model.metadata.get("training")
    if not training or "epoch" not in training:
        raise ValueError(f"{path}: not a training checkpoint (no 'training' metadata)")
    saved = TrainingConfig.from_dict({k: tuple(v) if k == "snapshot_epochs" else v
                                      for k, v in training["config"].items()})
    if config is not None and config != saved:
        changed = sorted(k for k, v in config.to_dict().items() if saved.to_dict()[k] != v)
        raise ValueError(f"{path}: the checkpoint was made with other training settings ({', '.join(changed)})")
    config = saved
    trainer = Trainer(model.rbm, data, config, constraints=constraints, sample_weights=sample_weights,
                      resuming=True)
    arrays = model.extra_arrays
    trainer.optimizer.load_state_arrays(arrays)
    state = trainer.engine.state
    state.v[...] = arrays["chains_v"]
    state.h[...] = arrays["chains_h"]
    state.counters[...] = arrays["chains_counters"]
    trainer.engine._rng.bit_generator.state = training["engine_rng"]
    trainer.epoch, trainer.update = training["epoch"], training["update"]
    trainer.history.weight_snapshots = {
        int(name.rsplit("_", 1)[1]): arr for name, arr in arrays.items() if name.startswith("weights_epoch_")
    }
    trainer.history.epochs = [EpochRecord(**r) for r in training["epochs"]]
    return trainer


def train_with_checkpoints(trainer: Trainer, path, seconds: float = 30.0, metadata: dict | None = None,
                           progress=None):
    """Run the trainer, checkpointing atomically at the first epoch end after every ``seconds`` of training
    (0: after every epoch) and at the end; yields epoch records."""
    last = time.monotonic()
    for record in trainer.run(callback=progress):
        if time.monotonic() - last >= seconds or record.epoch == trainer.config.epochs:
            save_checkpoint(trainer, path, metadata)
            last = time.monotonic()
        yield record
