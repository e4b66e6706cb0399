"""2D Ising samplers of ``rbm_explorer.ising`` against the textbook numba checkerboard, at the critical point.

What, all at β_c = ln(1 + √2) / 2, J = 1, h = 0, periodic L × L lattices, measured in the same run as

* ``baseline`` -- the straightforward checkerboard Metropolis written below (``baseline_sweeps``): one int8
  L × L lattice, ``@numba.njit(parallel=True)``, ``numba.prange`` over the rows of one colour, one
  ``np.random.random()`` and one ``np.exp(-beta * dE)`` per site, ``%`` for the periodic neighbours; numba's
  own thread pool (default threading layer, ``numba.get_num_threads()`` threads);

1. **Metropolis throughput**, nanoseconds of wall time per spin update at L = 64, 256 and 1024: the baseline
   (one lattice) against ``make_sampler("metropolis")`` with several replicas (R = 8 at L = 64 and 256, R = 2 at
   L = 1024) on ``threads=2``, and the same with ``threads=1`` for information;
2. **multispin**, ns per replica-spin update of ``make_sampler("multispin")`` with 128 replicas on ``threads=2``
   (and 64 replicas on ``threads=1``, information) at L = 64 and 256, against the baseline's ns per spin;
3. **Wolff**, cluster flips per second at L = 64 (``WolffSampler._flips(n, 0)``: n clusters per replica), with
   8 replicas on ``threads=2`` and 1 replica on ``threads=1``, and the mean cluster size;
4. **cost of an independent |m| sample** at L = 64: τ_int of |m| = |Σ s| / N (emcee's τ = 1 + 2 Σ ρ, through
   ``rbm_explorer.ising.statistics.integrated_time``) for the baseline (|m| in numpy after every sweep), our
   Metropolis (R = 8, threads=2, |m| from ``sums()`` after every sweep) and Wolff (R = 8, threads=2, |m| after
   every cluster flip: its unit is one cluster flip of one replica). "CPU seconds per τ_int" is (process CPU
   seconds per replica per unit) × τ_int in that unit: the CPU cost of one effectively independent |m|
   sample. The CPU per unit comes from the timed throughput blocks of item 1 and 3 (sweeps only, no
   measurement), with the run's own CPU per unit (sweeping plus measuring every unit, call overhead
   included) reported next to it.

CPU time is process CPU time (``time.process_time``: every thread of the process, so our helper thread,
numba's OpenMP workers and any time they spin in a barrier all count); the throughputs are wall time
(``time.perf_counter``). All four τ runs start from lattices equilibrated by Wolff sweeps and discard a few
τ more of their own dynamics before measuring.

How: the machine is noisy, so the methods of each lattice size run in timed blocks interleaved in a rotating
order for ``repeats`` rounds, with ``IDLE_GAP`` seconds of sleep before every block (numba's OpenMP workers
spin for a while after a parallel region). Every method is compiled and warmed up, and its block length
calibrated, before timing. Each figure is the median over the blocks with its spread (min, quartiles, max);
speed-ups are taken within each round (baseline block / our block of the same round) and reported as the
median and range over the rounds. The τ runs are cut into segments, also interleaved in rotating order with
an idle gap. Other processes' CPU use (``report.OtherLoad``, which counts the hypervisor's steal time as
busy) and the steal time alone are recorded for each part.

Usage: ``python benchmarks/ising.py [--quick] [--repeats R]``. A full run takes about 3.5 minutes on an idle
2-core machine (4 with another process busy on one core); ``--quick`` is a smoke run of about 25 s that
writes no files. The last stdout line is one JSON object; tables go to stderr as parts finish. A full run also saves
``benchmarks/results/ising-<UTC timestamp>.json`` and rewrites the marked section of
``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
# Benchmark this checkout, not whichever rbm_explorer happens to be installed.
sys.path.insert(0, str(BENCH_DIR.parent))

import numba  # noqa: E402

from report import OtherLoad, cpu_model, finish, save_result  # noqa: E402

from rbm_explorer.ising.exact import BETA_C  # noqa: E402
from rbm_explorer.ising.model import IsingModel  # noqa: E402
from rbm_explorer.ising.samplers import make_sampler  # noqa: E402
from rbm_explorer.ising.statistics import integrated_time  # noqa: E402

IDLE_GAP = 0.4  # seconds of sleep before every timed block or segment
METROPOLIS_SIZES = {64: 8, 256: 8, 1024: 2}  # L -> replicas of our Metropolis sampler
MULTISPIN_SIZES = (64, 256)
MULTISPIN_REPLICAS = 128  # two blocks of 64, so that threads=2 has one block per thread
WOLFF_L, WOLFF_REPLICAS = 64, 8
TAU_L = 64
TAU_REPLICAS = 8  # replicas of our Metropolis and Wolff τ runs
TAU_BASELINE_LATTICES = 2  # independent baseline lattices, run one after the other
SEED = 2026
TARGETS = {"metropolis": {64: 5.0, 256: 12.0, 1024: 12.0}, "multispin": 40.0, "wolff_cost": 10.0}
# Figures measured before the project existed (the issue), shown next to ours.
EARLIER = {
    "baseline_ns": "≈ 20 ns",
    "metropolis_ns": "0.5–0.7 ns at L ≥ 256",
    "multispin_ns": "0.14–0.21 ns",
    "metropolis_tau_sweeps": 295.0,
    "wolff_tau_flips": 8.0,
    "wolff_us_per_flip": 80.0,
}
README_START = "<!-- ising-table:start -->"
README_END = "<!-- ising-table:end -->"
TITLE = "## 2D Ising samplers (`benchmarks/ising.py`)"


# --- the straightforward version -------------------------------------------------------------------------
@numba.njit(parallel=True)
def baseline_sweeps(spins, beta, n_sweeps):
    """``n_sweeps`` checkerboard Metropolis sweeps of one L × L int8 lattice (even L, J = 1, h = 0), written
    the textbook way: a prange over the rows of one colour, a uniform and an exponential per site."""
    L = spins.shape[0]
    for _ in range(n_sweeps):
        for colour in range(2):
            for y in numba.prange(L):
                for x in range((y + colour) % 2, L, 2):
                    s = spins[y, x]
                    neighbours = (spins[(y - 1) % L, x] + spins[(y + 1) % L, x]
                                  + spins[y, (x - 1) % L] + spins[y, (x + 1) % L])
                    delta_e = 2 * s * neighbours
                    if np.random.random() < np.exp(-beta * delta_e):
                        spins[y, x] = -s


@numba.njit
def _seed_numba(seed):
    np.random.seed(seed)  # seeds the calling thread's stream; numba's workers have their own


def random_lattice(L: int, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random((L, L)) < 0.5, 1, -1).astype(np.int8)


# --- methods: a ``run(n)`` doing n sweeps (or n cluster flips per replica) and the updates it makes ---------
class Method:
    """One timed configuration: ``run(n)`` advances it n units; ``updates(n)`` counts what it did (spin
    updates, replica-spin updates or cluster flips, all replicas together)."""

    def __init__(self, name, run, updates_per_unit, unit, config, replicas=1):
        self.name, self.run, self.unit, self.config = name, run, unit, config
        self.updates_per_unit = updates_per_unit
        self.replicas = replicas


def baseline_method(L: int, rng) -> Method:
    spins = random_lattice(L, rng)
    beta = float(BETA_C)
    return Method("baseline", lambda n: baseline_sweeps(spins, beta, n), L * L, "spin update",
                  {"lattices": 1, "threads": numba.get_num_threads(), "layer": "numba parallel=True"})


def sampler_method(name, algorithm, L, replicas, threads, seed) -> Method:
    sampler = make_sampler(algorithm, IsingModel(L, BETA_C), replicas, seed, threads=threads)
    unit = "replica-spin update" if algorithm == "multispin" else "spin update"
    return Method(name, sampler.sweep, L * L * replicas, unit,
                  {"algorithm": algorithm, "replicas": replicas, "threads": threads}, replicas)


def wolff_method(name, replicas, threads, seed) -> Method:
    sampler = make_sampler("wolff", IsingModel(WOLFF_L, BETA_C), replicas, seed, threads=threads)
    sampler.thermalize(200)  # equilibrate, and calibrate the mean cluster size
    totals = np.zeros(2, np.int64)  # spins flipped, clusters, over every call

    def run(n):
        totals[:] += sampler._flips(n, 0).sum(axis=0)

    method = Method(name, run, replicas, "cluster flip",
                    {"algorithm": "wolff", "replicas": replicas, "threads": threads}, replicas)
    method.totals = totals
    method.sampler = sampler
    return method


def size_methods(L: int, rng) -> list[Method]:
    """The methods timed together at lattice size L."""
    R = METROPOLIS_SIZES[L]
    methods = [baseline_method(L, rng),
               sampler_method("metropolis", "metropolis", L, R, 2, SEED + L),
               sampler_method("metropolis_1t", "metropolis", L, R, 1, SEED + L + 1)]
    if L in MULTISPIN_SIZES:
        methods += [sampler_method("multispin", "multispin", L, MULTISPIN_REPLICAS, 2, SEED + L + 2),
                    sampler_method("multispin_1t", "multispin", L, 64, 1, SEED + L + 3)]
    if L == WOLFF_L:
        methods += [wolff_method("wolff", WOLFF_REPLICAS, 2, SEED + 5), wolff_method("wolff_1t", 1, 1, SEED + 6)]
    return methods


# --- timing ------------------------------------------------------------------------------------------------
def timed(run, n: int) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of ``run(n)``."""
    c0, t0 = time.process_time(), time.perf_counter()
    run(n)
    t1, c1 = time.perf_counter(), time.process_time()
    return t1 - t0, c1 - c0


def calibrate(run, block_seconds: float) -> int:
    """Warm ``run`` up (compilation, first calls), then the number of units that takes about
    ``block_seconds``."""
    run(1)
    run(1)
    n, elapsed = 1, timed(run, 1)[0]
    while elapsed < block_seconds / 4:
        n *= 2
        elapsed = timed(run, n)[0]
    return max(1, round(n * block_seconds / elapsed))


def _stat_seconds():
    """(busy, steal) CPU seconds of the whole machine from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(v) - v[3] - v[4]) / tick, (v[7] if len(v) > 7 else 0) / tick


class Load:
    """Other processes' cores (``report.OtherLoad``, steal included) and the steal time alone, over a block."""

    def __enter__(self):
        self._other = OtherLoad().__enter__()
        self._stat, self._t = _stat_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc):
        self._other.__exit__(*exc)
        self.other_cores = self._other.cores
        end = _stat_seconds()
        span = max(1e-9, time.monotonic() - self._t)
        self.steal_cores = None if end is None or self._stat is None else round((end[1] - self._stat[1]) / span, 3)
        return False

    def record(self) -> dict:
        return {"other_processes_cores": self.other_cores, "steal_cores": self.steal_cores}


def spread(values) -> dict:
    """Median, quartiles and range."""
    q1, median, q3 = (float(x) for x in np.percentile(values, [25, 50, 75]))
    return {"median": median, "min": float(min(values)), "q1": q1, "q3": q3, "max": float(max(values)),
            "n": len(values)}


def ratio_spread(numerators, denominators) -> dict:
    """numerator / denominator within each round: median, min and max."""
    ratios = [a / b for a, b in zip(numerators, denominators)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def measure_size(L: int, repeats: int, block_seconds: float, rng) -> dict:
    """Interleaved timed blocks of every method at size L; per method the wall and CPU ns per update."""
    methods = size_methods(L, rng)
    steps = {m.name: calibrate(m.run, block_seconds) for m in methods}
    for m in methods:
        if hasattr(m, "totals"):
            m.totals[:] = 0  # count cluster sizes over the timed blocks only
    wall = {m.name: [] for m in methods}
    cpu = {m.name: [] for m in methods}
    others = {m.name: [] for m in methods}  # other processes' cores during each block
    with Load() as load:
        for r in range(repeats):
            k = r % len(methods)
            for m in methods[k:] + methods[:k]:
                time.sleep(IDLE_GAP)
                with OtherLoad() as block_load:
                    w, c = timed(m.run, steps[m.name])
                updates = steps[m.name] * m.updates_per_unit
                wall[m.name].append(1e9 * w / updates)
                cpu[m.name].append(1e9 * c / updates)
                others[m.name].append(block_load.cores)
    out = {"L": L, "methods": {}, **load.record()}
    for m in methods:
        row = {"unit": m.unit, "config": m.config, "units_per_block": steps[m.name],
               "ns_per_update": spread(wall[m.name]), "cpu_ns_per_update": spread(cpu[m.name]),
               "wall_ns_runs": wall[m.name], "cpu_ns_runs": cpu[m.name], "other_cores_runs": others[m.name]}
        if m.unit != "cluster flip" and m.name != "baseline":  # a cluster flip is no spin update
            row["speedup_over_baseline"] = ratio_spread(wall["baseline"], wall[m.name])
            row["cpu_ratio_baseline_over_this"] = ratio_spread(cpu["baseline"], cpu[m.name])
        if hasattr(m, "totals"):
            flipped, clusters = (int(x) for x in m.totals)
            row["mean_cluster_size"] = flipped / max(1, clusters)
            row["calibrated_mean_cluster_size"] = m.sampler.mean_cluster_size
            row["flips_per_sweep"] = m.sampler.flips_per_sweep
            row["flips_per_second"] = spread([1e9 / x for x in wall[m.name]])
            row["flips_per_second_per_replica"] = spread([1e9 / (x * m.replicas) for x in wall[m.name]])
            row["cpu_us_per_replica_flip"] = spread([x / 1e3 for x in cpu[m.name]])
            row["wall_ns_per_flipped_spin"] = row["ns_per_update"]["median"] / row["mean_cluster_size"]
            row["cpu_ns_per_flipped_spin"] = row["cpu_ns_per_update"]["median"] / row["mean_cluster_size"]
        out["methods"][m.name] = row
    return out


# --- τ_int of |m| --------------------------------------------------------------------------------------------
class TauRun:
    """One long run measuring |m| after every unit, advanced segment by segment."""

    def __init__(self, name, unit, replicas, n_units, advance_and_measure):
        self.name, self.unit, self.replicas, self.n_units = name, unit, replicas, n_units
        self.series = np.empty((n_units, replicas))
        self.done = 0
        self.wall, self.cpu, self.units = [], [], []
        self._step = advance_and_measure  # (series rows to fill) -> None

    def segment(self, n: int) -> None:
        n = min(n, self.n_units - self.done)
        if n <= 0:
            return
        rows = self.series[self.done:self.done + n]
        w, c = timed(lambda _: self._step(rows), 0)
        self.done += n
        self.wall.append(w)
        self.cpu.append(c)
        self.units.append(n)


def tau_runs(n_metropolis: int, n_wolff: int, discard_metropolis: int, discard_wolff: int, segments: int,
             rng) -> dict:
    """τ_int(|m|) of the baseline, our Metropolis and Wolff at L = TAU_L, β_c, with their run's own CPU cost."""
    model = IsingModel(TAU_L, BETA_C)
    N = model.n_spins
    beta = float(BETA_C)
    # equilibrium starts for every lattice of every method, from Wolff sweeps
    starts = make_sampler("wolff", model, TAU_BASELINE_LATTICES + 2 * TAU_REPLICAS, SEED + 100, threads=2)
    starts.thermalize(400)
    spins = starts.spins
    lattices = [np.ascontiguousarray(spins[i]) for i in range(TAU_BASELINE_LATTICES)]
    metro = make_sampler("metropolis", model, TAU_REPLICAS, SEED + 101, threads=2)
    metro.set_spins(spins[TAU_BASELINE_LATTICES:TAU_BASELINE_LATTICES + TAU_REPLICAS])
    wolff = make_sampler("wolff", model, TAU_REPLICAS, SEED + 102, threads=2)
    wolff.set_spins(spins[TAU_BASELINE_LATTICES + TAU_REPLICAS:])
    wolff.calibrate(50)  # flips_per_sweep and the mean cluster size, to express τ in Wolff sweeps too

    # discard a few τ of each method's own dynamics
    for lattice in lattices:
        baseline_sweeps(lattice, beta, discard_metropolis)
    metro.sweep(discard_metropolis)
    wolff._flips(discard_wolff, 0)

    def baseline_step(rows):
        for j, lattice in enumerate(lattices):
            for i in range(rows.shape[0]):
                baseline_sweeps(lattice, beta, 1)
                rows[i, j] = abs(int(lattice.sum(dtype=np.int64))) / N

    def metropolis_step(rows):
        for i in range(rows.shape[0]):
            metro.sweep(1)
            rows[i] = np.abs(metro.sums()[:, 1]) / N

    def wolff_step(rows):
        for i in range(rows.shape[0]):
            wolff._flips(1, 0)
            rows[i] = np.abs(wolff.sums()[:, 1]) / N

    runs = [TauRun("baseline", "sweep", TAU_BASELINE_LATTICES, n_metropolis, baseline_step),
            TauRun("metropolis", "sweep", TAU_REPLICAS, n_metropolis, metropolis_step),
            TauRun("wolff", "cluster flip", TAU_REPLICAS, n_wolff, wolff_step)]
    with Load() as load:
        for s in range(segments):
            k = s % len(runs)
            for run in runs[k:] + runs[:k]:
                time.sleep(IDLE_GAP)
                run.segment(-(-run.n_units // segments))
    out = {"L": TAU_L, "beta": beta, **load.record(), "runs": {}}
    for run in runs:
        series = run.series[:run.done]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tau = integrated_time(series, 1, name=f"{run.name} |m|")
            half = series.shape[0] // 2
            tau_halves = [integrated_time(series[:half], 1, name=f"{run.name} |m| 1st half"),
                          integrated_time(series[half:], 1, name=f"{run.name} |m| 2nd half")]
        n = series.shape[0]
        # relative standard error of τ (Madras and Sokal 1988), window M ≈ 5 τ, averaged over the replicas
        relative_error = math.sqrt(2 * (2 * 5 * tau + 1) / (n * run.replicas))
        cpu_per_unit = sum(run.cpu) / (sum(run.units) * run.replicas)
        row = {"unit": run.unit, "replicas": run.replicas, "units_per_replica": n, "run_in_taus": n / tau,
               "tau_int": tau, "tau_relative_error": relative_error, "tau_int_halves": tau_halves,
               "mean_abs_m": float(series.mean()),
               "run_cpu_seconds": sum(run.cpu), "run_wall_seconds": sum(run.wall),
               "run_cpu_us_per_replica_unit": 1e6 * cpu_per_unit,
               "run_cpu_us_per_replica_unit_segments": [1e6 * c / (u * run.replicas)
                                                        for c, u in zip(run.cpu, run.units)],
               "run_cpu_ms_per_tau": 1e3 * cpu_per_unit * tau,
               "warnings": [str(w.message) for w in caught]}
        if run.name == "wolff":
            row["flips_per_sweep"] = wolff.flips_per_sweep
            row["mean_cluster_size"] = wolff.mean_cluster_size
            row["tau_int_wolff_sweeps"] = tau / wolff.flips_per_sweep
            row["tau_int_spins_flipped_per_N"] = tau * wolff.mean_cluster_size / N
        out["runs"][run.name] = row
    return out


def tau_costs(tau: dict, size64: dict) -> dict:
    """CPU ms per τ_int per replica: τ × the CPU per replica-unit of each timed block at L = 64 (sweeps only),
    per round, and the ratios baseline / X and metropolis / wolff within each round."""
    methods = size64["methods"]
    # CPU ns per update -> CPU seconds per replica-unit: a sweep is N spin updates; a Wolff unit is one flip
    N = TAU_L * TAU_L
    per_unit = {"baseline": [x * N * 1e-9 for x in methods["baseline"]["cpu_ns_runs"]],
                "metropolis": [x * N * 1e-9 for x in methods["metropolis"]["cpu_ns_runs"]],
                "wolff": [x * 1e-9 for x in methods["wolff"]["cpu_ns_runs"]]}
    cost = {name: [1e3 * c * tau["runs"][name]["tau_int"] for c in values] for name, values in per_unit.items()}
    return {"cpu_ms_per_tau": {name: spread(values) for name, values in cost.items()},
            "cpu_us_per_replica_unit": {name: spread([1e6 * c for c in v]) for name, v in per_unit.items()},
            "baseline_over_wolff": ratio_spread(cost["baseline"], cost["wolff"]),
            "baseline_over_metropolis": ratio_spread(cost["baseline"], cost["metropolis"]),
            "metropolis_over_wolff": ratio_spread(cost["metropolis"], cost["wolff"]),
            "cpu_ms_per_tau_runs": cost}


def verdicts(sizes: dict, costs: dict) -> list[dict]:
    """Each target of the issue: the measured median ratio, its range, and PASS when the median meets it."""
    rows = []
    for L, target in TARGETS["metropolis"].items():
        r = sizes[L]["methods"]["metropolis"]["speedup_over_baseline"]
        rows.append({"what": f"Metropolis speed-up over the baseline, L = {L} (ns per spin update)",
                     "target": target, **r})
    for L in MULTISPIN_SIZES:
        r = sizes[L]["methods"]["multispin"]["speedup_over_baseline"]
        rows.append({"what": f"multispin speed-up over the baseline, L = {L} (ns per replica-spin vs per spin)",
                     "target": TARGETS["multispin"], **r})
    rows.append({"what": "CPU per τ_int(|m|): baseline / Wolff, L = 64", "target": TARGETS["wolff_cost"],
                 **costs["baseline_over_wolff"]})
    for row in rows:
        row["verdict"] = "PASS" if row["median"] >= row["target"] else "FAIL"
        row["all_rounds_pass"] = row["min"] >= row["target"]
    return rows


# --- machine information ------------------------------------------------------------------------------------
def cpu_flags() -> list[str]:
    """The SIMD flags of interest from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return sorted(flags & {"sse4_2", "avx", "avx2", "fma", "bmi2", "avx512f", "avx512bw",
                                           "avx512vl", "hypervisor"})
    except OSError:
        pass
    return []


def machine_info(quick: bool, repeats: int, block_seconds: float) -> dict:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.threading_layer(),
        "quick": quick,
        "repeats": repeats,
        "block_seconds": block_seconds,
        "idle_gap_seconds": IDLE_GAP,
        "beta": float(BETA_C),
        "timers": "throughput: wall time (perf_counter); CPU: process CPU time (process_time, all threads)",
    }


# --- output --------------------------------------------------------------------------------------------------
def g3(x) -> str:
    """3 significant digits, no exponent for ordinary sizes."""
    if x is None:
        return "-"
    if x == 0 or not math.isfinite(x):
        return f"{x}"
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}"


def fmt_spread(sp: dict, scale: float = 1.0) -> str:
    return f"{g3(sp['median'] * scale)} ({g3(sp['min'] * scale)}–{g3(sp['max'] * scale)})"


def fmt_ratio(r: dict) -> str:
    return f"{r['median']:.1f}× ({r['min']:.1f}–{r['max']:.1f})"


def print_size(result: dict) -> None:
    L = result["L"]
    for name, row in result["methods"].items():
        ratio = f"  speed-up {fmt_ratio(row['speedup_over_baseline'])}" if "speedup_over_baseline" in row else ""
        print(f"L={L:<5} {name:<14} {fmt_spread(row['ns_per_update']):>26} ns/{row['unit']}"
              f"   cpu {fmt_spread(row['cpu_ns_per_update'])}{ratio}", file=sys.stderr, flush=True)
    print(f"L={L:<5} other processes {result['other_processes_cores']} cores (steal {result['steal_cores']})",
          file=sys.stderr, flush=True)


def print_tau(tau: dict) -> None:
    for name, row in tau["runs"].items():
        print(f"tau {name:<11} {row['tau_int']:.1f} {row['unit']}s (±{100 * row['tau_relative_error']:.0f}%, "
              f"halves {row['tau_int_halves'][0]:.1f}, {row['tau_int_halves'][1]:.1f}), {row['run_in_taus']:.0f} τ, "
              f"run CPU {row['run_cpu_us_per_replica_unit']:.2f} us per replica-{row['unit']}, "
              f"{row['run_cpu_ms_per_tau']:.3g} ms per τ; {len(row['warnings'])} warnings",
              file=sys.stderr, flush=True)


def markdown_section(result: dict) -> str:
    sizes, tau, costs, m = result["sizes"], result["tau"], result["tau_costs"], result["machine"]
    s64 = sizes["64"]["methods"]
    lines = [README_START,
             "Wall nanoseconds per spin update (multispin: per replica-spin update), median (min–max) over the "
             "interleaved blocks; speed-up = baseline / ours within each round, median (min–max) over the rounds.",
             "",
             "| L | baseline, 1 lattice | ours, metropolis, 2 threads | ours, 1 thread | speed-up (2 threads) | "
             "speed-up (1 thread) | multispin 128 replicas, 2 threads | multispin 64, 1 thread | "
             "multispin speed-up | other load, cores |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, size in sizes.items():
        ms = size["methods"]
        R = ms["metropolis"]["config"]["replicas"]
        multi = [fmt_spread(ms[n]["ns_per_update"]) if n in ms else "-" for n in ("multispin", "multispin_1t")]
        multi_ratio = fmt_ratio(ms["multispin"]["speedup_over_baseline"]) if "multispin" in ms else "-"
        lines.append(
            f"| {key} | {fmt_spread(ms['baseline']['ns_per_update'])} | "
            f"{fmt_spread(ms['metropolis']['ns_per_update'])} (R = {R}) | "
            f"{fmt_spread(ms['metropolis_1t']['ns_per_update'])} | "
            f"{fmt_ratio(ms['metropolis']['speedup_over_baseline'])} | "
            f"{fmt_ratio(ms['metropolis_1t']['speedup_over_baseline'])} | {multi[0]} | {multi[1]} | {multi_ratio} | "
            f"{size['other_processes_cores']} |")
    w, w1 = s64["wolff"], s64["wolff_1t"]
    lines += ["", "Wolff at L = 64, β_c (timed blocks of `_flips(n, 0)`, interleaved with the L = 64 rows above):", "",
              "| configuration | cluster flips/s, all replicas | wall µs per flip (1 / rate) | "
              "CPU µs per flip | CPU ns per flipped spin | mean cluster size |",
              "|---|---|---|---|---|---|"]
    for label, row in (("8 replicas, 2 threads", w), ("1 replica, 1 thread", w1)):
        lines.append(f"| {label} | {fmt_spread(row['flips_per_second'])} | "
                     f"{fmt_spread(row['ns_per_update'], 1e-3)} | "
                     f"{fmt_spread(row['cpu_us_per_replica_flip'])} | {g3(row['cpu_ns_per_flipped_spin'])} | "
                     f"{row['mean_cluster_size']:.0f} |")
    lines += ["", "CPU cost of one effectively independent |m| sample at L = 64, β_c: τ_int(|m|) (emcee's τ, ± the "
              "Madras–Sokal standard error) times the process CPU per replica and unit, from the timed blocks "
              "(sweeping only, per round: median (min–max)) and from the τ run itself (sweeping plus measuring "
              "|m| after every unit).", "",
              "| method | unit | τ_int(|m|), units | run length | CPU µs per replica-unit (blocks) | "
              "CPU ms per τ_int (blocks) | CPU ms per τ_int (τ run, with measurement) | baseline / this (blocks) |",
              "|---|---|---|---|---|---|---|---|"]
    labels = {"baseline": "baseline, 2 lattices", "metropolis": f"ours metropolis, R = {TAU_REPLICAS}, 2 threads",
              "wolff": f"ours wolff, R = {TAU_REPLICAS}, 2 threads"}
    for name in ("baseline", "metropolis", "wolff"):
        run = tau["runs"][name]
        ratio = "1" if name == "baseline" else fmt_ratio(costs[f"baseline_over_{name}"])
        extra = (f" (= {run['tau_int_wolff_sweeps']:.2f} Wolff sweeps of {run['flips_per_sweep']} flips)"
                 if name == "wolff" else "")
        lines.append(
            f"| {labels[name]} | {run['unit']} | {run['tau_int']:.1f} ± {100 * run['tau_relative_error']:.0f}%"
            f"{extra} | {run['replicas']} × {run['units_per_replica']:,} ({run['run_in_taus']:,.0f} τ) | "
            f"{fmt_spread(costs['cpu_us_per_replica_unit'][name])} | {fmt_spread(costs['cpu_ms_per_tau'][name])} | "
            f"{g3(run['run_cpu_ms_per_tau'])} | {ratio} |")
    lines += ["", f"Ours metropolis / Wolff, CPU per τ_int (blocks): {fmt_ratio(costs['metropolis_over_wolff'])}.",
              "", "Targets (PASS when the median ratio over the rounds meets the target):", "",
              "| target | measured, median (min–max) | verdict |", "|---|---|---|"]
    for v in result["verdicts"]:
        note = "" if v["all_rounds_pass"] else " (not in every round)"
        lines.append(f"| {v['what']} ≥ {v['target']:g}× | {v['median']:.1f}× ({v['min']:.1f}–{v['max']:.1f}) | "
                     f"{v['verdict']}{note} |")
    lines += ["", f"Earlier figures (before the project, AMD EPYC): straightforward {EARLIER['baseline_ns']} per "
              f"spin update; sublattice int8 rows with xoshiro lanes {EARLIER['metropolis_ns']}; multispin "
              f"{EARLIER['multispin_ns']} per replica-spin; τ_int(|m|) ≈ {EARLIER['metropolis_tau_sweeps']:g} "
              f"Metropolis sweeps and ≈ {EARLIER['wolff_tau_flips']:g} Wolff cluster flips at about "
              f"{EARLIER['wolff_us_per_flip']:g} µs each.", "",
              f"{m['repeats']} interleaved rounds of blocks of ~{m['block_seconds']} s, {m['idle_gap_seconds']} s "
              f"idle before each block and each of the {tau['segments']} τ-run segments; baseline on numba "
              f"{m['numba_threading_layer']} with {m['numba_threads']} threads; other processes busy "
              f"{result['other_processes_cores']} cores on average over the run (steal {result['steal_cores']}); "
              f"{m['cpu']} ({', '.join(f for f in m['cpu_flags'] if f != 'hypervisor')}), {m['nproc']} cores, "
              f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}; {m['date']}; the run took "
              f"{result['elapsed_seconds']:.0f} s.",
              README_END]
    return "\n".join(lines)


def save(result: dict) -> Path:
    return save_result(result, "ising", markdown_section(result), README_START, README_END, TITLE)


# --- main ----------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (about 30 s); writes no files")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds per size (3 quick, 11 full)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 11
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    global IDLE_GAP
    if args.quick:
        IDLE_GAP = 0.1
    start = time.perf_counter()
    block_seconds = 0.05 if args.quick else 0.3
    rng = np.random.default_rng(SEED)
    _seed_numba(SEED)
    sizes = {}
    with Load() as load:
        for L in METROPOLIS_SIZES:
            sizes[str(L)] = measure_size(L, args.repeats, block_seconds, rng)
            print_size(sizes[str(L)])
        if args.quick:  # short runs: τ is unreliable (integrated_time warns) but every code path runs
            plan = {"n_metropolis": 3000, "n_wolff": 1000, "discard_metropolis": 500, "discard_wolff": 100,
                    "segments": 2}
        else:  # ≥ 50 τ per replica: 100,000 sweeps ≈ 250-350 τ of Metropolis, 20,000 flips ≈ 2,500 τ of Wolff
            plan = {"n_metropolis": 100_000, "n_wolff": 20_000, "discard_metropolis": 3_000, "discard_wolff": 200,
                    "segments": 10}
        tau = tau_runs(**plan, rng=rng)
        tau["segments"] = plan["segments"]
        print_tau(tau)
    costs = tau_costs(tau, sizes["64"])
    result = {"sizes": sizes, "tau": tau, "tau_costs": costs, "machine": machine_info(args.quick, args.repeats,
                                                                                      block_seconds)}
    result["verdicts"] = verdicts({int(k): v for k, v in sizes.items()}, costs)
    result.update(load.record())
    result["elapsed_seconds"] = time.perf_counter() - start
    result["process_cpu_seconds"] = time.process_time()
    for v in result["verdicts"]:
        print(f"{v['verdict']}  {v['what']}: {v['median']:.1f}x ({v['min']:.1f}-{v['max']:.1f}), "
              f"target {v['target']:g}x", file=sys.stderr, flush=True)
    print("CPU ms per tau (blocks): " + ", ".join(f"{k} {fmt_spread(v)}" for k, v in costs["cpu_ms_per_tau"].items())
          + f"; metropolis/wolff {fmt_ratio(costs['metropolis_over_wolff'])}; took {result['elapsed_seconds']:.0f} s",
          file=sys.stderr, flush=True)
    return finish(result, save, args.quick)


if __name__ == "__main__":
    main()
