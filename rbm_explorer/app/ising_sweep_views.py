"""Views of the Ising page's sweep: knobs, progress, and E, |m|, C, χ and U₄ against β. They draw the published
parameters of ``IsingSweepState`` and hold no numerics."""

from __future__ import annotations

import html

import holoviews as hv
import numpy as np
import panel as pn
import param

from rbm_explorer.app.ising_sweep_state import IsingSweepState
from rbm_explorer.app.style import tip, tooltip_below

PLOT_WIDTH, PLOT_HEIGHT = 330, 230
PANELS = (("abs_magnetization", "⟨|m|⟩"), ("heat_capacity", "C"), ("susceptibility", "χ"),
          ("binder", "U₄"), ("energy", "e = E/N"))
EXACT_KEYS = ("abs_magnetization", "heat_capacity", "energy")  # Onsager's M; the exact finite-L C and e
EXACT_COLOR = "#555555"
RBM_LABELS = {"none": "RBM unconstrained", "linear_all": "RBM linear, all units",
              "quadratic_all": "RBM quadratic, all units", "linear_released1": "RBM linear, 1 released"}
RBM_COLORS = {"none": "#1f77b4", "linear_all": "#d62728", "quadratic_all": "#9467bd", "linear_released1": "#2ca02c"}
BETA_C = 0.4406868


def _column(rows, key) -> np.ndarray:
    return np.array([float(r[key]) for r in rows], dtype=float)


NO_POINTS = np.zeros(0)


def sweep_plot(key: str, label: str, rows, exact: dict, rbm_curves: dict, show_rbm: bool):
    """One panel: the sweep's points with error bars over the exact curve and, if asked, the RBM variants.

    Every frame has the same layers in the same order (a hidden or missing one is empty), so that the page's
    plot updates its data sources in place rather than meeting layers it was not built with. The legend is
    ``legend_html``, one for all panels."""
    beta_dim, value_dim = hv.Dimension("beta", label="β"), hv.Dimension(key, label=label)
    error_dim = hv.Dimension(f"{key}_err", label="±")
    has_exact = bool(exact) and key in EXACT_KEYS
    layers = [hv.Curve((exact["beta"], exact[key]) if has_exact else (NO_POINTS, NO_POINTS), beta_dim,
                       value_dim).opts(color=EXACT_COLOR, line_width=1.5)]
    for variant, color in RBM_COLORS.items():
        curve = rbm_curves.get(variant, {}) if show_rbm else {}
        beta, value, error = (curve["beta"], curve[key], curve[f"{key}_err"]) if key in curve else (NO_POINTS,) * 3
        layers.append(hv.ErrorBars((beta, value, error), beta_dim, [value_dim, error_dim]).opts(color=color, alpha=0.7))
        layers.append(hv.Curve((beta, value), beta_dim, value_dim).opts(color=color, line_dash="dashed",
                                                                        line_width=1.2))
    beta, value, error = ((_column(rows, "beta"), _column(rows, key), _column(rows, f"{key}_err")) if rows
                          else (NO_POINTS,) * 3)
    layers.append(hv.ErrorBars((beta, value, error), beta_dim, [value_dim, error_dim]).opts(color="black"))
    # hovering a point names it and its value; the hover's 'point' column goes to the browser with the points
    # (the browser test counts them by it)
    layers.append(hv.Scatter((beta, value, error, np.arange(len(beta))), beta_dim, [value_dim, error_dim, "point"])
                  .opts(color="black", size=6, tools=["hover"]))
    layers.append(hv.VLine(BETA_C).opts(color="#bbbbbb", line_dash="dotted", line_width=1))
    xlim = (float(exact["beta"][0]), float(exact["beta"][-1])) if exact else (None, None)
    return hv.Overlay(layers).opts(
        hv.opts.Overlay(width=PLOT_WIDTH, height=PLOT_HEIGHT, show_legend=False, framewise=True, toolbar=None,
                        title=label, xlabel="β", ylabel=label, xlim=xlim))


def legend_html(exact: dict, rbm_curves: dict, show_rbm: bool) -> str:
    """The one legend of the five panels: the exact curves, the RBM variants shown, and this sweep."""
    def entry(swatch: str, text: str) -> str:
        return f'<span class="sweep-legend-entry">{swatch}&nbsp;{html.escape(text)}</span>'

    line = '<span style="display:inline-block;width:22px;border-top:2px {style} {color};vertical-align:middle"></span>'
    L = exact.get("L", "")
    entries = [entry(line.format(style="solid", color=EXACT_COLOR), f"exact, L = {L} (E, C); Onsager M, L = ∞")]
    if show_rbm:
        size = rbm_curves.get("L")
        entries += [entry(line.format(style="dashed", color=RBM_COLORS[v]), f"{RBM_LABELS[v]} (L = {size})")
                    for v in RBM_COLORS if v in rbm_curves]
    entries.append(entry('<span style="font-size:14px">●</span>', "this sweep"))
    return '<div class="sweep-legend" style="font-size:12px">' + " &emsp; ".join(entries) + "</div>"


class IsingSweepPlots(pn.viewable.Viewer):
    """Five panels, redrawn when the rows, the exact curves or the RBM curves change."""

    state = param.ClassSelector(class_=IsingSweepState)
    show_rbm = param.Boolean(default=True, doc="Draw the Fig. 7 RBM variants (from the committed table)")

    def __panel__(self):
        s = self.state
        panes = []
        for key, label in PANELS:
            dmap = hv.DynamicMap(pn.bind(sweep_plot, key=key, label=label, rows=s.param.rows, exact=s.param.exact,
                                         rbm_curves=s.param.rbm_curves, show_rbm=self.param.show_rbm))
            panes.append(pn.pane.HoloViews(dmap, linked_axes=False, css_classes=[f"sweep-{key.replace('_', '-')}"],
                                           margin=(2, 4)))
        toggle = pn.widgets.Checkbox.from_param(self.param.show_rbm, label="show the RBM variants of Fig. 7",
                                                css_classes=["sweep-show-rbm"])
        legend = pn.pane.HTML(pn.bind(legend_html, s.param.exact, s.param.rbm_curves, self.param.show_rbm),
                              sizing_mode="stretch_width", css_classes=["sweep-legend-pane"])
        return pn.Column(toggle, legend, pn.GridBox(*panes, ncols=3), css_classes=["ising-sweep-plots"])


class IsingSweepControls(pn.viewable.Viewer):
    """Size, β range, points and sweeps; start and cancel; a progress bar and the sweep's message."""

    state = param.ClassSelector(class_=IsingSweepState)

    def __panel__(self):
        s = self.state
        size = pn.widgets.Select.from_param(s.param.sweep_size, label="Size L", width=90,
                                            description=tip(s.param.sweep_size), css_classes=["sweep-size"])
        lo = pn.widgets.FloatInput.from_param(s.param.beta_from, label="β from", width=90, css_classes=["sweep-from"])
        hi = pn.widgets.FloatInput.from_param(s.param.beta_to, label="β to", width=90, css_classes=["sweep-to"])
        points = pn.widgets.IntInput.from_param(s.param.points, label="Points", width=80, css_classes=["sweep-points"])
        sweeps = pn.widgets.IntInput.from_param(s.param.sweeps, label="Sweeps", width=100, css_classes=["sweep-sweeps"])
        start = pn.widgets.Button(label="Start sweep", color="primary", width=120, css_classes=["sweep-start"],
                                  description=tooltip_below("Run the sweep on Dask in the background"),
                                  disabled=pn.bind(bool, s.param.sweep_running))
        start.on_click(lambda event: s.start())
        cancel = pn.widgets.Button(label="Cancel", color="warning", width=90, css_classes=["sweep-cancel"],
                                   description=tooltip_below("Stop the sweep; the finished points stay"),
                                   disabled=pn.bind(lambda running: not running, s.param.sweep_running))
        cancel.on_click(lambda event: s.cancel())
        bar = pn.indicators.Progress(value=pn.bind(lambda p: int(round(100 * p)), s.param.progress), max=100,
                                     width=300, bar_color="primary", css_classes=["sweep-progress"])
        message = pn.pane.HTML(pn.bind(lambda m: f"<p>{html.escape(m)}</p>", s.param.message),
                               css_classes=["sweep-message"], width=500)
        alert = pn.pane.Alert(pn.bind(lambda text: f"**Error:** {html.escape(text)}" if text else "", s.param.error),
                              alert_type="danger", visible=pn.bind(bool, s.param.error), css_classes=["sweep-error"])
        return pn.Column(pn.Row(size, lo, hi, points, sweeps), pn.Row(start, cancel, bar), message, alert)


class IsingSweepView(pn.viewable.Viewer):
    state = param.ClassSelector(class_=IsingSweepState)

    def __panel__(self):
        about = pn.pane.Markdown(
            "**β sweep.** The hybrid Metropolis + Wolff sampler at each β, on Dask in the background: "
            "⟨|m|⟩, C, χ and U₄ with one-standard-error bars, against the exact finite-L energy and heat "
            "capacity (Ferdinand and Fisher 1969) and Onsager's magnetization. Dashed: the samples of the four "
            "RBM variants of Fig. 7 (Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023), from the committed table.",
            sizing_mode="stretch_width", css_classes=["sweep-about"])
        return pn.Card(about, IsingSweepControls(state=self.state), IsingSweepPlots(state=self.state),
                       title="β sweep", collapsible=False, css_classes=["ising-sweep"], sizing_mode="stretch_width")
