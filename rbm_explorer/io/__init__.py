"""Reading and writing models: the public ``.npz`` format, atomic writes and importers."""

from rbm_explorer.io.atomic import atomic_write
from rbm_explorer.io.importers import from_rbms_archive, from_sklearn
from rbm_explorer.io.model_file import FORMAT, FORMAT_VERSION, ModelFile, ModelFileError, load_model, save_model

__all__ = [
    "atomic_write",
    "from_rbms_archive",
    "from_sklearn",
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFile",
    "ModelFileError",
    "load_model",
    "save_model",
]
