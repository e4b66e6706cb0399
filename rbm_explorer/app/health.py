"""What one server process holds, written to its log: the soak test and an operator read it there.

``live_counts()`` counts the browser sessions holding a slot (``budget.SESSIONS``), the Bokeh documents the
shell built and that are not yet collected, the Gibbs engines not yet collected, the shared pool's runner
tasks and the training runs holding a slot. ``start_health_log()`` (called by the shell, once per process)
writes one line to stderr whenever these change, checked every ``HEALTH_PERIOD_S`` on the server's event loop:

    rbm_explorer live: pid=4242 sessions=0 documents=0 engines=0 pool_tasks=0 training_runs=0

When no session is left but documents or engines are, the count collects garbage first: Panel's and Bokeh's
objects refer to each other in cycles, so a closed session's document is only freed by the cycle collector,
and a leak is what survives it.
"""

from __future__ import annotations

import contextvars
import gc
import logging
import os
import sys
import weakref

HEALTH_PERIOD_S = 2.0
PREFIX = "rbm_explorer live:"

_documents: "weakref.WeakSet" = weakref.WeakSet()
_started = False
log = logging.getLogger("rbm_explorer.server")


def track_document(document) -> None:
    """Count ``document`` as live until it is collected."""
    if document is not None:
        _documents.add(document)


def live_counts() -> dict[str, int]:
    from rbm_explorer.app.budget import SESSIONS, TRAINING_RUNS
    from rbm_explorer.live import shared_pool
    from rbm_explorer.sampling import live_engines

    sessions = SESSIONS.in_use
    if sessions == 0 and (len(_documents) or live_engines()):  # an idle, clean server is never collected
        gc.collect()
    return {"sessions": sessions, "documents": len(_documents), "engines": live_engines(),
            "pool_tasks": shared_pool().tasks, "training_runs": TRAINING_RUNS.in_use}


def health_line(counts: dict[str, int]) -> str:
    """The log line of ``counts``, naming this process (``--num-procs`` runs several)."""
    return PREFIX + f" pid={os.getpid()} " + " ".join(f"{key}={value}" for key, value in counts.items())


def parse_health_line(line: str) -> dict[str, int] | None:
    """The process id and counts of a health line (None for any other line of the log)."""
    start = line.find(PREFIX)
    if start < 0:
        return None
    pairs = (item.split("=", 1) for item in line[start + len(PREFIX):].split())
    return {key: int(value) for key, value in pairs}


def start_health_log(period_s: float = HEALTH_PERIOD_S) -> None:
    """Write a health line whenever the counts change (once per process; needs the server's event loop)."""
    global _started
    if _started:
        return
    from tornado.ioloop import IOLoop, PeriodicCallback

    if IOLoop.current(instance=False) is None:  # not served
        return
    _started = True
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    last: list[dict] = [{}]

    def report():
        counts = live_counts()
        if counts != last[0]:
            last[0] = counts
            log.info(health_line(counts))

    # started in an empty context: a timer keeps the context it was scheduled in, and the context of the
    # session that happened to start it holds that session's document (Panel's current document) for good
    contextvars.Context().run(PeriodicCallback(report, period_s * 1000).start)
