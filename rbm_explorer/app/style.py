"""The explorer's look in one place: colours, colormaps, fonts and the tooltip text of parameters."""

from __future__ import annotations

ACCENT = "#1f5fa8"
TRACE_COLORS = ("#1f5fa8", "#d1495b", "#2e8b57", "#e09f3e")
WEIGHT_CMAP = "CET_D1A"  # colorcet's perceptually uniform diverging map (blue - white - red)
IMAGE_CMAP = "gray"  # linear in lightness
FONT = "DejaVu Sans, Liberation Sans, Helvetica, Arial, sans-serif"  # system fonts: nothing fetched from the web
RAW_CSS = """
:root { --bokeh-font-size: 14px; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
.page-about p { font-size: 14px; line-height: 1.45; max-width: 1200px; }
"""


def tip(parameter) -> str:
    """A widget tooltip: the parameter's doc, plus its range when it has one."""
    text = parameter.doc or parameter.name
    bounds = getattr(parameter, "bounds", None)
    if bounds and None not in bounds:
        text += f" (range {bounds[0]:g} to {bounds[1]:g})"
    return text


def tipped(widget, text: str):
    """``widget`` with a hover tooltip: its own ``description`` where the widget has one, otherwise a small
    (i) icon beside it (Panel's sliders, toggles and checkboxes have no description)."""
    import panel as pn

    if "description" in widget.param:
        widget.description = text
        return widget
    return pn.Row(widget, pn.widgets.TooltipIcon(value=text, margin=(18, 0, 0, -6)), margin=0)
