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


def tooltip_below(text: str):
    """A button's hover tooltip shown under it, for buttons side by side: Panel's default opens to the right
    and covers the next button (the Train page's Start tooltip hid Stop). A new Bokeh model per call, as each
    belongs to one session's document."""
    from bokeh.models import Tooltip

    return Tooltip(content=text, position="bottom_center", attachment="below", syncable=False,
                   stylesheets=[":host { white-space: initial; max-width: 260px; }"])


def bounded_int_input(state, name: str, label: str, width: int | None = None, show_label: bool = True):
    """An integer input for ``state.<name>`` that only ever holds a value in the parameter's bounds. A value
    out of range, or not a whole number, is refused at the control: the input goes back to the value in use
    and the state's ``error`` says what the control accepts (a plain ``from_param`` input kept showing the
    refused value while the state kept the old one)."""
    import panel as pn

    parameter = state.param[name]
    low, high = parameter.bounds
    # no start/end on the widget: the browser would then keep an out-of-range entry on screen without sending
    # it, so the page would show a value other than the one in use; the server refuses it instead
    widget = pn.widgets.IntInput(value=getattr(state, name), label=label if show_label else "",
                                 description=tip(parameter), css_classes=[f"input-{name}"],
                                 **({"width": width} if width else {}))

    def to_state(event):
        value = event.new
        if value == getattr(state, name):
            return
        if value is None or not (low <= value <= high):
            widget.value = getattr(state, name)
            state.publish(error=f"{label} takes a whole number from {low} to {high}; kept {getattr(state, name)}.")
            return
        state.run_action(setattr, state, name, int(value))

    widget.param.watch(to_state, "value")
    state.param.watch(lambda event: setattr(widget, "value", event.new), name)
    return widget
