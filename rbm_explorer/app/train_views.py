"""Views of the Train page. They render ``TrainSession`` parameters and call its actions; no numerics here."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import panel as pn
import param

from rbm_explorer.app.spectrum_plot import spectrum_overlay
from rbm_explorer.app.style import ACCENT, TRACE_COLORS, tip, tooltip_below
from rbm_explorer.app.train_settings import offered_datasets
from rbm_explorer.app.train_state import TrainSession

GRID_PIXELS = 372  # 8 x 8 chains of 28 x 28 with gaps: 1.6 screen pixels per state pixel
CURVE_WIDTH, CURVE_HEIGHT = 340, 200
CONTROL_WIDTH = 290
GAP_COLOR = "#9db4d0"  # the gaps between chains, as on the Morph page
LOG_FLOOR = 1e-17  # residuals at exactly 0 still show on a log axis


def _not(value) -> bool:
    return not value


def _titled(widget, title: str, text: str):
    """A button group under a title with a tooltip icon (button groups show no title of their own)."""
    head = pn.Row(pn.pane.Markdown(f"**{title}**", margin=(0, 0, 0, 10)),
                  pn.widgets.TooltipIcon(value=text, margin=(2, 0, 0, 0)), margin=(8, 0, 0, 0), height=28)
    return pn.Column(head, widget, margin=0)


class TrainControls(pn.viewable.Viewer):
    """The run's settings and the Start, Stop, Resume and Save actions."""

    state = param.ClassSelector(class_=TrainSession)

    def _input(self, widget_class, name, label, **kwargs):
        s = self.state
        parameter = s.param[name]
        return widget_class.from_param(parameter, label=label, description=tip(parameter),
                                       disabled=s.param.running, width=CONTROL_WIDTH - 20, **kwargs)

    def _settings(self):
        s = self.state
        choices = offered_datasets()
        dataset = self._input(pn.widgets.Select, "dataset", "Dataset")
        digits = self._input(pn.widgets.TextInput, "digits", "Digits",
                             visible=pn.bind(lambda d: choices[d].asks == "digits", s.param.dataset))
        attribute = self._input(pn.widgets.Select, "attribute", "Face attribute (the label)",
                                visible=pn.bind(lambda d: choices[d].asks == "attribute", s.param.dataset))
        hidden = self._input(pn.widgets.IntInput, "hidden", "Hidden units")
        constraint = pn.widgets.RadioButtonGroup.from_param(
            s.param.constraint, label="Constraint", color="primary", variant="outline",
            description=tip(s.param.constraint), disabled=s.param.running, width=CONTROL_WIDTH - 20,
            css_classes=["train-constraint"])
        released = self._input(pn.widgets.IntInput, "released", "Released units",
                               visible=pn.bind(lambda c: c != "none", s.param.constraint))
        algorithm = pn.widgets.RadioButtonGroup.from_param(
            s.param.algorithm, label="Algorithm", color="primary", variant="outline",
            description=tip(s.param.algorithm), disabled=s.param.running, width=CONTROL_WIDTH - 20)
        epochs = self._input(pn.widgets.IntInput, "epochs", "Epochs")
        rate = self._input(pn.widgets.FloatInput, "learning_rate", "Learning rate", step=0.005, format="0.0000")
        more = pn.Card(
            self._input(pn.widgets.IntInput, "batch_size", "Batch size"),
            self._input(pn.widgets.IntInput, "chains", "Negative chains (PCD, Rdm)"),
            self._input(pn.widgets.IntInput, "gibbs_steps", "Gibbs steps per update (k)"),
            self._input(pn.widgets.FloatInput, "quadratic_strength", "Quadratic strength λ",
                        visible=pn.bind(lambda c: c == "quadratic", s.param.constraint)),
            self._input(pn.widgets.IntInput, "seed", "Seed"),
            pn.widgets.FloatInput.from_param(s.param.max_updates_per_second, label="Slow motion: max updates/s",
                                             description=tip(s.param.max_updates_per_second), start=0,
                                             width=CONTROL_WIDTH - 20),
            title="More settings", collapsed=True, width=CONTROL_WIDTH - 10, margin=(10, 5),
        )
        return [dataset, digits, attribute, hidden, _titled(constraint, "Constraint", tip(s.param.constraint)),
                released, _titled(algorithm, "Algorithm", tip(s.param.algorithm)), epochs, rate, more]

    def _actions(self):
        s = self.state
        start = pn.widgets.Button(label="Start", color="primary", width=125, disabled=s.param.running,
                                  description=tooltip_below("Train a new model with these settings in the background"))
        start.on_click(lambda event: s.start())
        stop = pn.widgets.Button(label="Stop", color="danger", width=125, disabled=pn.bind(_not, s.param.running),
                                 description=tooltip_below("Stop after the current update and write a checkpoint you "
                                                           "can resume"))
        stop.on_click(lambda event: s.stop())
        resume = pn.widgets.Button(
            label=s.param.resume_label, color="warning", width=CONTROL_WIDTH - 20, css_classes=["train-resume"],
            stylesheets=[".bk-btn { white-space: normal; overflow-wrap: anywhere; }"],
            visible=pn.bind(lambda label, running: bool(label) and not running, s.param.resume_label, s.param.running),
            description="Continue the newest checkpointed run where it stopped; it reaches the same weights as "
                        "an uninterrupted run")
        resume.on_click(lambda event: s.resume())
        name = pn.widgets.TextInput.from_param(s.param.model_name, label="Save as", placeholder="(the run's name)",
                                               description=tip(s.param.model_name), width=CONTROL_WIDTH - 20)
        save = pn.widgets.Button(label="Save model", color="success", width=CONTROL_WIDTH - 20,
                                 disabled=pn.bind(_not, s.param.can_save),
                                 description="Write the model (with its constraint and history) to your models "
                                             "folder so that the Morph and Models pages can open it")
        save.on_click(lambda event: s.save())
        return [pn.Row(start, stop, margin=(10, 0, 0, 0)), resume, name, save]

    def __panel__(self):
        return pn.Column(*self._settings(), *self._actions(), width=CONTROL_WIDTH, css_classes=["train-controls"])


class TrainProgress(pn.viewable.Viewer):
    """A progress bar over the updates of the run, with the epoch, rate, status and any error."""

    state = param.ClassSelector(class_=TrainSession)

    def _text(self, phase, update, total, epoch, epochs, rate, run_name):
        if phase == "idle":
            return "*No run yet: choose the settings and press* **Start**."
        parts = [f"**{phase.capitalize()}**", f"**Epoch** {epoch} of {epochs}", f"**Update** {update:,} of {total:,}"]
        if rate:
            parts.append(f"{rate:,.1f} updates/s")
        if run_name:
            parts.append(f"run `{run_name}`")
        return " · ".join(parts)

    def __panel__(self):
        s = self.state
        bar = pn.indicators.Progress(value=0, max=1, bar_color="primary", sizing_mode="stretch_width",
                                     height=22, css_classes=["train-progress"], margin=(5, 10))

        def sync(*events):
            total = max(int(s.total_updates), 1)
            value = min(max(int(s.updates_done), 0), total)
            if total >= bar.max:
                bar.max = total
                bar.value = value
            else:
                bar.value = min(value, total)
                bar.max = total

        s.param.watch(sync, ["updates_done", "total_updates"])
        sync()
        text = pn.pane.Markdown(pn.bind(self._text, s.param.phase, s.param.updates_done, s.param.total_updates,
                                        s.param.epoch, s.param.total_epochs, s.param.rate, s.param.run_name),
                                css_classes=["train-status"], sizing_mode="stretch_width", margin=(0, 10))
        status = pn.pane.Alert(s.param.status, alert_type="info", visible=pn.bind(bool, s.param.status),
                               css_classes=["train-message"], sizing_mode="stretch_width", margin=(5, 10))
        error = pn.pane.Alert(s.param.error, alert_type="danger", visible=pn.bind(bool, s.param.error),
                              css_classes=["train-error"], sizing_mode="stretch_width", margin=(5, 10))
        return pn.Column(bar, text, error, status, sizing_mode="stretch_width")


class TrainSamples(pn.viewable.Viewer):
    """The trainer's negative chains (persistent for PCD) as a grid of pictures."""

    state = param.ClassSelector(class_=TrainSession)

    def _image(self, mosaic, levels):
        low, high = levels
        hint = ""
        if mosaic is None:  # below the colour range, drawn in the gap colour (an all-NaN image warns)
            mosaic = np.full((1, 1), low - 1, np.float32)
            hint = "The model's samples appear here\nonce a run starts"
        rows, cols = mosaic.shape
        height = max(40, min(GRID_PIXELS, int(GRID_PIXELS * rows / cols)))
        image = hv.Image(mosaic[::-1], bounds=(0, 0, cols, rows), kdims=["grid_x", "grid_y"], vdims=["state"]).opts(
            cmap="gray", clim=(float(low), float(high)), clipping_colors={"NaN": GAP_COLOR, "min": GAP_COLOR},
            framewise=True)
        text = hv.Text(cols / 2, rows / 2, hint, kdims=["grid_x", "grid_y"]).opts(
            color="#1a2a3a", text_font_size="13pt", framewise=True)
        return (image * text).opts(
            xaxis=None, yaxis=None, toolbar=None, default_tools=[], frame_width=GRID_PIXELS, frame_height=height,
            framewise=True, title="Negative chains (model samples)", fontsize={"title": 11},
            backend_opts={"plot.outline_line_alpha": 0})

    def __panel__(self):
        dmap = hv.DynamicMap(pn.bind(self._image, mosaic=self.state.param.mosaic, levels=self.state.param.levels))
        return pn.pane.HoloViews(dmap, linked_axes=False, css_classes=["train-samples"], margin=(5, 10))


class TrainCurves(pn.viewable.Viewer):
    """Reconstruction error per epoch, and the constraint residual over updates (log scale)."""

    state = param.ClassSelector(class_=TrainSession)

    def _reconstruction(self, reconstruction):
        epochs, errors = reconstruction.get("epoch", np.empty(0)), reconstruction.get("error", np.empty(0))
        x, y = hv.Dimension("epoch", label="epoch"), hv.Dimension("reconstruction_error", label="error")
        curve = hv.Curve((epochs, errors), x, y).opts(color=TRACE_COLORS[0], line_width=2, framewise=True)
        points = hv.Scatter((epochs, errors), x, y).opts(color=TRACE_COLORS[0], size=5, framewise=True)
        return (curve * points).opts(
            width=CURVE_WIDTH, height=CURVE_HEIGHT, toolbar=None, title="Reconstruction error per epoch",
            fontsize={"title": 11, "labels": 9, "ticks": 8}, framewise=True, show_grid=True)

    def _residuals(self, residuals, quadratic: bool):
        updates = np.asarray(residuals.get("update", np.empty(0)), np.float64)
        x = hv.Dimension("update", label="update")
        y = hv.Dimension("residual", label="residual")
        keys = (("linear", "max |q·w|/(|q||w|)"), ("quadratic", "‖W_cᵀq⁽²⁾W_c‖, relative"))
        keys = keys if quadratic else keys[:1]
        layers = []
        for k, (key, label) in enumerate(keys):
            values = np.asarray(residuals.get(key, np.full(updates.shape, np.nan)), np.float64)
            values = np.maximum(np.nan_to_num(values, nan=LOG_FLOOR), LOG_FLOOR)
            layers.append(hv.Curve((updates, values), x, y, label=label).opts(
                color=TRACE_COLORS[k + 1], line_width=2, framewise=True, logy=True))
        return hv.Overlay(layers).opts(framewise=True)

    def _residual_pane(self, constraint):
        """A plot whose layout fits the run's constraint (a DynamicMap must keep one layout, so each kind of
        run gets its own)."""
        quadratic = constraint == "quadratic"
        from bokeh.models import LogTicker

        title = "Label alignment (no constraint)" if constraint == "none" else "Constraint residual"
        ylabel = "residual" if quadratic else "max |q·w|/(|q||w|)"
        dmap = hv.DynamicMap(pn.bind(self._residuals, residuals=self.state.param.residuals, quadratic=quadratic))
        dmap = dmap.opts(width=CURVE_WIDTH, height=CURVE_HEIGHT + (30 if quadratic else 0), toolbar=None, logy=True,
                         title=title, ylabel=ylabel, show_legend=quadratic, legend_position="bottom", legend_cols=2,
                         # few labels, one significant digit: within one decade a log axis otherwise labels every
                         # minor tick as 1.100e-16, 1.000e-16, 9.000e-17, ... on top of each other
                         yticks=LogTicker(desired_num_ticks=3), yformatter="%.0e", xticks=4,
                         fontsize={"title": 11, "labels": 9, "ticks": 8, "legend": 8}, show_grid=True)
        return pn.pane.HoloViews(dmap, linked_axes=False, css_classes=["train-residual"], margin=(5, 10))

    def __panel__(self):
        s = self.state
        recon = hv.DynamicMap(pn.bind(self._reconstruction, reconstruction=s.param.reconstruction))

        residual = pn.panel(pn.bind(self._residual_pane, s.param.run_constraint))
        note = pn.pane.Markdown(s.param.residual_note, width=CURVE_WIDTH, css_classes=["train-residual-note"],
                                styles={"font-size": "12px", "color": "#444"}, margin=(0, 10))
        return pn.Column(
            pn.pane.HoloViews(recon, linked_axes=False, css_classes=["train-reconstruction"], margin=(5, 10)),
            residual,
            note, width=CURVE_WIDTH + 20)


class TrainSpectrum(pn.viewable.Viewer):
    """The singular values of W as the run learns, against the Marchenko–Pastur law of its initialisation."""

    state = param.ClassSelector(class_=TrainSession)

    def __panel__(self):
        plot = pn.bind(lambda spectrum: spectrum_overlay(spectrum, width=GRID_PIXELS + 30, height=230),
                       self.state.param.spectrum)
        return pn.pane.HoloViews(hv.DynamicMap(plot), linked_axes=False, css_classes=["train-spectrum"],
                                 margin=(5, 10))


ABOUT = """
**What am I looking at?** An RBM learning your chosen data, live. Every update compares the data with the
model's own samples (the *negative chains*, shown in the grid): **PCD** keeps persistent chains from update to
update, **CD** restarts them at the minibatch and **Rdm** restarts them from random noise. The label
constraints are those of Fernandez-de-Cossio-Diaz, Cocco & Monasson (PRX 2023), on disentangling
representations by constraints: **linear** projects the weights w_μ of every constrained hidden unit
orthogonal to the label direction q⁽¹⁾ after each update (Eqs. 6–7; Eq. 26 for several classes), so that no
constrained unit can read the label, while **released** units stay free and become the knobs of the Morph page;
**quadratic** adds the penalty λ‖W_cᵀ q⁽²⁾ W_c‖² against second-order label information (Eqs. 8–10). The
curves show the reconstruction error per epoch and the constraint residual per update; below them, the
singular values of W as they leave the Marchenko–Pastur bulk of the random initialisation (Toledo-Marin et al.
2025; the Spectrum page replays a saved model's history). **Save** the model to
open it on the Morph and Models pages; closing the tab checkpoints the run, and this page offers to resume it.
"""


class TrainPage(pn.viewable.Viewer):
    """The whole page: what it shows, the controls, progress, samples and curves."""

    state = param.ClassSelector(class_=TrainSession)

    def __panel__(self):
        s = self.state
        about = pn.pane.Markdown(ABOUT, sizing_mode="stretch_width", css_classes=["page-about"])
        settings = pn.Card(TrainControls(state=s), title="Training run", collapsible=False, header_background=ACCENT,
                           header_color="white", width=CONTROL_WIDTH + 10)
        results = pn.Column(
            TrainProgress(state=s),
            pn.Row(TrainSamples(state=s), TrainCurves(state=s)),
            TrainSpectrum(state=s),
            sizing_mode="stretch_width",
        )
        return pn.Column(about, pn.Row(settings, results, sizing_mode="stretch_width"), sizing_mode="stretch_width",
                         css_classes=["train-page"])

