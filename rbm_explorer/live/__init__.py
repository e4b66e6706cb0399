"""Live work: computations that run in the background while a page or a command watches them.

A *live computation* says what is done: one step at a time on its own explicit state, commands applied
between two steps, and an immutable snapshot for readers. A ``Runner`` says how it is driven: run and pause,
a target rate, commands queued from other threads, snapshots published under a lock, stop and join. Who
lends the runner a thread is the *execution policy*: a thread per runner (``live.policy``), or the shared
pool that serves every runner of a process in weighted fair shares (``live.pool``). Computations and pages
are the same under both.
"""

from rbm_explorer.live.policy import ExecutionPolicy, ThreadPerRunner, default_policy
from rbm_explorer.live.pool import SharedPool, shared_pool
from rbm_explorer.live.runner import IDLE, LiveComputation, RunStatus, Runner

__all__ = ["ExecutionPolicy", "IDLE", "LiveComputation", "RunStatus", "Runner", "SharedPool", "ThreadPerRunner",
           "default_policy", "shared_pool"]
