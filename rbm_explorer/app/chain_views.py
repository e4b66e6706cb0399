"""Views of the live chains page. They render ``ChainSession`` parameters and hold no numerics."""

from __future__ import annotations

import holoviews as hv
import panel as pn
import param

from rbm_explorer.app.chain_state import ChainSession


class ChainGrid(pn.viewable.Viewer):
    """The chains as a grid of lattice pictures, redrawn whenever ``mosaic`` changes."""

    state = param.ClassSelector(class_=ChainSession)

    def _image(self, mosaic):
        rows, cols = mosaic.shape
        image = hv.Image(mosaic, bounds=(0, 0, cols, rows), kdims=["grid_x", "grid_y"], vdims=["state"])
        return image.opts(
            cmap="gray", clim=(float(self._low), float(self._high)), xaxis=None, yaxis=None, toolbar=None,
            width=520, height=int(520 * rows / cols), clipping_colors={"NaN": "#9db4d0"}, default_tools=[],
        )

    def __panel__(self):
        self._low, self._high = self.state.visible_levels
        dmap = hv.DynamicMap(pn.bind(self._image, mosaic=self.state.param.mosaic))
        return pn.pane.HoloViews(dmap, linked_axes=False)


class MagnetizationTrace(pn.viewable.Viewer):
    """Mean visible state of each chain against the sweep number."""

    state = param.ClassSelector(class_=ChainSession)

    def _curves(self, trace_steps, magnetization):
        have = trace_steps is not None and len(trace_steps) > 0
        n_chains = magnetization.shape[1] if have else self.state.traced_chains
        value = hv.Dimension("mean_visible_state", label="mean visible state")
        curves = {
            chain: hv.Curve((trace_steps, magnetization[:, chain]) if have else ([], []), "sweep", value)
            for chain in range(n_chains)
        }
        return hv.NdOverlay(curves, kdims="chain").opts(
            hv.opts.Curve(color="#1f5fa8", alpha=0.45, line_width=1.2, framewise=True),
            hv.opts.NdOverlay(width=420, height=300, ylim=(-1.05, 1.05), toolbar=None, show_legend=False,
                              title="Mean visible state per chain", framewise=True),
        )

    def __panel__(self):
        dmap = hv.DynamicMap(
            pn.bind(self._curves, trace_steps=self.state.param.trace_steps, magnetization=self.state.param.magnetization)
        )
        return pn.pane.HoloViews(dmap, linked_axes=False)


class ChainControls(pn.viewable.Viewer):
    """Start/pause, the step-rate slider, and the hidden-unit buttons."""

    state = param.ClassSelector(class_=ChainSession)

    def __panel__(self):
        s = self.state
        low, high = s.hidden_levels
        run = pn.widgets.Toggle.from_param(s.param.running, label="Run / pause", color="primary")
        rate = pn.widgets.IntSlider.from_param(s.param.steps_per_second, label="Sweeps per second", step=1)
        full = pn.widgets.Checkbox.from_param(s.param.full_speed, label="As fast as possible")
        flip = pn.widgets.Button(label=f"Flip hidden unit {s.hidden_unit}", color="warning")
        flip.on_click(lambda event: s.flip())
        up = pn.widgets.Button(label=f"Clamp to {high:+g}")
        up.on_click(lambda event: s.clamp_high())
        down = pn.widgets.Button(label=f"Clamp to {low:+g}")
        down.on_click(lambda event: s.clamp_low())
        free = pn.widgets.Button(label="Release")
        free.on_click(lambda event: s.release())
        noise = pn.widgets.Button(label="Restart from noise")
        noise.on_click(lambda event: s.reinitialize())
        status = pn.pane.Markdown(pn.bind(self._status, s.param.steps, s.param.measured_rate, s.param.clamp_text,
                                          s.param.status), css_classes=["chain-status"], width=260)
        return pn.Column(run, rate, full, flip, pn.Row(up, down), pn.Row(free, noise), status, width=280)

    def _status(self, steps, rate, clamp_text, error):
        lines = [f"**Sweeps:** {steps}", f"**Rate:** {rate:,.0f} sweeps/s",
                 f"**Hidden unit {self.state.hidden_unit}:** {clamp_text}"]
        if error:
            lines.append(f"**Error:** {error}")
        return "  \n".join(lines)


class ChainPage(pn.viewable.Viewer):
    """The whole page: a title, the controls, the chain grid and the magnetization traces."""

    state = param.ClassSelector(class_=ChainSession)

    def __panel__(self):
        meta = self.state.model.metadata
        intro = pn.pane.Markdown(
            "## Live Gibbs chains\n" + meta.get("description", repr(self.state.model.rbm)), sizing_mode="stretch_width"
        )
        low, high = self.state.visible_levels
        legend = pn.pane.Markdown(f"{self.state.n_chains} chains; white = {high:+g}, black = {low:+g}.")
        grid = pn.Column(ChainGrid(state=self.state), legend)
        body = pn.Row(ChainControls(state=self.state), grid, MagnetizationTrace(state=self.state))
        return pn.Column(intro, body, sizing_mode="stretch_width")
