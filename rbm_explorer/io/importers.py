"""Import RBMs from other tools into ``ModelFile`` objects (no pickles).

* a fitted scikit-learn ``BernoulliRBM`` in memory: ``components_`` (M x N), ``intercept_visible_`` (N),
  ``intercept_hidden_`` (M); binary visible and hidden units;
* the HDF5 archives of the PyTorch ``rbms`` package (DsysDML/rbms): a ``model_type`` string dataset
  ("BBRBM", "PBRBM", "IIRBM") and groups ``update_<n>/params/{weight_matrix, vbias, hbias}`` with
  ``weight_matrix`` visible x hidden (x q for Potts: N x q x M) and ``vbias`` N (N x q for Potts). The newest
  update is taken unless one is named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rbm_explorer.io.model_file import ModelFile, ModelFileError, model_metadata
from rbm_explorer.layers import Binary, Potts, Spin
from rbm_explorer.rbm import RBM

RBMS_MODEL_TYPES = {"BBRBM": (Binary, Binary), "PBRBM": (Potts, Binary), "IIRBM": (Spin, Spin)}


def from_sklearn(estimator) -> ModelFile:
    """Convert a fitted ``sklearn.neural_network.BernoulliRBM``."""
    try:
        w = np.asarray(estimator.components_, dtype=np.float64).T
        g = np.asarray(estimator.intercept_visible_, dtype=np.float64)
        theta = np.asarray(estimator.intercept_hidden_, dtype=np.float64)
    except AttributeError as exc:
        raise ModelFileError(f"not a fitted BernoulliRBM: {exc}") from None
    rbm = RBM(Binary(g), Binary(theta), w)
    meta = model_metadata(rbm, provenance={"imported_from": "sklearn.neural_network.BernoulliRBM"})
    return ModelFile(rbm, meta)


def from_rbms_archive(path, update: int | None = None) -> ModelFile:
    """Read one saved update of an ``rbms`` HDF5 archive (the newest by default)."""
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ModelFileError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        try:
            model_type, update, (w, g, theta) = _read_rbms_update(path, f, update)
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"{path}: not in the rbms archive layout ({type(exc).__name__}: {exc})") from None
    visible_cls, hidden_cls = RBMS_MODEL_TYPES[model_type]
    for name, arr in (("weight_matrix", w), ("vbias", g), ("hbias", theta)):
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{path}: {name} contains NaN or Inf")
    try:
        rbm = RBM(visible_cls(g), hidden_cls(theta), w)
    except ValueError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
    meta = model_metadata(rbm, provenance={"imported_from": f"rbms:{model_type}", "source": str(path), "update": update})
    return ModelFile(rbm, meta)


def _read_rbms_update(path, f, update):
    """(model_type, update, (weight_matrix, vbias, hbias)) of one saved update of an open rbms archive."""
    if "model_type" not in f:
        raise ModelFileError(f"{path}: no 'model_type' dataset; not an rbms archive")
    model_type = f["model_type"][()]
    model_type = model_type.decode() if isinstance(model_type, bytes) else str(model_type)
    if model_type not in RBMS_MODEL_TYPES:
        raise ModelFileError(
            f"{path}: unsupported rbms model_type {model_type!r}; supported: {', '.join(RBMS_MODEL_TYPES)}"
        )
    updates = sorted(int(k[7:]) for k in f if k.startswith("update_") and k[7:].isdigit())
    if not updates:
        raise ModelFileError(f"{path}: no update_<n> groups")
    if update is None:
        update = updates[-1]
    elif update not in updates:
        raise ModelFileError(f"{path}: no update {update}; saved updates: {updates}")
    group = f[f"update_{update}"]
    params = group["params"] if "params" in group else group
    try:
        w, g, theta = (np.asarray(params[k][()], dtype=np.float64) for k in ("weight_matrix", "vbias", "hbias"))
    except KeyError as exc:
        raise ModelFileError(f"{path}: update_{update} lacks parameter {exc}") from None
    return model_type, update, (w, g, theta)
