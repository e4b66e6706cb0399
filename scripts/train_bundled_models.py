"""Retrain every bundled model of ``assets/models`` from its preset (``rbm_explorer.training.presets``).

Usage: ``python scripts/train_bundled_models.py [NAME ...]`` (default: all presets). Each model is written as
float32 to ``assets/models/<preset>.npz`` with its command, training history and metrics in the metadata,
and the wall time of each is printed (assets/README.md lists them). Weight snapshots are stored in float16
(the default of ``train_recipe``), which is plenty for their spectra and keeps each file small.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from rbm_explorer.training.presets import PRESETS
from rbm_explorer.training.recipes import train_recipe

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "assets" / "models"


def main(names: list[str]) -> None:
    names = names or list(PRESETS)
    unknown = [n for n in names if n not in PRESETS]
    if unknown:
        sys.exit(f"unknown presets {unknown}; presets: {', '.join(PRESETS)}")
    total = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        out = MODELS / f"{name}.npz"
        checkpoint = Path("/tmp") / f"{name}.checkpoint.npz"
        model = train_recipe(PRESETS[name], out, checkpoint=checkpoint, command=f"rbm-explorer train --preset {name}",
                             dtype=np.float32)
        seconds = time.perf_counter() - start
        last = model.metadata["history"]["epochs"][-1]
        print(f"{name}: {seconds:.0f} s, reconstruction error {last['reconstruction_error']:.4f}, "
              f"metrics {model.metadata['metrics']}, {out.stat().st_size / 1e6:.1f} MB", flush=True)
        checkpoint.unlink(missing_ok=True)
    print(f"all: {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
