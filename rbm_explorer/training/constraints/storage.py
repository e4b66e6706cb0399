"""Constraints in a model file: one JSON metadata entry and one named array per constraint.

The format (version 1) is what the bundled models and the checkpoints hold; it must not change::

    {"kind": "rbm_explorer.constraints", "version": 1, "n_features": N,
     "constraints": [{"type": "linear", "units": [...], "array": "constraint_0_forbidden", "n_vectors": K,
                      "rank": r, "name": ...},
                     {"type": "quadratic", "units": [...], "array": "constraint_1_matrix", "strength": lambda,
                      "rank": r or null, "name": ...}]}

Entry ``k`` names its array ``{prefix}{k}_{suffix}``; each constraint class chooses the suffix, the array and
its extra fields (``Constraint.stored_array``, ``metadata_fields``), and is found again by its ``type``
(``register_constraint``). ``name`` is written only when the constraint has one.
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.training.constraints.base import constraint_type

__all__ = ["METADATA_KIND", "METADATA_VERSION", "to_metadata", "to_arrays", "from_metadata"]

METADATA_KIND = "rbm_explorer.constraints"
METADATA_VERSION = 1


def _entry(k: int, c, prefix: str) -> tuple[dict, str, np.ndarray]:
    suffix, array = c.stored_array()
    name = f"{prefix}{k}_{suffix}"
    entry = {"type": c.kind, "units": c.units.tolist(), "array": name, **c.metadata_fields()}
    if c.name is not None:
        entry["name"] = str(c.name)
    return entry, name, array


def to_metadata(constraints, n_features, prefix: str = "constraint_") -> dict:
    """The JSON-compatible description of ``constraints``; the arrays it names come from ``to_arrays``."""
    entries = [_entry(k, c, prefix)[0] for k, c in enumerate(constraints)]
    return {"kind": METADATA_KIND, "version": METADATA_VERSION, "n_features": n_features, "constraints": entries}


def to_arrays(constraints, prefix: str = "constraint_") -> dict:
    """name -> float64 array, the arrays the entries of ``to_metadata`` name."""
    return {name: array for name, array in (_entry(k, c, prefix)[1:] for k, c in enumerate(constraints))}


def from_metadata(meta: dict, arrays: dict) -> list:
    """The constraints described by ``to_metadata`` output, with their arrays (e.g. read from a model file)."""
    if not isinstance(meta, dict) or meta.get("kind") != METADATA_KIND:
        raise ValueError(f"not constraint metadata (expected kind {METADATA_KIND!r})")
    if meta.get("version") != METADATA_VERSION:
        raise ValueError(f"unsupported constraint metadata version {meta.get('version')!r}")
    out = []
    for entry in meta.get("constraints", []):
        name = entry.get("array")
        if name not in arrays:
            raise ValueError(f"constraint array {name!r} is missing")
        cls = constraint_type(entry.get("type"))
        out.append(cls.from_stored(entry, np.asarray(arrays[name], dtype=np.float64)))
    return out
