"""A served app as a process tree whose CPU, memory, health and log a test can read (Linux ``/proc``).

``ServedProcess`` runs ``rbm-explorer serve`` on a free port with its log in a file; ``cpu_seconds`` and
``rss_bytes`` sum over the server and every process it forked (``--num-procs``); ``health`` and
``live_totals`` read the last counts each process wrote (``rbm_explorer.app.health``); ``log_problems`` lists the log's errors and
tracebacks; the log file goes when the server stops. ``browser_support.served_app``, the soak test and
``benchmarks/classroom.py`` run their servers with it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from browser_support import free_port, wait_until

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PROBLEM = re.compile(r"Traceback|\bERROR\b|Exception|error:", re.IGNORECASE)
HEALTH = re.compile(r"rbm_explorer live:.*")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # fields from the state on (the name may hold spaces)


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def tree_cpu_seconds(pids) -> float:
    """User + system CPU seconds of the processes ``pids`` (those still alive)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def tree_rss_bytes(pids) -> int:
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[21]) * PAGE_SIZE  # rss in pages
    return total


class ServedProcess:
    """``rbm-explorer serve --port P *args`` with its log in a file; ``url`` once it answers."""

    def __init__(self, args=(), env: dict | None = None, timeout: float = 120.0):
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="rbm-explorer-serve-", suffix=".log")[1])
        self._log = open(self.log_path, "w")
        command = [sys.executable, "-m", "rbm_explorer.cli.main", "serve", "--port", str(self.port), *args]
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(env or {})})
        try:
            wait_until(self._ready, timeout, what="the app server")
        except BaseException:
            self.stop()
            raise

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{self.log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(self.url + "/static/js/bokeh.min.js", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    @property
    def pids(self) -> list[int]:
        return descendants(self.proc.pid)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pids)

    def rss_bytes(self) -> int:
        return tree_rss_bytes(self.pids)

    def log_text(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def health(self) -> dict[int, dict[str, int]]:
        """The last health counts each server process wrote, by process id."""
        from rbm_explorer.app.health import parse_health_line

        last = {}
        for line in HEALTH.findall(self.log_text()):
            counts = parse_health_line(line)
            if counts:
                last[counts.pop("pid")] = counts
        return last

    def live_totals(self) -> dict[str, int]:
        """The health counts summed over the server's processes."""
        totals: dict[str, int] = {}
        for counts in self.health().values():
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value
        return totals

    def log_problems(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if PROBLEM.search(line)]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._log.close()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
