"""Reading and writing models: the public ``.npz`` format, atomic writes, importers, and the summary of a model
file that ``rbm-explorer info`` and the app's Models page show."""

from rbm_explorer.io.atomic import atomic_write
from rbm_explorer.io.importers import from_rbms_archive, from_sklearn
from rbm_explorer.io.model_file import (
    FORMAT,
    FORMAT_VERSION,
    ModelFile,
    ModelFileError,
    load_model,
    reserved_metadata_keys,
    save_model,
)
from rbm_explorer.io.summary import ModelSummary, summarize

__all__ = [
    "atomic_write",
    "from_rbms_archive",
    "from_sklearn",
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFile",
    "ModelFileError",
    "load_model",
    "ModelSummary",
    "reserved_metadata_keys",
    "save_model",
    "summarize",
]
