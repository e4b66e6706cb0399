"""Live work: computations that run in the background while a page or a command watches them.

A *live computation* says what is done: one step at a time on its own explicit state, commands applied
between two steps, and an immutable snapshot for readers. A ``Runner`` says how it is driven: run and pause,
a target rate, commands queued from other threads, snapshots published under a lock, stop and join. Who
lends the runner a thread is the *execution policy* (``live.policy``), one class, so that a shared pool can
replace the thread per runner without touching the computations or the pages.
"""

from rbm_explorer.live.policy import ExecutionPolicy, ThreadPerRunner, default_policy
from rbm_explorer.live.runner import IDLE, LiveComputation, RunStatus, Runner

__all__ = ["ExecutionPolicy", "IDLE", "LiveComputation", "RunStatus", "Runner", "ThreadPerRunner", "default_policy"]
