"""One HoloViews element for a singular-value spectrum against the Marchenko–Pastur law: the counts of the
values on log-spaced bins, those of the first epoch in outline, the counts the law expects for the model's
shape and σ_W, and the bulk [s₋, s₊] shaded (Toledo-Marin, Maiti, Fox and Melko 2025, Fig. 3). The numerics are
``analysis.spectra.spectrum_histogram``; this module only draws. Every call returns the same layers, empty when
there is nothing to show, as a DynamicMap needs."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from rbm_explorer.analysis.spectra import mp_edges, spectrum_histogram

NOW_COLOR, INITIAL_COLOR, LAW_COLOR, BULK_COLOR = "#4c72b0", "#8c8c8c", "#111111", "#f4a582"
S = hv.Dimension("s", label="singular value s")
COUNT = hv.Dimension("count", label="count per bin")


def spectrum_overlay(spectrum: dict, title: str = "Singular values", width: int = 340, height: int = 220):
    """``spectrum``: dict with ``values`` (now), optional ``initial`` (epoch 0), ``shape`` (N, M) and
    ``sigma_w``; an empty dict draws an empty plot with a hint."""
    values = np.asarray(spectrum.get("values", ()), np.float64)
    shape, sigma_w = spectrum.get("shape"), spectrum.get("sigma_w")
    hint = ""
    if len(values) and shape is not None:
        edges, counts, expected = spectrum_histogram(values, *shape, sigma_w)
        centres = np.sqrt(edges[1:] * edges[:-1])
        initial = spectrum.get("initial")
        first = np.histogram(np.asarray(initial, np.float64), edges)[0] if initial is not None else np.zeros_like(counts)
        law = expected if expected is not None else np.zeros(len(counts))
        lo, hi = mp_edges(*shape, sigma_w) if sigma_w else (np.nan, np.nan)
        above = int(np.sum(values > hi)) if sigma_w else 0
        title = f"{title}: {above} above s₊ = {hi:.3g}" if sigma_w else title
    else:
        edges, counts, first, law, centres = np.array([1e-2, 1.0]), np.zeros(1), np.zeros(1), np.zeros(1), np.ones(1)
        lo = hi = np.nan
        hint = "The spectrum appears once a run starts"
    now = hv.Histogram((edges, counts), kdims=[S], vdims=[COUNT], label="now").opts(
        color=NOW_COLOR, line_color=NOW_COLOR, alpha=0.75, framewise=True)
    start = hv.Curve((centres, first), S, COUNT, label="epoch 0").opts(
        color=INITIAL_COLOR, interpolation="steps-mid", line_width=1.5, line_dash="dashed", framewise=True)
    expected = hv.Curve((centres, law), S, COUNT, label="Marchenko–Pastur").opts(
        color=LAW_COLOR, interpolation="steps-mid", line_width=1.5, framewise=True)
    bulk = hv.VSpan(lo, hi).opts(color=BULK_COLOR, alpha=0.25, line_alpha=0)
    text = hv.Text(float(np.sqrt(edges[0] * edges[-1])), 0.5, hint, kdims=[S, COUNT]).opts(text_font_size="10pt")
    return (bulk * now * start * expected * text).opts(
        logx=True, width=width, height=height, toolbar=None, title=title, framewise=True, show_grid=True,
        xlabel="singular value s", ylabel="count per bin", legend_position="top_right", fontsize={"title": 11, "labels": 9, "ticks": 8, "legend": 8})
