"""Execution policies: who lends a ``Runner`` the thread its ticks run on.

A policy has one method, ``launch(runner)``, which starts calling ``runner.tick()`` somewhere, sleeps as long
as each tick asks (``runner.wait``), and calls ``runner.finish()`` once ``runner.done`` holds. Today's policy
is a daemon thread per runner. A shared pool that serves many sessions' runners in fair shares replaces
this one class; runners, computations and pages stay as they are.

The numba kernels and BLAS release the GIL while a step runs, so the event loop of the server (or the
caller of a command-line run) stays responsive.
"""

from __future__ import annotations

import threading


class ExecutionPolicy:
    """Interface: ``launch(runner)`` starts serving ``runner`` and returns immediately."""

    def launch(self, runner) -> object:  # pragma: no cover - interface
        raise NotImplementedError


def serve(runner) -> None:
    """Tick ``runner`` until it is done, then finish it; whatever escapes is recorded by ``finish``."""
    try:
        while not runner.done:
            runner.wait(runner.tick())
    except BaseException as exc:  # never die silently: the last snapshot carries the error
        runner.finish(failure=exc)
    else:
        runner.finish()


class ThreadPerRunner(ExecutionPolicy):
    """One daemon thread per runner, named after it."""

    def launch(self, runner) -> threading.Thread:
        thread = threading.Thread(target=serve, args=(runner,), name=runner.name, daemon=True)
        thread.start()
        return thread


_DEFAULT = ThreadPerRunner()


def default_policy() -> ExecutionPolicy:
    """The policy runners use unless given another: one thread per runner."""
    return _DEFAULT
