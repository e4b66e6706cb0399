"""The spectrum report of one model file: what ``rbm-explorer spectrum MODEL --out DIR`` writes.

``DIR/spectrum.json`` (``analysis.spectra.spectrum_report``) and the figures of Toledo-Marin, Maiti, Fox and Melko
(2025) for that model:

* ``spectrum.png``: the singular values at the first recorded epoch and now, against Marchenko–Pastur;
* ``history.png``: σ_k against epoch, when the file has a training history;
* ``landscape_{model,zero,data}_fields.png``: E_k(x_k, y_k) for modes 1, 2, 3 and the last, with the test data
  by class, Gibbs samples and the saddle, a random RBM of the same shape above the trained one; with the model's
  own fields, with zero fields, and with visible fields from the data frequencies (binary, spin and Potts units);
* ``free_energy.png``: −log p(x_1) along the top mode at each snapshot that kept projections, and at the model
  from its Gibbs samples, beside the mean of x_1 over test data and chains against the saddle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rbm_explorer.analysis.spectra import (FIELD_CHOICES, FIELD_LABELS, ReciprocalBasis, mode_free_energy, mode_view,
                                           modes_to_show, project, sample_hidden, projection_free_energy, random_like, snapshot_basis,
                                           spectrum_report)
from rbm_explorer.io.atomic import atomic_write
from rbm_explorer.plotting.spectra_figure import (write_free_energy_plot, write_history_plot, write_landscape_plot,
                                                  write_spectrum_plot)

TEST_POINTS = 2000
DEFAULT_SIGMA_W = 0.01  # for the random counterpart when the file does not say (Hinton's initialisation)


@dataclass
class SpectrumFiles:
    """What was written, and why a figure was left out (e.g. a Gaussian model has no landscape)."""

    json: Path
    figures: list[Path] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def test_data_of(model_file, limit: int = TEST_POINTS):
    """(natural visible states, labels, class names) of the model's test split, or Nones when its dataset
    cannot be loaded (a file without dataset metadata, or data this machine does not have)."""
    from rbm_explorer.analysis.judge import dataset_for

    spec = model_file.metadata.get("dataset")
    if not isinstance(spec, dict) or "name" not in spec:
        return None, None, None
    try:
        dataset = dataset_for(spec)
    except (ValueError, OSError, KeyError):
        return None, None, None
    data, labels = dataset.part("test")
    if data.shape[1] != model_file.rbm.n_visible:
        return None, None, None
    return data[:limit], labels[:limit], list(dataset.label_names)


def gibbs_samples(rbm, chains: int, sweeps: int, seed, progress=None):
    """(visible features, hidden states) of ``chains`` chains after ``sweeps`` block-Gibbs sweeps from noise."""
    from rbm_explorer.sampling import GibbsEngine

    engine = GibbsEngine(rbm, chains, seed=seed)
    done = 0
    while done < sweeps:
        step = min(10, sweeps - done)
        engine.step(step)
        done += step
        if progress is not None:
            progress(step)
    return engine.state.v.astype(np.float64), engine.state.h.astype(np.float64)


def landscape_rows(model_file, fields: str, data, samples, random, seed=0, modes=None):
    """[("random RBM", views), ("trained", views)] for one choice of fields, ``random`` the untrained RBM of
    the same shape: the views of ``modes_to_show``."""
    rbm = model_file.rbm
    features = None if data is None else rbm.visible.features(data)
    rows = []
    for name, model in (("random RBM", random), ("trained", rbm)):
        basis = ReciprocalBasis.from_rbm(model, fields=fields, data=data)
        hidden = None if features is None else sample_hidden(model, features, seed)
        sample = samples.get(name) if samples else None
        views = []
        for k in modes_to_show(basis.n_modes, modes or (1, 2, 3, -1)):
            data_xy = None if features is None else project(basis, features, hidden, k)
            sample_xy = None if sample is None else project(basis, sample[0], sample[1], k)
            views.append(mode_view(basis, k, data_xy, sample_xy))
        rows.append((name, views))
    return rows


FREE_ENERGY_MERGE = 2  # the stored 40 bins summed in pairs: a hundred chains fill 20 bins enough to show wells


def free_energy_series(model_file, samples=None, mode: int = 0):
    """The panels and means of ``write_free_energy_plot``: per snapshot with projections, −log p(x_k) of its
    persistent chains and its test data; then the model's own from ``samples`` (Gibbs chains of the final W);
    and the means of x_k and the saddle x*_k per snapshot."""
    history = model_file.weight_history()
    panels, means = [], {"epochs": [], "test": [], "chains": [], "saddle": []}
    for snap in history.snapshots:
        proj = snap.projections
        if proj is None or snap.modes is None or proj.n_modes <= mode:
            continue
        curves = [("chains", *projection_free_energy(proj, mode, "chains", FREE_ENERGY_MERGE), "-"),
                  ("test data", *projection_free_energy(proj, mode, "test", FREE_ENERGY_MERGE), "--")]
        panels.append((f"epoch {snap.epoch}", curves))
        means["epochs"].append(snap.epoch)
        means["test"].append(float(proj.test_mean[mode]))
        means["chains"].append(float(proj.chain_mean[mode]))
        means["saddle"].append(float(snapshot_basis(model_file, snap.epoch).saddles().x[mode]))
    if samples is not None:
        basis = snapshot_basis(model_file)
        centres, f = mode_free_energy(samples[0] @ basis.u[:, mode], bins=30)
        panels.append((f"model, {len(samples[0])} Gibbs chains", [("chains", centres, f, "-")]))
    return panels, means


def write_spectrum_files(model_file, out_dir, *, sigma_w: float | None = None, chains: int = 500, sweeps: int = 200,
                         seed: int = 0, progress=None, name: str = "") -> SpectrumFiles:
    """Write ``spectrum.json`` and the figures for ``model_file`` into the existing folder ``out_dir``."""
    out = Path(out_dir)
    report = spectrum_report(model_file, sigma_w, seed=seed)
    with atomic_write(out / "spectrum.json", "w") as handle:
        json.dump(report, handle, indent=1)
    files = SpectrumFiles(out / "spectrum.json")
    shape, sigma = tuple(report["shape"]), report["sigma_w"]
    history = report.get("history")
    initial = np.array(history["singular_values"][0]) if history else None
    first_epoch = history["epochs"][0] if history else 0
    files.figures.append(write_spectrum_plot(out / "spectrum.png", report["singular_values"], shape, sigma,
                                             initial_values=initial, initial_epoch=first_epoch,
                                             heading=f"{name}: {report['weights']}"))
    if history:
        files.figures.append(write_history_plot(out / "history.png", history["epochs"], history["singular_values"],
                                                shape, sigma, heading=f"{name}: singular values during training"))
    else:
        files.skipped["history.png"] = "the file has no training history"
    rbm = model_file.rbm
    if not (rbm.visible.linear_energy and rbm.hidden.linear_energy):
        reason = "the energy of Gaussian units has a quadratic term, so it does not separate into modes"
        files.skipped["landscapes"] = reason
        return files
    data, labels, class_names = test_data_of(model_file)
    random = random_like(rbm, sigma or DEFAULT_SIGMA_W, seed)
    samples = {}
    if chains > 0 and sweeps > 0:  # the random RBM mixes at once; its chains need a tenth of the sweeps
        samples["trained"] = gibbs_samples(rbm, chains, sweeps, seed, progress)
        samples["random RBM"] = gibbs_samples(random, chains, max(1, sweeps // 10), seed + 1)
    for fields in FIELD_CHOICES:
        if fields == "data" and data is None:
            files.skipped["landscape_data_fields.png"] = "the model's dataset is not available"
            continue
        rows = landscape_rows(model_file, fields, data, samples, random, seed)
        files.figures.append(write_landscape_plot(
            out / f"landscape_{fields}_fields.png", rows, labels=labels, class_names=class_names,
            heading=f"{name}: E_k(x_k, y_k) with {FIELD_LABELS[fields]}"))
    panels, means = free_energy_series(model_file, samples.get("trained"))
    files.figures.append(write_free_energy_plot(out / "free_energy.png", panels, means,
                                                heading=f"{name}: the free energy along the top mode"))
    return files
