"""The background sampler: a daemon thread that runs a GibbsEngine and publishes snapshots.

The thread runs one sweep at a time. Before each sweep it applies queued commands (clamp, unclamp, flip a
hidden unit, re-initialise, change beta), so a command never lands in the middle of a sweep. At most
``publish_hz`` times a second (and after every command while paused) it publishes an immutable ``Snapshot``
under a lock: readers (the app's periodic callback, tests, the CLI) take the latest one and never touch the
engine. A target rate is met by sleeping between sweeps; ``None`` runs at full speed. The numba kernels and
BLAS release the GIL, so the main thread stays responsive.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np

from rbm_explorer.sampling.gibbs import GibbsEngine


@dataclass(frozen=True)
class Snapshot:
    """A copy of the chains and traces after ``steps`` sweeps; ``version`` counts publications.

    ``v``, ``h`` are natural states (chains x units); ``label`` is (chains,) or None. Traces have one row
    per sweep and cover the first ``trace_chains`` chains (K): ``trace_steps`` (T,), ``energy`` E(v, h) and
    ``free_energy`` F(v) (T x K), ``watched_inputs`` (T x K x len(watched_units)) - the inputs I_mu(v) of the
    watched hidden units, ``visible_mean`` (T x K) - the mean visible feature (the magnetization for spins).
    They are computed in float32 after each sweep from the new v and the h that generated it.
    """

    steps: int
    version: int
    v: np.ndarray
    h: np.ndarray
    label: np.ndarray | None
    clamped_h: dict
    trace_steps: np.ndarray
    energy: np.ndarray
    free_energy: np.ndarray
    watched_units: tuple
    watched_inputs: np.ndarray
    visible_mean: np.ndarray
    steps_per_second: float
    running: bool
    error: str | None = None
    commands: int = 0  # commands applied so far: a change tells a viewer that a user action has taken effect


class _Traces:
    """Ring buffers of per-step, per-chain observables."""

    def __init__(self, length: int, n_chains: int, n_watched: int):
        self.steps = collections.deque(maxlen=length)
        self.energy = collections.deque(maxlen=length)
        self.free_energy = collections.deque(maxlen=length)
        self.inputs = collections.deque(maxlen=length)
        self.visible_mean = collections.deque(maxlen=length)
        self.n_chains, self.n_watched = n_chains, n_watched

    def record(self, engine: GibbsEngine, watched: tuple) -> None:
        """Observables of the first chains now: E(v, h), F(v) and the watched hidden inputs I(v)."""
        rbm, st, k = engine.rbm, engine.state, self.n_chains
        inputs = engine.current_inputs_h(k)
        v = rbm.visible.natural_from_features(st.v[:k])
        h = st.h[:k]
        visible_energy = rbm.visible.energy(v)
        if st.label is not None:
            visible_energy = visible_energy + rbm.label.energy(rbm.label.natural_from_features(st.label[:k]))
        energy = visible_energy + rbm.hidden.energy(h) - np.einsum("bm,bm->b", inputs, h)
        free = visible_energy - rbm.hidden.cgf(inputs)
        self.steps.append(st.steps)
        self.energy.append(energy.astype(np.float32))
        self.free_energy.append(free.astype(np.float32))
        self.inputs.append(inputs[:, list(watched)])
        self.visible_mean.append(st.v[:k].mean(axis=1))

    def clear(self) -> None:
        for ring in (self.steps, self.energy, self.free_energy, self.inputs, self.visible_mean):
            ring.clear()

    def arrays(self):
        n = len(self.steps)
        if n == 0:
            empty = np.empty((0, self.n_chains), np.float32)
            return np.empty(0, np.int64), empty, empty, np.empty((0, self.n_chains, self.n_watched), np.float32), empty
        return (
            np.array(self.steps, np.int64),
            np.stack(self.energy),
            np.stack(self.free_energy),
            np.stack(self.inputs),
            np.stack(self.visible_mean),
        )


class SamplerWorker:
    """Runs ``engine`` in a daemon thread.

    Parameters
    ----------
    engine : GibbsEngine
        Owned by the worker from now on: use commands, not the engine, while the thread lives.
    steps_per_second : float or None
        Target rate; None for as fast as possible.
    watched_units : sequence of int
        Hidden units whose inputs are traced.
    trace_length : int
        Steps kept in the traces; 0 turns tracing off (full speed benchmarks).
    trace_chains : int
        How many chains (the first ones) the traces follow; bounds the cost of tracing.
    publish_hz : float
        How often a snapshot is published when running flat out.
    """

    def __init__(
        self,
        engine: GibbsEngine,
        steps_per_second: float | None = None,
        watched_units=(),
        trace_length: int = 500,
        trace_chains: int = 64,
        publish_hz: float = 30.0,
        name: str = "rbm-sampler",
    ):
        self.engine = engine
        self.watched_units = tuple(int(u) for u in watched_units)
        for unit in self.watched_units:
            if not 0 <= unit < engine.rbm.n_hidden:
                raise ValueError(f"watched hidden unit {unit} out of range 0..{engine.rbm.n_hidden - 1}")
        self.steps_per_second = steps_per_second
        self.publish_interval = 1.0 / publish_hz
        traced = min(trace_chains, engine.n_chains)
        self._traces = _Traces(trace_length, traced, len(self.watched_units)) if trace_length else None
        self._version = 0
        self._commands_applied = 0
        self._commands: collections.deque = collections.deque()
        self._scheduled: list = []  # (step, command, args), queued when the chains reach that step
        self._lock = threading.Lock()
        self._run = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._rate = 0.0
        self._error: str | None = None
        self._snapshot = self._make_snapshot()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._started = False

    # --- control -----------------------------------------------------------------------------------------
    @property
    def steps_per_second(self) -> float | None:
        return self._target

    @steps_per_second.setter
    def steps_per_second(self, value: float | None) -> None:
        if value is not None and not (np.isfinite(value) and value > 0):
            raise ValueError(f"steps_per_second must be positive or None, got {value}")
        self._target = value
        if hasattr(self, "_wake"):
            self._wake.set()

    def start(self) -> "SamplerWorker":
        """Start the thread (if needed) and run."""
        if self._stop.is_set():
            raise RuntimeError("this sampler has been stopped; create a new one")
        if not self._started:
            self._started = True
            self._thread.start()
        self._run.set()
        self._wake.set()
        return self

    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self.start()

    @property
    def running(self) -> bool:
        return self._run.is_set() and not self._stop.is_set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop and join the thread. Idempotent."""
        self._stop.set()
        self._run.set()
        self._wake.set()
        if self._started:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError(f"sampler thread did not stop within {timeout} s")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- commands (applied between two steps) ------------------------------------------------------------
    def submit(self, command, *args) -> None:
        """Queue ``command(engine, *args)`` to run in the sampler thread before its next step."""
        self._commands.append((command, args))
        self._wake.set()
        if not self._started or not self._thread.is_alive():
            self._apply_commands()
            self._publish()

    def clamp_hidden(self, units, values) -> None:
        self._check_hidden(units)
        self.engine.rbm.hidden.check_values(values)
        self.submit(GibbsEngine.clamp, "h", units, values)

    def unclamp_hidden(self, units=None) -> None:
        self.submit(GibbsEngine.unclamp, "h", units)

    def clamp(self, which: str, units, values) -> None:
        self.submit(GibbsEngine.clamp, which, units, values)

    def unclamp(self, which: str, units=None) -> None:
        self.submit(GibbsEngine.unclamp, which, units)

    def flip_hidden(self, unit: int) -> None:
        """Clamp hidden ``unit`` to the opposite of its current value in every chain (low <-> high)."""
        self._check_hidden([unit])
        self.submit(_flip_hidden, int(unit))

    def reinitialize(self, init_v=None, init_label=None) -> None:
        """Restart the chains from data (natural states) or, with None, from uniform noise."""
        if init_v is not None:
            init_v = self.engine.rbm.visible.check_values(np.asarray(init_v))
        self.submit(GibbsEngine.reinitialize, init_v, init_label)

    def set_beta(self, beta: float) -> None:
        if not (np.isfinite(beta) and beta > 0):
            raise ValueError(f"beta must be a positive finite number, got {beta}")
        self.submit(_set_beta, float(beta))

    def set_model(self, rbm) -> None:
        self.submit(GibbsEngine.set_model, rbm)

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` sweeps now, even while paused (the app's "step" button); traces record each."""
        if int(n_steps) < 1:
            raise ValueError(f"n_steps must be at least 1, got {n_steps}")
        self.submit(self._advance, int(n_steps))

    def restart(self, init_v=None, init_label=None) -> None:
        """Re-initialize the chains (as ``reinitialize``), reset the sweep count to 0 and clear the traces and
        the scheduled commands, so that step numbers count from this restart."""
        if init_v is not None:
            init_v = self.engine.rbm.visible.check_values(np.asarray(init_v))
        self.submit(self._restart, init_v, init_label)

    def at_step(self, step: int, command, *args) -> None:
        """Queue ``command(engine, *args)`` to run when the chains have made ``step`` sweeps (exactly then,
        between two sweeps, if that step is still ahead; at once otherwise)."""
        self.submit(self._schedule, int(step), command, args)

    def flip_hidden_at(self, step: int, unit: int) -> None:
        """Flip hidden ``unit`` (see ``flip_hidden``) when the chains reach ``step`` sweeps: Fig. 8(c)."""
        self._check_hidden([unit])
        self.at_step(step, _flip_hidden, int(unit))

    def cancel_scheduled(self) -> None:
        self.submit(self._cancel_scheduled)

    def _advance(self, engine: GibbsEngine, n_steps: int) -> None:
        for _ in range(n_steps):
            self._step_once()

    def _restart(self, engine: GibbsEngine, init_v, init_label) -> None:
        engine.reinitialize(init_v, init_label)
        engine.state.steps = 0
        self._scheduled.clear()
        if self._traces is not None:
            self._traces.clear()

    def _schedule(self, engine: GibbsEngine, step: int, command, args) -> None:
        self._scheduled.append((step, command, args))
        self._scheduled.sort(key=lambda item: item[0])
        self._run_due()

    def _cancel_scheduled(self, engine: GibbsEngine) -> None:
        self._scheduled.clear()

    def _run_due(self) -> None:
        while self._scheduled and self._scheduled[0][0] <= self.engine.state.steps:
            _, command, args = self._scheduled.pop(0)
            try:
                command(self.engine, *args)
            except Exception as exc:
                self._error = f"{getattr(command, '__name__', 'command')} failed: {exc}"

    def _step_once(self) -> None:
        """One sweep, then the traces, then any command scheduled for the new step."""
        self.engine.step(1)
        if self._traces is not None:
            self._traces.record(self.engine, self.watched_units)
        self._run_due()

    def _check_hidden(self, units) -> None:
        n = self.engine.rbm.n_hidden
        for u in np.atleast_1d(units):
            if not 0 <= int(u) < n:
                raise ValueError(f"hidden unit {int(u)} out of range 0..{n - 1}")

    # --- reading -----------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest published snapshot (thread-safe, never blocks on a step)."""
        with self._lock:
            return self._snapshot

    def wait_for_steps(self, steps: int, timeout: float = 60.0) -> Snapshot:
        """Poll until a snapshot with at least ``steps`` sweeps is published."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            snap = self.snapshot()
            if snap.steps >= steps:
                return snap
            if self._error and not self.running:
                raise RuntimeError(self._error)
            time.sleep(0.005)
        raise TimeoutError(f"sampler did not reach {steps} steps within {timeout} s")

    # --- thread ------------------------------------------------------------------------------------------
    def _apply_commands(self) -> bool:
        applied = False
        while self._commands:
            command, args = self._commands.popleft()
            try:
                command(self.engine, *args)
                self._error = None
            except Exception as exc:  # a bad command must not kill the thread
                self._error = f"{getattr(command, '__name__', 'command')} failed: {exc}"
            applied = True
            self._commands_applied += 1
        return applied

    def _make_snapshot(self) -> Snapshot:
        eng = self.engine
        if self._traces is not None:
            steps, energy, free, inputs, vmean = self._traces.arrays()
        else:
            steps = np.empty(0, np.int64)
            energy = free = vmean = np.empty((0, 0), np.float32)
            inputs = np.empty((0, 0, len(self.watched_units)), np.float32)
        self._version += 1
        return Snapshot(
            steps=eng.state.steps,
            version=self._version,
            v=eng.visible_states(),
            h=eng.hidden_states(),
            label=eng.label_states(),
            clamped_h={u: vals.copy() for u, vals in eng.clamped("h").items()},
            trace_steps=steps,
            energy=energy,
            free_energy=free,
            watched_units=self.watched_units,
            watched_inputs=inputs,
            visible_mean=vmean,
            steps_per_second=self._rate,
            running=self.running,
            error=self._error,
            commands=self._commands_applied,
        )

    def _publish(self) -> None:
        snap = self._make_snapshot()
        with self._lock:
            self._snapshot = snap

    def _loop(self) -> None:
        try:
            self._run_loop()
        except BaseException as exc:  # never die silently: record, pause, publish what we can
            self._error = f"sampler thread failed: {type(exc).__name__}: {exc}"
            self._run.clear()
            self._stop.set()
            with self._lock:
                self._snapshot = dataclasses.replace(self._snapshot, running=False, error=self._error)

    def _run_loop(self) -> None:
        last_publish = time.monotonic()
        rate_window = collections.deque(maxlen=64)
        next_step_at = time.monotonic()
        publish_next = False
        while not self._stop.is_set():
            if not self._run.is_set():
                if self._apply_commands() or self.snapshot().running:
                    self._publish()
                self._wake.wait(0.05)
                self._wake.clear()
                next_step_at = time.monotonic()
                continue
            if self._apply_commands():
                # a user's command shows at once: sweep now and publish that sweep, whatever the schedule
                next_step_at = time.monotonic()
                publish_next = True
            target = self._target
            if target is not None:
                delay = next_step_at - time.monotonic()
                if delay > 0:
                    self._wake.wait(min(delay, 0.05))
                    self._wake.clear()
                    continue
                next_step_at = max(next_step_at + 1.0 / target, time.monotonic() - 0.1)
            else:
                next_step_at = time.monotonic()
            try:
                self._step_once()
            except Exception as exc:
                self._error = f"sampling failed: {exc}"
                self._run.clear()
                self._publish()
                continue
            now = time.monotonic()
            rate_window.append(now)
            if len(rate_window) > 1:
                self._rate = (len(rate_window) - 1) / max(rate_window[-1] - rate_window[0], 1e-9)
            if publish_next or now - last_publish >= self.publish_interval:
                self._publish()
                last_publish = now
                publish_next = False
        self._apply_commands()
        self._publish()


def _flip_hidden(engine: GibbsEngine, unit: int) -> None:
    flipped = engine.rbm.hidden.mirror(engine.state.h[:, unit])  # ValueError for kinds that cannot flip
    engine.clamp("h", [unit], flipped[:, None])


def _set_beta(engine: GibbsEngine, beta: float) -> None:
    engine.beta = beta
