"""Datasets behind one table (``registry.DATASETS``): MNIST, scikit-learn digits, procedural and CelebA faces,
bars and stripes, protein alignments."""

from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split
from rbm_explorer.datasets.registry import DATASETS, DatasetEntry, dataset_entry, list_datasets, load_dataset

__all__ = [
    "Dataset",
    "DatasetError",
    "Display",
    "stratified_split",
    "DATASETS",
    "DatasetEntry",
    "dataset_entry",
    "list_datasets",
    "load_dataset",
]
