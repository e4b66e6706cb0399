"""The public model file format: an ``.npz`` archive with float arrays and a JSON ``metadata`` entry.

Required arrays: ``weights`` (N x M, or N x q x M for Potts visibles), ``visible_fields`` (N, or N x q),
``hidden_fields`` (M). With a label unit: ``label_weights`` (D x M) and ``label_fields`` (D). Any float dtype.
``metadata`` is a 0-d string array holding a JSON object with ``format = "rbm_explorer.model"``,
``format_version = 1``, ``visible_kind``, ``hidden_kind`` and, for Potts, ``q``; everything else
(``image_shape``, dataset, constraints, history, provenance, metrics) is optional and kept as is.
Files are read with ``allow_pickle=False`` and validated; every problem raises ``ModelFileError``.
"""

from __future__ import annotations

import datetime
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rbm_explorer.io.atomic import atomic_write
from rbm_explorer.io.weight_history import WeightHistory, is_history_array, model_parameters, read_weight_history
from rbm_explorer.layers import Label, layer_for_role, layer_kinds, option_names
from rbm_explorer.rbm import RBM

FORMAT = "rbm_explorer.model"
FORMAT_VERSION = 1
DEFAULT_MAX_BYTES = 2 << 30
REQUIRED_ARRAYS = ("weights", "visible_fields", "hidden_fields")
LABEL_ARRAYS = ("label_weights", "label_fields")


class ModelFileError(ValueError):
    """A model file is missing, unreadable or invalid; the message names the file and the problem."""


@dataclass
class ModelFile:
    """An RBM with its metadata (a JSON-compatible dict) and any extra arrays stored beside it."""

    rbm: RBM
    metadata: dict = field(default_factory=dict)
    extra_arrays: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def image_shape(self) -> tuple | None:
        shape = self.metadata.get("image_shape")
        return tuple(shape) if shape else None

    def weight_history(self) -> WeightHistory:
        """The training history of the weights: singular values per epoch and parameter snapshots
        (``rbm_explorer.io.weight_history``; empty for a file without one). ``ModelFileError`` for stored
        history arrays whose shapes do not fit the model."""
        try:
            return read_weight_history(self.metadata, self.extra_arrays, model_parameters(self.rbm),
                                       where=str(self.path or "model"))
        except ValueError as exc:
            raise ModelFileError(str(exc)) from None

    def save(self, path, **options) -> Path:
        """Write this model, its metadata and extra arrays: ``save_model`` in one call (an imported model
        saves with ``from_sklearn(est).save("m.npz")``). ``options`` go to ``save_model``."""
        return save_model(path, self.rbm, self.metadata, extra_arrays=self.extra_arrays or None, **options)


def _fail(path, problem: str):
    raise ModelFileError(f"{path}: {problem}")


def _check_metadata(path, meta) -> dict:
    if not isinstance(meta, dict):
        _fail(path, "metadata must be a JSON object")
    if meta.get("format") != FORMAT:
        _fail(path, f"metadata 'format' must be {FORMAT!r}, got {meta.get('format')!r}")
    version = meta.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        _fail(path, f"unsupported format_version {meta.get('format_version')!r} (this reader knows {FORMAT_VERSION})")
    for role in ("visible", "hidden"):
        key = f"{role}_kind"
        if key not in meta:
            _fail(path, f"metadata is missing the required key {key!r}")
        allowed = layer_kinds(role)
        if not isinstance(meta[key], str) or meta[key] not in allowed:
            _fail(path, f"unknown {key} {meta[key]!r}; expected one of {', '.join(allowed)}")
    return meta


def _layer_options(path, meta: dict, role: str) -> tuple[type, dict]:
    """The layer class of ``role`` and its constructor options, read from top-level metadata keys."""
    cls = layer_for_role(meta[f"{role}_kind"], role)
    try:
        options = cls.check_options({name: meta.get(name) for name in cls.option_names})
    except ValueError as exc:
        keys = ", ".join(map(repr, cls.option_names))
        _fail(path, f"invalid metadata key {keys} of the {cls.kind} {role} units: {exc}")
    return cls, options


def _float_array(path, name, arr) -> np.ndarray:
    if arr.ndim == 0:
        _fail(path, f"array {name!r} is a scalar; an array is required")
    if arr.size == 0:
        _fail(path, f"array {name!r} is empty (shape {arr.shape})")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        _fail(path, f"array {name!r} has dtype {arr.dtype}; a float array is required")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        kind = "NaN" if np.isnan(arr).any() else "Inf"
        _fail(path, f"array {name!r} contains {kind} ({int(bad.sum())} non-finite entries)")
    return arr


def _check_fields(path, name: str, fields: np.ndarray, cls, options: dict) -> tuple:
    """``fields`` must have the shape the layer class gives for its number of units; returns that shape."""
    n_units = fields.shape[0] if fields.ndim else 0
    expected = cls.field_shape_for(n_units, **options)
    if fields.shape != expected:
        if len(expected) == 1:
            _fail(path, f"{name!r} must be 1-d (one field per unit) for {cls.kind} units, got shape {fields.shape}")
        names = " x ".join(["N", *options])
        sizes = " x ".join(["N", *map(str, expected[1:])])
        _fail(path, f"{name!r} must be {names} = {sizes} for {cls.kind} units, got shape {fields.shape}")
    return expected


def load_model(path, max_bytes: int = DEFAULT_MAX_BYTES) -> ModelFile:
    """Read and validate a model file. Raises ``ModelFileError`` naming the problem."""
    path = Path(path)
    if not path.is_file():
        _fail(path, "no such file")
    size = path.stat().st_size
    if size > max_bytes:
        _fail(path, f"file is {size} bytes, over the limit of {max_bytes} bytes")
    try:
        with zipfile.ZipFile(path) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        _fail(path, f"not a readable .npz archive ({exc})")
    if unpacked > max_bytes:
        _fail(path, f"archive unpacks to {unpacked} bytes, over the limit of {max_bytes} bytes")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            _fail(path, f"archive holds object arrays, which are not allowed ({exc})")
        _fail(path, f"cannot read the archive ({exc})")
    except Exception as exc:  # corrupt members, bad headers
        _fail(path, f"cannot read the archive ({type(exc).__name__}: {exc})")
    for name, arr in arrays.items():
        if not isinstance(arr, np.ndarray):
            _fail(path, f"entry {name!r} is not a .npy array")
    as_float64 = 8 * sum(arrays[n].size for n in (*REQUIRED_ARRAYS, *LABEL_ARRAYS) if n in arrays)
    if as_float64 > max_bytes:
        _fail(path, f"parameters need {as_float64} bytes as float64, over the limit of {max_bytes} bytes")

    if "metadata" not in arrays:
        _fail(path, "missing the required entry 'metadata'")
    raw = arrays.pop("metadata")
    if raw.shape != () or raw.dtype.kind not in "US":
        _fail(path, f"'metadata' must be a 0-d string array holding JSON, got dtype {raw.dtype} shape {raw.shape}")
    try:
        meta = json.loads(raw.item() if raw.dtype.kind == "U" else raw.item().decode())
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        _fail(path, f"'metadata' is not valid JSON ({type(exc).__name__}: {str(exc)[:200]})")
    meta = _check_metadata(path, meta)

    for name in REQUIRED_ARRAYS:
        if name not in arrays:
            _fail(path, f"missing the required array {name!r}")
    params = {name: _float_array(path, name, arrays.pop(name)) for name in REQUIRED_ARRAYS}
    has_label = any(name in arrays for name in LABEL_ARRAYS)
    if has_label:
        for name in LABEL_ARRAYS:
            if name not in arrays:
                _fail(path, f"a label unit needs both 'label_weights' and 'label_fields'; {name!r} is missing")
            params[name] = _float_array(path, name, arrays.pop(name))

    w, g, theta = params["weights"], params["visible_fields"], params["hidden_fields"]
    visible_cls, visible_options = _layer_options(path, meta, "visible")
    hidden_cls, hidden_options = _layer_options(path, meta, "hidden")
    n_hidden = _check_fields(path, "hidden_fields", theta, hidden_cls, hidden_options)[0]
    visible_shape = _check_fields(path, "visible_fields", g, visible_cls, visible_options)
    expected = visible_shape + (n_hidden,)
    if w.shape != expected:
        _fail(path, f"'weights' must have shape {expected} to match the fields, got {w.shape}")

    visible = visible_cls(g, **visible_options)
    hidden = hidden_cls(theta, **hidden_options)
    label = label_weights = None
    if has_label:
        c, d = params["label_fields"], params["label_weights"]
        if c.ndim != 1 or d.shape != (c.shape[0], n_hidden) or c.shape[0] < 2:
            _fail(path, f"'label_weights' must be D x {n_hidden} and 'label_fields' D (D >= 2), got {d.shape}, {c.shape}")
        label, label_weights = Label(c), d
    shape = meta.get("image_shape")
    if shape is not None:
        if not (isinstance(shape, list) and all(type(s) is int and s > 0 for s in shape)):
            _fail(path, f"'image_shape' must be a list of positive integers, got {shape!r}")
        if math.prod(shape) != visible.n_units:
            _fail(path, f"'image_shape' {shape} does not hold {visible.n_units} visible units")
    rbm = RBM(visible, hidden, w, label=label, label_weights=label_weights)
    return ModelFile(rbm, meta, arrays, path)


def model_metadata(rbm: RBM, **extra) -> dict:
    """The required metadata of ``rbm`` merged with ``extra`` keys."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "visible_kind": rbm.visible.kind,
        "hidden_kind": rbm.hidden.kind,
        **rbm.visible.options(),
        **rbm.hidden.options(),
    }
    meta.update(extra)
    return meta


FORMAT_KEYS = ("format", "format_version", "visible_kind", "hidden_kind")


def reserved_metadata_keys() -> frozenset[str]:
    """The metadata keys the file format derives from the model itself: ``FORMAT_KEYS`` and the constructor
    options of every registered unit kind (``q`` of Potts units). ``save_model`` refuses them with other values
    than the model's own; readers (``rbm-explorer info``, the Models page) do not list them as free metadata.
    A function rather than a constant, so that a kind registered after import reserves its options too."""
    return frozenset(FORMAT_KEYS) | option_names()


def _clashing_keys(rbm: RBM, metadata: dict) -> list[str]:
    """Keys of ``metadata`` that the file sets from the model itself but that disagree with it.

    The same keys with the model's own values (the metadata of a loaded or imported ``ModelFile``) are
    accepted, so that ``save_model(path, m.rbm, m.metadata)`` round-trips."""
    own = model_metadata(rbm)
    return sorted(k for k in reserved_metadata_keys() & set(metadata) if k not in own or metadata[k] != own[k])


FORMAT_ARRAYS = ("weights", "visible_fields", "hidden_fields", "label_weights", "label_fields")


def save_model(path, rbm: RBM, metadata: dict | None = None, extra_arrays: dict | None = None,
               compress: bool = True, dtype=np.float64) -> Path:
    """Write ``rbm`` atomically in the public format; ``metadata`` adds optional keys (JSON-serialisable).

    ``metadata`` may hold the keys the format derives from the model (``format``, ``visible_kind``, ``q``...)
    only with the model's own values, as a loaded or imported ``ModelFile`` does; others raise.

    ``dtype=np.float32`` halves the file (bundled models); float arrays are stored in ``dtype``, except
    extra arrays already in float16 (a caller's deliberate choice for bulky arrays) and the weight history
    (``rbm_explorer.io.weight_history``), which keeps the precision it was written in. A
    ``saved_at`` timestamp and the package version are added to ``provenance`` unless present.
    """
    from rbm_explorer import __version__

    for layer, role in ((rbm.visible, "visible"), (rbm.hidden, "hidden")):
        if role not in layer.roles:
            raise ModelFileError(f"the file format has no place for {layer.kind} {role} units")
    clashes = _clashing_keys(rbm, metadata or {})
    if clashes:
        raise ModelFileError(f"metadata keys {clashes} are set from the model itself and disagree with it")
    for name, arr in (("weights", rbm.weights), ("visible_fields", rbm.visible.fields),
                      ("hidden_fields", rbm.hidden.fields)):
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{path}: refusing to save {name} with NaN or Inf")
    meta = model_metadata(rbm, **(metadata or {}))
    provenance = dict(meta.get("provenance") or {})
    provenance.setdefault("package_version", __version__)
    provenance.setdefault("saved_at", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    meta["provenance"] = provenance
    arrays = {
        "weights": rbm.weights,
        "visible_fields": rbm.visible.fields,
        "hidden_fields": rbm.hidden.fields,
        "metadata": np.array(json.dumps(meta)),
    }
    if rbm.label is not None:
        arrays["label_weights"] = rbm.label_weights
        arrays["label_fields"] = rbm.label.feature_fields
    for name, arr in (extra_arrays or {}).items():
        if name in arrays:
            raise ModelFileError(f"extra array {name!r} clashes with a format entry")
        arrays[name] = np.asarray(arr)
    arrays = {name: arr.astype(dtype) if np.issubdtype(np.asarray(arr).dtype, np.floating)
              and not (name not in FORMAT_ARRAYS and (np.asarray(arr).dtype == np.float16 or is_history_array(name)))
              else arr for name, arr in arrays.items()}
    path = Path(path)
    with atomic_write(path) as handle:
        (np.savez_compressed if compress else np.savez)(handle, **arrays)
    return path
