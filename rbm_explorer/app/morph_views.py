"""Views of the Morph page. They render ``MorphSession`` parameters and hold no numerics."""

from __future__ import annotations

import html
import time

import numpy as np
import panel as pn
import param

from rbm_explorer.app.live_components import ChainCanvas, StatusLine, TraceChart
from rbm_explorer.app.morph_state import MorphSession
from rbm_explorer.app.style import ACCENT, TRACE_COLORS, bounded_int_input, tip, tipped, tooltip_below

GRID_PIXELS = 462  # 2 screen pixels per state pixel for 8 x 8 chains of 28 x 28
TRACE_WIDTH, TRACE_HEIGHT = 300, 150
STATUS_PERIOD_S = 0.25  # the status line's running counters are redrawn at most 4 times a second
URGENT_STATUS = ("released_modes",)  # ... but these show at once


class MorphGrid(pn.viewable.Viewer):
    """The chains as a grid of pictures (``ChainCanvas``), drawn at a whole number of screen pixels per state
    pixel that keeps it within ``GRID_PIXELS``; a watcher on the state's ``frame_png`` (on the session's
    event loop) pushes each frame."""

    state = param.ClassSelector(class_=MorphSession)

    @staticmethod
    def _scale(grid_shape) -> int:
        return max(1, GRID_PIXELS // max(max(grid_shape), 1))  # never wider than the column

    def __panel__(self):
        s = self.state
        canvas = ChainCanvas(png=s.frame_png, frame=s.frame, scale=self._scale(s.grid_shape), margin=0,
                             width=GRID_PIXELS, height=GRID_PIXELS, on_painted=s.frame_painted)
        s.param.watch(lambda event: canvas.push(png=event.new, frame=s.frame), "frame_png")
        s.param.watch(lambda event: setattr(canvas, "scale", self._scale(event.new)), "grid_shape")
        return pn.Column(canvas, css_classes=["morph-grid"], margin=(5, 5))


class MorphTraces(pn.viewable.Viewer):
    """Four live traces of the watched chain: I*, the projection on q, -F(v) and the judge's probability, one
    ``TraceChart`` each; a watcher on the state's ``traces`` parameter sends them their new points (on the
    session's event loop, never from the sampler thread)."""

    state = param.ClassSelector(class_=MorphSession)

    PANELS = (
        ("input", "released unit input I*", "Input I* of the first released unit (hidden without released units)"),
        ("projection", "v · q / |q|", "Projection of the visible state on the label direction q"),
        ("neg_free_energy", "−F(v)", "Minus the free energy of the visible state (log-probability up to log Z)"),
        ("probability", "P(class | v)", "Probability of the traced class (the released unit's, else the starting "
                                        "images'), by a classifier trained on real data"),
    )

    @staticmethod
    def _title(chain, layout, traced_class) -> str:
        """Which chain, which unit's input and which class's probability the plots show. A Markdown line, kept
        apart from the plots so that a switch of model changes only this text."""
        unit = f"I* of released unit {layout[0][0]}" if layout else "no released unit, so no I*"
        probability = f"P(class {traced_class} | v)" if traced_class else "no classifier for P(class | v)"
        return f"**Traces of chain {chain}**  \n{unit}; {probability}"

    def __panel__(self):
        charts = []
        for (key, label, help_text), color in zip(self.PANELS, TRACE_COLORS):
            charts.append(TraceChart(label=label, color=color, width=TRACE_WIDTH, height=TRACE_HEIGHT, margin=(2, 5),
                                     y_range=(-0.02, 1.02) if key == "probability" else None,
                                     y_ticks=[0, 0.5, 1] if key == "probability" else [],
                                     css_classes=[f"trace-{key.replace('_', '-')}"]))

        def update(traces):
            if not traces:
                return
            steps = np.asarray(traces.get("step", []))
            for (key, _, _), chart in zip(self.PANELS, charts):
                chart.show(steps, np.asarray(traces.get(key, []), dtype=float))

        update(self.state.traces)
        self.state.param.watch(lambda event: update(event.new), "traces")
        # I* only where there is a released unit; the chart stays in the page (a hidden Column around it)
        panes = [pn.Column(charts[0], visible=pn.bind(bool, self.state.param.released_layout), margin=0,
                           css_classes=["trace-released-input"]), *charts[1:]]
        title = pn.pane.Markdown(pn.bind(self._title, self.state.param.watched_chain, self.state.param.released_layout,
                                         self.state.param.traced_class), margin=(0, 10), css_classes=["traces-title"])
        return pn.Column(title, *panes, css_classes=["morph-traces"], width=TRACE_WIDTH + 10)


class ReleasedUnitControls(pn.viewable.Viewer):
    """For each released unit: on / free / off and a flip button. Rebuilt when the model's released units (the
    published ``released_layout``) change; the watchers of the previous build are removed."""

    state = param.ClassSelector(class_=MorphSession)

    def _controls(self, layout):
        s = self.state
        for watcher in getattr(self, "_watchers", []):
            s.param.unwatch(watcher)
        self._watchers = []
        # param calls the watchers it collected for a batch of changes even when one of them unwatches
        # another: without this build number a sync of the previous build's widgets could run after they had
        # left the page
        self._build = build = getattr(self, "_build", 0) + 1
        if not layout:  # the text follows the variant without rebuilding the card
            return pn.pane.Markdown(pn.bind(lambda variant: "*This variant has no released units: every hidden unit "
                                            "is " + ("unconstrained.*" if variant == "unconstrained" else "constrained.*"),
                                            s.param.variant), css_classes=["released-none"])
        rows = []
        for k, (unit, name) in enumerate(layout):
            modes = s.released_modes
            group = pn.widgets.RadioButtonGroup(
                options={"on": "on", "free": "free", "off": "off"}, value=modes[k] if k < len(modes) else "free",
                color="primary", variant="outline", width=150, css_classes=[f"released-mode-{k}"],
                description=f"Clamp released unit {unit} on (generates {name}), off, or let it sample freely")
            flip = pn.widgets.Button(label=f"Flip unit {unit}", color="warning", width=105,
                                     description=f"Flip released unit {unit} in every chain and watch them morph")

            def on_mode(event, k=k):
                if event.new != event.old and event.new != s.released_modes[k]:
                    s.run_action(s.set_released, k, event.new)

            group.param.watch(on_mode, "value")
            flip.on_click(lambda event, k=k: s.run_action(s.flip, k))

            def sync(modes, group=group, k=k):  # the published mode is the source of truth
                if build == self._build and k < len(modes) and modes[k] in ("on", "free", "off") and group.value != modes[k]:
                    group.value = modes[k]

            self._watchers.append(s.param.watch(lambda event, sync=sync: sync(event.new), "released_modes"))
            label = pn.pane.Markdown(f"**Unit {unit}**: on generates *{name}*", margin=(0, 5))
            rows.append(pn.Column(label, pn.Row(group, flip)))
        return pn.Column(*rows)

    def __panel__(self):
        # rebuilt only when the released units change: a second rebuild in the same switch (it used to follow
        # the variant too) could reach the browser after it had dropped the first one's widgets
        return pn.panel(pn.bind(self._controls, layout=self.state.param.released_layout))


class MorphControls(pn.viewable.Viewer):
    """Model choice, start images, speed, temperature, run/step/reset, automatic flip and snapshot."""

    state = param.ClassSelector(class_=MorphSession)

    def __panel__(self):
        s = self.state
        family = pn.widgets.Select.from_param(s.param.family, label="Data", description=tip(s.param.family),
                                              css_classes=["morph-family"])
        variant = pn.widgets.RadioButtonGroup.from_param(
            s.param.variant, orientation="vertical", color="primary", variant="outline",
            description=tip(s.param.variant), css_classes=["variant-toggle"])
        start = pn.widgets.Select.from_param(s.param.start_from, label="Start chains from",
                                             description=tip(s.param.start_from))
        run = tipped(pn.widgets.Toggle.from_param(s.param.running, label="Run / pause", color="primary",
                                                  width=100), tip(s.param.running))
        step = pn.widgets.Button(label="Step", width=60, description=tooltip_below("Pause and advance one frame's worth of sweeps"))
        step.on_click(lambda event: s.run_action(s.step_once))
        reset = pn.widgets.Button(label="Reset", width=60, description=tooltip_below("Restart the chains from the starting images at sweep 0"))
        reset.on_click(lambda event: s.run_action(s.reset))
        speed = tipped(pn.widgets.IntSlider.from_param(s.param.steps_per_frame, label="Sweeps per frame", width=250),
                       tip(s.param.steps_per_frame))
        beta = tipped(pn.widgets.FloatSlider.from_param(s.param.beta, label="Inverse temperature β", width=250),
                      tip(s.param.beta))
        auto = tipped(pn.widgets.Checkbox.from_param(s.param.auto_flip, label="Flip automatically at sweep",
                                                     width=150), tip(s.param.auto_flip))
        auto_step = bounded_int_input(s, "auto_flip_step", "The automatic flip's sweep", width=100, show_label=False)
        chain = bounded_int_input(s, "watched_chain", "Traced chain")
        download = pn.widgets.FileDownload(callback=lambda: _png_stream(s), filename="chains.png",
                                           label="Save grid as PNG", color="light",
                                           description="Download the current chain grid as a PNG image")
        ising_beta = pn.widgets.Select.from_param(
            s.param.ising_beta, label="Ising β (released model of that β)", description=tip(s.param.ising_beta),
            visible=pn.bind(bool, s.param.ising_beta), css_classes=["morph-ising-beta"])
        return pn.Column(
            family, ising_beta, pn.pane.Markdown("**Constraint variant**", margin=(0, 10)), variant, start,
            pn.Row(run, step, reset), speed, beta, pn.Row(auto, auto_step), chain, download, width=300,
        )


def _png_stream(state: MorphSession):
    import io

    return io.BytesIO(state.snapshot_png())


STATUS_HEIGHT = 64  # three lines: sweeps, rate, three released units and a judge of four classes and unclear


class MorphStatus(pn.viewable.Viewer):
    """Sweeps, rate, the released units and the judge's class shares in one line under the grid, and any
    error, whole, in a box under it."""

    state = param.ClassSelector(class_=MorphSession)

    def _text(self, steps, rate, shares, modes):
        parts = [f"<b>Sweep</b> {steps:,}", f"<b>Rate</b> {rate:,.0f} sweeps/s"]
        if modes:
            parts.append("<b>Released</b> " + ", ".join(f"{u}: {m}" for u, m in zip(self.state.released_units, modes)))
        if shares:
            parts.append("<b>Judge</b> " + " · ".join(f"{html.escape(name)}: {100 * share:.0f}%"
                                                     for name, share in shares.items()))
        return "<p>" + " | ".join(parts) + "</p>"

    def __panel__(self):
        s = self.state
        names = ("steps", "measured_rate", "class_shares", "released_modes")

        def text():
            return self._text(*(getattr(s, name) for name in names))

        line = StatusLine(html=text(), width=GRID_PIXELS, height=STATUS_HEIGHT)
        last = [0.0]

        def refresh(*events):
            # the running counters are shown at most STATUS_PERIOD_S apart (each new text costs the browser a
            # little work); a change of the released units, an error, or a pause shows at once, in the same
            # frame as the grid
            urgent = s.measured_rate == 0 or any(e.name in URGENT_STATUS for e in events if e.old != e.new)
            now = time.monotonic()
            if urgent or now - last[0] >= STATUS_PERIOD_S:
                last[0] = now
                new = text()
                if new != line.html:
                    line.push(html=new)

        s.param.watch(refresh, list(names))
        # a problem is shown whole, in its own box under the line (errors are rare: the layout may change then)
        problem = pn.bind(lambda error, status: error or status, s.param.error, s.param.status)
        alert = pn.pane.Alert(pn.bind(lambda text: f"**Error:** {html.escape(text)}" if text else "", problem),
                              alert_type="danger", visible=pn.bind(bool, problem), css_classes=["morph-error"],
                              width=GRID_PIXELS)
        return pn.Column(line, alert, css_classes=["morph-status"], width=GRID_PIXELS + 10)


ABOUT = """
**What am I looking at?** {n} Gibbs chains of an RBM trained on *{family}*, drawn live. In the *released*
variants one hidden unit per class is left free of the label constraint while every other hidden unit is made
blind to the label (Fernandez-de-Cossio-Diaz, Cocco & Monasson, PRX 2023, Eqs. 6–7 and 26). The released unit
becomes a knob: clamp it and the chains
produce one class; **flip** it and they morph into the other — Fig. 8(c) of the PRX paper for MNIST 0→1,
Fig. 9(e) for 1→2→3→0, Fig. 6 for faces. Toggle the variant to *linear, all units* and the chains lose the
label and wander between blurred mixtures; *unconstrained* chains stay in the class they started in. For
Ising spins (Fig. 7, Sec. V) the released unit h* sets the sign of the magnetization: flip it and the lattice
reverses through moving domain walls; *linear, all units* samples have |m| ≈ 0; the β selector picks the
released model trained at another temperature.
"""


class MorphPage(pn.viewable.Viewer):
    state = param.ClassSelector(class_=MorphSession)

    def __panel__(self):
        s = self.state
        about = pn.pane.Markdown(pn.bind(lambda family: ABOUT.format(n=s.n_chains, family=family), s.param.family),
                                 sizing_mode="stretch_width", css_classes=["page-about"])
        released = pn.Card(ReleasedUnitControls(state=s), title="Released units", collapsible=False,
                           header_background=ACCENT, header_color="white", width=300)
        middle = pn.Column(MorphGrid(state=s), MorphStatus(state=s), width=GRID_PIXELS + 20)
        return pn.Column(about, pn.Row(pn.Column(released, MorphControls(state=s)), middle, MorphTraces(state=s)),
                         sizing_mode="stretch_width")

