"""Upgrade model files written before 2026-12 to the current weight-history layout, in place.

Usage: ``python scripts/upgrade_weight_history.py [FILE ...]`` (default: every ``assets/models/*.npz``).

What changes (``rbm_explorer.io.weight_history`` describes the layout):

* the singular values move from the epoch records of the metadata into ``history_singular_values`` and
  ``history_epochs``; snapshot epochs that had none recorded (epoch 0) get the spectrum of their snapshot;
* the snapshot of the epoch the model was saved at is dropped when it is the model itself (``model_epoch`` in
  the metadata says so). Older files stored it before the released units were oriented, so it may differ
  from the model by the sign of whole columns (``RBM.flip_hidden_unit`` negates a unit's weights); those
  columns are negated in the other snapshots too, so all snapshots share the model's labelling;
* snapshots are stored in float16;
* a file whose history has the spectra but no snapshot of its last epoch (the Ising models of 2026-12-01 were
  trained keeping the epoch-0 weights only) gets the model itself as that snapshot: ``save_trained`` saves the
  model after its last epoch, so ``model_epoch`` is the last epoch, added to the snapshot epochs of the history
  and of the training config.

The model's own arrays are copied byte for byte; the old files keep loading either way. Old snapshots have no
fields, and a file cannot get them without retraining (``scripts/train_bundled_models.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from rbm_explorer.io.atomic import atomic_write
from rbm_explorer.io.weight_history import EPOCHS, SINGULAR_VALUES, singular_values

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "history_weights_epoch_"


def column_signs(snapshot: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
    """+1 / -1 per column when ``snapshot`` equals ``weights`` up to the sign of whole columns, None when it is
    another matrix. They are compared at the snapshot's precision, within one unit in its last place: a
    float16 snapshot of the float64 weights and the float32 file's weights cast to float16 differ there by
    double rounding (in 1 of 20,000 entries of the face models)."""
    model = weights.astype(snapshot.dtype)
    ulp = np.spacing(np.abs(model))
    same = (np.abs(snapshot - model) <= ulp).all(axis=0)
    negated = (np.abs(snapshot + model) <= ulp).all(axis=0)
    if not (same | negated).all():
        return None
    return np.where(same, 1.0, -1.0)


def upgrade(path: Path) -> str:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(str(arrays["metadata"]))
    history = meta.get("history")
    if not isinstance(history, dict):
        return "nothing to upgrade"
    if SINGULAR_VALUES in arrays:
        return record_model_epoch(path, arrays, meta)
    weights = arrays["weights"].reshape(-1, arrays["hidden_fields"].shape[0])
    snapshots = {int(name[len(PREFIX):]): arrays.pop(name).reshape(weights.shape)
                 for name in list(arrays) if name.startswith(PREFIX)}
    records = history.get("epochs", [])
    final = records[-1]["epoch"] if records else None
    spectra = {r["epoch"]: np.asarray(r.pop("singular_values"), np.float32)
               for r in records if r.get("singular_values") is not None}
    for epoch, snap in snapshots.items():
        spectra.setdefault(epoch, singular_values(snap))
    signs = column_signs(snapshots[final], weights) if final in snapshots else None
    if signs is not None:
        del snapshots[final]
        history["model_epoch"] = final
        snapshots = {epoch: snap * signs.astype(snap.dtype) for epoch, snap in snapshots.items()}
    for r in records:
        r.pop("singular_values", None)
    epochs = sorted(spectra)
    arrays[EPOCHS] = np.array(epochs, dtype=np.int64)
    arrays[SINGULAR_VALUES] = np.stack([spectra[e] for e in epochs]).astype(np.float32)
    for epoch, snap in snapshots.items():
        arrays[f"{PREFIX}{epoch}"] = snap.astype(np.float16)
    rewrite(path, arrays, meta)
    flipped = 0 if signs is None else int((signs < 0).sum())
    return (f"spectra at epochs {epochs}; snapshots {sorted(snapshots)} in float16; "
            f"model epoch {history.get('model_epoch')} ({flipped} flipped columns)")


def rewrite(path: Path, arrays: dict, meta: dict) -> None:
    """Save ``arrays`` with ``meta`` as their metadata over ``path``, atomically."""
    arrays["metadata"] = np.array(json.dumps(meta))
    with atomic_write(path) as handle:
        np.savez_compressed(handle, **arrays)


def record_model_epoch(path: Path, arrays: dict, meta: dict) -> str:
    """Mark the model as the snapshot of its last epoch when the file has no snapshot of that epoch."""
    history = meta["history"]
    records = history.get("epochs", [])
    final = records[-1]["epoch"] if records else None
    if final is None or "model_epoch" in history or f"{PREFIX}{final}" in arrays:
        return "nothing to upgrade"
    history["model_epoch"] = final
    history["snapshot_epochs"] = sorted({*history.get("snapshot_epochs", []), final})
    config = meta.get("training", {}).get("config")
    if isinstance(config, dict):
        config["snapshot_epochs"] = sorted({*config.get("snapshot_epochs", []), final})
    rewrite(path, arrays, meta)
    return f"the model is the snapshot of its last epoch, {final}"


def main(paths: list[str]) -> None:
    files = [Path(p) for p in paths] or sorted((ROOT / "assets" / "models").glob("*.npz"))
    for path in files:
        before = path.stat().st_size
        note = upgrade(path)
        print(f"{path.name}: {before / 1e6:.2f} -> {path.stat().st_size / 1e6:.2f} MB; {note}")


if __name__ == "__main__":
    main(sys.argv[1:])
