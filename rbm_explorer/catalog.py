"""The catalogue of models the app and the CLI can open: the bundled ones and the user's own saved models.

Models are grouped into *families*: models of the same data (dataset name plus digit subset or attribute) and
the same shapes, which differ only in their constraint. Within a family each model is a *variant*
(unconstrained, linear on all units, quadratic on all units, or with released units); this is the
constraint toggle of the Morph page (Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Figs. 6, 8 and 9).
Variants of one family can be swapped under running chains because their layouts agree.

User models live in ``user_models_dir()``: ``$RBM_EXPLORER_HOME/models``, by default
``~/.rbm_explorer/models``. The Train page saves there and the Models page lists them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from rbm_explorer.io import ModelFile, load_model
from rbm_explorer.resources import assets_dir
from rbm_explorer.training.checkpoint import RUN_METADATA_KEY, checkpoint_busy, read_checkpoint_metadata

VARIANT_ORDER = ("unconstrained", "linear, all units", "quadratic, all units")


def user_models_dir(create: bool = False) -> Path:
    """Where the app and ``rbm-explorer train`` keep models a user saved (``$RBM_EXPLORER_HOME/models``)."""
    home = Path(os.environ.get("RBM_EXPLORER_HOME", Path.home() / ".rbm_explorer"))
    path = home / "models"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def variant_name(metadata: dict) -> str:
    """A model's place in its family: 'unconstrained', 'linear, all units', 'quadratic, all units' or
    'linear, N released' (from the ``constraint`` and ``released_units`` metadata of the bundled models)."""
    kind = (metadata.get("constraint") or {}).get("kind", "none")
    released = metadata.get("released_units") or []
    if kind in (None, "none"):
        return "unconstrained" if not released else f"{len(released)} released"
    if released:
        return f"{kind}, {len(released)} released"
    return f"{kind}, all units"


def family_key(metadata: dict, n_visible: int, n_hidden: int) -> str:
    """Models with the same data and shapes share a family key, e.g. ``mnist digits=0,1 784x400``."""
    dataset = dict(metadata.get("dataset") or {})
    name = dataset.pop("name", None) or metadata.get("family") or "model"
    dataset.pop("label_names", None)
    options = " ".join(f"{k}={v}" for k, v in sorted(dataset.items()) if k in ("digits", "attribute", "size"))
    return " ".join(part for part in (name, options, f"{n_visible}x{n_hidden}") if part)


def family_title(metadata: dict, n_visible: int) -> str:
    """A readable family name: 'MNIST 0/1', 'MNIST 0-3', 'Faces: smiling (32x32)', 'Ising 32x32 spins'."""
    dataset = metadata.get("dataset") or {}
    name = dataset.get("name")
    if name == "mnist":
        digits = str(dataset.get("digits", "0-9"))
        return "MNIST " + digits.replace(",", "/")
    if name == "faces":
        size = dataset.get("size")
        return f"Faces: {dataset.get('attribute', '')}" + (f" ({size}x{size})" if size else "")
    if name:
        return str(name)
    shape = metadata.get("image_shape")
    if metadata.get("family") == "ising" or (shape and "ising" in json.dumps(metadata).lower()):
        return f"Ising {shape[0]}x{shape[1]} spins" if shape else "Ising spins"
    return metadata.get("description", f"{n_visible} visible units")[:40]


@dataclass(frozen=True)
class ModelEntry:
    """One model file with the facts the app needs to place it, read once from its metadata."""

    name: str
    path: Path
    family: str
    family_title: str
    variant: str
    bundled: bool
    metadata: dict = field(repr=False, compare=False, hash=False)

    def load(self) -> ModelFile:
        return _load_cached(str(self.path), self.path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _load_cached(path: str, mtime_ns: int) -> ModelFile:
    return load_model(path)


def entry_for(path, bundled: bool = False) -> ModelEntry:
    """Describe one model file (raises ``ModelFileError`` when it is not a valid model)."""
    path = Path(path)
    model = _load_cached(str(path), path.stat().st_mtime_ns)
    meta = model.metadata
    n_v, n_h = model.rbm.n_visible, model.rbm.n_hidden
    return ModelEntry(path.stem, path, family_key(meta, n_v, n_h), family_title(meta, n_v), variant_name(meta),
                      bundled, meta)


def catalog(include_user: bool = True) -> list[ModelEntry]:
    """Every bundled model, then the user's saved models that load (broken files are skipped here; the
    Models page shows their errors when opened)."""
    entries = [entry_for(p, bundled=True) for p in sorted((assets_dir() / "models").glob("*.npz"))]
    if include_user and user_models_dir().is_dir():
        for path in sorted(user_models_dir().glob("*.npz")):
            try:
                entries.append(entry_for(path))
            except (ValueError, OSError):
                continue
    return entries


def families(entries: list[ModelEntry] | None = None) -> dict[str, dict[str, ModelEntry]]:
    """Family title -> {variant -> entry}, variants in the order unconstrained, linear, quadratic, released.
    User models of a bundled family join it; a name clash keeps the bundled variant and adds the file name."""
    entries = catalog() if entries is None else entries
    titles: dict[str, str] = {}
    grouped: dict[str, dict[str, ModelEntry]] = {}
    for e in entries:
        title = titles.setdefault(e.family, e.family_title)
        if title in grouped and e.family not in (x.family for x in grouped[title].values()):
            title = f"{title} [{e.family}]"
        variants = grouped.setdefault(title, {})
        variant = e.variant if e.variant not in variants else f"{e.variant} ({e.name})"
        variants[variant] = e

    def order(item):
        name = item[0]
        return (VARIANT_ORDER.index(name) if name in VARIANT_ORDER else len(VARIANT_ORDER), name)

    return {title: dict(sorted(v.items(), key=order)) for title, v in grouped.items()}


# --- uploads: how a file a user sends is named and placed in user_models_dir() -----------------------------
def base_name(filename) -> str:
    """The last part of a file name as a browser or a user may give it (either kind of slash)."""
    return re.split(r"[\\/]", str(filename or ""))[-1]


def safe_stem(filename) -> str:
    """A file name stem that is safe in ``user_models_dir()``: letters, digits, '-', '_' and '.' only, at most
    80 characters, never empty and never a path (``../../etc/x.npz`` -> ``x``)."""
    stem = base_name(filename)
    stem = stem[:-4] if stem.lower().endswith(".npz") else stem
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._-")[:80]
    return stem or "uploaded_model"


def upload_target(filename, data: bytes) -> Path:
    """Where uploaded ``data`` named ``filename`` is kept: ``<safe stem>.npz`` in the user's models folder
    (created if needed). A file of that name with other content is never overwritten: the upload gets a
    suffix (``-2``, ``-3``...); a file with the same content is returned as it is, so that the same upload
    twice is saved once."""
    stem = safe_stem(filename)
    folder = user_models_dir(create=True)
    digest = hashlib.sha256(data).hexdigest()
    for k in range(1, 1000):
        target = folder / (f"{stem}.npz" if k == 1 else f"{stem}-{k}.npz")
        if not target.exists():
            return target
        try:
            if target.stat().st_size == len(data) and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
                return target
        except OSError:
            continue
    raise ValueError(f"too many saved models named {stem}*.npz in {folder}")


# --- checkpoints of live training runs, waiting to be resumed --------------------------------------------
def checkpoints_dir() -> Path:
    """``$RBM_EXPLORER_HOME/checkpoints``: where closed or stopped runs of the Train page wait to resume."""
    return user_models_dir().parent / "checkpoints"


def read_run_checkpoint(path) -> dict | None:
    """The metadata of a live run's checkpoint (only the small metadata entry is read), or None when the
    file is not one (unreadable, or written by another tool)."""
    try:
        meta = read_checkpoint_metadata(path)
    except Exception:
        return None
    run, training = meta.get(RUN_METADATA_KEY), meta.get("training")
    if not isinstance(run, dict) or not isinstance(training, dict) or "recipe" not in run:
        return None
    return meta


@dataclass(frozen=True)
class ResumeOffer:
    """A checkpoint a page can offer to resume: where it is, the run's name and how far it got."""

    path: Path
    run_name: str
    epoch: int
    epochs: int
    update: int
    total_updates: int

    @property
    def label(self) -> str:
        if self.epoch >= self.epochs:  # a run that finished but was never saved: reopening it lets it be saved
            return f"Reopen {self.run_name} (finished, {self.epochs} epochs) to save it"
        return f"Resume {self.run_name} (epoch {self.epoch} of {self.epochs})"


def newest_checkpoint(folder: Path | None = None, exclude: Path | None = None) -> ResumeOffer | None:
    """The most recently written run checkpoint that no run is using (other than ``exclude``), or None."""
    folder = checkpoints_dir() if folder is None else folder
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
        if (exclude is not None and path == exclude) or checkpoint_busy(path):  # busy: running in another tab
            continue
        meta = read_run_checkpoint(path)
        if meta is None:
            continue
        training, run = meta["training"], meta[RUN_METADATA_KEY]
        return ResumeOffer(path, run.get("run_name", path.stem), int(training["epoch"]),
                           int(training["config"]["epochs"]), int(training["update"]), int(run.get("total_updates", 0)))
    return None
