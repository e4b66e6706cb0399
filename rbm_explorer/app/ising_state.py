"""Per-session state of the Ising page: one live lattice whose β, coupling, field, algorithm and size are knobs.

``IsingPageState`` owns a ``Runner`` of an ``ising.live.IsingLattice`` on the shared pool. The knobs become
commands applied between two sweeps, so the lattice anneals from its current state when β moves. ``poll`` (the
page's periodic callback, on the session's event loop) publishes the lattice as an indexed PNG and the E and |m|
traces into read-only parameters; the views render only those.
"""

from __future__ import annotations

import time

import numpy as np
import param

from rbm_explorer.app.session_state import SessionState
from rbm_explorer.ising.exact import BETA_C, onsager_magnetization
from rbm_explorer.ising.live import LIVE_ALGORITHMS, IsingLattice
from rbm_explorer.ising.model import IsingModel
from rbm_explorer.live import Runner, shared_pool
from rbm_explorer.pictures import grey_chains, grey_png

SIZES = (32, 64, 128, 256)
COUPLINGS = {"ferromagnet (J = +1)": 1.0, "antiferromagnet (J = −1)": -1.0}
FRAMES_PER_SECOND = 15
POLL_PERIOD_MS = 30
FRAMES_IN_FLIGHT = 6  # frames sent but not reported painted before poll() holds the next one


class IsingPageState(SessionState):
    """A live L×L Ising lattice and its traces."""

    size = param.Selector(objects=list(SIZES), default=64, doc="Lattice size L (L × L spins, periodic)")
    beta = param.Number(default=round(BETA_C, 3), bounds=(0.1, 1.0), step=0.005,
                        doc="Inverse temperature β (β_c = 0.4407 for |J| = 1)")
    coupling = param.Selector(objects=list(COUPLINGS), default=next(iter(COUPLINGS)),
                              doc="The sign of the coupling J")
    field = param.Number(default=0.0, bounds=(-1.0, 1.0), step=0.01, doc="External field h (Metropolis only)")
    algorithm = param.Selector(objects=list(LIVE_ALGORITHMS), default="metropolis", doc="How the lattice is sampled")
    sweeps_per_second = param.Integer(default=200, bounds=(1, 5000), doc="Target sweeps per second")
    running = param.Boolean(default=True, doc="Sample continuously, or pause")
    hidden = param.Boolean(default=False, doc="The page is not on screen: the lattice waits")

    # published by poll() (read-only)
    frame_png = param.Bytes(default=b"", constant=True, doc="The lattice as an indexed PNG, one pixel per spin")
    frame = param.Integer(default=0, constant=True, doc="Number of published frames")
    sweeps = param.Integer(default=0, constant=True)
    measured_rate = param.Number(default=0.0, constant=True)
    traces = param.Dict(default={}, constant=True, doc="sweep, energy and abs_magnetization arrays")
    magnetization = param.Number(default=0.0, constant=True, doc="m of the lattice on screen")
    staggered_magnetization = param.Number(default=0.0, constant=True)
    status = param.String(default="", constant=True)
    lattice_size = param.Integer(default=64, constant=True, doc="L of the published frame")

    def __init__(self, seed: int | None = 0, **params):
        super().__init__(**params)
        self._syncing = False
        lattice = IsingLattice(self._model(), self.algorithm, seed=seed, start="random")
        self._runner = Runner(lattice, steps_per_second=float(self.sweeps_per_second), publish_hz=FRAMES_PER_SECOND * 2,
                              name="rbm-ising-page", policy=shared_pool())
        self._last_version, self._last_commands, self._last_frame_at, self._painted = -1, -1, -np.inf, -1
        self._publish(lattice.snapshot(_Idle()))  # a first frame before the runner owns the lattice
        if self.running and not self.hidden:
            self._runner.start()

    def _model(self) -> IsingModel:
        return IsingModel(int(self.size), float(self.beta), COUPLINGS[self.coupling], float(self.field))

    # --- knobs ------------------------------------------------------------------------------------------------
    def _command(self, command, *args) -> None:
        """Apply a command between two sweeps and wait for it. A refused one is shown as ``error``, and the knobs
        go back to what the lattice runs, so that the page never shows settings it does not use."""
        if self._syncing:
            return
        self.publish(error="")
        self.run_action(self._runner.call, command, *args)
        if self.error:
            self._sync_knobs()

    def _sync_knobs(self) -> None:
        model, algorithm = self._runner.call(lambda lattice: (lattice.model, lattice.algorithm))
        coupling = next(name for name, J in COUPLINGS.items() if J == model.coupling)
        self._syncing = True
        try:
            self.param.update(beta=model.beta, field=model.field, coupling=coupling, algorithm=algorithm,
                              size=model.L)
        finally:
            self._syncing = False

    @param.depends("beta", "coupling", "field", watch=True)
    def _on_model(self):
        self._command(IsingLattice.set_model, float(self.beta), COUPLINGS[self.coupling], float(self.field))

    @param.depends("algorithm", watch=True)
    def _on_algorithm(self):
        self._command(IsingLattice.set_algorithm, self.algorithm)

    @param.depends("size", watch=True)
    def _on_size(self):
        self._command(IsingLattice.set_size, int(self.size))

    @param.depends("sweeps_per_second", watch=True)
    def _on_speed(self):
        self._runner.steps_per_second = float(self.sweeps_per_second)

    @param.depends("running", "hidden", watch=True)
    def _on_running(self):
        if self.running and not self.hidden:
            self._runner.start()
        else:
            self._runner.pause()

    def restart(self, start: str = "random") -> None:
        """New spins: ``random`` (a quench from infinite temperature) or ``ordered``."""
        self._command(IsingLattice.restart, start)

    def close(self) -> None:
        self._runner.stop()

    # --- publishing ---------------------------------------------------------------------------------------
    def frame_painted(self, frame: int) -> None:
        self._painted = max(self._painted, int(frame))

    def poll(self) -> None:
        """Publish the latest snapshot as a frame if one is due (on the session's event loop)."""
        snap = self._runner.snapshot()
        if snap is None or snap.version == self._last_version:
            return
        if self._painted >= 0 and self.frame - self._painted > FRAMES_IN_FLIGHT:
            return
        command = snap.commands != self._last_commands
        if not command and snap.running and time.monotonic() - self._last_frame_at < 1.0 / FRAMES_PER_SECOND:
            return
        self._last_version, self._last_commands, self._last_frame_at = snap.version, snap.commands, time.monotonic()
        self._publish(snap)

    def _publish(self, snap) -> None:
        L = snap.model.L
        grey = grey_chains(snap.spins.reshape(1, L * L).astype(np.float32), (L, L), 1, -1.0, 1.0)
        m = snap.model
        expected = ""
        if m.field == 0 and m.beta * abs(m.coupling) > BETA_C:
            order = "M" if m.coupling > 0 else "staggered M"
            expected = f" · Onsager {order} = {float(onsager_magnetization(m.beta * abs(m.coupling))):.3f}"
        status = (f"sweep {snap.sweeps:,} · {snap.sweeps_per_second:.0f} sweeps/s · {m.describe()} · "
                  f"{snap.algorithm}{expected}")
        if snap.error:
            status += f" · error: {snap.error}"
        self.publish(frame_png=grey_png(grey), frame=self.frame + 1, sweeps=snap.sweeps,
                     measured_rate=snap.sweeps_per_second, magnetization=snap.magnetization,
                     staggered_magnetization=snap.staggered_magnetization, lattice_size=L, status=status,
                     traces={"sweep": snap.trace_sweeps, "energy": snap.energy,
                             "abs_magnetization": snap.abs_magnetization})


class _Idle:
    """The status of a lattice that has not been published by a runner yet."""

    version, running, rate, error, commands = -1, False, 0.0, None, 0
