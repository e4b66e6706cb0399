"""The dataset record every loader returns, and the errors loaders raise.

A ``Dataset`` carries all samples as rows of ``data`` with their ``labels``, a fixed train/test split given as
index arrays, and how a sample is shown (``Display``). Keeping the split as indices lets loaders build a
deterministic stratified split once and lets callers take either part without copies of the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ENCODINGS = ("binary", "spin", "potts", "grey")
DISPLAY_KINDS = ("image", "lattice", "sequence")


class DatasetError(ValueError):
    """A dataset cannot be loaded: unknown name, bad option, missing or malformed files."""


@dataclass(frozen=True)
class Display:
    """How one sample is drawn: an H x W ``image`` or spin ``lattice``, or a ``sequence`` over ``alphabet``."""

    kind: str
    shape: tuple[int, ...] | None = None
    alphabet: str | None = None

    def __post_init__(self):
        if self.kind not in DISPLAY_KINDS:
            raise ValueError(f"display kind must be one of {DISPLAY_KINDS}, got {self.kind!r}")


@dataclass
class Dataset:
    """Samples, labels, a train/test split and a display.

    Attributes
    ----------
    name : registry name plus options, e.g. ``"mnist(digits=0,1)"``.
    data : (n_samples, n_features); 0/1 (``binary``), -1/+1 (``spin``), integer states (``potts``) or floats in
        [0, 1] (``grey``), as ``encoding`` says.
    labels : (n_samples,) integer class of each sample, indexing ``label_names``.
    train, test : index arrays into ``data``.
    attributes : further per-sample labels by name (e.g. every face attribute), each (n_samples,).
    weights : optional per-sample weights (protein sequence reweighting), (n_samples,).
    info : source, licence and the options used.
    """

    name: str
    data: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...]
    train: np.ndarray
    test: np.ndarray
    display: Display
    encoding: str
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    weights: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}, got {self.encoding!r}")
        n = len(self.data)
        if len(self.labels) != n:
            raise ValueError(f"{len(self.labels)} labels for {n} samples")
        for name, values in self.attributes.items():
            if len(values) != n:
                raise ValueError(f"attribute {name!r} has {len(values)} values for {n} samples")

    @property
    def n_samples(self) -> int:
        return len(self.data)

    @property
    def n_features(self) -> int:
        return self.data.shape[1]

    def part(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        """(data, labels) of ``'train'``, ``'test'`` or ``'all'``."""
        if which == "all":
            return self.data, self.labels
        if which not in ("train", "test"):
            raise DatasetError(f"part must be 'train', 'test' or 'all', got {which!r}")
        index = self.train if which == "train" else self.test
        return self.data[index], self.labels[index]

    def layer_options(self) -> dict:
        """Options of the visible units that hold these data: ``q`` = the alphabet size for Potts data."""
        return {"q": len(self.display.alphabet)} if self.encoding == "potts" else {}

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return {name: int(c) for name, c in zip(self.label_names, counts)}


def stratified_split(labels: np.ndarray, n_test: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic stratified split: ``n_test`` test samples in proportion to the class sizes.

    Per class, ``round(n_test * class_fraction)`` samples are drawn without replacement (largest remainders
    fix the total); the rest are training samples. Both index arrays are sorted.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    exact = n_test * counts / counts.sum()
    take = np.floor(exact).astype(int)
    short = n_test - take.sum()
    take[np.argsort(-(exact - take), kind="stable")[:short]] += 1
    rng = np.random.default_rng(seed)
    test = np.concatenate([rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in zip(classes, take)])
    test.sort()
    mask = np.ones(len(labels), bool)
    mask[test] = False
    return np.flatnonzero(mask), test


def to_encoding(binary01: np.ndarray, encoding: str) -> np.ndarray:
    """0/1 data as ``binary`` (uint8 0/1) or ``spin`` (int8 -1/+1)."""
    if encoding == "binary":
        return binary01.astype(np.uint8)
    if encoding == "spin":
        return (2 * binary01.astype(np.int8) - 1).astype(np.int8)
    raise DatasetError(f"encoding must be 'binary' or 'spin', got {encoding!r}")
