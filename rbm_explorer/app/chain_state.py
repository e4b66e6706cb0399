"""Per-session state of the live Gibbs chains page.

``ChainSession`` owns one ``SamplerWorker`` (Gibbs sampling on the project's background runner). A periodic
callback on the session's event loop calls ``poll``, which copies the worker's latest snapshot into read-only
parameters (the frame-rate limiter: the runner never touches Bokeh or Panel objects). Views depend only on
those parameters. ``close`` stops and joins the runner; the page registers it with
``pn.state.on_session_destroyed``.
"""

from __future__ import annotations

import numpy as np
import param

from rbm_explorer.app.session_state import SessionState
from rbm_explorer.io import ModelFile, load_model
from rbm_explorer.pictures import image_shape_of, tile_chains
from rbm_explorer.sampling import GibbsEngine, SamplerWorker

TRACED_CHAINS = 64


class ChainSession(SessionState):
    """Live Gibbs chains of one model for one browser session."""

    running = param.Boolean(default=False, doc="Sampler running (True) or paused")
    steps_per_second = param.Number(default=60, bounds=(1, 2000), doc="Target sweeps per second")
    full_speed = param.Boolean(default=False, doc="Ignore the target rate and run as fast as possible")
    hidden_unit = param.Integer(default=0, bounds=(0, None), doc="The hidden unit the buttons act on")

    # published by poll() (read-only); views read these
    mosaic = param.Array(default=None, constant=True, doc="Tiled picture of all chains")
    magnetization = param.Array(default=None, constant=True,
                                doc="Mean visible state of each chain over the traced steps (steps x chains)")
    trace_steps = param.Array(default=None, constant=True)
    steps = param.Integer(default=0, constant=True)
    measured_rate = param.Number(default=0.0, constant=True)
    clamp_text = param.String(default="free", constant=True)
    status = param.String(default="", constant=True)

    def __init__(self, model: ModelFile, n_chains: int = 16, seed: int | None = None, columns: int = 4, **params):
        super().__init__(**params)
        self.model = model
        self.image_shape = image_shape_of(model)
        self.columns = columns
        self.param.hidden_unit.bounds = (0, model.rbm.n_hidden - 1)
        engine = GibbsEngine(model.rbm, n_chains, seed=seed)
        self.worker = SamplerWorker(engine, steps_per_second=self.steps_per_second, watched_units=[0],
                                    trace_length=400, trace_chains=TRACED_CHAINS)
        self._last_version = -1
        self.poll()

    @classmethod
    def from_file(cls, path, **kwargs) -> "ChainSession":
        return cls(load_model(path), **kwargs)

    # --- actions -------------------------------------------------------------------------------------------
    @param.depends("running", watch=True)
    def _on_running(self):
        if self.running:
            self.worker.start()
        else:
            self.worker.pause()

    @param.depends("steps_per_second", "full_speed", watch=True)
    def _on_rate(self):
        self.worker.steps_per_second = None if self.full_speed else float(self.steps_per_second)

    def flip(self):
        """Flip the chosen hidden unit in every chain and hold it there."""
        self.worker.flip_hidden(self.hidden_unit)

    @property
    def n_chains(self) -> int:
        return self.worker.engine.n_chains

    @property
    def traced_chains(self) -> int:
        """How many chains the traces follow."""
        return min(self.n_chains, TRACED_CHAINS)

    @property
    def hidden_levels(self) -> tuple[float, float]:
        return self.model.rbm.hidden.value_range

    @property
    def visible_levels(self) -> tuple[float, float]:
        return self.model.rbm.visible.value_range

    def clamp_high(self):
        self.worker.clamp_hidden([self.hidden_unit], [self.hidden_levels[1]])

    def clamp_low(self):
        self.worker.clamp_hidden([self.hidden_unit], [self.hidden_levels[0]])

    def release(self):
        self.worker.unclamp_hidden()

    def reinitialize(self):
        self.worker.reinitialize()

    # --- publishing ----------------------------------------------------------------------------------------
    def poll(self):
        """Copy the worker's latest snapshot into the published parameters (runs on the session's loop)."""
        snap = self.worker.snapshot()
        if snap.version == self._last_version:
            return
        self._last_version = snap.version
        unit = self.hidden_unit
        clamped = snap.clamped_h
        text = "free" if unit not in clamped else f"clamped to {float(np.mean(clamped[unit])):+g}"
        self.publish(
            mosaic=tile_chains(snap.v.astype(np.float32), self.image_shape, self.columns),
            trace_steps=snap.trace_steps,
            magnetization=snap.visible_mean,
            steps=snap.steps,
            measured_rate=snap.steps_per_second if snap.running else 0.0,
            clamp_text=text,
            status=snap.error or "",
        )

    def close(self):
        """Stop and join the sampler thread."""
        self.worker.stop()
