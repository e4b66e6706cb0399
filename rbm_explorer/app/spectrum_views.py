"""Views of the Spectrum page. They render ``SpectrumState`` parameters and hold no numerics."""

from __future__ import annotations

import html

import holoviews as hv
import numpy as np
import panel as pn
import param

from rbm_explorer.app.spectrum_common import BULK_COLOR
from rbm_explorer.app.spectrum_state import PICTURE_PIXELS, SpectrumState
from rbm_explorer.app.style import ACCENT, bounded_int_input, tip, tipped, tooltip_below

PLOT_WIDTH, PLOT_HEIGHT = 560, 300
FONTS = {"title": 11, "labels": 10, "ticks": 9, "legend": 9}
OUTLIER_COLOR = "#c0392b"

ABOUT = """
**What am I looking at?** The singular values σ_k of the weight matrix W (visible features × hidden units).
An RBM starts from Gaussian weights of scale σ_W, whose singular values fill the **Marchenko–Pastur bulk**
[s₋, s₊] = σ_W |√N ± √M| of a random N × M matrix (the black line: how many values a random matrix puts in
each bin). Training pulls the top values out of the bulk: they are the modes that hold what the model learned
(Toledo-Marin, Maiti, Fox and Melko 2025, Fig. 3a–d). **Play** the training history to watch them leave; the
lines below follow σ_1 … σ_10 over the epochs on a log axis, the rest of the spectrum as a grey band. The
**rotation experiment** (their Fig. 6) draws pictures from p(v | h) with W and with W whose singular vectors are
rotated: *within the top-k modes* the pictures change as a whole, *orthogonal to them* (the top-k kept) they
change only in places.
"""


def _framed(layers, **options):
    """An overlay whose ranges, labels and title follow every frame: framewise on every layer, and the plot's
    options on its data layers as well as on the overlay (an update applied the overlay's own ``xlim`` and
    ``ylim`` only to the first frame, so another model kept the axes of the first)."""
    options = dict(width=PLOT_WIDTH, height=PLOT_HEIGHT, toolbar=None, fontsize=FONTS, show_grid=True,
                   show_legend=False, **options)
    data = (hv.Histogram, hv.Path, hv.Area, hv.Spikes)
    framed = [layer.opts(framewise=True, **options) if isinstance(layer, data) else layer.opts(framewise=True)
              for layer in layers]
    return hv.Overlay(framed).opts(framewise=True, **options)


class SpectrumHistogram(pn.viewable.Viewer):
    """The singular values at the epoch on screen (log-spaced bins) against the Marchenko–Pastur counts, the
    bulk [s₋, s₊] shaded and the values above it marked under the axis."""

    state = param.ClassSelector(class_=SpectrumState)

    @staticmethod
    def _plot(edges, counts, expected, count_max, bulk, outliers, epoch, n_above, n_values):
        s_dim, c_dim = hv.Dimension("singular_value", label="singular value s"), hv.Dimension("count", label="count")
        low, high = float(edges[0]), float(edges[-1])
        top = 1.08 * max(count_max, 1.0)
        observed = hv.Histogram((edges, counts), kdims=[s_dim], vdims=[c_dim]).opts(
            fill_color=ACCENT, fill_alpha=0.7, line_color="white", line_width=0.5)
        law = hv.Histogram((edges, expected if expected is not None else np.zeros(len(edges) - 1)),
                           kdims=[s_dim], vdims=[hv.Dimension("mp_count", label="count")]).opts(
            fill_alpha=0, line_color="black" if expected is not None else None, line_width=1.6)
        s_lo, s_hi = bulk if bulk is not None else (low, low)
        band = hv.VSpan(max(s_lo, low), s_hi).opts(color=BULK_COLOR, alpha=0.3)
        rug = hv.Spikes(np.asarray(outliers, np.float64), s_dim).opts(
            color=OUTLIER_COLOR, line_width=1.5, spike_length=0.07 * top, position=0.0)
        when = f"epoch {epoch}" if epoch >= 0 else "the model (no training history)"
        heading = f"{when}: {n_above} of {n_values} above s₊ = {s_hi:.3g}" if bulk else when
        return _framed([band, observed, law, rug], xlabel="singular value s", ylabel="count per bin", logx=True,
                       xlim=(low, high), ylim=(0, top), title=heading)

    def __panel__(self):
        s = self.state
        names = ("edges", "counts", "expected", "count_max", "mp_bulk", "outliers", "epoch", "n_above", "n_values")
        dmap = hv.DynamicMap(pn.bind(self._plot, *(s.param[name] for name in names)))
        legend = pn.pane.HTML(
            f"<span style='color:{ACCENT}'>■</span> singular values of W &nbsp; <b>—</b> Marchenko–Pastur (random W) "
            f"&nbsp; <span style='color:{BULK_COLOR}'>■</span> bulk [s₋, s₊] &nbsp; "
            f"<span style='color:{OUTLIER_COLOR}'>|</span> above s₊", css_classes=["spectrum-legend"],
            styles={"font-size": "12px"}, margin=(0, 10))
        return pn.Column(pn.pane.HoloViews(dmap, linked_axes=False, css_classes=["spectrum-histogram"],
                                           margin=(5, 10)), legend)


class SpectrumHistory(pn.viewable.Viewer):
    """σ_k against epoch on a log axis: the top modes as lines, the rest as a band, s₊ dashed, and the epoch on
    screen as a vertical line."""

    state = param.ClassSelector(class_=SpectrumState)

    @staticmethod
    def _plot(history, epoch, bulk):
        e_dim, s_dim = hv.Dimension("epoch", label="epoch"), hv.Dimension("sigma", label="singular value σ_k")
        epochs = np.asarray(history.get("epochs", np.zeros(0)), np.float64)
        top = np.asarray(history.get("top", np.zeros((len(epochs), 0))), np.float64)
        shown = len(epochs) > 1 or (len(epochs) == 1 and epochs[0] >= 0)
        paths = [{"epoch": epochs, "sigma": top[:, k], "mode": k + 1} for k in range(top.shape[1])] if shown else []
        # without a history, one path of NaN: a colour-mapped Path of no paths fails to draw
        nothing = [{"epoch": [np.nan], "sigma": [np.nan], "mode": 1}]
        lines = hv.Path(paths or nothing, [e_dim, s_dim], vdims=["mode"]).opts(
            color="mode", cmap="viridis", line_width=1.8, clim=(1, max(top.shape[1], 2) + 2))
        low, high = history.get("rest_low", np.zeros(0)), history.get("rest_high", np.zeros(0))
        band_data = (epochs, low, high) if shown and len(low) else (np.zeros(0), np.zeros(0), np.zeros(0))
        band = hv.Area(band_data, e_dim, [s_dim, hv.Dimension("sigma_high")]).opts(color="#cccccc", alpha=0.7,
                                                                                 line_alpha=0)
        edge = hv.HLine(bulk[1] if bulk else np.nan).opts(color="black", line_dash="dashed", line_width=1)
        now = hv.VLine(float(epoch) if epoch >= 0 else np.nan).opts(color="#c0392b", line_width=1.5)
        positive = top[top > 0] if top.size else np.zeros(0)
        y_low = max(float(np.min(low)) if len(low) else (positive.min() if len(positive) else 1e-3), 1e-6)
        y_high = float(positive.max()) if len(positive) else 1.0
        if bulk:
            y_low, y_high = min(y_low, bulk[1]), max(y_high, bulk[1])
        title = ("σ_1 … σ_10 (dark to light); grey: the rest; dashed: s₊" if shown
                 else "no training history in this file")
        x_range = (float(epochs.min()), float(max(epochs.max(), epochs.min() + 1))) if shown else (0.0, 1.0)
        return _framed([band, lines, edge, now], xlabel="epoch", ylabel="singular value σ_k", logy=True,
                       ylim=(y_low / 1.3, y_high * 1.3), xlim=x_range, title=title)

    def __panel__(self):
        s = self.state
        dmap = hv.DynamicMap(pn.bind(self._plot, s.param.history, s.param.epoch, s.param.mp_bulk))
        return pn.pane.HoloViews(dmap, linked_axes=False, css_classes=["spectrum-history"], margin=(5, 10))


class EpochPlayer(pn.viewable.Viewer):
    """The scrubber over the recorded epochs, with play: each step picks the next epoch's histogram."""

    state = param.ClassSelector(class_=SpectrumState)

    def __panel__(self):
        s = self.state
        first, last = s.param.epoch_index.bounds
        player = pn.widgets.Player(start=first, end=max(last, first + 1), value=s.epoch_index, interval=350,
                                   loop_policy="once", show_loop_controls=False, width=PLOT_WIDTH - 20,
                                   css_classes=["spectrum-player"], disabled=last <= first)
        label = pn.pane.Markdown(pn.bind(lambda epoch: f"**Epoch on screen:** {epoch}" if epoch >= 0 else
                                         "**No training history:** the model only", s.param.epoch),
                                 css_classes=["spectrum-epoch"], margin=(0, 10))

        def to_state(event):
            if event.new != s.epoch_index and first <= event.new <= s.param.epoch_index.bounds[1]:
                s.run_action(setattr, s, "epoch_index", int(event.new))

        def to_player(*events):
            low, high = s.param.epoch_index.bounds
            player.param.update(start=low, end=max(high, low + 1), value=int(s.epoch_index), disabled=high <= low)

        player.param.watch(to_state, "value")
        s.param.watch(to_player, ["epoch_index", "epochs"])
        return pn.Column(label, player, margin=(0, 10))


class RotationView(pn.viewable.Viewer):
    """The rotation experiment: its settings and the pictures before and after."""

    state = param.ClassSelector(class_=SpectrumState)

    def __panel__(self):
        s = self.state
        k = bounded_int_input(s, "rotation_k", "k (modes kept)", width=130)
        angle = tipped(pn.widgets.FloatSlider.from_param(s.param.rotation_angle, label="Angle (degrees)", width=260,
                                                         css_classes=["rotation-angle"]), tip(s.param.rotation_angle))
        kind = pn.widgets.RadioButtonGroup.from_param(s.param.rotation_kind, orientation="vertical", color="primary",
                                                      variant="outline",
                                                      description=tooltip_below(tip(s.param.rotation_kind)),
                                                      css_classes=["rotation-kind"])
        side = PICTURE_PIXELS + 10
        before = pn.pane.PNG(pn.bind(_png_or_none, s.param.before_png), width=PICTURE_PIXELS,
                             css_classes=["rotation-before"], margin=(0, 5))
        after = pn.pane.PNG(pn.bind(_png_or_none, s.param.after_png), width=PICTURE_PIXELS,
                            css_classes=["rotation-after"], margin=(0, 5))
        busy = pn.pane.Markdown(pn.bind(lambda b: "*computing the rotation…*" if b else "", s.param.rotation_busy),
                                css_classes=["rotation-busy"], margin=(0, 10), height=24)
        note = pn.pane.Markdown(s.param.rotation_note, css_classes=["rotation-note"], width=2 * side,
                                styles={"font-size": "12px", "color": "#444"}, margin=(0, 10))
        pictures = pn.Row(pn.Column(pn.pane.Markdown("**Before** (W)", margin=(0, 5)), before, width=side),
                          pn.Column(pn.pane.Markdown("**After** (rotated W)", margin=(0, 5)), after, width=side))
        return pn.Column(pn.pane.Markdown("### Rotation experiment", margin=(0, 10)), pn.Row(k, angle), kind, busy,
                         pictures, note, css_classes=["spectrum-rotation"], width=2 * side + 20)


def _png_or_none(png: bytes):
    return png or None  # an empty PNG pane (before the first rotation) takes None, not b""


class SpectrumPage(pn.viewable.Viewer):
    state = param.ClassSelector(class_=SpectrumState)

    def __panel__(self):
        s = self.state
        about = pn.pane.Markdown(ABOUT, sizing_mode="stretch_width", css_classes=["page-about"])
        model = pn.widgets.Select.from_param(s.param.model, label="Model", description=tip(s.param.model),
                                             width=PLOT_WIDTH - 20, css_classes=["spectrum-model"])
        notes = pn.pane.Markdown(pn.bind(lambda shape, sigma: f"{html.escape(shape)} · {html.escape(sigma)}",
                                         s.param.shape_note, s.param.sigma_note), css_classes=["spectrum-notes"],
                                 margin=(0, 10))
        error = pn.pane.Alert(pn.bind(lambda text: f"**Error:** {html.escape(text)}" if text else "", s.param.error),
                              alert_type="danger", visible=pn.bind(bool, s.param.error),
                              css_classes=["spectrum-error"], width=PLOT_WIDTH)
        spectrum = pn.Column(model, notes, error, SpectrumHistogram(state=s), EpochPlayer(state=s),
                             SpectrumHistory(state=s), width=PLOT_WIDTH + 30)
        return pn.Column(about, pn.Row(spectrum, RotationView(state=s)), sizing_mode="stretch_width",
                         css_classes=["spectrum-page"])
