"""The app's own JavaScript components: the ones the page draws itself from data the server pushes (the chain
grid, the trace charts and the status line of the Morph page), and the Models page's upload guard.

They all live here, and the shell imports this module when the app starts. Panel sends the definition of a
JSComponent class only with the first page that shows it when the class is created while a session is
connected, so a class first imported when a user opened a page by a click was unknown to the page of every
other session in that process ("could not resolve type 'UploadSizeGuard1'": a second student's Models page
never opened). ``tests/test_explorer.py`` checks that no app module defines one elsewhere.

Each is a Panel ``JSComponent``. What changes in every frame is sent as one message per component
(``_send_msg``) instead of synchronised parameters, and drawn on a canvas or written into an element by the
component's own script, not by a Bokeh figure. Measured on the Morph page with 10 sessions on one server
(py-spy, and a Chromium CPU profile; benchmarks/README.md): Panel's synchronisation of a changed parameter
resolves the component's design and stylesheets on every change (about 2 ms of the event loop per frame), and
Bokeh reads every colour of a figure from the computed style of its element on each repaint, which made style
recalculations half of the browser's work per frame.
"""

from __future__ import annotations

import base64

import numpy as np
import param
from panel.custom import JSComponent

PAINT_REPORT_MS = 300  # the page reports its drawn frames about 3 times a second (morph_state.FRAMES_IN_FLIGHT)


class PushedComponent(JSComponent):
    """A JSComponent whose often-changing parameters are pushed to the page as one message each
    (``_send_msg``), not synchronised as parameters: Panel's synchronisation of a changed parameter resolves
    the component's design and stylesheets on every change, which cost about 2 ms of the server's event loop
    per frame (a py-spy profile with 10 sessions, benchmarks/README.md). ``push`` keeps the parameters
    current (without events), so that a new view of the component starts from the latest values."""

    def push(self, **values) -> None:
        self._push(values, self._message(values))

    def _push(self, values: dict, message: dict | None) -> None:
        """Set ``values`` without events and send ``message`` (nothing when it is None)."""
        with param.discard_events(self):
            self.param.update(**values)
        if message is not None:
            self._send_msg(message)

    def _message(self, values: dict) -> dict:
        """What ``push`` sends for ``values`` (the values themselves, unless a subclass says otherwise)."""
        return values


class ChainCanvas(PushedComponent):
    """The chains as one picture on a canvas: each frame is an indexed PNG (``MorphSession.frame_png``) that
    the browser decodes natively and draws at ``scale`` screen pixels per state pixel, unsmoothed, so that a
    screenshot of the canvas gives back the states exactly.

    The same grid as a Bokeh image glyph cost the browser a repaint of the whole plot per frame, and the
    raw grey bytes are four (Ising spins) to seven (faces) times the PNG on the socket (MNIST: 53 kB, 8 kB). Flow control: after drawing frames the page reports
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


class TraceChart(PushedComponent):
    """One live trace as a line on a small canvas, with its title, the y range and the sweeps it spans.

    Drawn by the page itself rather than by a Bokeh figure: Bokeh reads every colour of a plot from the
    computed style of its element on each repaint, and those style recalculations were half of the browser's
    work per frame on the Morph page (a Chromium CPU profile, benchmarks/README.md). ``show`` sends only the
    points the page has not got yet (or all of them, after a restart), so a trace costs a few numbers per
    update on the socket."""

    label = param.String(default="", doc="Title above the plot")
    color = param.Color(default="#1f5fa8")
    steps = param.Array(default=np.zeros(0), doc="Sweep of each point (kept current by show)")
    values = param.Array(default=np.zeros(0), doc="Value of each point (kept current by show)")
    y_range = param.NumericTuple(default=None, length=2, allow_None=True, doc="Fixed y range; None: the data's")
    y_ticks = param.List(default=[], doc="Values to label on the y axis; empty: the data's lowest, middle, highest")

    def show(self, steps: np.ndarray, values: np.ndarray) -> None:
        """Show the trace ``(steps, values)``: the points past the last shown sweep, or all of them when the
        trace restarted (its sweeps went back)."""
        steps = np.asarray(steps, dtype=np.float64)  # sweeps, exact below 2**53; a float array reaches the page as one
        values = np.asarray(values, dtype=np.float64)
        old = self.steps
        start = None  # where the new points begin, if the page's trace is a part of this one
        if len(old) and len(steps) and steps[0] >= old[0]:
            at = int(np.searchsorted(steps, old[-1]))  # the sweeps of a trace increase
            if at < len(steps) and steps[at] == old[-1]:
                start = at + 1
        message = None
        if start is None or start < len(steps):
            tail = slice(0 if start is None else start, None)
            points = [None if not np.isfinite(x) else x for x in np.round(values[tail], 6).tolist()]
            message = {"reset": start is None, "steps": steps[tail].astype(np.int64).tolist(), "values": points,
                       "keep": len(steps)}
        self._push({"steps": steps, "values": values}, message)

    _esm = """
    export function render({ model, el }) {
      const width = model.width, height = model.height, ratio = window.devicePixelRatio || 1;
      const canvas = document.createElement("canvas");
      canvas.width = width * ratio; canvas.height = height * ratio;
      canvas.style.width = `${width}px`; canvas.style.height = `${height}px`;
      canvas.className = "trace-chart";
      const g = canvas.getContext("2d");
      let steps = Array.from(model.steps || []), values = Array.from(model.values || []);
      const left = 52, right = 8, top = 22, bottom = 24;
      const label = (x) => {
        const a = Math.abs(x);
        return a !== 0 && (a >= 1e4 || a < 1e-2) ? x.toExponential(1) : Number(x.toPrecision(3)).toString();
      };
      function draw() {
        g.setTransform(ratio, 0, 0, ratio, 0, 0);
        g.clearRect(0, 0, width, height);
        g.fillStyle = "#212529"; g.font = "bold 14px sans-serif"; g.textBaseline = "alphabetic";
        g.fillText(model.label, left, 15);
        const w = width - left - right, h = height - top - bottom;
        g.strokeStyle = "#ced4da"; g.lineWidth = 1; g.strokeRect(left + 0.5, top + 0.5, w, h);
        const finite = values.filter((v) => v !== null && Number.isFinite(v));
        if (steps.length === 0 || finite.length === 0) return;
        let [low, high] = model.y_range || [Math.min(...finite), Math.max(...finite)];
        const ticks = model.y_ticks.length ? model.y_ticks : [low, (low + high) / 2, high];
        if (!model.y_range) { const pad = (high - low) * 0.05 || Math.abs(high) * 0.05 || 1; low -= pad; high += pad; }
        const x0 = steps[0], x1 = Math.max(steps[steps.length - 1], x0 + 1);
        const X = (s) => left + ((s - x0) / (x1 - x0)) * w, Y = (v) => top + (1 - (v - low) / (high - low)) * h;
        g.font = "11px sans-serif"; g.fillStyle = "#495057"; g.textAlign = "right";
        for (const v of ticks) { g.textBaseline = "middle"; g.fillText(label(v), left - 4, Y(v)); }
        g.textAlign = "left"; g.textBaseline = "top"; g.fillText(String(x0), left, top + h + 4);
        g.textAlign = "right"; g.fillText(`${x1} sweeps`, left + w, top + h + 4); g.textAlign = "left";
        g.save(); g.beginPath(); g.rect(left, top, w, h); g.clip();
        g.strokeStyle = model.color; g.lineWidth = 2; g.beginPath();
        let pen = false;
        for (let i = 0; i < steps.length; i++) {
          const v = values[i];
          if (v === null || !Number.isFinite(v)) { pen = false; continue; }
          if (pen) g.lineTo(X(steps[i]), Y(v)); else { g.moveTo(X(steps[i]), Y(v)); pen = true; }
        }
        g.stroke(); g.restore();
      }
      model.on("msg:custom", (m) => {
        if (m.reset) { steps = []; values = []; }
        steps.push(...m.steps); values.push(...m.values);
        if (steps.length > m.keep) { steps = steps.slice(-m.keep); values = values.slice(-m.keep); }
        draw();
      });
      model.on(["label", "color", "y_range", "y_ticks"], draw);
      draw();
      return canvas;
    }
    """


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


class UploadSizeGuard(JSComponent):
    """Refuses, in the browser, a file too big for the session's websocket (Bokeh closes the connection on a
    message over 20 MiB, which would end the session): a capturing ``change`` listener on the FileInput beside it
    (css class ``target``) stops the file from being read and sends only its name and size to ``on_refuse``."""

    max_bytes = param.Integer(default=0)
    target = param.String(default="model-upload")

    _esm = """
    export function render({ model, el }) {
      const attach = (tries) => {
        const host = el.getRootNode().host
        const input = host ? host.getRootNode().querySelector("." + model.target) : null
        if (input == null || input.shadowRoot == null) {
          if (tries > 0) { setTimeout(() => attach(tries - 1), 200) }
          return
        }
        if (input.shadowRoot.__rbmSizeGuard) { return }
        input.shadowRoot.__rbmSizeGuard = true
        input.shadowRoot.addEventListener("change", (event) => {
          const big = Array.from(event.target.files || []).find((file) => file.size > model.max_bytes)
          if (big) {
            event.stopImmediatePropagation()
            event.target.value = ""
            model.send_msg({ name: big.name, size: big.size })
          }
        }, true)
      }
      attach(100)
    }
    """

    def __init__(self, on_refuse=None, **params):
        super().__init__(**params)
        self._on_refuse = on_refuse

    def _handle_msg(self, data) -> None:
        if self._on_refuse is not None and isinstance(data, dict):
            self._on_refuse(str(data.get("name", "")), int(data.get("size", 0)))
