"""The dataset registry: a name maps to a loader with keyword options.

The app and the CLI reach datasets only through ``load_dataset`` and ``list_datasets``. Unknown names and
options get a ``DatasetError`` that lists what exists.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from rbm_explorer.datasets.base import Dataset, DatasetError


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    loader: Callable[..., Dataset]
    description: str

    def options(self) -> dict[str, object]:
        """Keyword options of the loader and their defaults."""
        return {
            p.name: p.default
            for p in inspect.signature(self.loader).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY or p.default is not inspect.Parameter.empty
        }


_REGISTRY: dict[str, DatasetEntry] = {}


def register_dataset(name: str, description: str):
    """Decorator: register ``loader`` under ``name``."""

    def wrap(loader):
        _REGISTRY[name] = DatasetEntry(name, loader, description)
        return loader

    return wrap


def list_datasets() -> list[DatasetEntry]:
    _import_loaders()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def dataset_entry(name: str) -> DatasetEntry:
    _import_loaders()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DatasetError(f"unknown dataset {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def load_dataset(name: str, **options) -> Dataset:
    """Load dataset ``name`` with loader ``options``; unknown options are an error naming the valid ones."""
    entry = dataset_entry(name)
    valid = entry.options()
    unknown = sorted(set(options) - set(valid))
    if unknown:
        listing = ", ".join(f"{k}={v!r}" for k, v in valid.items()) or "none"
        raise DatasetError(f"dataset {name!r} has no option {', '.join(unknown)}; its options: {listing}")
    return entry.loader(**options)


def _import_loaders() -> None:
    """Import the loader modules so that their ``register_dataset`` calls have run."""
    from rbm_explorer.datasets import bars, celeba, digits, faces, mnist, proteins  # noqa: F401
