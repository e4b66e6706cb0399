"""The live sampler: block Gibbs chains as a live computation, and the worker the pages and the CLI drive.

``GibbsSampling`` is *what* is done: one sweep of a ``GibbsEngine`` per step, then the observables (see
``observables.py``), then any command scheduled for the new sweep count; its commands (clamp, flip a hidden
unit, restart, change the model or beta, run n sweeps while paused) act on the engine between two sweeps,
and its snapshot is an immutable ``Snapshot``. ``SamplerWorker`` puts it on a ``live.Runner`` (*who* runs it,
by default a thread per worker) and offers the commands as checked methods, so readers (the app's periodic
callback, tests, the CLI) only ever take the latest snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rbm_explorer.live import Runner, RunStatus
from rbm_explorer.sampling.gibbs import GibbsEngine
from rbm_explorer.sampling.observables import RBMTraces, empty_traces


@dataclass(frozen=True)
class Snapshot:
    """A copy of the chains after ``steps`` sweeps and the observables' arrays (``traces``); ``version``
    counts publications and ``commands`` the commands applied so far.

    ``v``, ``h`` are natural states (chains x units); ``label`` is (chains,) or None. The trace properties
    read the default observable, ``RBMTraces`` (empty arrays without it)."""

    steps: int
    version: int
    v: np.ndarray
    h: np.ndarray
    label: np.ndarray | None
    clamped_h: dict
    watched_units: tuple
    steps_per_second: float
    running: bool
    error: str | None = None
    commands: int = 0
    traces: dict = field(default_factory=empty_traces)

    @property
    def trace_steps(self) -> np.ndarray:
        return self.traces["trace_steps"]

    @property
    def energy(self) -> np.ndarray:
        return self.traces["energy"]

    @property
    def free_energy(self) -> np.ndarray:
        return self.traces["free_energy"]

    @property
    def watched_inputs(self) -> np.ndarray:
        return self.traces["watched_inputs"]

    @property
    def visible_mean(self) -> np.ndarray:
        return self.traces["visible_mean"]


class GibbsSampling:
    """Gibbs chains as a live computation: ``step`` is one sweep; the other methods are commands, each run
    between two sweeps (through ``Runner.submit``)."""

    def __init__(self, engine: GibbsEngine, observables=(), watched_units=()):
        self.engine = engine
        self.observables = list(observables)
        self.watched_units = tuple(int(u) for u in watched_units)
        self._scheduled: list = []  # (step, command, args), run when the chains reach that step

    # --- the live computation --------------------------------------------------------------------------
    def step(self) -> None:
        """One sweep, then the observables, then any command scheduled for the new step."""
        self.engine.step(1)
        for observable in self.observables:
            observable.record(self.engine)
        self._run_due()

    def snapshot(self, status: RunStatus) -> Snapshot:
        eng = self.engine
        traces = empty_traces(0, len(self.watched_units))
        for observable in self.observables:
            traces.update(observable.arrays())
        return Snapshot(
            steps=eng.state.steps, version=status.version, v=eng.visible_states(), h=eng.hidden_states(),
            label=eng.label_states(), clamped_h={u: vals.copy() for u, vals in eng.clamped("h").items()},
            watched_units=self.watched_units, steps_per_second=status.rate, running=status.running,
            error=status.error, commands=status.commands, traces=traces,
        )

    # --- commands ------------------------------------------------------------------------------------------
    def clamp(self, which: str, units, values) -> None:
        self.engine.clamp(which, units, values)

    def unclamp(self, which: str, units=None) -> None:
        self.engine.unclamp(which, units)

    def flip_hidden(self, unit: int) -> None:
        """Clamp hidden ``unit`` to the mirror of its current value in every chain (low <-> high)."""
        flipped = self.engine.rbm.hidden.mirror(self.engine.state.h[:, unit])  # ValueError for kinds without one
        self.engine.clamp("h", [unit], flipped[:, None])

    def reinitialize(self, init_v=None, init_label=None) -> None:
        self.engine.reinitialize(init_v, init_label)

    def set_beta(self, beta: float) -> None:
        self.engine.beta = beta

    def set_model(self, rbm) -> None:
        self.engine.set_model(rbm)

    def advance(self, n_steps: int) -> None:
        for _ in range(n_steps):
            self.step()

    def restart(self, init_v=None, init_label=None) -> None:
        """Re-initialize, count sweeps from 0 again, and clear the observables and the scheduled commands."""
        self.engine.reinitialize(init_v, init_label)
        self.engine.state.steps = 0
        self._scheduled.clear()
        for observable in self.observables:
            observable.clear()

    def schedule(self, step: int, command, args) -> None:
        """Run ``command(self, *args)`` when the chains have made ``step`` sweeps (at once if that is past)."""
        self._scheduled.append((step, command, args))
        self._scheduled.sort(key=lambda item: item[0])
        self._run_due()

    def cancel_scheduled(self) -> None:
        self._scheduled.clear()

    def _run_due(self) -> None:
        while self._scheduled and self._scheduled[0][0] <= self.engine.state.steps:
            _, command, args = self._scheduled.pop(0)
            command(self, *args)


class SamplerWorker:
    """Runs ``engine``'s chains in the background (``GibbsSampling`` on a ``live.Runner``).

    Parameters
    ----------
    engine : GibbsEngine
        Owned by the worker from now on: use commands, not the engine, while it runs.
    steps_per_second : float or None
        Target rate; None for as fast as possible.
    watched_units : sequence of int
        Hidden units whose inputs the default traces follow.
    trace_length : int
        Steps kept in the default traces (``RBMTraces``); 0 turns them off (full-speed benchmarks).
    trace_chains : int
        How many chains (the first ones) the traces follow; bounds the cost of tracing.
    publish_hz : float
        How often a snapshot is published when running flat out.
    observables : sequence or None
        Observables to record instead of the default traces.
    policy : live.ExecutionPolicy or None
        Who runs the sweeps (default: a thread per worker).
    """

    def __init__(self, engine: GibbsEngine, steps_per_second: float | None = None, watched_units=(),
                 trace_length: int = 500, trace_chains: int = 64, publish_hz: float = 30.0,
                 name: str = "rbm-sampler", observables=None, policy=None):
        self.engine = engine
        self.watched_units = tuple(int(u) for u in watched_units)
        self._check_hidden(self.watched_units, what="watched hidden unit")
        if observables is None:
            traced = min(trace_chains, engine.n_chains)
            observables = [RBMTraces(trace_length, traced, self.watched_units)] if trace_length else []
        self.sampling = GibbsSampling(engine, observables, self.watched_units)
        self.runner = Runner(self.sampling, steps_per_second, publish_hz, name=name, policy=policy)

    # --- control (the runner's) ------------------------------------------------------------------------
    @property
    def steps_per_second(self) -> float | None:
        return self.runner.steps_per_second

    @steps_per_second.setter
    def steps_per_second(self, value: float | None) -> None:
        self.runner.steps_per_second = value

    def start(self) -> "SamplerWorker":
        """Start (the first time) and run."""
        self.runner.start()
        return self

    def pause(self) -> None:
        self.runner.pause()

    def resume(self) -> None:
        self.start()

    @property
    def running(self) -> bool:
        return self.runner.running

    @property
    def alive(self) -> bool:
        return self.runner.alive

    def stop(self, timeout: float = 30.0) -> None:
        """Stop and join. Idempotent."""
        if not self.runner.stop(timeout):
            raise RuntimeError(f"sampler thread did not stop within {timeout} s")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- commands (applied between two sweeps) -------------------------------------------------------------
    def submit(self, command, *args):
        """Queue ``command(sampling, *args)`` (a ``GibbsSampling`` method or any function of it) before the
        next sweep; returns its Future."""
        return self.runner.submit(command, *args)

    def clamp_hidden(self, units, values) -> None:
        self._check_hidden(units)
        self.engine.rbm.hidden.check_values(values)
        self.submit(GibbsSampling.clamp, "h", units, values)

    def unclamp_hidden(self, units=None) -> None:
        self.submit(GibbsSampling.unclamp, "h", units)

    def clamp(self, which: str, units, values) -> None:
        self.submit(GibbsSampling.clamp, which, units, values)

    def unclamp(self, which: str, units=None) -> None:
        self.submit(GibbsSampling.unclamp, which, units)

    def flip_hidden(self, unit: int) -> None:
        """Clamp hidden ``unit`` to the opposite of its current value in every chain (low <-> high)."""
        self._check_hidden([unit])
        self.submit(GibbsSampling.flip_hidden, int(unit))

    def reinitialize(self, init_v=None, init_label=None) -> None:
        """Restart the chains from data (natural states) or, with None, from uniform noise."""
        if init_v is not None:
            init_v = self.engine.rbm.visible.check_values(np.asarray(init_v))
        self.submit(GibbsSampling.reinitialize, init_v, init_label)

    def set_beta(self, beta: float) -> None:
        if not (np.isfinite(beta) and beta > 0):
            raise ValueError(f"beta must be a positive finite number, got {beta}")
        self.submit(GibbsSampling.set_beta, float(beta))

    def set_model(self, rbm) -> None:
        self.submit(GibbsSampling.set_model, rbm)

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` sweeps now, even while paused (the app's "step" button); observables record each."""
        if int(n_steps) < 1:
            raise ValueError(f"n_steps must be at least 1, got {n_steps}")
        self.submit(GibbsSampling.advance, int(n_steps))

    def restart(self, init_v=None, init_label=None) -> None:
        """Re-initialize the chains (as ``reinitialize``), reset the sweep count to 0 and clear the traces and
        the scheduled commands, so that step numbers count from this restart."""
        if init_v is not None:
            init_v = self.engine.rbm.visible.check_values(np.asarray(init_v))
        self.submit(GibbsSampling.restart, init_v, init_label)

    def at_step(self, step: int, command, *args) -> None:
        """Queue ``command(sampling, *args)`` to run when the chains have made ``step`` sweeps (exactly then,
        between two sweeps, if that step is still ahead; at once otherwise)."""
        self.submit(GibbsSampling.schedule, int(step), command, args)

    def flip_hidden_at(self, step: int, unit: int) -> None:
        """Flip hidden ``unit`` (see ``flip_hidden``) when the chains reach ``step`` sweeps: Fig. 8(c)."""
        self._check_hidden([unit])
        self.at_step(step, GibbsSampling.flip_hidden, int(unit))

    def cancel_scheduled(self) -> None:
        self.submit(GibbsSampling.cancel_scheduled)

    def _check_hidden(self, units, what: str = "hidden unit") -> None:
        n = self.engine.rbm.n_hidden
        for u in np.atleast_1d(units):
            if not 0 <= int(u) < n:
                raise ValueError(f"{what} {int(u)} out of range 0..{n - 1}")

    # --- reading -----------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest published snapshot (thread-safe, never blocks on a step)."""
        return self.runner.snapshot()

    def wait_for_steps(self, steps: int, timeout: float = 60.0) -> Snapshot:
        """Poll until a snapshot with at least ``steps`` sweeps is published."""
        return self.runner.wait_until(lambda snap: snap.steps >= steps, timeout, what=f"{steps} steps")
