"""Recording benchmark results: a timestamped JSON under ``results/`` and a marked table in README.md."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def update_readme(path: Path, section: str, start: str, end: str, title: str) -> None:
    """Replace the text between the ``start`` and ``end`` markers, or append ``title`` and the section."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    i, j = text.find(start), text.find(end)
    if 0 <= i < j:
        text = text[:i] + section + text[j + len(end):]
    else:
        text = text.rstrip("\n") + f"\n\n{title}\n\n" + section + "\n"
    path.write_text(text)


def save_result(result: dict, name: str, section: str, start: str, end: str, title: str) -> Path:
    """Write ``results/<name>-<UTC stamp>.json`` and refresh the README table; returns the JSON path."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = BENCH_DIR / "results" / f"{name}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    update_readme(BENCH_DIR / "README.md", section, start, end, title)
    return out


class OtherLoad:
    """CPU time used by other processes while the block runs (Linux ``/proc/stat`` minus this process and its
    children), as ``cores``: the average number of cores they kept busy. None where /proc/stat is missing."""

    @staticmethod
    def _busy_seconds():
        import os

        try:
            with open("/proc/stat") as f:
                values = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            return None
        return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own_seconds():
        import resource

        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def __enter__(self):
        import time

        self._start = (self._busy_seconds(), self._own_seconds(), time.monotonic())
        self.cores = None
        return self

    def __exit__(self, *exc):
        import time

        busy0, own0, t0 = self._start
        busy1 = self._busy_seconds()
        if busy0 is not None and busy1 is not None:
            other = (busy1 - busy0) - (self._own_seconds() - own0)
            self.cores = round(max(0.0, other) / max(1e-9, time.monotonic() - t0), 3)
        return False


LIBRARY_NAMES = {"numpy": "numpy", "numba": "numba", "torch": "torch", "rbms": "rbms", "sklearn": "scikit-learn"}


def machine_summary(m: dict, libraries=("numpy", "numba", "torch"), torch_threads: bool = False) -> str:
    """The machine line under a benchmark table: CPU, cores, threads, library versions and the date, from
    the ``machine`` record of ``gibbs.machine_info``."""
    parts = [m["cpu"], f"{m['nproc']} cores", f"BLAS threads {m['blas_threads']}"]
    if torch_threads:
        parts.append(f"torch threads {m['torch_threads']}")
    parts += [f"{LIBRARY_NAMES[name]} {m[name] or 'missing'}" for name in libraries]
    return ", ".join(parts) + f"; {m['date']}."


def finish(result: dict, save, quick: bool) -> dict:
    """End of a benchmark run: a full run saves the result and rewrites its README table (``save(result)``);
    every run prints the result as the last line of stdout, as JSON."""
    import sys

    if not quick:
        print(f"saved {save(result)} and updated {BENCH_DIR / 'README.md'}", file=sys.stderr)
    print(json.dumps(result))
    return result


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (KVM may show only the vendor and family, e.g. "AMD EPYC")."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
