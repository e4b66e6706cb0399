"""The spectrum of a model file and its training history, as the CLI writes it and the pages show it.

``spectrum_report`` is the record of ``rbm-explorer spectrum`` (``spectrum.json``): every singular value, the
initialisation's σ_W, the Marchenko–Pastur edges for it and the model's shape, how many values have left the
bulk, and the singular values of every recorded epoch. ``snapshot_basis`` gives the reciprocal basis of any
snapshot (its full W, or the top modes a trained file keeps between its first and last snapshots).
"""

from __future__ import annotations

import numpy as np

from rbm_explorer.analysis.spectra.marchenko_pastur import count_above_edge, mp_edges
from rbm_explorer.analysis.spectra.reciprocal import ReciprocalBasis, check_bilinear, chosen_fields
from rbm_explorer.analysis.spectra.symmetry import rotation_js_divergence
from rbm_explorer.io.weight_history import singular_values


def sigma_w_of(model_file) -> float | None:
    """The weight scale σ_W of the model's Gaussian initialisation, from its training metadata (None if unknown)."""
    config = ((model_file.metadata.get("training") or {}).get("config") or {})
    value = config.get("weight_std")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def weight_shape_note(rbm) -> str:
    """What the spectrum is the spectrum of: N x M, or (N·q) x M for units with one-hot features (Potts)."""
    n_units, n_features, m = rbm.visible.n_units, rbm.visible.n_features, rbm.n_hidden
    if n_features != n_units:
        q = n_features // n_units
        return f"W reshaped to (N·q) × M = ({n_units}·{q}) × {m} = {n_features} × {m} ({rbm.visible.kind} units)"
    return f"W is {n_units} × {m}"


JS_BINS = 100


def spectrum_report(model_file, sigma_w: float | None = None, seed=0) -> dict:
    """The keys of ``spectrum.json``: ``singular_values`` (descending), ``sigma_w`` (the argument, else the
    model's training metadata), ``mp_edges`` [lower, upper], ``n_above_edge``, ``shape``, ``weights`` (the note
    of ``weight_shape_note``) and, when the file has a training history, ``history`` with its ``epochs`` and
    ``singular_values`` per epoch; ``rotation_js_divergence``: the Jensen–Shannon divergence between the entries of
    W and of W with U and V rotated at random (``seed``), beside its noise floor for an i.i.d. Gaussian W (Fig. 4).
    Without a σ_W the edges and the count are None."""
    rbm = model_file.rbm
    values = singular_values(rbm.weight_matrix)
    n, m = rbm.weight_matrix.shape
    sigma = sigma_w if sigma_w is not None else sigma_w_of(model_file)
    if sigma is not None and (not np.isfinite(sigma) or sigma <= 0):
        raise ValueError(f"sigma_w must be a positive number, got {sigma}")
    report = {
        "shape": [int(n), int(m)],
        "weights": weight_shape_note(rbm),
        "singular_values": [float(s) for s in values],
        "sigma_w": sigma,
        "mp_edges": None if sigma is None else [float(e) for e in mp_edges(n, m, sigma)],
        "n_above_edge": None if sigma is None else count_above_edge(values, n, m, sigma),
    }
    js, _, a, _ = rotation_js_divergence(rbm.weight_matrix, bins=JS_BINS, seed=seed)
    # for i.i.d. Gaussian weights 4 n JS ~ chi^2(bins - 1): its mean (bins - 1) / (4 n) is the noise floor
    report["rotation_js_divergence"] = {"value": js, "noise_floor": (JS_BINS - 1) / (4 * int(a.sum())),
                                        "bins": JS_BINS}
    history = model_file.weight_history()
    if len(history):
        report["history"] = {"epochs": [int(e) for e in history.epochs],
                             "singular_values": np.asarray(history.singular_values, np.float64).tolist(),
                             "snapshot_epochs": history.snapshot_epochs}
    return report


def snapshot_basis(model_file, epoch: int | None = None, fields: str = "model", data=None) -> ReciprocalBasis:
    """The reciprocal basis of the model (``epoch`` None) or of one training snapshot: from its full W when the
    file kept it, else from its top modes. ``fields`` as in ``ReciprocalBasis.from_rbm``; a snapshot without
    stored fields uses zero fields and says so in ``fields``."""
    rbm = model_file.rbm
    check_bilinear(rbm)
    if epoch is None:
        return ReciprocalBasis.from_rbm(rbm, fields=fields, data=data)
    snap = model_file.weight_history().snapshot(int(epoch))
    g = snap.visible_fields if snap.visible_fields is not None else np.zeros(rbm.visible.n_features)
    theta = snap.hidden_fields if snap.hidden_fields is not None else np.zeros(rbm.n_hidden)
    label = fields if snap.visible_fields is not None or fields != "model" else "zero"
    g, theta = chosen_fields(fields, g, theta, rbm.visible, data)
    if snap.weights is not None:
        return ReciprocalBasis.from_parts(snap.weights, g, theta, fields=label)
    return ReciprocalBasis.from_modes(snap.modes, g, theta, fields=label)
