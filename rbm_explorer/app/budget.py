"""Bounds on what one server process takes on: browser sessions, and training runs.

Live work runs on the shared pool (``rbm_explorer.live.pool``), which gives a loaded server's sessions fewer
sweeps per second instead of refusing them. Two things still need a bound:

* ``SESSIONS``: the browser sessions of one process, by default 60 (``rbm-explorer serve --max-sessions``,
  ``$RBM_EXPLORER_MAX_SESSIONS``). A session over it gets a page that says so, and starts no work. With
  ``--num-procs P`` every process has its own bound, so a server takes up to P times as many.
* ``TRAINING_RUNS``: training runs at once, by default one per core (``--max-training-runs``,
  ``$RBM_EXPLORER_MAX_TRAINING_RUNS``). A run over it waits in a queue, and its page says so.

A holder takes a slot with ``acquire`` (idempotent per holder) and gives it back with ``release``; ``acquire``
raises ``CapacityError`` with a message for the page when every slot is taken.
"""

from __future__ import annotations

import os
import threading


class CapacityError(RuntimeError):
    """Every slot of a budget is taken."""


class Budget:
    """Counts slots by holder, up to ``limit`` (None: read from ``env``, else ``default``)."""

    def __init__(self, limit: int | None = None, *, what: str = "sessions", env: str = "RBM_EXPLORER_MAX_SESSIONS",
                 default: int = 60, flag: str = "--max-sessions"):
        self._limit = limit
        self.what, self.env, self.default, self.flag = what, env, default, flag
        self._holders: set[int] = set()
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        if self._limit is not None:
            return self._limit
        raw = os.environ.get(self.env, "")
        try:
            value = int(raw) if raw else self.default
        except ValueError:
            raise ValueError(f"{self.env} must be a positive integer, got {raw!r}") from None
        if value < 1:
            raise ValueError(f"{self.env} must be a positive integer, got {value}")
        return value

    @limit.setter
    def limit(self, value: int | None) -> None:
        self._limit = value

    @property
    def in_use(self) -> int:
        with self._lock:
            return len(self._holders)

    def holds(self, holder) -> bool:
        with self._lock:
            return id(holder) in self._holders

    def acquire(self, holder) -> None:
        with self._lock:
            if id(holder) in self._holders:
                return
            if len(self._holders) >= self.limit:
                raise CapacityError(self.full_message())
            self._holders.add(id(holder))

    def release(self, holder) -> None:
        with self._lock:
            self._holders.discard(id(holder))

    def full_message(self) -> str:
        return f"This server is at its limit of {self.limit} {self.what} (set with rbm-explorer serve {self.flag})."


SESSIONS = Budget()  # the browser sessions of this process
TRAINING_RUNS = Budget(what="training runs", env="RBM_EXPLORER_MAX_TRAINING_RUNS", default=os.cpu_count() or 1,
                       flag="--max-training-runs")
