"""The catalogue of models the app and the CLI can open: the bundled ones and the user's own saved models.

Models are grouped into *families*: models of the same data (dataset name plus digit subset or attribute) and
the same shapes, which differ only in their constraint. Within a family each model is a *variant*
(unconstrained, linear on all units, quadratic on all units, or with released units); this is the
constraint toggle of the Morph page (Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023), Figs. 6, 8 and 9).
Variants of one family can be swapped under running chains because their layouts agree.

Files belong to an *owner*: the identity of a browser session (its cookie id, or its user name when the server
asks for a login from a users file; ``app/identity.py``). An owner's models and checkpoints live in
``$RBM_EXPLORER_HOME/owners/<owner>/models`` and ``.../checkpoints`` (``$RBM_EXPLORER_HOME`` is
``~/.rbm_explorer`` by default); owner None is the machine's single user, whose folders are
``$RBM_EXPLORER_HOME/models`` and ``$RBM_EXPLORER_HOME/checkpoints`` (the command line and files with no owner).
An owner sees the bundled models, its own, and two folders shared with everyone and read-only in the app: the
folder the teacher publishes (``rbm-explorer serve --shared-models DIR``, ``$RBM_EXPLORER_SHARED_MODELS``) and
the no-owner folder. Every function here that takes ``owner`` defaults to ``current_owner()``: None, except
while ``owned_by(owner)`` is in force (the app wraps the building of a page in it, so that a page that asks for
the catalogue without naming an owner gets its session's).
"""

from __future__ import annotations

import contextlib
import contextvars
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


SHARED_MODELS_ENV = "RBM_EXPLORER_SHARED_MODELS"  # the folder ``rbm-explorer serve --shared-models`` publishes
OWNER_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,80}$")  # no dot and no slash: an owner's folder never leaves owners/
ORIGINS = ("bundled", "own", "shared")


class _Current:
    """The default of every ``owner`` argument: the owner of ``owned_by`` in force (None outside it)."""

    def __repr__(self) -> str:
        return "CURRENT"


CURRENT = _Current()
_current_owner: contextvars.ContextVar[str | None] = contextvars.ContextVar("rbm_explorer_owner", default=None)


def current_owner() -> str | None:
    """The owner that calls naming no owner act for: None (the machine's user) outside ``owned_by``."""
    return _current_owner.get()


@contextlib.contextmanager
def owned_by(owner: str | None):
    """Within the block, calls that name no owner act for ``owner`` (checked first)."""
    token = _current_owner.set(None if owner is None else check_owner(owner))
    try:
        yield
    finally:
        _current_owner.reset(token)


def resolve_owner(owner=CURRENT) -> str | None:
    """The owner an ``owner`` argument means: ``current_owner()`` for ``CURRENT``, else ``owner`` checked."""
    return current_owner() if owner is CURRENT else (None if owner is None else check_owner(owner))


def check_owner(owner) -> str:
    """``owner`` if it is a safe folder name (1-80 letters, digits, '_' or '-'), else ``ValueError``: no
    owner can name a path outside ``$RBM_EXPLORER_HOME/owners`` ('../x', '/', '' and '.' are refused)."""
    if not isinstance(owner, str) or not OWNER_PATTERN.match(owner):
        raise ValueError(f"not a valid owner id: {owner!r} (1-80 letters, digits, '_' or '-')")
    return owner


def owner_for_user(user: str) -> str:
    """The owner id of a login name, which may hold any character: a readable prefix of the name's safe
    characters and a hash of the whole name (``Zoë Smith`` -> ``user-Zo_Smith-3f0c1a9b2d``), so that two names
    never share a folder and none can escape it."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", str(user)).strip("_-")[:40]
    digest = hashlib.sha256(str(user).encode("utf-8")).hexdigest()[:10]
    return "-".join(part for part in ("user", readable, digest) if part)


def home_dir() -> Path:
    """``$RBM_EXPLORER_HOME``, by default ``~/.rbm_explorer``."""
    return Path(os.environ.get("RBM_EXPLORER_HOME", Path.home() / ".rbm_explorer"))


def _owned(kind: str, owner, create: bool) -> Path:
    owner = resolve_owner(owner)
    path = home_dir() / kind if owner is None else home_dir() / "owners" / owner / kind
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def user_models_dir(owner=CURRENT, create: bool = False) -> Path:
    """Where ``owner``'s saved and uploaded models go: ``$RBM_EXPLORER_HOME/owners/<owner>/models``; for owner
    None ``$RBM_EXPLORER_HOME/models``, the folder of the command line and of files with no owner."""
    return _owned("models", owner, create)


def shared_models_dir() -> Path | None:
    """The folder the teacher publishes to every session (``$RBM_EXPLORER_SHARED_MODELS``), or None."""
    folder = os.environ.get(SHARED_MODELS_ENV)
    return Path(folder) if folder else None


def model_folders(owner=CURRENT) -> list[tuple[Path, str]]:
    """The folders ``owner`` sees, each with its origin: its own ('own'), then the teacher's and the no-owner
    folder ('shared', read-only in the app). A folder is listed once, under its first origin."""
    owner = resolve_owner(owner)
    folders = [(user_models_dir(owner), "own"), (shared_models_dir(), "shared")]
    if owner is not None:
        folders.append((user_models_dir(None), "shared"))
    seen, result = set(), []
    for folder, origin in folders:
        if folder is None:
            continue
        key = os.path.realpath(folder)
        if key not in seen:
            seen.add(key)
            result.append((folder, origin))
    return result


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
    keys = ("L", "beta", "J", "h") if name == "ising" else ("digits", "attribute", "size")  # Ising: keyed by (L, beta)
    options = " ".join(f"{k}={v}" for k, v in sorted(dataset.items()) if k in keys)
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
    if name == "ising":
        return ising_family_title(dataset.get("L", 32), dataset.get("beta", 0.44))
    if name:
        return str(name)
    shape = metadata.get("image_shape")
    if metadata.get("family") == "ising" or (shape and "ising" in json.dumps(metadata).lower()):
        return f"Ising {shape[0]}x{shape[1]} spins" if shape else "Ising spins"
    return metadata.get("description", f"{n_visible} visible units")[:40]


def ising_family_title(L, beta) -> str:
    """'Ising 16×16, β = 0.44': the title of the family of Ising RBMs trained at one (L, β)."""
    return f"Ising {int(L)}×{int(L)}, β = {float(beta):.2f}"


def ising_family_beta(title: str) -> tuple[int, float] | None:
    """(L, beta) of a title made by ``ising_family_title``, None for any other family."""
    match = re.fullmatch(r"Ising (\d+)×\d+, β = ([0-9.]+)", title)
    return (int(match.group(1)), float(match.group(2))) if match else None


def ising_families_of_size(titles, title: str) -> dict[float, str]:
    """β -> family title among ``titles`` of the Ising families of the size of family ``title``, sorted by β
    (empty when ``title`` is not an Ising family): the choices of the Morph page's β selector."""
    here = ising_family_beta(title)
    if here is None:
        return {}
    found = {ising_family_beta(t): t for t in titles if ising_family_beta(t)}
    return {beta: t for (L, beta), t in sorted(found.items()) if L == here[0]}


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
    origin: str = "own"  # 'bundled', 'own' (the session's), or 'shared' (the teacher's or the no-owner folder)

    @property
    def read_only(self) -> bool:
        """No page writes over or deletes this file: it is bundled or shared with everyone."""
        return self.origin != "own"

    def load(self) -> ModelFile:
        return _load_cached(str(self.path), self.path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _load_cached(path: str, mtime_ns: int) -> ModelFile:
    return load_model(path)


def entry_for(path, bundled: bool = False, origin: str | None = None) -> ModelEntry:
    """Describe one model file (raises ``ModelFileError`` when it is not a valid model); ``origin`` is where
    it comes from (by default 'bundled' or 'own')."""
    path = Path(path)
    model = _load_cached(str(path), path.stat().st_mtime_ns)
    meta = model.metadata
    n_v, n_h = model.rbm.n_visible, model.rbm.n_hidden
    origin = origin or ("bundled" if bundled else "own")
    if origin not in ORIGINS:
        raise ValueError(f"unknown origin {origin!r}")
    return ModelEntry(path.stem, path, family_key(meta, n_v, n_h), family_title(meta, n_v), variant_name(meta),
                      origin == "bundled", meta, origin)


def origin_of(path, owner=CURRENT) -> str | None:
    """Where the file at ``path`` comes from for ``owner``: 'bundled', 'own', 'shared', or None (elsewhere)."""
    folder = os.path.realpath(Path(path).parent)
    if folder == os.path.realpath(assets_dir() / "models"):
        return "bundled"
    return next((origin for f, origin in model_folders(owner) if os.path.realpath(f) == folder), None)


def catalog(include_user: bool = True, owner=CURRENT) -> list[ModelEntry]:
    """Every bundled model, then the models ``owner`` may open: its own, then the shared ones (broken files are
    skipped here; the Models page shows their errors when opened). The folders are read at every call, so a
    file saved a moment ago is listed, and only for its owner."""
    entries = [entry_for(p, bundled=True) for p in sorted((assets_dir() / "models").glob("*.npz"))]
    if not include_user:
        return entries
    for folder, origin in model_folders(owner):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.npz")):
            try:
                entries.append(entry_for(path, origin=origin))
            except (ValueError, OSError):
                continue
    return entries


def families(entries: list[ModelEntry] | None = None, owner=CURRENT) -> dict[str, dict[str, ModelEntry]]:
    """Family title -> {variant -> entry}, variants in the order unconstrained, linear, quadratic, released.
    User models of a bundled family join it; a name clash keeps the first variant (bundled, then the owner's)
    and adds the file name, and 'shared' for a shared file. ``entries`` defaults to ``catalog(owner=owner)``."""
    entries = catalog(owner=owner) if entries is None else entries
    titles: dict[str, str] = {}
    grouped: dict[str, dict[str, ModelEntry]] = {}
    for e in entries:
        title = titles.setdefault(e.family, e.family_title)
        if title in grouped and e.family not in (x.family for x in grouped[title].values()):
            title = f"{title} [{e.family}]"
        variants = grouped.setdefault(title, {})
        variant = e.variant
        if variant in variants:
            variant = f"{e.variant} ({e.name}, shared)" if e.origin == "shared" else f"{e.variant} ({e.name})"
        k = 2
        while variant in variants:
            variant, k = f"{e.variant} ({e.name} {k})", k + 1
        variants[variant] = e

    def order(item):
        name = item[0]
        return (VARIANT_ORDER.index(name) if name in VARIANT_ORDER else len(VARIANT_ORDER), name)

    return {title: dict(sorted(v.items(), key=order)) for title, v in grouped.items()}


# --- uploads and saves: how a file a user sends is named and placed in user_models_dir() ------------------
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


def upload_target(filename, data: bytes, owner=CURRENT) -> Path:
    """Where uploaded ``data`` named ``filename`` is kept: ``<safe stem>.npz`` in ``owner``'s models folder
    (created if needed; never a shared folder). A file of that name with other content is never overwritten:
    the upload gets a suffix (``-2``, ``-3``...); a file with the same content is returned as it is, so that the
    same upload twice is saved once."""
    stem = safe_stem(filename)
    folder = user_models_dir(owner, create=True)
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
def save_target(name: str, owner=CURRENT) -> Path:
    """Where a model saved under ``name`` (a plain file name, checked by the caller) goes: ``owner``'s own
    models folder (created), so that a save under the name of a shared or bundled model writes a file of the
    owner's and never touches the shared one."""
    return user_models_dir(owner, create=True) / (name if name.endswith(".npz") else f"{name}.npz")


def checkpoints_dir(owner=CURRENT) -> Path:
    """Where ``owner``'s closed or stopped runs of the Train page wait to resume:
    ``$RBM_EXPLORER_HOME/owners/<owner>/checkpoints`` (``$RBM_EXPLORER_HOME/checkpoints`` for owner None)."""
    return _owned("checkpoints", owner, create=False)


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


def newest_checkpoint(folder: Path | None = None, exclude: Path | None = None, owner=CURRENT) -> ResumeOffer | None:
    """The most recently written run checkpoint of ``owner`` (in ``folder``, by default ``owner``'s
    checkpoints folder) that no run is using (other than ``exclude``), or None. Another owner's runs are never
    offered: they are in another folder."""
    folder = checkpoints_dir(owner) if folder is None else folder
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
