"""Datasets behind one registry: MNIST, scikit-learn digits, procedural and CelebA faces, bars and stripes,
protein alignments."""

from rbm_explorer.datasets.base import Dataset, DatasetError, Display, stratified_split
from rbm_explorer.datasets.registry import dataset_entry, list_datasets, load_dataset, register_dataset

__all__ = [
    "Dataset",
    "DatasetError",
    "Display",
    "stratified_split",
    "dataset_entry",
    "list_datasets",
    "load_dataset",
    "register_dataset",
]
