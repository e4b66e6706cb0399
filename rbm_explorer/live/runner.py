"""The runner: drives one live computation step by step, on whatever thread its execution policy lends it.

What a computation does is its own business (a Gibbs sweep, a training update, a Metropolis sweep of a
lattice); the runner only knows the protocol below. It owns the parts every live computation shares:

* run and pause, and a target rate (steps per second, or None for as fast as possible);
* a queue of commands from other threads, each applied between two steps, so none lands mid-step, with a
  ``Future`` for its result (``call`` waits for it: a consistent copy, a value read at a step boundary);
* snapshots: the computation's immutable snapshot, published under a lock at most ``publish_hz`` times a
  second, at once after a command, and when the run pauses or ends; readers take the latest and never touch
  the computation;
* errors: a failing command is reported and the run goes on; a failing step pauses the run (the computation
  may end it instead); nothing dies silently;
* stop and join, after which the computation's ``close`` hook runs once on the runner's thread (a training
  run checkpoints there).

``tick`` does whatever is due now and says how long until it wants to be called again; the execution policy
(``live.policy``) decides which thread calls it. Today that is one thread per runner; a shared pool can call
the ticks of many runners instead, which changes only the policy.
"""

from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Protocol

IDLE = None  # ``tick``'s answer when nothing is due until the runner is woken (paused, or finished)
RATE_WINDOW = 64  # steps over which the measured rate is averaged


@dataclass(frozen=True)
class RunStatus:
    """What the runner adds to a computation's snapshot: the ``version`` of this publication (it grows by one
    each time), whether the run is stepping, its measured rate, the last error, and how many commands have
    been applied (a change tells a viewer that a user's action has taken effect)."""

    version: int
    running: bool
    rate: float
    error: str | None
    commands: int


class LiveComputation(Protocol):
    """What a live computation does. Required: ``step`` and ``snapshot``. Optional, looked up with defaults:

    * ``finished`` (attribute or property, default False): the computation has nothing more to do (a
      training run at its last epoch, or failed); the runner then ends as if stopped;
    * ``on_error(exc) -> str``: the message for a step that raised (default ``"Type: message"``); it may
      set ``finished`` to end the run;
    * ``close()``: called once on the runner's thread when the run ends (stop, finish or failure).
    """

    def step(self) -> None:
        """Advance by one step (a sweep, an update)."""

    def snapshot(self, status: RunStatus) -> Any:
        """An immutable copy of what readers may see, stamped with ``status``."""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Runner:
    """Runs ``computation`` in the background.

    Parameters
    ----------
    computation : LiveComputation
        Owned by the runner from ``start`` on: other threads reach it only through ``submit`` / ``call``.
    steps_per_second : float or None
        Target rate; None runs as fast as possible.
    publish_hz : float
        How often a snapshot is published while stepping flat out.
    name : str
        The name of the thread (or pool task) that runs it, for logs and tests.
    policy : ExecutionPolicy or None
        Who runs the ticks; None takes ``live.policy.default_policy()``.
    on_exit : callable or None
        Called once on the runner's thread after the run has ended and ``close`` has run (a slot of a budget
        is given back there).

    The attribute ``share`` (None: 1) is this runner's weight when a shared pool divides the workers' time
    between busy runners (``live.pool``).
    """

    def __init__(self, computation: LiveComputation, steps_per_second: float | None = None, publish_hz: float = 30.0,
                 name: str = "rbm-live", policy=None, on_exit: Callable[[], None] | None = None):
        if not (publish_hz > 0):
            raise ValueError(f"publish_hz must be positive, got {publish_hz}")
        self.computation = computation
        self.name = name
        self.publish_interval = 1.0 / publish_hz
        self._waker: Callable[[], None] | None = None
        self.steps_per_second = steps_per_second
        self._policy = policy
        self._on_exit = on_exit
        self.share: float | None = None
        self._lock = threading.Lock()
        self._commands: collections.deque = collections.deque()
        self._run = threading.Event()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._ended = threading.Event()
        self._handle = None
        self._version = 0
        self._commands_applied = 0
        self._error: str | None = None
        self._rate = 0.0
        self._rate_window: collections.deque = collections.deque(maxlen=RATE_WINDOW)
        self._next_step_at = time.monotonic()
        self._last_publish = -float("inf")
        self._publish_next = False
        self._published_running = False
        self._snapshot = None
        self._publish()

    # --- control -------------------------------------------------------------------------------------------
    @property
    def steps_per_second(self) -> float | None:
        return self._target

    @steps_per_second.setter
    def steps_per_second(self, value: float | None) -> None:
        if value is not None and not (value == value and 0 < value < float("inf")):
            raise ValueError(f"steps_per_second must be positive or None, got {value}")
        self._target = value
        if hasattr(self, "_wake"):
            self._signal()

    def start(self) -> "Runner":
        """Launch the runner (the first time) and run."""
        if self._stop.is_set():
            raise RuntimeError(f"{self.name} has been stopped; create a new one")
        self._run.set()
        if self._handle is None:
            from rbm_explorer.live.policy import default_policy

            self._handle = (self._policy or default_policy()).launch(self)
        self._signal()
        return self

    def pause(self) -> None:
        """Stop stepping (commands are still applied and published)."""
        self._run.clear()
        self._signal()

    @property
    def running(self) -> bool:
        """Stepping now (not paused, not stopped, not ended)."""
        return self._run.is_set() and not self._stop.is_set()

    @property
    def started(self) -> bool:
        return self._handle is not None

    @property
    def alive(self) -> bool:
        """The runner has been launched and has not ended yet."""
        return self._handle is not None and not self._ended.is_set()

    @property
    def error(self) -> str | None:
        return self._error

    def stop(self, timeout: float = 30.0) -> bool:
        """End the run at the next step boundary, run the computation's ``close`` and wait for both. True when
        the run has ended (or never started); idempotent."""
        self._stop.set()
        self._signal()
        if self._handle is None:
            return True
        return self._ended.wait(timeout)

    def __enter__(self) -> "Runner":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- commands ------------------------------------------------------------------------------------------
    def submit(self, command: Callable, *args) -> Future:
        """Queue ``command(computation, *args)`` to run between two steps; the Future gets its result. Before
        the runner starts and after it ends, the command runs at once, on the caller's thread."""
        future: Future = Future()
        self._commands.append((command, args, future))
        self._signal()
        if not self.alive:
            self._apply_commands()
            self._publish()
        return future

    def call(self, command: Callable, *args, timeout: float = 60.0):
        """``submit`` and wait for the result (the command's exception is raised here)."""
        return self.submit(command, *args).result(timeout)

    # --- reading -------------------------------------------------------------------------------------------
    def snapshot(self):
        """The latest published snapshot (never waits for a step)."""
        with self._lock:
            return self._snapshot

    def wait_until(self, predicate: Callable[[Any], bool], timeout: float = 60.0, what: str = "the condition"):
        """Poll the published snapshots until ``predicate(snapshot)`` holds; returns that snapshot."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            if predicate(snap):
                return snap
            if self._error and not self.running:
                raise RuntimeError(self._error)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {what} did not happen within {timeout} s")
            time.sleep(0.005)

    # --- the policy's side -----------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """Nothing more will be stepped: stopped, or the computation finished. The policy then calls
        ``finish`` and lets the runner go."""
        return self._stop.is_set() or bool(getattr(self.computation, "finished", False))

    def attach_waker(self, waker: Callable[[], None]) -> None:
        """``waker()`` is called whenever the runner has new work for its policy: a command, a control change,
        a stop. A pool uses it to put a parked or sleeping runner back in its queue."""
        self._waker = waker

    def wait(self, delay: float | None) -> None:
        """Sleep until ``delay`` seconds have passed (None: until woken), or less when woken by a command, a
        control change or a stop."""
        self._wake.wait(None if delay is None else max(0.0, delay))
        self._wake.clear()

    def tick(self) -> float | None:
        """Do what is due now: apply commands, take a step if the rate allows, publish if it is time. Returns
        the seconds until the next tick is wanted (0: at once), or ``IDLE`` when only a wake-up can give work."""
        if self.done:
            return IDLE
        now = time.monotonic()
        if not self._run.is_set():
            if self._apply_commands() or self._published_running:
                self._publish()
            self._next_step_at = now
            return IDLE
        if self._apply_commands():
            # a user's command shows at once: step now and publish that step, whatever the schedule
            self._next_step_at = now
            self._publish_next = True
            if self.done:
                return IDLE
        target = self._target
        if target is not None:
            delay = self._next_step_at - now
            if delay > 0:
                return delay
            self._next_step_at = max(self._next_step_at + 1.0 / target, now - 0.1)
        try:
            self.computation.step()
        except Exception as exc:
            self._error = self._error_text(exc)
            self._run.clear()
            self._publish()
            return IDLE
        now = time.monotonic()
        window = self._rate_window
        window.append(now)
        if len(window) > 1:
            self._rate = (len(window) - 1) / max(window[-1] - window[0], 1e-9)
        if self._publish_next or now - self._last_publish >= self.publish_interval:
            self._publish()
            self._publish_next = False
        return 0.0 if target is None else max(0.0, self._next_step_at - time.monotonic())

    def finish(self, failure: BaseException | None = None) -> None:
        """End the run on the policy's thread: apply what is queued, run ``close``, publish the last snapshot,
        fail commands that can no longer run, and call ``on_exit``. ``failure`` is an exception that escaped
        the policy's loop."""
        self._stop.set()
        self._run.clear()
        try:
            if failure is not None:
                self._error = f"{self.name} failed: {_describe(failure)}"
            self._apply_commands()
            close = getattr(self.computation, "close", None)
            if close is not None:
                try:
                    close()
                except Exception as exc:
                    self._error = self._error_text(exc)
            try:
                self._publish()
            except Exception as exc:  # readers keep the last good snapshot; the error says why it is the last
                self._error = self._error or f"{self.name} could not publish: {_describe(exc)}"
        finally:
            self._ended.set()
            while self._commands:
                _, _, future = self._commands.popleft()
                future.set_exception(RuntimeError(f"{self.name} has ended"))
            if self._on_exit is not None:
                self._on_exit()

    # --- internals -----------------------------------------------------------------------------------------
    def _signal(self) -> None:
        self._wake.set()
        if self._waker is not None:
            self._waker()

    def _error_text(self, exc: BaseException) -> str:
        describe = getattr(self.computation, "on_error", None)
        return describe(exc) if describe is not None else _describe(exc)

    def _apply_commands(self) -> bool:
        applied = False
        while self._commands:
            command, args, future = self._commands.popleft()
            try:
                result = command(self.computation, *args)
            except Exception as exc:  # a bad command must not end the run
                self._error = f"{getattr(command, '__name__', 'command')} failed: {exc}"
                future.set_exception(exc)
            else:
                self._error = None
                future.set_result(result)
            applied = True
            self._commands_applied += 1
        return applied

    def _publish(self) -> None:
        running = self.running and not self.done
        self._version += 1
        status = RunStatus(self._version, running, self._rate if running else 0.0, self._error,
                           self._commands_applied)
        snap = self.computation.snapshot(status)
        with self._lock:
            self._snapshot = snap
        self._published_running = running
        self._last_publish = time.monotonic()
