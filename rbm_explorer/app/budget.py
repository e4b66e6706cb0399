"""A bound on the background threads (samplers and training runs) one server process runs at once.

Every session's sampler or trainer thread competes for the same cores, so a classroom of 60 browsers would
otherwise start 60 threads and freeze every page. Each thread-owning state takes a slot before it starts and
gives it back when it stops; a session over the bound gets a ``CapacityError`` with a message the page shows.
The bound is ``$RBM_EXPLORER_MAX_SAMPLERS`` (``rbm-explorer serve --max-samplers``), by default 8.
"""

from __future__ import annotations

import os
import threading

DEFAULT_MAX_SAMPLERS = 8


class CapacityError(RuntimeError):
    """Raised when the server already runs its maximum number of background threads."""


def configured_limit() -> int:
    raw = os.environ.get("RBM_EXPLORER_MAX_SAMPLERS", "")
    try:
        value = int(raw) if raw else DEFAULT_MAX_SAMPLERS
    except ValueError:
        raise ValueError(f"RBM_EXPLORER_MAX_SAMPLERS must be a positive integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"RBM_EXPLORER_MAX_SAMPLERS must be a positive integer, got {value}")
    return value


class ThreadBudget:
    """Counts slots by owner; ``acquire`` is idempotent per owner and ``release`` forgets it."""

    def __init__(self, limit: int | None = None):
        self._limit = limit
        self._owners: set[int] = set()
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return self._limit if self._limit is not None else configured_limit()

    @limit.setter
    def limit(self, value: int | None) -> None:
        self._limit = value

    @property
    def in_use(self) -> int:
        with self._lock:
            return len(self._owners)

    def acquire(self, owner) -> None:
        with self._lock:
            if id(owner) in self._owners:
                return
            if len(self._owners) >= self.limit:
                raise CapacityError(
                    f"This server already runs {len(self._owners)} samplers or training runs, its limit "
                    f"(set with rbm-explorer serve --max-samplers). Close another tab or try again in a minute.")
            self._owners.add(id(owner))

    def release(self, owner) -> None:
        with self._lock:
            self._owners.discard(id(owner))


SAMPLERS = ThreadBudget()  # the process-wide budget every session shares
