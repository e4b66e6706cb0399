"""The Fig. 7 figure (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023) as a PNG, from the rows of ``fig7.csv``.

Panels (a)-(e) have the magnetization ⟨|m|⟩ on top and the heat capacity C below, against β: (a) the Monte
Carlo data with the exact finite-L heat capacity (Ferdinand and Fisher 1969) and Onsager's magnetization, then
the samples of (b) the unconstrained RBM, (c) the RBM linear-constrained on all units, (d) quadratic on all
units and (e) linear on all units but one, each beside the Monte Carlo points in grey. Panel (i) compares the
released unit's uniform weight w* with the heuristic 4β|m*| of Eq. 24. Error bars are one standard error.
Drawn with matplotlib on an Agg canvas (no display needed), written atomically.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from rbm_explorer.plotting.sweep_figure import _write_atomically

PANELS = (("a", None, "Monte Carlo (Ising)"), ("b", "none", "RBM, unconstrained"),
          ("c", "linear_all", "RBM, linear constraint on all units"),
          ("d", "quadratic_all", "RBM, quadratic constraint on all units"),
          ("e", "linear_released1", "RBM, linear on all but one unit"))
COLOURS = {None: "black", "none": "#1f77b4", "linear_all": "#d62728", "quadratic_all": "#9467bd",
           "linear_released1": "#2ca02c"}
BETA_C = 0.5 * math.log(1.0 + math.sqrt(2.0))


def _series(rows: list[Mapping], variant: str | None, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(β, value, error) of one column: ``mc_<name>`` of any variant's rows when ``variant`` is None."""
    if variant is None:
        by_beta = {}
        for r in rows:
            by_beta.setdefault(float(r["beta"]), (float(r[f"mc_{name}"]), float(r[f"mc_{name}_err"])))
        betas = sorted(by_beta)
        return np.array(betas), np.array([by_beta[b][0] for b in betas]), np.array([by_beta[b][1] for b in betas])
    mine = sorted((r for r in rows if r["variant"] == variant), key=lambda r: float(r["beta"]))
    return (np.array([float(r["beta"]) for r in mine]), np.array([float(r[name]) for r in mine]),
            np.array([float(r[f"{name}_err"]) for r in mine]))


def write_fig7_plot(rows: Iterable[Mapping], path, *, title: str | None = None) -> Path:
    """Draw the figure of ``rows`` (``rbm_explorer.reports.fig7.read_rows``) to ``path`` (.png)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from rbm_explorer.ising import exact

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"the Fig. 7 figure is written as PNG; the name must end in .png, got {path.name!r}")
    rows = list(rows)
    if not rows:
        raise ValueError("no rows to draw: the Fig. 7 CSV is empty")
    L = int(float(rows[0]["L"]))
    fig = Figure(figsize=(19, 6.4), dpi=110, layout="constrained", facecolor="white")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 6)
    betas = sorted({float(r["beta"]) for r in rows})
    lo, hi = min(betas) - 0.02, max(betas) + 0.02
    fine = np.linspace(lo, hi, 200)
    mc = {q: _series(rows, None, q) for q in ("abs_magnetization", "heat_capacity")}
    top_m = 1.05
    top_c = 1.15 * max(np.nanmax(np.array([float(r[k]) for r in rows for k in ("heat_capacity", "mc_heat_capacity")
                                           if r.get(k) not in (None, "")], float)), 0.1)
    for column, (letter, variant, label) in enumerate(PANELS):
        for row_index, (name, ylabel, top) in enumerate((("abs_magnetization", r"$\langle|m|\rangle$", top_m),
                                                          ("heat_capacity", r"$C$", top_c))):
            ax = fig.add_subplot(grid[row_index, column])
            ax.axvline(BETA_C, color="0.75", linestyle=":", linewidth=1)
            if variant is None:
                if name == "abs_magnetization":
                    ax.plot(fine, exact.onsager_magnetization(fine), color="0.4", linewidth=1,
                            label="Onsager (L = ∞)")
                else:
                    ax.plot(fine, exact.torus_heat_capacity(L, fine), color="0.4", linewidth=1,
                            label=f"exact, L = {L}")
            else:
                b, v, e = mc[name]
                ax.errorbar(b, v, e, color="0.6", marker="s", markersize=4, linestyle="--", linewidth=0.8,
                            capsize=2, label="Monte Carlo")
            b, v, e = _series(rows, variant, name)
            if len(b):
                ax.errorbar(b, v, e, color=COLOURS[variant], marker="o", markersize=5, linewidth=1.4, capsize=3,
                            label="Monte Carlo" if variant is None else "RBM samples")
            ax.set_xlim(lo, hi)
            ax.set_ylim(0, top)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.25)
            if row_index == 0:
                ax.set_title(f"({letter}) {label}", fontsize=10, loc="left")
                ax.legend(fontsize=7, loc="upper left" if name == "abs_magnetization" else "upper right",
                          frameon=False)
            else:
                ax.set_xlabel(r"$\beta$")
    ax = fig.add_subplot(grid[:, 5])
    released = sorted((r for r in rows if r["variant"] == "linear_released1"), key=lambda r: float(r["beta"]))
    ax.plot(fine, 4 * fine * exact.onsager_magnetization(fine), color="0.6", linewidth=1,
            label=r"$4\beta\, m_{\rm Onsager}$")
    if released:
        b = np.array([float(r["beta"]) for r in released])
        ax.plot(b, [float(r["w_star_heuristic"]) for r in released], color="black", marker="s", linestyle="--",
                label=r"$4\beta|m^*|$ (Eq. 24, Monte Carlo $m^*$)")
        ax.errorbar(b, [float(r["w_star"]) for r in released], [float(r["w_star_spread"]) for r in released],
                    color=COLOURS["linear_released1"], marker="o", capsize=3,
                    label=r"trained $w^*$ (± spread over sites)")
    ax.axvline(BETA_C, color="0.75", linestyle=":", linewidth=1)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(r"$\beta$")
    ax.set_ylabel(r"$w^*$")
    ax.set_title("(i) released unit's weight", fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    ax.grid(alpha=0.25)
    fig.suptitle(title or f"Fig. 7 reproduced: RBMs trained on {L}×{L} Ising configurations "
                 "(Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023)", fontsize=12)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    _write_atomically(path, buffer.getvalue())
    return path
