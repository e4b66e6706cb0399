"""The training history of a model's weights, as stored in model files and checkpoints.

Two records, both written by the trainer and read by the spectra and reciprocal-space analyses:

* the singular values of W after every epoch (and at epoch 0): one float32 array ``history_singular_values``
  (epochs x min(N, M), descending) with the int array ``history_epochs`` naming its rows. Their motion over
  training is the spectral picture of learning (Bachtis, Biroli, Decelle and Seoane 2024, Fig. 3);
* snapshots of the parameters at chosen epochs: ``history_weights_epoch_E`` (the weight matrix, visible
  features x hidden: N x M, or N*q x M for Potts), ``history_visible_fields_epoch_E`` (feature layout) and
  ``history_hidden_fields_epoch_E``. The fields are kept because the saddle points of the free energy in
  reciprocal space depend on them, not on W alone.

* at each snapshot, the top-k singular triplets of W (``history_modes_{u,s,v}_epoch_E``: U_k, σ_k, V_k) and
  histograms of the projections x_k = u_kᵀv of the persistent chains and of held-out data
  (``history_projection_{edges,chains,test,moments}_epoch_E``; ``ProjectionSummary``). Gibbs samples of an old
  snapshot cannot be redrawn without its full W, and a trained file keeps the full W only at the first and
  last snapshots, so these are what the free energy along a mode and the saddle-versus-data plots of
  Toledo-Marin, Maiti, Fox and Melko (2025, Figs. 7-8) are drawn from at the other snapshots.

No snapshot duplicates the model's own parameters: the snapshot of the epoch the model was saved at is not
stored, and the metadata key ``history.model_epoch`` says that the file's ``weights`` and fields are it.
Snapshots are stored in float16 by default (plenty for spectra; a quarter of the float64 size).

Older files still read: checkpoints named snapshots ``weights_epoch_E``, trained models kept the singular
values as lists inside ``metadata["history"]["epochs"]``, and neither stored the snapshot fields (they read
as None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

SINGULAR_VALUES = "history_singular_values"
EPOCHS = "history_epochs"
_SNAPSHOT = re.compile(r"^(?:history_)?(weights|visible_fields|hidden_fields)_epoch_(\d+)$")
_EXTRA = re.compile(r"^history_(modes_u|modes_s|modes_v|projection_edges|projection_chains|projection_test"
                    r"|projection_moments)_epoch_(\d+)$")
_PREFIX = "history_{part}_epoch_{epoch}"


@dataclass(frozen=True)
class Modes:
    """The top-k singular triplets of W at a snapshot: u (features x k), singular_values (k), v (hidden x k),
    each u_k signed so that its entries sum to zero or more."""

    u: np.ndarray
    singular_values: np.ndarray
    v: np.ndarray


@dataclass(frozen=True)
class ProjectionSummary:
    """Histograms of x_k = u_kᵀv for the top modes of a snapshot: ``edges`` modes x (bins+1); ``chains`` and
    ``test`` modes x bins counts (the persistent chains, held-out data); ``moments`` 4 x modes: the chains'
    mean and standard deviation, then the test data's."""

    edges: np.ndarray
    chains: np.ndarray
    test: np.ndarray
    moments: np.ndarray

    @property
    def n_modes(self) -> int:
        return len(self.edges)

    @property
    def chain_mean(self) -> np.ndarray:
        return self.moments[0]

    @property
    def test_mean(self) -> np.ndarray:
        return self.moments[2]


@dataclass(frozen=True)
class Snapshot:
    """The parameters at the end of ``epoch``: W (visible features x hidden, or None where a file kept only its
    top modes), the fields (feature layout, or None where older files did not store them), the top singular
    triplets and the chains' and test data's projections on them (None where not recorded)."""

    epoch: int
    weights: np.ndarray | None
    visible_fields: np.ndarray | None = None
    hidden_fields: np.ndarray | None = None
    modes: Modes | None = None
    projections: ProjectionSummary | None = None


@dataclass(frozen=True)
class WeightHistory:
    """Singular values per recorded epoch, and parameter snapshots at some epochs (sorted by epoch)."""

    epochs: np.ndarray
    singular_values: np.ndarray
    snapshots: tuple[Snapshot, ...] = ()

    @property
    def snapshot_epochs(self) -> list[int]:
        return [s.epoch for s in self.snapshots]

    def snapshot(self, epoch: int) -> Snapshot:
        """The snapshot taken at ``epoch``; ``KeyError`` naming the epochs that have one."""
        for snap in self.snapshots:
            if snap.epoch == epoch:
                return snap
        raise KeyError(f"no weight snapshot at epoch {epoch}; snapshots exist at epochs {self.snapshot_epochs}")

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def mode_epochs(self) -> list[int]:
        """The snapshot epochs with top modes and projections recorded."""
        return [s.epoch for s in self.snapshots if s.modes is not None]


def model_parameters(rbm) -> tuple:
    """(weight matrix, visible feature fields, hidden fields) of an RBM: the parts a snapshot holds."""
    return (rbm.weight_matrix, rbm.visible.feature_fields, rbm.hidden.fields)


def singular_values(weight_matrix) -> np.ndarray:
    """Singular values of a weight matrix, descending, float32 (what the history stores).

    Computed as the square roots of the eigenvalues of the smaller Gram matrix (W^T W or W W^T): 3-4x faster
    than an SVD at 784 x 400 and 4096 x 1000, and exact to ~1e-8 of the largest value in float64, well below
    the float32 the history keeps."""
    w = np.asarray(weight_matrix, dtype=np.float64)
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    return np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None))[::-1].astype(np.float32)


def history_arrays(history: WeightHistory, model_epoch: int | None = None, model_params=None,
                   snapshot_dtype=np.float16, full_weight_epochs=None) -> tuple[dict, dict]:
    """The arrays and the metadata entries that store ``history`` in a file.

    ``model_params`` = (weight matrix, visible feature fields, hidden fields) of the model the file holds,
    saved after ``model_epoch``: a snapshot equal to them is not stored again (``model_epoch`` in the
    metadata points to the model). ``snapshot_dtype`` None keeps the snapshots' own precision (checkpoints).
    ``full_weight_epochs`` (None: all) names the snapshots whose full W is stored; the others keep their
    fields, top modes and projections, which is what makes nine snapshots of a model affordable.
    Projection counts and edges are always stored exactly (int32, float32)."""
    arrays: dict[str, np.ndarray] = {}
    if len(history.epochs):
        arrays[EPOCHS] = np.asarray(history.epochs, dtype=np.int64)
        arrays[SINGULAR_VALUES] = np.asarray(history.singular_values, dtype=np.float32)
    in_model = None

    def put(part, epoch, value, dtype):
        if value is not None:
            value = np.asarray(value)
            arrays[_PREFIX.format(part=part, epoch=epoch)] = value if dtype is None else value.astype(dtype)

    for snap in history.snapshots:
        for part, value in _mode_parts(snap).items():
            put(part, snap.epoch, value, snapshot_dtype if part.startswith("modes") else None)
        parts = {"weights": snap.weights, "visible_fields": snap.visible_fields, "hidden_fields": snap.hidden_fields}
        if snap.epoch == model_epoch and model_params is not None and _same(parts.values(), model_params):
            in_model = snap.epoch
            continue
        if full_weight_epochs is not None and snap.epoch not in full_weight_epochs and snap.modes is not None:
            parts["weights"] = None
        for part, value in parts.items():
            put(part, snap.epoch, value, snapshot_dtype)
    meta = {"snapshot_epochs": history.snapshot_epochs}
    if in_model is not None:
        meta["model_epoch"] = in_model
    return arrays, meta


def _mode_parts(snap: Snapshot) -> dict:
    modes, proj = snap.modes, snap.projections
    parts = {}
    if modes is not None:
        parts.update(modes_u=modes.u, modes_s=modes.singular_values, modes_v=modes.v)
    if proj is not None:
        parts.update(projection_edges=np.asarray(proj.edges, np.float32),
                     projection_chains=np.asarray(proj.chains, np.int32),
                     projection_test=np.asarray(proj.test, np.int32),
                     projection_moments=np.asarray(proj.moments, np.float32))
    return parts


def _same(parts, model_params) -> bool:
    return all(p is not None and np.array_equal(np.asarray(p), np.asarray(m)) for p, m in zip(parts, model_params))


def read_weight_history(metadata: dict, extra_arrays: dict, model_params, where="model file") -> WeightHistory:
    """The ``WeightHistory`` stored in a file's metadata and extra arrays (any of the layouts above).

    ``model_params`` = (weight matrix, visible feature fields, hidden fields) of the file's model, which is the
    snapshot at ``history.model_epoch``. Raises ``ValueError`` naming an array whose shape does not fit."""
    w_model = np.asarray(model_params[0])
    n_sv = min(w_model.shape)
    recorded = (metadata.get("history") or {}) if isinstance(metadata.get("history"), dict) else {}
    if SINGULAR_VALUES in extra_arrays:
        sv = np.asarray(extra_arrays[SINGULAR_VALUES], dtype=np.float32)
        epochs = np.asarray(extra_arrays.get(EPOCHS, np.arange(len(sv))), dtype=np.int64)
        if sv.ndim != 2 or sv.shape[1] != n_sv or len(epochs) != len(sv):
            raise ValueError(f"{where}: {SINGULAR_VALUES!r} must be epochs x {n_sv} with one {EPOCHS!r} entry per "
                             f"row, got {sv.shape} and {epochs.shape}")
    else:  # files written before 2026-12 kept them in the epoch records of the metadata
        rows = [(r["epoch"], r["singular_values"]) for r in recorded.get("epochs", [])
                if isinstance(r, dict) and r.get("singular_values") is not None]
        rows = [(e, s) for e, s in rows if len(s) == n_sv]
        epochs = np.array([e for e, _ in rows], dtype=np.int64)
        sv = np.array([s for _, s in rows], dtype=np.float32).reshape(len(rows), n_sv)

    parts: dict[int, dict] = {}
    extras: dict[int, dict] = {}
    for name, value in extra_arrays.items():
        match = _SNAPSHOT.match(name)
        if match:
            part, epoch = match.group(1), int(match.group(2))
            if name.startswith("history_") or part not in parts.get(epoch, {}):
                parts.setdefault(epoch, {})[part] = np.asarray(value, dtype=np.float64)
        match = _EXTRA.match(name)
        if match:
            extras.setdefault(int(match.group(2)), {})[match.group(1)] = np.asarray(value)
    for epoch in extras:
        parts.setdefault(epoch, {})
    model_epoch = recorded.get("model_epoch")
    if isinstance(model_epoch, int) and "weights" not in parts.get(model_epoch, {}):
        w, g, theta = model_params
        parts[model_epoch] = {"weights": np.asarray(w, dtype=np.float64), "visible_fields": np.asarray(g, np.float64),
                              "hidden_fields": np.asarray(theta, np.float64)}
    sizes = {"visible_fields": np.size(model_params[1]), "hidden_fields": np.size(model_params[2])}
    snapshots = []
    for epoch in sorted(parts):
        found = parts[epoch]
        modes, projections = _read_modes(extras.get(epoch, {}), w_model.shape, epoch, where)
        w = found.get("weights")
        if w is None and modes is None:
            raise ValueError(f"{where}: snapshot fields at epoch {epoch} without their weights")
        if w is not None and w.size != w_model.size:
            raise ValueError(f"{where}: the weight snapshot of epoch {epoch} has shape {w.shape}, the model's "
                             f"weight matrix {w_model.shape}")
        fields = {}
        for part, size in sizes.items():
            value = found.get(part)
            if value is not None and value.size != size:
                raise ValueError(f"{where}: the {part} snapshot of epoch {epoch} has {value.size} entries, not {size}")
            fields[part] = None if value is None else value.reshape(-1)
        snapshots.append(Snapshot(epoch, None if w is None else w.reshape(w_model.shape), **fields, modes=modes,
                                  projections=projections))
    return WeightHistory(epochs, sv, tuple(snapshots))


def _read_modes(found: dict, shape, epoch: int, where: str):
    """The ``Modes`` and ``ProjectionSummary`` of one snapshot's arrays (None where absent), shapes checked."""
    modes = projections = None
    if found.keys() & {"modes_u", "modes_s", "modes_v"}:
        try:
            u, s, v = (np.asarray(found[k], np.float64) for k in ("modes_u", "modes_s", "modes_v"))
        except KeyError as missing:
            raise ValueError(f"{where}: the top modes of epoch {epoch} lack {missing}") from None
        k = len(s)
        if s.ndim != 1 or u.shape != (shape[0], k) or v.shape != (shape[1], k):
            raise ValueError(f"{where}: the top modes of epoch {epoch} have shapes {u.shape}, {s.shape}, {v.shape}; "
                             f"the model needs ({shape[0]}, k), (k,), ({shape[1]}, k)")
        modes = Modes(u, s, v)
    names = ("projection_edges", "projection_chains", "projection_test", "projection_moments")
    if found.keys() & set(names):
        try:
            edges, chains, test, moments = (np.asarray(found[n]) for n in names)
        except KeyError as missing:
            raise ValueError(f"{where}: the projections of epoch {epoch} lack {missing}") from None
        k, bins = chains.shape if chains.ndim == 2 else (-1, -1)
        if edges.shape != (k, bins + 1) or test.shape != (k, bins) or moments.shape != (4, k):
            raise ValueError(f"{where}: the projections of epoch {epoch} have inconsistent shapes {edges.shape}, "
                             f"{chains.shape}, {test.shape}, {moments.shape}")
        projections = ProjectionSummary(edges.astype(np.float64), chains.astype(np.int64), test.astype(np.int64),
                                        moments.astype(np.float64))
    return modes, projections


def is_history_array(name: str) -> bool:
    """Whether an extra array of a file belongs to the weight history (so other readers may skip it)."""
    return name in (SINGULAR_VALUES, EPOCHS) or _SNAPSHOT.match(name) is not None or _EXTRA.match(name) is not None
