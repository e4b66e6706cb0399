"""Static figures of an RBM's spectrum and reciprocal space (Toledo-Marin, Maiti, Fox and Melko 2025), as PNG:

* ``write_spectrum_plot``: the singular values at initialisation and now, against the Marchenko–Pastur law
  of the same shape and σ_W (Fig. 3a–d);
* ``write_history_plot``: σ_k against the epoch on a log axis, the top values leaving the bulk;
* ``write_landscape_plot``: contours of E_k(x_k, y_k) per mode with the saddle, the test data by class and Gibbs
  samples, random RBM against trained (Fig. 2), with the fields on screen named in the title;
* ``write_free_energy_plot``: −log p(x_1) along the top mode at each snapshot (one well becoming two), and the
  mean of x_1 over test data and chains against the saddle position (Figs. 7–8).

Drawn with matplotlib on an Agg canvas (no pyplot, no display), written atomically.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from rbm_explorer.plotting.sweep_figure import _write_atomically

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf")
BULK = "#f4a582"


def _figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=100, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"spectrum figures are written as PNG; the name must end in .png, got {path.name!r}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    _write_atomically(path, buffer.getvalue())
    return path


def _spectrum_panel(ax, values, shape, sigma_w, title):
    from rbm_explorer.analysis.spectra import mp_edges, spectrum_histogram

    edges, counts, expected = spectrum_histogram(values, *shape, sigma_w)
    ax.stairs(counts, edges, fill=True, color="#4c72b0", alpha=0.75, label=f"singular values of W ({len(values)})")
    if expected is not None:
        edges_mp = mp_edges(*shape, sigma_w)
        ax.stairs(expected, edges, color="black", linewidth=1.6, label=f"Marchenko–Pastur, σ_W = {sigma_w:g}")
        ax.axvspan(*edges_mp, color=BULK, alpha=0.25, lw=0, label="MP bulk [s₋, s₊]")
        above = int(np.sum(np.asarray(values) > edges_mp[1]))
        title = f"{title}: {above} above the upper edge {edges_mp[1]:.3g}"
    ax.set_xscale("log")
    ax.set_xlabel("singular value s")
    ax.set_ylabel("count per bin")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")


def write_spectrum_plot(path, final_values, shape, sigma_w, *, initial_values=None, initial_epoch=0,
                        final_label="trained", heading="") -> Path:
    """Histograms of the singular values (log-spaced bins) with the MP counts expected in each bin: at the
    first recorded epoch when ``initial_values`` are given, and for the model."""
    panels = [(initial_values, f"epoch {initial_epoch}")] if initial_values is not None else []
    panels.append((final_values, final_label))
    fig = _figure((6.2 * len(panels), 4.2))
    for ax, (values, title) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        _spectrum_panel(ax, values, shape, sigma_w, title)
    if heading:
        fig.suptitle(heading, fontsize=11)
    return _save(fig, path)


def write_history_plot(path, epochs, values, shape, sigma_w, *, top: int = 20, heading="") -> Path:
    """σ_k against epoch (log y, epoch on a symlog axis so that epoch 0 shows) for the top ``top`` modes, the
    rest of the spectrum as a grey band, and the MP upper edge."""
    from rbm_explorer.analysis.spectra import mp_edges

    epochs, values = np.asarray(epochs), np.asarray(values, np.float64)
    if len(epochs) == 0:
        raise ValueError("the model has no training history to draw")
    fig = _figure((8, 4.8))
    ax = fig.subplots()
    ax.fill_between(epochs, np.clip(values.min(axis=1), 1e-8, None), values[:, min(top, values.shape[1] - 1)],
                    color="0.85", label=f"modes {top + 1}–{values.shape[1]}")
    colours = _colour_ramp(min(top, values.shape[1]))
    for k in range(min(top, values.shape[1])):
        ax.plot(epochs, values[:, k], color=colours[k], lw=1.4 if k < 5 else 0.8,
                marker="o" if len(epochs) <= 12 else None, ms=3, label=f"σ_{k + 1}" if k < 5 else None)
    if sigma_w is not None:
        ax.axhline(mp_edges(*shape, sigma_w)[1], color="black", ls="--", lw=1, label="MP upper edge s₊")
    ax.set_yscale("log")
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(epochs.min(), epochs.max())
    ax.set_xlabel("epoch")
    ax.set_ylabel("singular value σ_k")
    ax.set_title(heading or "singular values during training", fontsize=10)
    ax.legend(fontsize=8, loc="lower right", ncol=2)
    return _save(fig, path)


def _colour_ramp(n):
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.0, 0.9, max(n, 1))]


def _landscape_axis(ax, view, labels, class_names, title):
    energy = view.energy
    ax.contourf(view.xs, view.ys, energy, levels=24, cmap="RdBu_r", alpha=0.85)
    ax.contour(view.xs, view.ys, energy, levels=12, colors="k", linewidths=0.3, alpha=0.5)
    if len(view.sample_xy):
        ax.scatter(*view.sample_xy.T, s=5, color="0.25", alpha=0.6, lw=0, label="Gibbs samples")
    if len(view.data_xy):
        labels = np.zeros(len(view.data_xy), int) if labels is None else np.asarray(labels)
        for c in np.unique(labels):
            name = class_names[c] if class_names is not None and c < len(class_names) else str(c)
            pts = view.data_xy[labels == c]
            ax.scatter(*pts.T, s=6, color=CLASS_COLOURS[int(c) % len(CLASS_COLOURS)], alpha=0.7, lw=0,
                       label=f"test {name}")
    sx, sy = view.saddle
    if view.saddle_on_plot:
        ax.plot(sx, sy, marker="*", ms=15, color="gold", mec="black", mew=0.8, label="saddle")
    else:
        ax.text(0.02, 0.02, f"saddle off the plot at\n(x*, y*) = ({sx:.3g}, {sy:.3g})", transform=ax.transAxes,
                fontsize=7, va="bottom", bbox={"facecolor": "white", "alpha": 0.8, "lw": 0})
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(f"x_{view.mode + 1} = u_{view.mode + 1}ᵀv", fontsize=8)
    ax.set_ylabel(f"y_{view.mode + 1} = v_{view.mode + 1}ᵀh", fontsize=8)
    ax.tick_params(labelsize=7)


def write_landscape_plot(path, rows, *, labels=None, class_names=None, heading="") -> Path:
    """One row per (name, [ModeView, ...]) — e.g. the random RBM, then the trained one — one column per mode."""
    rows = list(rows)
    n_cols = max(len(views) for _, views in rows)
    fig = _figure((3.6 * n_cols, 3.4 * len(rows) + 0.4))
    axes = fig.subplots(len(rows), n_cols, squeeze=False)
    for r, (name, views) in enumerate(rows):
        for c, view in enumerate(views):
            _landscape_axis(axes[r, c], view, labels, class_names, f"{name}: mode {view.mode + 1}")
    handles, names = axes[-1, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 8), fontsize=8, markerscale=2)
    if heading:
        fig.suptitle(heading, fontsize=11)
    return _save(fig, path)


def write_free_energy_plot(path, panels, means, *, mode: int = 0, heading="") -> Path:
    """One small panel per snapshot, ``panels`` = [(title, [(label, centres, F, style), ...]), ...] with
    −log p(x_k) of the persistent chains and of the test data, so the single well turning into a double well
    reads left to right; then ``means`` (dict of epochs, ``test``, ``chains``, ``saddle`` x*_k per snapshot)."""
    count = len(panels) + 1
    cols = min(count, 5)
    rows = -(-count // cols)
    fig = _figure((3.1 * cols, 2.6 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (title, curves) in zip(axes, panels):
        for label, centres, f, style in curves:
            ax.plot(centres, f, style, lw=1.5, ms=3, label=label)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"x_{mode + 1}", fontsize=8)
        ax.tick_params(labelsize=7)
    if panels:
        axes[0].set_ylabel(f"−log p(x_{mode + 1})", fontsize=8)
        axes[0].legend(fontsize=7)
    right = axes[len(panels)]
    epochs = np.asarray(means.get("epochs", []))
    if len(epochs):
        right.plot(epochs, means["test"], "o-", color="#1f77b4", ms=3, label="⟨x⟩ test data")
        right.plot(epochs, means["chains"], "s-", color="0.3", ms=3, label="⟨x⟩ chains")
        right.plot(epochs, means["saddle"], "*--", color="goldenrod", ms=8, label="saddle x*")
        right.set_xscale("symlog", linthresh=1)
        right.legend(fontsize=7)
    else:
        right.text(0.5, 0.5, "no snapshot with\nprojections recorded", ha="center", va="center",
                   transform=right.transAxes, fontsize=8)
    right.set_title("mean position and saddle", fontsize=9)
    right.set_xlabel("epoch", fontsize=8)
    right.tick_params(labelsize=7)
    for ax in axes[count:]:
        ax.set_visible(False)
    if heading:
        fig.suptitle(heading, fontsize=11)
    return _save(fig, path)
