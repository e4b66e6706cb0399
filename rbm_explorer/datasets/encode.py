"""Turning greyscale images into RBM data: binarization and encodings shared by the image loaders."""

from __future__ import annotations

import numpy as np

from rbm_explorer.datasets.base import DatasetError, to_encoding


def binarize(grey: np.ndarray, threshold: float | None, encoding: str) -> tuple[np.ndarray, str]:
    """Greyscale in [0, 1] -> (data, encoding). ``threshold=None`` keeps the greys (encoding ``grey``);
    otherwise a pixel is on when it is strictly above ``threshold``."""
    if threshold is None:
        return grey.astype(np.float32), "grey"
    threshold = float(threshold)
    if not 0.0 <= threshold < 1.0:
        raise DatasetError(f"threshold must lie in [0, 1), got {threshold}")
    return to_encoding(grey > threshold, encoding), encoding


def parse_classes(spec, known: range) -> list[int]:
    """Class subsets: 'all', '0,1', '01', '0-3', an int or a sequence of ints."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return list(known)
    if isinstance(spec, int):
        values = [spec]
    elif isinstance(spec, str):
        text = spec.replace(" ", "")
        try:
            if "-" in text:
                lo, hi = text.split("-")
                values = list(range(int(lo), int(hi) + 1))
            elif "," in text:
                values = [int(t) for t in text.split(",") if t]
            else:
                values = [int(c) for c in text]
        except ValueError:
            raise DatasetError(f"cannot read the class subset {spec!r}; use e.g. '0,1', '0-3' or 'all'") from None
    else:
        values = [int(v) for v in spec]
    bad = [v for v in values if v not in known]
    if bad or not values:
        raise DatasetError(f"classes {bad or values} are not in {known.start}..{known.stop - 1}")
    return sorted(set(values))
