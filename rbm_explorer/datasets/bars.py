"""Bars and stripes (Pozas-Kerstjens et al. (2021), Secs. 5.1 and 5.2).

* ``bars4``: the 14 images of 4 x 4 pixels made of vertical bars only (all 2^4 column patterns but all-off
  and all-on), split 10 train / 4 test. The test set is two image/negation pairs, so both parts are closed
  under negation.
* ``bars_stripes12``: 12 x 12 images of vertical bars (label 0) or horizontal stripes (label 1), all 2^12
  patterns of each but all-off and all-on: 2 (2^12 - 2) = 8,188 images, split 80/20 by negation pairs.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.datasets.base import Dataset, DatasetError, Display, to_encoding


def column_patterns(width: int) -> np.ndarray:
    """Every 0/1 pattern of ``width`` columns except all-off and all-on, (2^width - 2, width)."""
    codes = np.arange(1, 2**width - 1)
    return ((codes[:, None] >> np.arange(width)) & 1).astype(np.uint8)


def bars(size: int) -> np.ndarray:
    """Vertical-bar images (n, size, size) from every column pattern."""
    patterns = column_patterns(size)
    return np.repeat(patterns[:, None, :], size, axis=1)


def negation_pair_split(images: np.ndarray, n_test_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split into train/test index arrays, keeping each image with its negation."""
    flat = images.reshape(len(images), -1)
    lookup = {row.tobytes(): i for i, row in enumerate(flat)}
    pairs, seen = [], set()
    for i, row in enumerate(flat):
        if i in seen:
            continue
        j = lookup[(1 - row).tobytes()]
        seen.update((i, j))
        pairs.append((i, j))
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(pairs))[:n_test_pairs]
    test = np.sort(np.array([k for p in chosen for k in pairs[p]]))
    train = np.setdiff1d(np.arange(len(images)), test)
    return train, test


def _dataset(name, images, labels, label_names, n_test_pairs, encoding, seed) -> Dataset:
    if encoding not in ("binary", "spin"):
        raise DatasetError(f"encoding must be 'binary' or 'spin', got {encoding!r}")
    train, test = negation_pair_split(images, n_test_pairs, seed)
    size = images.shape[1]
    return Dataset(
        name=name,
        data=to_encoding(images.reshape(len(images), -1), encoding),
        labels=labels,
        label_names=label_names,
        train=train,
        test=test,
        display=Display("image", (size, size)),
        encoding=encoding,
        info={"source": "generated (Pozas-Kerstjens et al. 2021, Secs. 5.1-5.2)", "seed": seed},
    )


def load_bars4(*, encoding="spin", seed=0) -> Dataset:
    images = bars(4)
    return _dataset("bars4", images, np.zeros(len(images), np.int64), ("bars",), 2, encoding, seed)


def load_bars_stripes12(*, encoding="spin", seed=0) -> Dataset:
    vertical = bars(12)
    horizontal = vertical.transpose(0, 2, 1)
    images = np.concatenate([vertical, horizontal])
    labels = np.repeat(np.arange(2, dtype=np.int64), len(vertical))
    n_pairs = len(images) // 2
    return _dataset("bars_stripes12", images, labels, ("bars", "stripes"), round(0.2 * n_pairs), encoding, seed)
