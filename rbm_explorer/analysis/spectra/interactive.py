"""What the app's Spectrum and Landscape pages compute, kept out of the GUI (Toledo-Marin, Maiti, Fox and Melko
2025: Fig. 3a-d for the spectrum against Marchenko–Pastur while training, Fig. 6 for the rotation of the
eigenvectors, Fig. 2 for the landscapes of a trained and a random RBM, Figs. 7-8 for the free energy along the
top mode).

The static report (``reports.spectrum``) draws each figure once; the pages redraw them as the user moves
through the training history, the modes and the fields, so they need the pieces separately:

* the spectrum: the counts of every recorded epoch on one set of log-spaced bins for the whole history
  (``log_bins`` of all its values, so that playing the history shows the values move), the counts
  Marchenko–Pastur expects, and the top modes' lines;
* the rotation experiment: hidden states of test images, then v drawn from p(v | h) with W and with the
  rotated W from the same random stream, so that the two pictures differ only by the rotation;
* the landscapes: a snapshot's RBM when its full W was kept, a basis with other fields without a new SVD,
  σ_W with where it comes from, contour levels through the saddle, and the free energy per snapshot;
* ``OneStep``: one piece of work (loading a dataset, rotating a 2304 x 400 W) as a live computation, so that a
  page runs it on the process's shared pool (``live.shared_pool``) instead of its session's event loop.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from rbm_explorer.analysis.spectra.free_energy import projection_free_energy, well_count
from rbm_explorer.analysis.spectra.reciprocal import ReciprocalBasis, chosen_fields
from rbm_explorer.analysis.spectra.symmetry import resample_visible, rotate_eigenvectors
from rbm_explorer.rbm import RBM

HISTORY_LINES = 10  # the top modes drawn as lines; the rest of the spectrum is a band


# --- one piece of work on the shared pool -------------------------------------------------------------------
@dataclass(frozen=True)
class OneStepResult:
    """The snapshot of a ``OneStep``: ``done`` once the work ran, its ``result``, or the ``error`` in words."""

    done: bool
    result: Any = None
    error: str | None = None


class OneStep:
    """``work(*args)`` as a live computation of one step (``live.Runner`` protocol): the step runs it and keeps
    its result, then the computation is ``finished`` and the runner ends. A failure is kept as words (a
    ``ValueError``'s message alone, else with its type), never raised into the pool."""

    def __init__(self, work, *args):
        self._work, self._args = work, args
        self.result = None
        self.finished = False

    def step(self) -> None:
        self.result = self._work(*self._args)
        self.finished = True

    def on_error(self, exc: BaseException) -> str:
        self.finished = True
        return str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"

    def snapshot(self, status) -> OneStepResult:
        return OneStepResult(self.finished, self.result, status.error)


# --- the spectrum over the training history ---------------------------------------------------------------
def history_values(model_file) -> tuple[np.ndarray, np.ndarray]:
    """(epochs, singular values: epochs x r) of the file's history, or the model's own values as one row at
    epoch -1 when the file has no history."""
    from rbm_explorer.io.weight_history import singular_values

    history = model_file.weight_history()
    if len(history):
        return np.asarray(history.epochs, np.int64), np.asarray(history.singular_values, np.float64)
    return np.array([-1]), singular_values(model_file.rbm.weight_matrix).astype(np.float64)[None, :]


def spectrum_counts(values, edges) -> np.ndarray:
    """Counts per bin of each row of ``values`` (epochs x r): epochs x bins."""
    values = np.atleast_2d(np.asarray(values, np.float64))
    return np.stack([np.histogram(row, edges)[0] for row in values])


def history_lines(values, top: int = HISTORY_LINES) -> dict:
    """The history drawn as lines: ``top`` (epochs x k, the largest k ≤ ``top`` values) and the band of the
    others, ``rest_low`` and ``rest_high`` per epoch (empty arrays when every value is a line)."""
    values = np.atleast_2d(np.asarray(values, np.float64))
    k = min(int(top), values.shape[1])
    rest = values[:, k:]
    empty = np.zeros(0)
    return {"top": values[:, :k], "rest_low": rest.min(axis=1) if rest.size else empty,
            "rest_high": rest.max(axis=1) if rest.size else empty}


# --- the rotation experiment (Fig. 6) ----------------------------------------------------------------------
def rotation_hidden_states(rbm, data=None, count: int = 16, seed=0, sweeps: int = 200) -> np.ndarray:
    """``count`` hidden states to resample pictures from: h ~ p(h | v) of test images (the first ``count`` of
    ``data``), or, without data, the hidden states of Gibbs chains after ``sweeps`` sweeps from noise."""
    from rbm_explorer.analysis.spectra.landscape import sample_hidden
    from rbm_explorer.sampling import GibbsEngine

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if data is not None and len(data):
        features = rbm.visible.features(np.asarray(data)[:int(count)])
        return rbm.hidden.natural_from_features(sample_hidden(rbm, features, rng).astype(np.float32))
    engine = GibbsEngine(rbm, int(count), seed=rng)
    engine.step(int(sweeps))
    return np.asarray(engine.hidden_states(), np.float64)


def rotation_samples(rbm, hidden, k: int, angle: float, where: str = "top", seed=0) -> tuple[np.ndarray, np.ndarray]:
    """(before, after): natural visible states drawn from p(v | h) with W and with W whose left singular
    vectors were rotated by ``angle`` radians (``rotate_eigenvectors``: within the top-k span, or in planes
    orthogonal to it). Both draws use the same random stream, so they differ only where the rotation acts."""
    w = rbm.weight_matrix
    rotated = rotate_eigenvectors(w, int(k), float(angle), where, seed)
    return resample_visible(rbm, hidden, w, seed), resample_visible(rbm, hidden, rotated, seed)


# --- landscapes ----------------------------------------------------------------------------------------------
def basis_with_fields(basis: ReciprocalBasis, fields: str, visible, data=None) -> ReciprocalBasis:
    """``basis`` with the fields ``fields`` names: its own (``"model"``), zero (``"zero"``), or visible fields
    from the frequencies of ``data`` (natural states of the ``visible`` layer) with zero hidden fields
    (``"data"``), as ``ReciprocalBasis.from_rbm`` sets them. The modes are W's, so no SVD is done again: only
    α = Uᵀg and β = Vᵀθ, and with them the saddles, change."""
    g, theta = chosen_fields(fields, basis.visible_fields, basis.hidden_fields, visible, data)
    return basis if fields == "model" else dataclasses.replace(basis, visible_fields=g, hidden_fields=theta,
                                                               fields=fields)


def rbm_with_parameters(rbm, weight_matrix, visible_fields=None, hidden_fields=None) -> RBM:
    """An RBM with the layers of ``rbm`` and other parameters: W (visible features x hidden) and fields in
    feature layout (None keeps the model's). The label unit, which snapshots do not keep, is left out."""
    w = np.asarray(weight_matrix, np.float64)
    if w.shape != rbm.weight_matrix.shape:
        raise ValueError(f"the weights are {w.shape}; the model needs {rbm.weight_matrix.shape}")
    visible, hidden = rbm.visible, rbm.hidden
    if visible_fields is not None:
        visible = visible.with_fields(np.asarray(visible_fields, np.float64).reshape(visible.field_shape))
    if hidden_fields is not None:
        hidden = hidden.with_fields(np.asarray(hidden_fields, np.float64).reshape(hidden.field_shape))
    return RBM(visible, hidden, w.reshape(visible.field_shape + (hidden.n_units,)))


def rbm_of_basis(rbm, basis: ReciprocalBasis) -> RBM:
    """The RBM whose W is U Σ Vᵀ of ``basis`` and whose fields are the basis's: the model itself for a basis of
    every mode, a rank-k model for a snapshot that kept only its top k modes (its hidden inputs are then those
    of that low-rank W)."""
    w = (basis.u * basis.singular_values) @ basis.v.T
    return rbm_with_parameters(rbm, w, basis.visible_fields, basis.hidden_fields)


def snapshot_rbm(model_file, epoch: int | None = None) -> RBM | None:
    """The RBM of the model (``epoch`` None) or of a training snapshot that kept its full W, with the snapshot's
    fields (zero where the file did not store them): what Gibbs chains can sample. None for a snapshot that kept
    only its top modes."""
    if epoch is None:
        return model_file.rbm
    snap = model_file.weight_history().snapshot(int(epoch))
    if snap.weights is None:
        return None
    rbm = model_file.rbm
    g = snap.visible_fields if snap.visible_fields is not None else np.zeros(rbm.visible.n_features)
    theta = snap.hidden_fields if snap.hidden_fields is not None else np.zeros(rbm.n_hidden)
    return rbm_with_parameters(rbm, snap.weights, g, theta)


def snapshot_choices(model_file) -> dict[str, int | None]:
    """Label -> epoch of every training snapshot a basis can be made of (full W or top modes), the model
    itself last as None ('epoch E (the model)' when the file names the epoch it was saved at)."""
    history = model_file.weight_history()
    recorded = model_file.metadata.get("history")
    model_epoch = recorded.get("model_epoch") if isinstance(recorded, dict) else None
    choices: dict[str, int | None] = {}
    for snap in history.snapshots:
        if snap.epoch == model_epoch:
            continue
        if snap.weights is not None or snap.modes is not None:
            choices[f"epoch {snap.epoch}" + ("" if snap.weights is not None else " (top modes)")] = int(snap.epoch)
    choices["the model" if not isinstance(model_epoch, int) else f"epoch {model_epoch} (the model)"] = None
    return choices


def weight_scale(model_file) -> tuple[float | None, str]:
    """(σ_W, where it comes from): the training metadata's initial weight scale, else the spread of the first
    snapshot's W, else the spread of the model's W; (None, why) when the weights have no spread at all. A random
    RBM "with the same σ_W" is drawn with it."""
    from rbm_explorer.analysis.spectra.history import sigma_w_of

    sigma = sigma_w_of(model_file)
    if sigma is not None:
        return sigma, "the training metadata"
    first = next((s for s in model_file.weight_history().snapshots if s.weights is not None), None)
    if first is not None and float(np.std(first.weights)) > 0:
        return float(np.std(first.weights)), f"the spread of the epoch-{first.epoch} weights"
    spread = float(np.std(model_file.rbm.weight_matrix))
    return (spread, "the spread of the model's weights") if spread > 0 else (None, "no σ_W: W has no spread")


def contour_levels(energy, saddle_energy: float, count: int = 11) -> np.ndarray:
    """About ``count`` energy levels evenly spaced over the grid's range with the saddle's energy among them, so
    that the two isolines through the saddle (its separatrices) are drawn."""
    e = np.asarray(energy, np.float64)
    low, high = float(np.nanmin(e)), float(np.nanmax(e))
    if not high > low:
        return np.array([low])
    if not np.isfinite(saddle_energy) or not low < saddle_energy < high:
        return np.linspace(low, high, count + 2)[1:-1]
    step = max(saddle_energy - low, high - saddle_energy) * 2 / (count + 1)
    levels = saddle_energy + step * np.arange(-(count // 2), count // 2 + 1)
    return levels[(levels > low) & (levels < high)]


def free_energy_curves(history, k: int = 0, of: str = "chains") -> tuple[list[dict], list[int]]:
    """−log p(x_k) of every snapshot that recorded projections, as dicts (``epoch``, ``x``, ``free_energy``,
    ``wells``: 1 for a single well, 2 for a double well), and the snapshot epochs that recorded none."""
    curves, missing = [], []
    for snap in history.snapshots:
        summary = snap.projections
        if summary is None or not 0 <= k < summary.n_modes:
            missing.append(int(snap.epoch))
            continue
        x, f = projection_free_energy(summary, k, of)
        curves.append({"epoch": int(snap.epoch), "x": x, "free_energy": f, "wells": well_count(f)})
    return curves, missing


def mode_isolines(basis: ReciprocalBasis, k: int, x_range, y_range, levels, points: int = 160) -> list[np.ndarray]:
    """The isolines E_k = c for each level c inside the box ``x_range`` x ``y_range``, as (points x 2) arrays.

    E_k = E* − σ_k (x − x*)(y − y*), so an isoline is the hyperbola (x − x*)(y − y*) = (E* − c)/σ_k, one branch
    on each side of x*, and the level of the saddle gives its two separatrices x = x* and y = y*; with σ_k = 0
    the energy is linear and its isolines are straight. Exact, so the plot needs no contouring of a grid."""
    (x0, x1), (y0, y1) = (float(a) for a in x_range), (float(b) for b in y_range)
    a, b, s = basis.alpha_fields[k], basis.beta_fields[k], basis.singular_values[k]
    lines = []

    def keep(x, y):  # the part of one monotone branch inside the box (one piece, or nothing)
        inside = np.isfinite(y) & (y >= y0) & (y <= y1)
        if inside.sum() >= 2:
            lines.append(np.column_stack([x[inside], y[inside]]))

    for c in np.asarray(levels, np.float64).reshape(-1):
        if s <= 1e-12 * max(1.0, abs(a), abs(b)):  # linear: −a x − b y = c
            if abs(b) > 0:
                x = np.linspace(x0, x1, points)
                keep(x, (-c - a * x) / b)
            elif abs(a) > 0 and x0 <= -c / a <= x1:
                lines.append(np.array([[-c / a, y0], [-c / a, y1]]))
            continue
        xs, ys, es = -b / s, -a / s, a * b / s
        q = (es - c) / s
        if abs(q) <= 1e-12 * max(1.0, abs(es)):  # the separatrices through the saddle
            if x0 <= xs <= x1:
                lines.append(np.array([[xs, y0], [xs, y1]]))
            if y0 <= ys <= y1:
                lines.append(np.array([[x0, ys], [x1, ys]]))
            continue
        for lo, hi in ((x0, min(x1, xs)), (max(x0, xs), x1)):
            if hi - lo <= 0:
                continue
            # points dense near the asymptote x = x*, where the branch turns (geometric in the distance)
            gap = np.geomspace(max(1e-9 * (x1 - x0), abs(q) / max(abs(y1 - ys), abs(y0 - ys), 1e-12) * 0.5),
                               max(abs(hi - xs), abs(lo - xs), 1e-12), points)
            x = xs + gap if lo >= xs else xs - gap
            x = x[(x >= lo) & (x <= hi)]
            if len(x) >= 2:
                keep(np.sort(x), ys + q / (np.sort(x) - xs))
    return lines
