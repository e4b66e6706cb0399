"""Views of the Ising page. They render ``IsingPageState`` parameters and hold no numerics."""

from __future__ import annotations

import html

import numpy as np
import panel as pn
import param

from rbm_explorer.app.ising_state import IsingPageState
from rbm_explorer.app.live_components import ChainCanvas, StatusLine, TraceChart
from rbm_explorer.app.style import TRACE_COLORS, tip, tipped, tooltip_below

LATTICE_PIXELS = 512  # 2 screen pixels per spin at L = 256, 8 at L = 64
TRACE_WIDTH, TRACE_HEIGHT = 320, 170

ABOUT = """
**What am I looking at?** One L×L Ising lattice, E = −J Σ⟨ij⟩ sᵢsⱼ − h Σ sᵢ on a torus (black −1, white +1),
sampled live by checkerboard Metropolis, Wolff clusters, or a hybrid of both (Fernandez-de-Cossio-Diaz, Cocco
and Monasson, PRX 2023, Sec. V, make their training data this way). Move β across β_c = 0.4407: above it domains
of one sign take over (|m| rises to Onsager's M); below it the lattice is disordered. Metropolis slows down near
β_c (critical slowing down); Wolff flips whole clusters and does not. With J < 0 the order is a checkerboard:
watch the staggered magnetization instead. The traces show the energy per spin and |m| of the last sweeps.
"""


class IsingLatticeView(pn.viewable.Viewer):
    """The lattice on a canvas, a whole number of screen pixels per spin."""

    state = param.ClassSelector(class_=IsingPageState)

    @staticmethod
    def _scale(L: int) -> int:
        return max(1, LATTICE_PIXELS // max(int(L), 1))

    def __panel__(self):
        s = self.state
        canvas = ChainCanvas(png=s.frame_png, frame=s.frame, scale=self._scale(s.lattice_size), margin=0,
                             width=LATTICE_PIXELS, height=LATTICE_PIXELS, on_painted=s.frame_painted,
                             css_classes=["ising-lattice"])
        s.param.watch(lambda event: canvas.push(png=event.new, frame=s.frame), "frame_png")
        s.param.watch(lambda event: setattr(canvas, "scale", self._scale(event.new)), "lattice_size")
        return pn.Column(canvas, margin=(5, 5))


class IsingTraces(pn.viewable.Viewer):
    """Energy per spin and |m| of the recent sweeps."""

    state = param.ClassSelector(class_=IsingPageState)

    PANELS = (("energy", "energy per spin e"), ("abs_magnetization", "|m|"))

    def __panel__(self):
        charts = [TraceChart(label=label, color=color, width=TRACE_WIDTH, height=TRACE_HEIGHT, margin=(2, 5),
                             y_range=(-0.02, 1.02) if key == "abs_magnetization" else None,
                             y_ticks=[0, 0.5, 1] if key == "abs_magnetization" else [],
                             css_classes=[f"trace-{key.replace('_', '-')}"])
                  for (key, label), color in zip(self.PANELS, TRACE_COLORS)]

        def update(traces):
            if traces:
                sweeps = np.asarray(traces.get("sweep", []))
                for (key, _), chart in zip(self.PANELS, charts):
                    chart.show(sweeps, np.asarray(traces.get(key, []), dtype=float))

        update(self.state.traces)
        self.state.param.watch(lambda event: update(event.new), "traces")
        return pn.Column(*charts, css_classes=["ising-traces"], width=TRACE_WIDTH + 10)


class IsingControls(pn.viewable.Viewer):
    """β, the coupling's sign, the field, the algorithm, the size, the speed, run / pause and restarts."""

    state = param.ClassSelector(class_=IsingPageState)

    def __panel__(self):
        s = self.state
        beta = tipped(pn.widgets.FloatSlider.from_param(s.param.beta, label="Inverse temperature β", width=270,
                                                        css_classes=["ising-beta"]), tip(s.param.beta))
        coupling = pn.widgets.RadioButtonGroup.from_param(s.param.coupling, orientation="vertical", color="primary",
                                                          variant="outline", description=tip(s.param.coupling),
                                                          css_classes=["ising-coupling"])
        field = tipped(pn.widgets.FloatSlider.from_param(s.param.field, label="Field h", width=270,
                                                         css_classes=["ising-field"]), tip(s.param.field))
        algorithm = pn.widgets.RadioButtonGroup.from_param(s.param.algorithm, color="primary", variant="outline",
                                                           description=tip(s.param.algorithm),
                                                           css_classes=["ising-algorithm"])
        size = pn.widgets.Select.from_param(s.param.size, label="Size L", description=tip(s.param.size), width=120,
                                            css_classes=["ising-size"])
        speed = tipped(pn.widgets.IntSlider.from_param(s.param.sweeps_per_second, label="Sweeps per second",
                                                       width=270), tip(s.param.sweeps_per_second))
        run = tipped(pn.widgets.Toggle.from_param(s.param.running, label="Run / pause", color="primary", width=100),
                     tip(s.param.running))
        quench = pn.widgets.Button(label="Random start", width=115, css_classes=["ising-random"],
                                   description=tooltip_below("New random spins: a quench from infinite temperature"))
        quench.on_click(lambda event: s.restart("random"))
        ordered = pn.widgets.Button(label="Ordered start", width=115, css_classes=["ising-ordered"],
                                    description=tooltip_below("All spins up (a checkerboard for J < 0)"))
        ordered.on_click(lambda event: s.restart("ordered"))
        return pn.Column(beta, pn.pane.Markdown("**Coupling**", margin=(0, 10)), coupling, field,
                         pn.pane.Markdown("**Algorithm**", margin=(0, 10)), algorithm, size, speed, run,
                         pn.Row(quench, ordered), width=300)


class IsingStatus(pn.viewable.Viewer):
    """The sweep, rate, model and magnetizations in one line, and any error in a box under it."""

    state = param.ClassSelector(class_=IsingPageState)

    @staticmethod
    def _text(status, m, ms) -> str:
        return f"<p>{html.escape(status)} | <b>m</b> {m:+.3f} | <b>staggered m</b> {ms:+.3f}</p>"

    def __panel__(self):
        s = self.state
        names = ("status", "magnetization", "staggered_magnetization")
        line = StatusLine(html=self._text(*(getattr(s, n) for n in names)), width=LATTICE_PIXELS, height=68,
                          css_classes=["ising-status"])
        s.param.watch(lambda *events: line.push(html=self._text(*(getattr(s, n) for n in names))), list(names))
        alert = pn.pane.Alert(pn.bind(lambda text: f"**Error:** {html.escape(text)}" if text else "", s.param.error),
                              alert_type="danger", visible=pn.bind(bool, s.param.error), css_classes=["ising-error"],
                              width=LATTICE_PIXELS)
        return pn.Column(line, alert, width=LATTICE_PIXELS + 10)


class IsingPage(pn.viewable.Viewer):
    state = param.ClassSelector(class_=IsingPageState)

    def __panel__(self):
        s = self.state
        about = pn.pane.Markdown(ABOUT, css_classes=["ising-about"], sizing_mode="stretch_width")
        centre = pn.Column(IsingLatticeView(state=s), IsingStatus(state=s))
        return pn.Column(about, pn.Row(IsingControls(state=s), centre, IsingTraces(state=s)),
                         css_classes=["ising-page"])
