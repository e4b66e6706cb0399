"""What a landscape plot of one mode needs beyond the basis: the points to project, the ranges that show
them with the saddle, and the random RBM to set beside a trained one (Toledo-Marin, Maiti, Fox and Melko 2025,
Fig. 2: the contour of E_k(x_k, y_k), the test data, Gibbs samples and the saddle, random against trained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rbm_explorer.analysis.spectra.reciprocal import ReciprocalBasis
from rbm_explorer.rbm import RBM

DEFAULT_MODES = (1, 2, 3, -1)  # 1-based; -1 = the last mode
SADDLE_REACH = 3.0  # the saddle is drawn when it lies within this many spans of the points (at least 1) of them


def modes_to_show(n_modes: int, chosen=DEFAULT_MODES) -> list[int]:
    """0-based mode indices from 1-based choices (−1 = the last), in order, without repeats, within range."""
    picked = []
    for k in chosen:
        k = int(k)
        index = n_modes - 1 if k == -1 else k - 1
        if not 0 <= index < n_modes:
            raise ValueError(f"mode {k} does not exist; the model has modes 1..{n_modes}")
        if index not in picked:
            picked.append(index)
    return picked


@dataclass(frozen=True)
class ModeView:
    """One mode's landscape: the grid (xs, ys, energy rows follow y), the saddle and whether it is on the
    plot, and the projected points (x, y) of the data and of samples (either may be empty)."""

    mode: int  # 0-based
    xs: np.ndarray
    ys: np.ndarray
    energy: np.ndarray
    saddle: tuple[float, float]
    saddle_on_plot: bool
    data_xy: np.ndarray
    sample_xy: np.ndarray


def hidden_means(rbm, features) -> np.ndarray:
    """E[h | v] for rows of visible features: the hidden coordinate given to data points."""
    return rbm.hidden.mean_from_inputs(np.asarray(features, np.float64) @ rbm.weight_matrix)


def sample_hidden(rbm, features, seed=0) -> np.ndarray:
    """Hidden states drawn from p(h | v) for rows of visible features (the y a data point gets in a landscape)."""
    from rbm_explorer._kernels.random import seed_chain_states

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    inputs = (np.asarray(features, np.float64) @ rbm.weight_matrix).astype(np.float32)
    out = np.empty(inputs.shape, np.float32)
    rbm.hidden.sample_from_inputs(inputs, 1.0, seed_chain_states(len(inputs), rng), out)
    return out.astype(np.float64)


def _box(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    finite = points[np.all(np.isfinite(points), axis=1)]
    if not len(finite):
        return np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    return finite.min(axis=0), finite.max(axis=0)


def _padded(lo, hi):
    span = max(hi - lo, 1e-3)
    return float(lo - 0.08 * span), float(hi + 0.08 * span)


def mode_view(basis: ReciprocalBasis, k: int, data_xy=None, sample_xy=None, points: int = 200) -> ModeView:
    """The landscape of mode k on ranges that cover the points, and the saddle when it is near them (a saddle
    far away, as with data-frequency fields at initialisation, is reported off the plot instead of shrinking
    the points to a dot)."""
    data_xy = np.zeros((0, 2)) if data_xy is None else np.asarray(data_xy, np.float64).reshape(-1, 2)
    sample_xy = np.zeros((0, 2)) if sample_xy is None else np.asarray(sample_xy, np.float64).reshape(-1, 2)
    sad = basis.saddles()
    sx, sy = float(sad.x[k]), float(sad.y[k])
    both = np.concatenate([data_xy, sample_xy])
    if not len(both):
        both = np.array([[sx, sy]]) if np.isfinite(sx) and np.isfinite(sy) else np.zeros((1, 2))
    lo, hi = _box(both)
    reach = SADDLE_REACH * max(float(np.max(hi - lo)), 1.0)
    saddle = np.array([sx, sy])
    on_plot = bool(np.all(np.isfinite(saddle)) and np.all(saddle >= lo - reach) and np.all(saddle <= hi + reach))
    if on_plot:
        lo, hi = np.minimum(lo, saddle), np.maximum(hi, saddle)
    xs, ys, energy = basis.landscape(k, _padded(lo[0], hi[0]), _padded(lo[1], hi[1]), points)
    return ModeView(k, xs, ys, energy, (sx, sy), on_plot, data_xy, sample_xy)


def project(basis: ReciprocalBasis, features, hidden, k: int) -> np.ndarray:
    """(x_k, y_k) = (u_kᵀv, v_kᵀh) of rows of visible and hidden features (states, or hidden means)."""
    return np.stack([np.asarray(features, np.float64) @ basis.u[:, k],
                     np.asarray(hidden, np.float64) @ basis.v[:, k]], axis=1)


def random_like(rbm, sigma_w: float, seed=0) -> RBM:
    """An RBM of the same kinds, shape and fields with i.i.d. N(0, σ_W²) weights: the untrained counterpart of
    Fig. 2 (its fields are then chosen by the basis: zero, the data's, or these)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return RBM(rbm.visible, rbm.hidden, float(sigma_w) * rng.standard_normal(rbm.weights.shape))
