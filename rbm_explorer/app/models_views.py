"""Views of the Models page. They render ``ModelsSession`` parameters as Markdown tables
(``rbm_explorer.io.summary.markdown_table``) and pictures and hold no numerics; every user action goes through a
public, guarded ``ModelsSession`` method that shows its failure in the page."""

from __future__ import annotations

import colorcet
import holoviews as hv
import numpy as np
import panel as pn
import param

from rbm_explorer.app.live_components import UploadSizeGuard
from rbm_explorer.app.models_state import ModelsSession
from rbm_explorer.app.style import ACCENT, WEIGHT_CMAP, tip, tipped
from rbm_explorer.io.summary import markdown_table, md_cell

MOSAIC_WIDTH = 640  # screen pixels of the weight grid; about 2.7 per weight for 8 columns of 28 x 28
MAX_PIXEL_SCALE = 8  # a single small picture is not blown up beyond this
GAP_COLOR = "#c9ced6"  # the gaps between pictures: grey, distinct from white (zero weight)
CONTROLS_WIDTH = 320
TABLE_CSS = """
table { border-collapse: collapse; border: none; width: 100%; font-size: 13px; margin: 0 0 4px 0; }
th, td { border: none; border-bottom: 1px solid #dde2e8; padding: 4px 12px 4px 0; text-align: left;
         vertical-align: top; }
th { color: #33475b; font-weight: 600; border-bottom: 2px solid #c9d3df; }
tr:last-child td { border-bottom: none; }
p { margin: 4px 0; }
"""
KEY_VALUE_CSS = "thead { display: none; }"  # key/value tables have no column titles
KEY_VALUE_SIDE = ("Provenance",)  # wide values: beside the tables with headers rather than with the short ones


def _error_text(error: str) -> str:
    return f"**Could not open the model.** {md_cell(error)}" if error else ""


class ModelMessages(pn.viewable.Viewer):
    """The last error (red, class ``model-error``) and the last success (green), above everything else."""

    state = param.ClassSelector(class_=ModelsSession)

    def __panel__(self):
        s = self.state
        error = pn.pane.Alert(pn.bind(_error_text, s.param.error), alert_type="danger", css_classes=["model-error"],
                              sizing_mode="stretch_width", visible=s.param.error.rx.pipe(bool))
        notice = pn.pane.Alert(pn.bind(md_cell, s.param.notice), alert_type="success", css_classes=["model-notice"],
                               sizing_mode="stretch_width", visible=s.param.notice.rx.pipe(bool))
        return pn.Column(error, notice, sizing_mode="stretch_width", margin=0)


class ModelControls(pn.viewable.Viewer):
    """Choose a model from the catalogue, upload one, and set how the weight pictures are drawn."""

    state = param.ClassSelector(class_=ModelsSession)

    def __panel__(self):
        s = self.state
        choose = pn.widgets.Select.from_param(s.param.choice, label="Bundled and saved models",
                                              description=tip(s.param.choice), sizing_mode="stretch_width",
                                              css_classes=["model-select"])
        refresh = pn.widgets.Button(label="Refresh list", color="light", width=120,
                                    description="Read the list of models again (models saved since, e.g. by the "
                                                "Train page, appear in it)")
        refresh.on_click(lambda event: s.refresh())
        limit_mb = s.max_upload_bytes / 2**20
        upload = pn.widgets.FileInput(
            label="…or upload a model file (.npz)", accept=".npz", multiple=False, sizing_mode="stretch_width",
            css_classes=["model-upload"], margin=(14, 10, 5, 10),
            description=f"Upload a model file (.npz in rbm_explorer's format, up to {limit_mb:.0f} MB). It is checked "
                        f"before anything is kept; a valid file is saved in {s.save_folder} and the other pages "
                        f"can open it. Bigger files: copy them into that folder and press 'Refresh list'.")
        guard = UploadSizeGuard(on_refuse=s.refuse_upload, max_bytes=s.max_upload_bytes, target="model-upload",
                                width=0, height=0, margin=0)

        def on_upload(event):
            if event.new is None:
                return
            s.upload(event.new, upload.filename)  # guarded: a bad file becomes a message
            upload.value = None
            upload.clear()  # the same file can be chosen again

        upload.param.watch(on_upload, "value")
        units = tipped(pn.widgets.IntSlider.from_param(s.param.max_units, label="Units drawn", step=4,
                                                       sizing_mode="stretch_width"), tip(s.param.max_units))
        scale = pn.widgets.RadioButtonGroup.from_param(s.param.scale, color="primary", variant="outline",
                                                       description=tip(s.param.scale), sizing_mode="stretch_width")
        return pn.Card(
            choose, refresh, upload, guard,
            pn.pane.Markdown("**Weight pictures**", margin=(12, 10, 0, 10)), units,
            pn.pane.Markdown("Colour scale", margin=(0, 10)), scale,
            title="Open a model", collapsible=False, header_background=ACCENT, header_color="white",
            width=CONTROLS_WIDTH, css_classes=["model-controls"],
        )


class ModelHeadline(pn.viewable.Viewer):
    """Which model is on screen: family and variant, file, where it comes from, its own description."""

    state = param.ClassSelector(class_=ModelsSession)

    @staticmethod
    def _text(title, path, source, description):
        name = path.rsplit("/", 1)[-1]
        text = f"### {md_cell(title)}\n**File** {md_cell(name)} · {md_cell(source)}"
        return text + (f"\n\n{md_cell(description)}" if description else "")

    def __panel__(self):
        s = self.state
        return pn.pane.Markdown(pn.bind(self._text, s.param.title, s.param.model_path, s.param.source,
                                        s.param.description), css_classes=["model-headline"], margin=(0, 10),
                                sizing_mode="stretch_width")


class ModelSummary(pn.viewable.Viewer):
    """Every summary table of the model as a small titled Markdown card, in two columns: tables with headers
    (units, released units, metrics, ...) on the left, short key/value tables on the right."""

    state = param.ClassSelector(class_=ModelsSession)

    @staticmethod
    def _card(title, table):
        slug = title.lower().replace(" ", "-")
        sheets = [TABLE_CSS] if any(table.get("columns") or []) else [TABLE_CSS, KEY_VALUE_CSS]
        body = pn.pane.Markdown(markdown_table(table), stylesheets=sheets, margin=(0, 10),
                                sizing_mode="stretch_width", css_classes=[f"summary-{slug}"])
        return pn.Card(body, title=title, collapsible=False, sizing_mode="stretch_width", margin=(0, 10, 12, 0),
                       header_background="#e8eef6", css_classes=["model-summary-card"])

    def _cards(self, summary):
        left, right = [], []
        for title, table in summary.items():
            with_header = any(table.get("columns") or []) or title in KEY_VALUE_SIDE
            (left if with_header else right).append(self._card(title, table))
        return pn.Row(pn.Column(*left, sizing_mode="stretch_width", margin=0),
                      pn.Column(*right, sizing_mode="stretch_width", margin=0),
                      sizing_mode="stretch_width", margin=(10, 0, 0, 10))

    def __panel__(self):
        return pn.panel(pn.bind(self._cards, self.state.param.summary), css_classes=["model-summary"],
                        sizing_mode="stretch_width")


class WeightMosaic(pn.viewable.Viewer):
    """The hidden units' weight vectors as pictures (released units first, outlined), on a diverging colour map
    symmetric around zero: red pixels raise a unit's input when they are on, blue pixels lower it."""

    state = param.ClassSelector(class_=ModelsSession)

    def _plot(self, mosaic, info):
        if mosaic is None:
            return hv.Image(np.zeros((1, 1)), kdims=["weight_x", "weight_y"]).opts(width=10, height=10, toolbar=None)
        rows, cols = mosaic.shape
        scale = min(MOSAIC_WIDTH / cols, MAX_PIXEL_SCALE)
        width, height = int(cols * scale), int(rows * scale)
        clim = float(info.get("clim", 1.0))
        label = "weight / max |w| of the unit" if info.get("scale") == "per unit" else "weight"
        image = hv.Image(mosaic[::-1], bounds=(0, 0, cols, rows), kdims=["weight_x", "weight_y"],
                         vdims=[hv.Dimension("weight", label=label)]).opts(
            cmap=colorcet.palette[WEIGHT_CMAP], clim=(-clim, clim), clipping_colors={"NaN": GAP_COLOR},
            colorbar=True, colorbar_opts={"title": label, "width": 10}, xaxis=None, yaxis=None, toolbar=None,
            default_tools=[], frame_width=width, frame_height=height, border=0,
            backend_opts={"plot.outline_line_alpha": 0})
        tiles = info.get("tiles") or []
        columns = ["weight_x", "weight_y", "weight_x2", "weight_y2", "unit", "role", "norm"]
        boxes = [(t["x0"], t["y0"], t["x1"], t["y1"], t["unit"], t["role"], t["norm"]) for t in tiles]
        hover = [("unit", "@unit"), ("", "@role"), ("|w|", "@norm{0.000}")]
        others = hv.Rectangles([b for b in boxes if b[5] != "released"], kdims=columns[:4], vdims=columns[4:]).opts(
            fill_alpha=0, line_alpha=0, tools=["hover"], hover_tooltips=hover)
        released = hv.Rectangles([b for b in boxes if b[5] == "released"], kdims=columns[:4], vdims=columns[4:]).opts(
            fill_alpha=0, line_color="#111111", line_width=3, tools=["hover"], hover_tooltips=hover)
        return (image * others * released).opts(toolbar=None, xaxis=None, yaxis=None)

    @staticmethod
    def _caption(mosaic, info, note):
        if mosaic is None:
            return f"*No weight pictures: {md_cell(note)}*" if note else ""
        units = info.get("units", [])
        n_released, n_hidden = info.get("n_released", 0), info.get("n_hidden", 0)
        shown_other = len(units) - min(n_released, len(units))
        parts = []
        if n_released:
            parts.append(f"released unit{'s' if n_released > 1 else ''} "
                         f"{', '.join(str(u) for u in units[:n_released])} first (outlined)")
        if shown_other:
            parts.append(f"then {shown_other} of the other {n_hidden - n_released} units by decreasing norm |w_μ|")
        order = "; ".join(parts)
        scale = ("each picture scaled to its own largest |w|" if info.get("scale") == "per unit"
                 else f"one scale for all, ±{info.get('clim', 0):.3g}")
        return (f"Weights W[:, μ] of {len(units)} hidden units, {order}. Red: positive, blue: negative, white: zero; "
                f"{scale}. Reading order, left to right: units {', '.join(map(str, units[:12]))}"
                f"{', …' if len(units) > 12 else ''}. Hover a picture for its unit.")

    def __panel__(self):
        s = self.state
        plot = pn.pane.HoloViews(pn.bind(self._plot, s.param.mosaic, s.param.mosaic_info), linked_axes=False,
                                 css_classes=["weight-mosaic"], margin=(0, 10),
                                 visible=s.param.mosaic.rx.pipe(lambda m: m is not None))
        caption = pn.pane.Markdown(pn.bind(self._caption, s.param.mosaic, s.param.mosaic_info, s.param.mosaic_note),
                                   css_classes=["weight-caption"], margin=(0, 10), max_width=MOSAIC_WIDTH + 120,
                                   sizing_mode="stretch_width")
        return pn.Column(pn.pane.Markdown("**Weights of the hidden units**", margin=(0, 10)), plot, caption,
                         sizing_mode="stretch_width")


class RawMetadata(pn.viewable.Viewer):
    """The metadata as JSON (long lists shortened), in a card that starts collapsed."""

    state = param.ClassSelector(class_=ModelsSession)

    def __panel__(self):
        json_pane = pn.pane.JSON(self.state.param.metadata, depth=2, theme="light", sizing_mode="stretch_width")
        return pn.Card(json_pane, title="Raw metadata (JSON, long lists shortened)", collapsed=True,
                       header_background="#e8eef6", sizing_mode="stretch_width", css_classes=["model-raw-json"],
                       margin=(0, 10, 10, 10))


ABOUT = """
**What am I looking at?** The model files the explorer can open, and what is inside them. A model is an RBM:
couplings W (visible × hidden units), fields, and a record of how it was made. Each picture is one hidden unit's
weight vector W[:, μ] drawn on the image grid: pixels in red raise the unit's input
I<sub>μ</sub> = Σ<sub>i</sub> W<sub>iμ</sub> v<sub>i</sub> when they are on, pixels in blue lower it. In the
constrained RBMs of the PRX 2023 paper (Fernandez-de-Cossio-Diaz, Cocco and Monasson, *Disentangling
Representations in Restricted Boltzmann Machines without Adversaries*), the weights of constrained hidden units are
kept orthogonal to the label direction q⁽¹⁾ (Eqs. 6–7), so their inputs carry no linear information about the
label. A few *released* units are left free (Fig. 3b); after training their weights resemble q⁽¹⁾ (Supplemental
Fig. S5), which for two classes is proportional to the difference of the class-mean images. They come first
below, outlined; the Morph page flips them (Fig. 8c). Choose a bundled model, one you trained, or upload a file.
"""


class ModelsPage(pn.viewable.Viewer):
    state = param.ClassSelector(class_=ModelsSession)

    def __panel__(self):
        s = self.state
        about = pn.pane.Markdown(ABOUT, sizing_mode="stretch_width", css_classes=["page-about"])
        right = pn.Column(ModelHeadline(state=s), WeightMosaic(state=s), sizing_mode="stretch_width")
        return pn.Column(
            about, ModelMessages(state=s), pn.Row(ModelControls(state=s), right, sizing_mode="stretch_width"),
            ModelSummary(state=s), RawMetadata(state=s), sizing_mode="stretch_width", css_classes=["models-page"],
        )
