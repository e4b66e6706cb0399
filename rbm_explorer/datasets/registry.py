"""The dataset table: a name maps to a loader, given as ``"module:function"``, and a one-line description.

The app and the CLI reach datasets only through ``load_dataset``, ``list_datasets`` and ``dataset_entry``.
Unknown names and options get a ``DatasetError`` that lists what exists.

A loader module is imported the first time its dataset is loaded or its options are asked for
(``pkgutil.resolve_name``); listing the datasets imports none of them. Loader modules do not import this
module, so the table and its members form no import cycle (``tests/test_layering.py`` checks it). Adding a
dataset is one loader module plus one line in ``DATASETS``.
"""

from __future__ import annotations

import inspect
import pkgutil
from dataclasses import dataclass
from typing import Callable

from rbm_explorer.datasets.base import Dataset, DatasetError


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    loader_path: str  # "package.module:function"
    description: str

    @property
    def loader(self) -> Callable[..., Dataset]:
        """The loader function, importing its module on first use."""
        return pkgutil.resolve_name(self.loader_path)

    def options(self) -> dict[str, object]:
        """Keyword options of the loader and their defaults."""
        return {
            p.name: p.default
            for p in inspect.signature(self.loader).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY or p.default is not inspect.Parameter.empty
        }


DATASETS: dict[str, DatasetEntry] = {entry.name: entry for entry in (
    DatasetEntry("mnist", "rbm_explorer.datasets.mnist:load_mnist",
                 "MNIST handwritten digits, 28x28: 10,000 bundled real digits, or a folder of IDX files"),
    DatasetEntry("digits8", "rbm_explorer.datasets.digits:load_digits8",
                 "scikit-learn's 1,797 real 8x8 handwritten digits"),
    DatasetEntry("faces", "rbm_explorer.datasets.faces:load_faces",
                 "procedural line-drawn faces (64, 48 or 32 px, binary) with five exact independent attributes: "
                 "smiling, eyeglasses, bangs, beard, hat"),
    DatasetEntry("celeba", "rbm_explorer.datasets.celeba:load_celeba",
                 "CelebA aligned faces from a local folder (root=...): greyscale, centre-cropped, resized and "
                 "binarized (per-image Otsu), labelled by one of the 40 attributes"),
    DatasetEntry("bars4", "rbm_explorer.datasets.bars:load_bars4",
                 "the 14 4x4 images of vertical bars; 10 train / 4 test, closed under negation"),
    DatasetEntry("bars_stripes12", "rbm_explorer.datasets.bars:load_bars_stripes12",
                 "8,188 12x12 bars-and-stripes images; 80/20 split by negation pairs"),
    DatasetEntry("ww_domain", "rbm_explorer.datasets.proteins:load_ww_domain",
                 "WW domain protein alignment (Pfam PF00397 RP15): 4,025 sequences, 30 columns after the gap "
                 "filter; Potts q=21"),
    DatasetEntry("ising", "rbm_explorer.datasets.ising:load_ising",
                 "2D Ising configurations of an L x L torus at one beta (Metropolis + Wolff, decorrelated by the "
                 "measured tau_int, cached bit-packed), labelled by the sign of the magnetization"),
    DatasetEntry("ising_phases", "rbm_explorer.datasets.ising:load_ising_phases",
                 "ferromagnetic, antiferromagnetic and paramagnetic Ising configurations, labelled by phase"),
    DatasetEntry("alignment", "rbm_explorer.datasets.proteins:load_alignment",
                 "a protein alignment file (FASTA/A2M or Stockholm, optionally gzipped) given by path; Potts q=21"),
)}


def list_datasets() -> list[DatasetEntry]:
    """Every dataset, sorted by name; no loader module is imported."""
    return [DATASETS[name] for name in sorted(DATASETS)]


def dataset_entry(name: str) -> DatasetEntry:
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(sorted(DATASETS))}") from None


def load_dataset(name: str, **options) -> Dataset:
    """Load dataset ``name`` with loader ``options``; unknown options are an error naming the valid ones."""
    entry = dataset_entry(name)
    valid = entry.options()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        listing = ", ".join(f"{k}={v!r}" for k, v in valid.items()) or "none"
        raise DatasetError(f"dataset {name!r} has no option {', '.join(unknown)}; its options: {listing}")
    return entry.loader(**options)
