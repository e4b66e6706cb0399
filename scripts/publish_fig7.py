"""Publish a finished ``rbm-explorer report fig7 --out DIR`` run: its table and figure, and the bundled models.

Usage: ``python scripts/publish_fig7.py DIR``. Copies ``DIR/fig7.csv`` to ``docs/fig7/`` and ``assets/fig7/``
(the app draws the RBM curves from the latter), ``DIR/fig7.png`` to ``docs/fig7/``, and the models of the
bundled Ising presets (``training.presets.ISING_BUNDLED``) to ``assets/models/``, after checking that each was
trained by its preset's recipe. Prints the checks of ``tests/test_fig7_table.py`` that the table misses.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(folder: str) -> None:
    from rbm_explorer.io import load_model
    from rbm_explorer.reports.fig7 import read_rows, recipe_matches
    from rbm_explorer.training.presets import ISING_BUNDLED, PRESETS

    source = Path(folder)
    rows = read_rows(source / "fig7.csv")
    for target in (ROOT / "docs" / "fig7", ROOT / "assets" / "fig7"):
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "fig7.csv", target / "fig7.csv")
    shutil.copyfile(source / "fig7.png", ROOT / "docs" / "fig7" / "fig7.png")
    for beta, variant in ISING_BUNDLED:
        name = f"ising16_beta{beta:.2f}_{variant}"
        path = source / f"{name}.npz"
        if not recipe_matches(load_model(path), PRESETS[name]):
            sys.exit(f"{path} was not trained by the preset {name}")
        shutil.copyfile(path, ROOT / "assets" / "models" / path.name)
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")
    sys.path.insert(0, str(ROOT / "tests"))
    from test_fig7_table import all_checks

    missed = {k: text for k, (ok, text) in all_checks(rows).items() if not ok}
    print(f"{len(missed)} checks missed:")
    for k, text in missed.items():
        print(f"  {k}: {text}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    main(sys.argv[1])
