"""A picture of a dataset for the CLI: a grid of random samples with their labels, or a sequence logo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rbm_explorer.datasets.base import Dataset
from rbm_explorer.datasets.pictures import save_grid_png, to_grey


def save_dataset_picture(dataset: Dataset, path, n: int = 64, seed: int = 0) -> Path:
    """Write ``path``: ``n`` random samples (sorted by class) as a grid, or the logo of a sequence dataset."""
    if dataset.display.kind == "sequence":
        from rbm_explorer.datasets.logo import logo_heights, render_logo_png

        heights = logo_heights(dataset.data, dataset.weights)
        return Path(render_logo_png(heights, path, dataset.display.alphabet))
    rng = np.random.default_rng(seed)
    pick = rng.choice(dataset.n_samples, size=min(n, dataset.n_samples), replace=False)
    pick = pick[np.argsort(dataset.labels[pick], kind="stable")]
    h, w = dataset.display.shape
    images = to_grey(dataset.data[pick], dataset.encoding).reshape(-1, h, w)
    counts = np.bincount(dataset.labels[pick], minlength=len(dataset.label_names))
    summary = ", ".join(f"{name}: {c}" for name, c in zip(dataset.label_names, counts) if c)
    scale = max(1, 96 // max(h, w))
    return save_grid_png(path, images, title=f"{dataset.name}  ({summary})", columns=8, scale=scale)
