"""Views of the Morph page. They render ``MorphSession`` parameters and hold no numerics."""

from __future__ import annotations

import base64
import html
import time

import numpy as np
import panel as pn
import param
from panel.custom import JSComponent

from rbm_explorer.app.morph_state import MorphSession
from rbm_explorer.app.style import ACCENT, TRACE_COLORS, bounded_int_input, tip, tipped, tooltip_below

GRID_PIXELS = 462  # 2 screen pixels per state pixel for 8 x 8 chains of 28 x 28
TRACE_WIDTH, TRACE_HEIGHT = 300, 150
PAINT_REPORT_MS = 300  # the page reports its drawn frames about 3 times a second (morph_state.FRAMES_IN_FLIGHT)
STATUS_PERIOD_S = 0.25  # the status line's running counters are redrawn at most 4 times a second
URGENT_STATUS = ("released_modes",)  # ... but these show at once


class PushedComponent(JSComponent):
    """A JSComponent whose often-changing parameters are pushed to the page as one message each
    (``_send_msg``), not synchronised as parameters: Panel's synchronisation of a changed parameter resolves
    the component's design and stylesheets on every change, which cost about 2 ms of the server's event loop
    per frame (a py-spy profile with 10 sessions, benchmarks/README.md). ``push`` keeps the parameters
    current (without events), so that a new view of the component starts from the latest values."""

    def push(self, **values) -> None:
        with param.discard_events(self):
            self.param.update(**values)
        self._send_msg(self._message(values))

    def _message(self, values: dict) -> dict:
        """What ``push`` sends for ``values`` (the values themselves, unless a subclass says otherwise)."""
        return values


class ChainCanvas(PushedComponent):
    """The chains as one picture on a canvas: each frame is an indexed PNG (``MorphSession.frame_png``) that
    the browser decodes natively and draws at ``scale`` screen pixels per state pixel, unsmoothed, so that a
    screenshot of the canvas gives back the states exactly.

    The same grid as a Bokeh image glyph cost the browser a repaint of the whole plot per frame, and the
    raw grey bytes are six times the PNG on the socket. Flow control: after drawing frames the page reports
    the last one drawn (the root model's ``tags``, a plain Bokeh property the server reads without Panel's
    machinery), at most every ``PAINT_REPORT_MS``; ``on_painted`` receives it."""

    png = param.Bytes(default=b"", doc="The frame: an indexed PNG of the chain mosaic")
    frame = param.Integer(default=0, doc="The frame's number")
    scale = param.Integer(default=1, bounds=(1, None), doc="Screen pixels per state pixel")

    def __init__(self, on_painted=None, **params):
        super().__init__(**params)
        self._on_painted = on_painted

    def _message(self, values: dict) -> dict:
        # the PNG as base64 text inside the message: Bokeh sends bytes as a binary buffer of their own, two
        # more websocket frames (write calls) per frame, which cost more than the third of size base64 adds
        message = dict(values)
        if "png" in message:
            message["png"] = base64.b64encode(message["png"]).decode("ascii")
        return message

    def _get_model(self, doc, root=None, parent=None, comm=None):
        model = super()._get_model(doc, root, parent, comm)
        model.on_change("tags", self._painted)
        return model

    def _painted(self, attr, old, new) -> None:
        if self._on_painted is not None and new and isinstance(new[0], int):
            self._on_painted(new[0])

    _esm = """
    export function render({ model, el, view }) {
      const canvas = document.createElement("canvas");
      canvas.className = "chains-picture";
      const context = canvas.getContext("2d");
      const bytes = (text) => {  // base64 to bytes
        if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text);
        const raw = atob(text), out = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
        return out;
      };
      let latest = { frame: model.frame, png: model.png };
      let decoding = false, drawn = -1, reported = -1, reportedAt = -1e9, timer = null;
      function resize() {
        canvas.style.width = `${canvas.width * model.scale}px`;
        canvas.style.height = `${canvas.height * model.scale}px`;
      }
      function report() {  // the latest frame drawn, at most once per PAINT_REPORT_MS
        if (timer !== null || reported === drawn) return;
        const wait = reportedAt + PAINT_REPORT_MS - performance.now();
        if (wait > 0) { timer = setTimeout(() => { timer = null; report(); }, wait); return; }
        reportedAt = performance.now();
        reported = drawn;
        canvas.dataset.painted = String(drawn);
        view.model.tags = [drawn];
      }
      async function draw() {  // one decode at a time, always of the newest frame: a slow page skips frames
        if (decoding) return;
        decoding = true;
        try {
          while (latest.frame !== drawn && latest.png && latest.png.byteLength > 0) {
            const { frame, png } = latest;
            const bitmap = await createImageBitmap(new Blob([png], { type: "image/png" }));
            if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
              canvas.width = bitmap.width; canvas.height = bitmap.height; resize();
            }
            context.drawImage(bitmap, 0, 0);
            bitmap.close();
            drawn = frame;
            await new Promise((done) => requestAnimationFrame(done));
            report();
          }
        } finally {
          decoding = false;
        }
      }
      model.on("msg:custom", (message) => { latest = { frame: message.frame, png: bytes(message.png) }; draw(); });
      model.on("scale", resize);
      draw();
      return canvas;
    }
    """.replace("PAINT_REPORT_MS", str(PAINT_REPORT_MS))
    _stylesheets = [".chains-picture { image-rendering: pixelated; display: block; }"]


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
    """Four live traces of the watched chain: I*, the projection on q, -F(v) and the judge's probability.
    Each small plot has its own Bokeh ColumnDataSource; a watcher on the state's ``traces`` parameter replaces
    their data (on the session's event loop, never from the sampler thread)."""

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
        """Which chain, which unit's input and which class's probability the plots show. A Markdown line: a
        change of a Bokeh plot's title (or visibility) on a switch reached the browser after Panel had
        replaced the plot's model."""
        unit = f"I* of released unit {layout[0][0]}" if layout else "no released unit, so no I*"
        probability = f"P(class {traced_class} | v)" if traced_class else "no classifier for P(class | v)"
        return f"**Traces of chain {chain}**  \n{unit}; {probability}"

    def __panel__(self):
        from bokeh.models import ColumnDataSource, Range1d
        from bokeh.plotting import figure

        sources, figures = [], []
        for (key, label, help_text), color in zip(self.PANELS, TRACE_COLORS):
            source = ColumnDataSource({"step": [], key: []})
            sources.append(source)
            # fixed frame and borders: new tick labels never change the layout, so an update only redraws
            fig = figure(frame_width=TRACE_WIDTH - 70, frame_height=TRACE_HEIGHT - 60, title=label,
                         toolbar_location=None, tools="", x_axis_label="sweep", min_border_left=60,
                         min_border_right=10, min_border_top=5, min_border_bottom=5)
            fig.line("step", key, source=source, color=color, line_width=2)
            fig.title.text_font_size = "11pt"
            if key == "probability":
                fig.y_range = Range1d(-0.02, 1.02)
            figures.append(fig)

        turn = [0]

        def update(traces, everything=False):
            # while the chains run, each new set of traces redraws one plot, in turn: redrawing a plot costs
            # the browser about as much as a frame of the grid, and four at once delayed the next frame
            if not traces:
                return
            chosen = range(len(sources)) if everything or not self.state.running else [turn[0] % len(sources)]
            turn[0] += 1
            for i in chosen:
                key = self.PANELS[i][0]
                sources[i].data = {"step": np.asarray(traces.get("step", []), dtype=float),
                                   key: np.asarray(traces.get(key, []), dtype=float)}

        update(self.state.traces, everything=True)
        self.state.param.watch(lambda event: update(event.new), "traces")
        panes = [pn.pane.Bokeh(fig, margin=(2, 5)) for fig in figures]
        # I* only where there is a released unit. The plot stays in the page (a hidden Column around it), so a
        # switch never replaces a Bokeh figure that trace updates may still address
        panes[0] = pn.Column(panes[0], visible=pn.bind(bool, self.state.param.released_layout), margin=0,
                             css_classes=["trace-released-input"])

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
        return pn.Column(
            family, pn.pane.Markdown("**Constraint variant**", margin=(0, 10)), variant, start,
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


class StatusLine(PushedComponent):
    """A fixed-size line of HTML whose content the page replaces in place. A Bokeh Div (or a Panel Markdown or
    HTML pane) re-renders on every new text and makes Bokeh re-measure the whole layout, plots included: at
    20 frames a second that took more of the browser's time than drawing the chains (benchmarks/README.md)."""

    html = param.String(default="", doc="trusted HTML built by the view from escaped values")

    _esm = """
    export function render({ model, el }) {
      const box = document.createElement("div");
      box.className = "status-line";
      box.innerHTML = model.html;
      model.on("html", () => { box.innerHTML = model.html; });
      model.on("msg:custom", (message) => { box.innerHTML = message.html; });
      return box;
    }
    """
    _stylesheets = [".status-line { font-size: 14px; line-height: 1.4; overflow: hidden; }"]


ABOUT = """
**What am I looking at?** {n} Gibbs chains of an RBM trained on *{family}*, drawn live. In the *released*
variants one hidden unit per class is left free of the label constraint while every other hidden unit is made
blind to the label (Fernandez-de-Cossio-Diaz, Cocco & Monasson, PRX 2023, Eqs. 6–7 and 26). The released unit
becomes a knob: clamp it and the chains
produce one class; **flip** it and they morph into the other — Fig. 8(c) of the PRX paper for MNIST 0→1,
Fig. 9(e) for 1→2→3→0, Fig. 6 for faces. Toggle the variant to *linear, all units* and the chains lose the
label and wander between blurred mixtures; *unconstrained* chains stay in the class they started in.
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

