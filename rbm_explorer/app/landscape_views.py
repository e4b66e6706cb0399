"""Views of the Landscape page. They render ``LandscapeState`` parameters and hold no numerics.

Each plot is a DynamicMap of the surface with its isolines, test points and saddle, redrawn when the model,
snapshot, fields or mode change; the trained plots add the chains' layer, whose points move 4 times a second
(``ModeRow`` says how). Every callback returns the same layers each time, empty when there is nothing to draw.
"""

from __future__ import annotations

import html

import holoviews as hv
import numpy as np
import panel as pn
import param

from rbm_explorer.app.landscape_state import SLOTS, LandscapeState
from rbm_explorer.app.live_components import StatusLine
from rbm_explorer.app.spectrum_common import CHAIN_COLOR, CLASS_COLORS, SADDLE_COLOR
from rbm_explorer.app.style import tip, tipped, tooltip_below

PLOT_WIDTH, PLOT_HEIGHT = 340, 290
FREE_WIDTH, FREE_HEIGHT = 380, 300
FONTS = {"title": 10, "labels": 9, "ticks": 8}
X_DIM, Y_DIM = hv.Dimension("x_k", label="x_k = u_kᵀv"), hv.Dimension("y_k", label="y_k = v_kᵀh")
CHAIN_X, CHAIN_Y = hv.Dimension("chain_x", label=X_DIM.label), hv.Dimension("chain_y", label=Y_DIM.label)

ABOUT = """
**What am I looking at?** Write W = U Σ Vᵀ and move to reciprocal space, x = Uᵀv and y = Vᵀh: the energy splits
into one term per mode, E_k = −α_k x_k − β_k y_k − σ_k x_k y_k, a saddle (★) at x* = −β_k/σ_k, y* = −α_k/σ_k
with isolines that are hyperbolas around it (Toledo-Marin, Maiti, Fox and Melko 2025, Fig. 2). Each row is one
mode (by default 1, 2, 3 and the last): the **trained** RBM on the left, a **random** RBM of the same shape and
fields on the right. The dots are test data, coloured by class; the crosses are this page's own Gibbs chains,
moving as they sample. In a top mode of the trained model the data sit in the wells on either side of the
saddle; in the random RBM, and in the last mode, they form one blob. The **fields** decide where the saddle
sits: the model's own, zero, or visible fields set from the data frequencies. The curves at the bottom left are
the free energy −log p(x_1) along the top mode at each training snapshot (their Figs. 7–8): one well becoming two.
"""


def _surface(view: dict, side: str, chains_hook=None, class_colors=CLASS_COLORS):
    """The layers of one plot: energy image, isolines, test points, saddle, a note and, with ``chains_hook``,
    the chains' (empty) layer."""
    xs, ys, energy = view.get("xs"), view.get("ys"), view.get("energy")
    if xs is None:  # before the first view
        xs, ys, energy = np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.zeros((2, 2))
    e0 = view.get("saddle_energy", np.nan)
    centre = e0 if np.isfinite(e0) else float(np.mean(energy))
    reach = float(np.max(np.abs(energy - centre))) or 1.0
    image = hv.Image((xs, ys, energy), kdims=[X_DIM, Y_DIM], vdims=[hv.Dimension("E_k", label="E_k")]).opts(
        cmap="RdBu_r", clim=(centre - reach, centre + reach), alpha=0.55, colorbar=False)
    lines = hv.Path([{"x_k": line[:, 0], "y_k": line[:, 1]} for line in view.get("lines", [])],
                    kdims=[X_DIM, Y_DIM]).opts(color="#555555", line_width=0.8, alpha=0.8)
    classes = np.asarray(view.get("data_class", np.zeros(0, int)), int)
    palette = {c: class_colors[c % len(class_colors)] for c in range(len(class_colors))}
    points = hv.Scatter({"x_k": view.get("data_x", np.zeros(0)), "y_k": view.get("data_y", np.zeros(0)),
                         "data_class": classes}, kdims=[X_DIM], vdims=[Y_DIM, "data_class"]).opts(
        color=hv.dim("data_class").categorize(palette, default="#7f7f7f"), size=4, alpha=0.6, line_alpha=0)
    sx, sy = view.get("saddle", (np.nan, np.nan))
    on_plot = bool(view.get("saddle_on_plot"))
    saddle = hv.Points(([sx], [sy]) if on_plot else ([], []), kdims=[X_DIM, Y_DIM]).opts(
        marker="star", size=18, color=SADDLE_COLOR, line_color="black", line_width=1)
    note = "" if on_plot or not np.isfinite(sx) else f"saddle off the plot at ({sx:.3g}, {sy:.3g})"
    text = hv.Text(float(xs[0]), float(ys[0]), note, kdims=[X_DIM, Y_DIM], halign="left", valign="bottom").opts(
        text_font_size="8pt", text_color="#222222")
    mode, sigma = view.get("mode", 1), view.get("sigma", np.nan)
    title = f"{side} · mode {mode} · σ = {sigma:.3g}" if np.isfinite(sigma) else f"{side} · mode {mode}"
    plot = dict(width=PLOT_WIDTH, height=PLOT_HEIGHT, xlim=(float(xs[0]), float(xs[-1])),
                ylim=(float(ys[0]), float(ys[-1])), toolbar=None, title=title, fontsize=FONTS, show_legend=False)
    # framewise on every layer, and the plot's options on its first layer too: once the chains' DynamicMap is
    # overlaid, the overlay this function returns is flattened into the outer one and its own options are lost
    layers = [layer.opts(framewise=True) for layer in (image.opts(**plot), lines, points, saddle, text)]
    if chains_hook is not None:
        layers.append(_chains_layer(chains_hook))
    return hv.Overlay(layers).opts(framewise=True, **plot)


def _chains_layer(hook):
    """The chains' layer, empty: ``ModeRow`` fills its data source in place at every frame (see there). Its
    dimensions are its own (labelled as the axes), so its source has the columns chain_x and chain_y, which
    tell it apart from the test points' (the browser tests read them)."""
    return hv.Scatter({"chain_x": np.zeros(0), "chain_y": np.zeros(0)}, kdims=[CHAIN_X], vdims=[CHAIN_Y]).opts(
        color=CHAIN_COLOR, marker="x", size=7, line_width=1.5, alpha=0.9, hooks=[hook], framewise=True)


class ModeRow(pn.viewable.Viewer):
    """One slot: the trained plot with the chains, and the random RBM's plot of the same mode.

    The chains move four times a second. Drawn through a HoloViews stream, each of their frames made the
    plot's update freeze the Bokeh document and recompute its whole model graph on exit (83 ms for this page on
    the 2-core test machine): four plots at 4 Hz saturated the session's event loop, and a click on a field
    choice never reached the state. So the chains' layer is an empty Scatter whose Bokeh data source a
    HoloViews ``hooks`` callback hands over, and each frame sets that source's columns, on the session's event
    loop (the frame callback), which sends only the new points and recomputes nothing."""

    state = param.ClassSelector(class_=LandscapeState)
    slot = param.Selector(objects=list(SLOTS))

    def __panel__(self):
        s, slot = self.state, self.slot
        view = s.param[f"view_{slot}"]
        index = SLOTS.index(slot)
        sources = {}  # plot -> the chains' data source it draws now (one plot per render of this row)

        def remember(plot, element):
            source = plot.handles.get("source")
            if source is not None:
                sources[id(plot)] = source

        def show(event):
            points = event.new
            x, y = points[index] if index < len(points) else (np.zeros(0), np.zeros(0))
            for source in sources.values():
                source.data = {"chain_x": np.asarray(x, np.float64), "chain_y": np.asarray(y, np.float64)}

        s.param.watch(show, "chain_points")
        trained = hv.DynamicMap(pn.bind(lambda v: _surface(v.get("trained", {}), "trained", remember), view))
        random = hv.DynamicMap(pn.bind(lambda v: _surface(v.get("random", {}), "random RBM"), view))
        return pn.Row(pn.pane.HoloViews(trained, linked_axes=False, css_classes=[f"landscape-trained-{slot}"],
                                        margin=(2, 4)),
                      pn.pane.HoloViews(random, linked_axes=False, css_classes=[f"landscape-random-{slot}"],
                                        margin=(2, 4)))


class FreeEnergyPlot(pn.viewable.Viewer):
    """−log p(x_1) of the persistent chains at each snapshot that recorded them (dark: early, light: late), the
    snapshot on screen thicker, and the test data of the snapshot on screen dashed."""

    state = param.ClassSelector(class_=LandscapeState)

    @staticmethod
    def _palette(n):
        from bokeh.palettes import Viridis256

        return [Viridis256[int(i)] for i in np.linspace(0, 220, max(n, 1))]

    def _plot(self, free):
        x_dim, f_dim = hv.Dimension("x_1", label="x_1 = u_1ᵀv"), hv.Dimension("F", label="−log p(x_1)")
        curves = free.get("curves", [])
        colors = self._palette(len(curves))
        drawn = [{"x_1": c["x"], "F": c["free_energy"], "order": float(i)} for i, c in enumerate(curves)]
        # without curves, one path of NaN: a colour-mapped Path of no paths fails to draw (and the old one stays)
        paths = hv.Path(drawn or [{"x_1": [np.nan], "F": [np.nan], "order": 0.0}], kdims=[x_dim, f_dim],
                        vdims=["order"]).opts(
            color="order", cmap=colors if len(colors) > 1 else colors * 2, clim=(0, max(len(curves) - 1, 1)),
            line_width=1.2, alpha=0.55)
        chosen = next((c for c in curves if c["epoch"] == free.get("selected", "none")), None)
        if chosen is None and free.get("selected", "none") is None and curves:
            chosen = curves[-1]  # the model is its last snapshot
        picked = hv.Curve((chosen["x"], chosen["free_energy"]) if chosen else ([], []), x_dim, f_dim).opts(
            color="#c0392b", line_width=3, alpha=0.9)
        test = free.get("test") or {"x": [], "free_energy": []}
        data = hv.Curve((test["x"], test["free_energy"]), x_dim, f_dim).opts(color="black", line_dash="dashed",
                                                                            line_width=1.5)
        return (paths * picked * data).opts(width=FREE_WIDTH, height=FREE_HEIGHT, toolbar=None, show_grid=True,
                                            title="−log p(x_1) along the top mode", fontsize=FONTS,
                                            framewise=True, show_legend=False)

    def _legend(self, free):
        curves = free.get("curves", [])
        items = [f"<span style='color:{col}'>━</span> {c['epoch']}"
                 for c, col in zip(curves, self._palette(len(curves)))]
        text = ("epochs: " + " ".join(items) + " · <span style='color:#c0392b'>━</span> on screen"
                if items else "no snapshot of this file recorded projections")
        note = html.escape(free.get("note", ""))
        return (f"<div style='font-size:12px'>{text} · <b>- -</b> test data at the snapshot on screen"
                + (f"<br><i>{note}</i>" if note else "") + "</div>")

    def __panel__(self):
        s = self.state
        dmap = hv.DynamicMap(pn.bind(self._plot, s.param.free_energy))
        legend = pn.pane.HTML(pn.bind(self._legend, s.param.free_energy), width=FREE_WIDTH,
                              css_classes=["free-energy-legend"], margin=(0, 10))
        return pn.Column(pn.pane.HoloViews(dmap, linked_axes=False, css_classes=["landscape-free-energy"],
                                           margin=(5, 10)), legend)


class LandscapeControls(pn.viewable.Viewer):
    """The model, the snapshot, the fields, the four modes and the chains' controls."""

    state = param.ClassSelector(class_=LandscapeState)

    def __panel__(self):
        s = self.state
        model = pn.widgets.Select.from_param(s.param.model, label="Model", description=tip(s.param.model),
                                             css_classes=["landscape-model"])
        snapshot = pn.widgets.Select.from_param(s.param.snapshot, label="Snapshot", description=tip(s.param.snapshot),
                                                css_classes=["landscape-snapshot"])
        fields = pn.widgets.RadioButtonGroup.from_param(s.param.fields, color="primary", variant="outline",
                                                        description=tip(s.param.fields),
                                                        css_classes=["landscape-fields"])
        modes = [pn.widgets.Select.from_param(s.param[f"mode_{slot}"], label=f"row {i + 1}", width=72,
                                              css_classes=[f"landscape-mode-{slot}"])
                 for i, slot in enumerate(SLOTS)]
        run = tipped(pn.widgets.Toggle.from_param(s.param.running, label="Run / pause", color="primary", width=100),
                     tip(s.param.running))
        restart = pn.widgets.Button(label="Restart chains", width=120, css_classes=["landscape-restart"],
                                    description=tooltip_below("New chains from noise, at sweep 0"))
        restart.on_click(lambda event: s.run_action(s.restart_chains))
        speed = tipped(pn.widgets.IntSlider.from_param(s.param.sweeps_per_second, label="Sweeps per second",
                                                       width=250), tip(s.param.sweeps_per_second))
        return pn.Column(model, snapshot, pn.pane.Markdown("**Fields of the energy**", margin=(0, 10)), fields,
                         pn.pane.Markdown("**Modes shown**", margin=(0, 10)), pn.Row(*modes), pn.Row(run, restart),
                         speed, width=FREE_WIDTH)


class LandscapeStatus(pn.viewable.Viewer):
    """The chains' sweeps and rate (a line the page rewrites in place), the notes, and any problem."""

    state = param.ClassSelector(class_=LandscapeState)

    def __panel__(self):
        s = self.state
        line = StatusLine(html=f"<p>{html.escape(s.status)}</p>", width=FREE_WIDTH, height=26,
                          css_classes=["landscape-status"])
        s.param.watch(lambda event: line.push(html=f"<p><b>Chains</b> {html.escape(event.new)}</p>"), "status")
        notes = pn.pane.Markdown(pn.bind(lambda *texts: "  \n".join(html.escape(t) for t in texts if t),
                                         s.param.shape_note, s.param.snapshot_note, s.param.chain_note,
                                         s.param.data_note),
                                 width=FREE_WIDTH, css_classes=["landscape-notes"],
                                 styles={"font-size": "12px", "color": "#444"}, margin=(0, 10))
        error = pn.pane.Alert(pn.bind(lambda text: f"**Error:** {html.escape(text)}" if text else "", s.param.error),
                              alert_type="danger", visible=pn.bind(bool, s.param.error),
                              css_classes=["landscape-error"], width=FREE_WIDTH)
        return pn.Column(line, error, notes)


class LandscapeLegend(pn.viewable.Viewer):
    """Which fields the surfaces have (in words), and the colours of the classes, chains and saddle."""

    state = param.ClassSelector(class_=LandscapeState)

    @staticmethod
    def _text(field_note, names):
        classes = " ".join(f"<span style='color:{CLASS_COLORS[i % len(CLASS_COLORS)]}'>●</span> "
                           f"{html.escape(str(name))}" for i, name in enumerate(names))
        marks = f"<b style='color:{CHAIN_COLOR}'>×</b> chains &nbsp; <span style='color:#b8860b'>★</span> saddle"
        return (f"<div style='font-size:14px'><b>{html.escape(field_note)}</b></div>"
                f"<div style='font-size:12px'>{'test data: ' + classes + ' &nbsp; ' if classes else ''}{marks}</div>")

    def __panel__(self):
        s = self.state
        return pn.pane.HTML(pn.bind(self._text, s.param.field_note, s.param.class_names),
                            css_classes=["landscape-legend"], margin=(0, 10), width=2 * PLOT_WIDTH)


class LandscapePage(pn.viewable.Viewer):
    state = param.ClassSelector(class_=LandscapeState)

    def __panel__(self):
        s = self.state
        about = pn.pane.Markdown(ABOUT, sizing_mode="stretch_width", css_classes=["page-about"])
        left = pn.Column(LandscapeControls(state=s), LandscapeStatus(state=s), FreeEnergyPlot(state=s),
                         width=FREE_WIDTH + 20)
        problem = pn.pane.Alert(pn.bind(lambda text: html.escape(text), s.param.problem), alert_type="warning",
                                visible=pn.bind(bool, s.param.problem), css_classes=["landscape-problem"],
                                width=2 * PLOT_WIDTH)
        # a model without landscapes (Gaussian units) shows its problem where the plots would be
        plots = pn.Column(LandscapeLegend(state=s), *(ModeRow(state=s, slot=slot) for slot in SLOTS),
                          visible=pn.bind(lambda text: not text, s.param.problem))
        rows = pn.Column(problem, plots)
        return pn.Column(about, pn.Row(left, rows), sizing_mode="stretch_width", css_classes=["landscape-page"])
