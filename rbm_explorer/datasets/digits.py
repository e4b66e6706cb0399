"""scikit-learn's 8x8 digits (1,797 real handwritten digits shipped inside scikit-learn): for quick tests and
tiny demos. Pixel values 0..16 are scaled to [0, 1]."""

from __future__ import annotations

import numpy as np

from rbm_explorer.datasets.base import Dataset, Display, stratified_split
from rbm_explorer.datasets.encode import binarize, parse_classes


def load_digits8(*, digits="all", threshold=0.5, encoding="binary", test_fraction=0.2) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    classes = parse_classes(digits, range(10))
    keep = np.isin(bunch.target, classes)
    data, encoding = binarize(bunch.data[keep] / 16.0, threshold, encoding)
    labels = np.searchsorted(classes, bunch.target[keep])
    train, test = stratified_split(labels, int(round(test_fraction * len(labels))), seed=0)
    return Dataset(
        name=f"digits8(digits={','.join(map(str, classes))})",
        data=data,
        labels=labels.astype(np.int64),
        label_names=tuple(str(c) for c in classes),
        train=train,
        test=test,
        display=Display("image", (8, 8)),
        encoding=encoding,
        info={"source": "sklearn.datasets.load_digits (UCI optical recognition of handwritten digits)",
              "licence": "CC BY 4.0 (UCI)", "threshold": threshold, "digits": classes},
    )
