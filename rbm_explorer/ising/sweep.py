"""β sweeps of the Ising model: a grid of (size, β) points, each a row of observables with error bars.

The work is split into tasks, one per (L, β, replica block). A task's random stream comes from a
``numpy.random.SeedSequence`` keyed by (seed, L, β, block), so its result does not depend on where or in which
order it runs: a sweep on a Dask cluster gives the same numbers as the same sweep run in this process.
A row is finished when all of its blocks are; ``run_sweep`` writes the CSV again (atomically, sorted by L and β)
each time a row finishes, so an interrupted sweep keeps every finished row, and ``resume=True`` skips them.

Execution goes through Dask distributed (``rbm_explorer.ising.cluster``): a ``LocalCluster`` of one
single-threaded worker process per core by default, or an existing scheduler by address. ``scheduler="inprocess"``
runs the tasks here, one after the other (tests, and a reference for the cluster's numbers).
"""

from __future__ import annotations

import csv
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rbm_explorer.ising import exact
from rbm_explorer.ising.model import IsingModel
from rbm_explorer.ising.run import IsingSeries, sample_series
from rbm_explorer.ising.samplers import ALGORITHMS, REPLICAS_PER_WORD
from rbm_explorer.ising.statistics import ShortRunWarning, ising_observables

QUANTITIES = ("energy", "heat_capacity", "abs_magnetization", "susceptibility", "staggered_magnetization",
              "staggered_susceptibility", "binder", "correlation_length")
KEY_COLUMNS = ("L", "beta", "J", "h", "algorithm", "seed", "replicas", "sweeps")
COLUMNS = (KEY_COLUMNS + tuple(c for q in QUANTITIES for c in (q, f"{q}_err"))
           + ("tau_int_abs_magnetization", "tau_int_energy", "energy_exact", "heat_capacity_exact",
              "thermalization", "measure_every", "seconds", "notes"))


def parse_betas(values) -> list[float]:
    """β values from ``a:b:n`` (n points from a to b, both included) and plain numbers, sorted, duplicates
    removed. ``values`` is a string or a list of strings/numbers."""
    if isinstance(values, (str, int, float)):
        values = [values]
    betas: list[float] = []
    for item in values:
        text = str(item).strip()
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError(f"a beta range is a:b:n (n points from a to b), got {text!r}")
            try:
                a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            except ValueError:
                raise ValueError(f"a beta range is a:b:n with numbers a, b and a whole number n, got {text!r}") from None
            if n < 1 or (n == 1 and a != b):
                raise ValueError(f"a beta range needs n >= 2 points (or a == b), got {text!r}")
            betas.extend(np.linspace(a, b, n).tolist())
        else:
            try:
                betas.append(float(text))
            except ValueError:
                raise ValueError(f"not a beta value or a:b:n range: {text!r}") from None
    for beta in betas:
        if not math.isfinite(beta) or beta <= 0:
            raise ValueError(f"every beta must be a positive number, got {beta}")
    return sorted(set(round(b, 12) for b in betas))


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep computes. ``replicas_per_task`` splits each point's replicas into tasks (blocks)."""

    sizes: tuple[int, ...]
    betas: tuple[float, ...]
    coupling: float = 1.0
    field: float = 0.0
    algorithm: str = "hybrid"
    replicas: int = 16
    sweeps: int = 4000
    thermalization: int | None = None
    seed: int = 0
    measure_every: int = 1
    replicas_per_task: int | None = None

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown Ising algorithm {self.algorithm!r}; choose one of {', '.join(ALGORITHMS)}")
        if not self.sizes or not self.betas:
            raise ValueError("a sweep needs at least one size and one beta")
        object.__setattr__(self, "sizes", tuple(sorted(set(int(L) for L in self.sizes))))
        object.__setattr__(self, "betas", tuple(sorted(set(float(b) for b in self.betas))))
        for L in self.sizes:  # every point's model must be valid before any work starts
            IsingModel(L, self.betas[0], self.coupling, self.field)
        if self.algorithm in ("wolff", "hybrid") and self.field != 0:
            raise ValueError(f"the {self.algorithm} algorithm needs h = 0 (Wolff clusters ignore a field); "
                             f"use metropolis or multispin for h = {self.field:g}")
        if self.replicas < 1 or self.sweeps < 2 or self.measure_every < 1 or int(self.seed) < 0:
            raise ValueError("replicas and measure_every must be >= 1, sweeps >= 2 and the seed >= 0")
        block = self.block_size
        if self.algorithm == "multispin" and (self.replicas % REPLICAS_PER_WORD or block % REPLICAS_PER_WORD):
            raise ValueError(f"multispin runs replicas in words of {REPLICAS_PER_WORD}: replicas "
                             f"({self.replicas}) and replicas per task ({block}) must be multiples of 64")

    @property
    def block_size(self) -> int:
        if self.replicas_per_task is not None:
            return max(1, min(int(self.replicas_per_task), self.replicas))
        if self.algorithm == "multispin":
            return REPLICAS_PER_WORD
        return min(self.replicas, 4)

    def blocks(self) -> list[int]:
        """Replicas of each block of one point (the last block may be smaller)."""
        size = self.block_size
        full, rest = divmod(self.replicas, size)
        return [size] * full + ([rest] if rest else [])

    def model(self, L: int, beta: float) -> IsingModel:
        return IsingModel(L, beta, self.coupling, self.field)

    def key(self, L: int, beta: float) -> tuple:
        """The identity of a row in the CSV: the key columns."""
        return (int(L), _beta_text(beta), _number_text(self.coupling), _number_text(self.field), self.algorithm,
                int(self.seed), int(self.replicas), int(self.sweeps))


@dataclass(frozen=True)
class SweepTask:
    """One replica block of one (L, β) point."""

    L: int
    beta: float
    block: int
    replicas: int
    plan: SweepPlan

    def seed_sequence(self) -> np.random.SeedSequence:
        beta_key = int(round(self.beta * 2**40))
        return np.random.SeedSequence([int(self.plan.seed), self.L, beta_key, self.block])


def tasks_of(plan: SweepPlan, skip: set[tuple] = frozenset()) -> list[SweepTask]:
    """Every task of the plan whose row is not in ``skip`` (keys from ``SweepPlan.key``)."""
    out = []
    for L in plan.sizes:
        for beta in plan.betas:
            if plan.key(L, beta) in skip:
                continue
            for block, replicas in enumerate(plan.blocks()):
                out.append(SweepTask(L, beta, block, replicas, plan))
    return out


def run_task(task: SweepTask) -> IsingSeries:
    """Sample one replica block (runs on a Dask worker, or here). Kernels stay serial (``threads=1``): Dask runs
    tasks side by side, and a threaded worker in the app's process must not share the kernel helper threads of
    the page's live lattice."""
    plan = task.plan
    rng = np.random.default_rng(task.seed_sequence())
    return sample_series(plan.model(task.L, task.beta), plan.algorithm, task.replicas, plan.sweeps,
                         plan.thermalization, rng, plan.measure_every, threads=1)


def timed_task(task: SweepTask) -> tuple[IsingSeries, float]:
    """``run_task`` and its duration in seconds: what the workers run."""
    start = time.perf_counter()
    series = run_task(task)
    return series, time.perf_counter() - start


def row_of(plan: SweepPlan, L: int, beta: float, blocks: list[IsingSeries], seconds: float = float("nan")) -> dict:
    """The CSV row of one point from its replica blocks (in block order)."""
    joined = blocks[0]
    for more in blocks[1:]:
        joined = joined.concatenate(more)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ShortRunWarning)
        estimates = ising_observables(joined.series, beta=beta, L=L, sweeps_per_measurement=joined.measure_every)
    # the signed magnetization is not a column; below T_c its replicas sit at +m and -m, which it warns about
    notes = sorted({str(w.message).split(";")[0] for w in caught
                    if issubclass(w.category, ShortRunWarning) and not str(w.message).startswith("magnetization:")})
    key = plan.key(L, beta)
    row = dict(zip(KEY_COLUMNS, key))
    row["beta"] = float(beta)
    row["J"], row["h"] = plan.coupling, plan.field
    for q in QUANTITIES:
        row[q], row[f"{q}_err"] = estimates[q].value, estimates[q].error
    row["tau_int_abs_magnetization"] = estimates["abs_magnetization"].tau_int
    row["tau_int_energy"] = estimates["energy"].tau_int
    row["energy_exact"], row["heat_capacity_exact"] = exact_columns(L, beta, plan.coupling, plan.field)
    row["thermalization"] = joined.thermalization
    row["measure_every"] = joined.measure_every
    row["seconds"] = seconds
    row["notes"] = " | ".join(notes)
    return row


def exact_columns(L: int, beta: float, coupling: float, field: float) -> tuple[float | None, float | None]:
    """The exact finite-L energy and heat capacity per spin (Ferdinand and Fisher 1969) for J = ±1, h = 0."""
    if field != 0 or abs(coupling) != 1:
        return None, None
    return float(exact.torus_energy(L, beta, coupling)), float(exact.torus_heat_capacity(L, beta, coupling))


# -- the CSV ------------------------------------------------------------------------------------------------------

def _beta_text(beta: float) -> str:
    return f"{float(beta):.12g}"


def _number_text(value: float) -> str:
    return f"{float(value):.12g}"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


def write_rows(path: Path, rows: list[dict]) -> None:
    """All rows, sorted by (L, β), written atomically."""
    from rbm_explorer.io.atomic import atomic_write

    ordered = sorted(rows, key=lambda r: (int(r["L"]), float(r["beta"]), str(r["algorithm"])))
    with atomic_write(path, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in ordered:
            writer.writerow({c: _cell(row.get(c)) for c in COLUMNS})


def read_rows(path: Path) -> list[dict]:
    """Rows of a sweep CSV written by ``write_rows``; a file that is not one is a clear error."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in KEY_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path} is not a sweep CSV: no column {missing[0]!r}")
            return list(reader)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a sweep CSV (not text)") from None


def row_key(row: dict) -> tuple:
    """The key of a row read back from a CSV, comparable with ``SweepPlan.key``."""
    try:
        return (int(row["L"]), _beta_text(float(row["beta"])), _number_text(float(row["J"])),
                _number_text(float(row["h"])), row["algorithm"], int(row["seed"]), int(row["replicas"]),
                int(row["sweeps"]))
    except (TypeError, ValueError, KeyError):
        raise ValueError(f"a row of the sweep CSV has malformed key columns: {row}") from None


# -- running ------------------------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    rows: list[dict]
    skipped: int = 0
    computed: int = 0
    seconds: float = 0.0
    scheduler: str = ""
    notes: list[str] = field(default_factory=list)


def run_sweep(plan: SweepPlan, out: Path | None = None, *, scheduler: str | None = None, resume: bool = False,
              progress: bool = True, workers: int | None = None, connect_timeout: float = 20) -> SweepResult:
    """Run the sweep and return its rows (previously written ones included when resuming).

    ``scheduler``: None for a new ``LocalCluster`` on this machine (``workers`` processes, one per core by
    default), an address such as ``tcp://host:8786`` for an existing cluster, or ``"inprocess"``.
    With ``out``, the CSV is rewritten after every finished row; ``resume`` keeps its rows and skips their points.
    ``connect_timeout`` (seconds) bounds the wait for an existing scheduler.
    """
    from rbm_explorer.ising.cluster import execute

    out = None if out is None else Path(out)
    previous: list[dict] = []
    if out is not None and out.exists():
        if not resume:
            raise FileExistsError(f"{out} exists: pass resume to continue that sweep, or choose another file")
        previous = read_rows(out)
    done_keys = {row_key(r) for r in previous}
    mine = {plan.key(L, b) for L in plan.sizes for b in plan.betas}
    skipped = len(done_keys & mine)
    tasks = tasks_of(plan, done_keys)
    rows = list(previous)
    pending: dict[tuple, list] = {}
    started: dict[tuple, float] = {}
    n_blocks = len(plan.blocks())
    t0 = time.perf_counter()

    def finished(task: SweepTask, series: IsingSeries, elapsed: float) -> None:
        point = (task.L, task.beta)
        pending.setdefault(point, [None] * n_blocks)[task.block] = series
        started[point] = started.get(point, 0.0) + elapsed
        if all(b is not None for b in pending[point]):
            rows.append(row_of(plan, task.L, task.beta, pending.pop(point), started.pop(point)))
            if out is not None:
                write_rows(out, rows)

    if out is not None and not out.exists():
        write_rows(out, rows)  # the header at once, so the file shows the sweep has started
    name = execute(timed_task, tasks, finished, scheduler=scheduler, progress=progress, workers=workers,
                   connect_timeout=connect_timeout)
    result = SweepResult(sorted(rows, key=lambda r: (int(r["L"]), float(r["beta"]))), skipped, len(mine) - skipped,
                         time.perf_counter() - t0, name)
    result.notes = [f"L={r['L']} beta={float(r['beta']):.4g}: {r['notes']}" for r in result.rows if r.get("notes")]
    return result
