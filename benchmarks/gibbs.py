"""Gibbs sampling throughput of ``GibbsEngine`` against its BLAS ceiling and other libraries.

What: chain-sweeps per second (chains x sweeps / second, one sweep = v -> h -> v) of a binary-binary RBM for
a few (N visible, M hidden, chains) shapes, measured in the same run for

* ``ours``      -- ``rbm_explorer.sampling.GibbsEngine.step``, its sampling kernels on as many threads as BLAS
  (``rbm_explorer.sampling.kernel_threads``);
* ``gemm_only`` -- just the two float32 products of a sweep into preallocated outputs: the ceiling;
* ``numpy``     -- plain numpy float32 block Gibbs as one would write it: ``p = 1 / (1 + exp(-(v @ W + b)))``,
  ``h = (rng.random(p.shape, dtype=float32) < p).astype(float32)``, new arrays each step;
* ``numpy_inplace`` -- the same numpy computation tuned: every operation in place into preallocated buffers;
* ``ours_parallel`` -- our step with the sampling kernel compiled ``parallel=True`` (prange over chains, numba's
  default threading layer): the alternative that ``rbm_explorer._kernels`` rejected. Its worker threads keep
  spinning after each call and would slow whatever runs next, so it is measured in a child process of its own
  (with the same block length and repeats), not interleaved with the others;
* ``torch``     -- torch float32 with ``sigmoid`` + ``bernoulli`` under ``no_grad``, as many threads as
  numpy's BLAS (null when torch is missing);
* ``sklearn``   -- ``BernoulliRBM.gibbs`` with float32 parameters, chained on its own (boolean) output
  (null when scikit-learn is missing);
* ``rbms``      -- the peer library rbms (DsysDML/rbms, PyPI ``rbms``; ``benchmarks/requirements.txt``): its
  float32 ``BBRBM`` and its own ``rbms.sampling.gibbs.sample_state(n, chains, params)``, on torch with the same
  threads (null when rbms is missing). ``sample_state(n)`` does n sweeps and one more hidden half-sweep; that
  half-sweep is credited to it (n + 0.5 sweeps per call).

Why: the engine's design bet is that a sweep is two BLAS products plus cheap serial sampling kernels, so
``ours`` should stay close to ``gemm_only`` and beat the straightforward implementations.

How: the machine is noisy, so every method runs in time blocks interleaved in a rotating order, ``repeats``
times per shape, and the median block throughput is reported with its spread (min, quartiles, max). Before
every timed block the process sleeps ``IDLE_GAP`` seconds: the thread pools of OpenBLAS, torch and numba spin
for a while after their last call, and without a gap one library's spinning threads slowed the next block
(torch measured at 2,696 instead of about 60,000 chain-sweeps/s). Ratios ``ours/X`` are the median, min and
max over the rounds of (ours block rate / X block rate in the same round), so a machine that changes speed
during the run shifts both sides of each ratio. Each method is warmed up (numba compile, first-call
allocations) and its block length calibrated before timing. No thread settings are touched except torch's
pool, matched to numpy's BLAS thread count.

Usage: ``python benchmarks/gibbs.py [--quick] [--repeats R]`` (a full run takes about 5 minutes, ``--quick``
about 1). The last stdout line is one JSON object ``{"rows": [...], ...}``; a table goes to stderr as rows
finish. A full run (no ``--quick``) also saves ``benchmarks/results/gibbs-<UTC timestamp>.json`` and rewrites
the marked tables in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
# Benchmark this checkout, not whichever rbm_explorer happens to be installed.
sys.path.insert(0, str(BENCH_DIR.parent))

import numba  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from report import OtherLoad, cpu_model, finish, machine_summary, save_result  # noqa: E402

from rbm_explorer._kernels.sampling import two_state_chain  # noqa: E402
from rbm_explorer.layers import Binary  # noqa: E402
from rbm_explorer.rbm import RBM  # noqa: E402
from rbm_explorer.sampling import GibbsEngine, kernel_threads  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

try:
    import sklearn
    from sklearn.neural_network import BernoulliRBM
except ImportError:  # pragma: no cover - depends on the environment
    sklearn = None

try:
    import rbms
    from rbms.bernoulli_bernoulli.classes import BBRBM
    from rbms.sampling.gibbs import sample_state as rbms_sample_state
except ImportError:  # pragma: no cover - depends on the environment (rbms needs torch)
    rbms = None

SHAPES = [(784, 400, 64), (784, 400, 1024), (4096, 1000, 256)]
METHODS = ["ours", "gemm_only", "numpy", "torch", "rbms", "sklearn", "numpy_inplace", "ours_parallel"]
RATIO_BASES = ["gemm_only", "numpy", "torch", "rbms", "sklearn", "numpy_inplace", "ours_parallel"]
IDLE_GAP = 0.3  # seconds of sleep before every timed block, so that no thread pool is still spinning
WEIGHT_SCALE = 0.05  # std of the weights; inputs of a few units, so the units are far from saturated
FIELD_SCALE = 0.1  # std of the visible and hidden fields
README_START = "<!-- gibbs-table:start -->"
README_END = "<!-- gibbs-table:end -->"


# --- model -------------------------------------------------------------------------------------------------
def make_parameters(n_visible: int, n_hidden: int, seed: int = 0):
    """Random weights W (N x M) and fields g (N,), theta (M,), all float64."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(0.0, WEIGHT_SCALE, (n_visible, n_hidden))
    g = rng.normal(0.0, FIELD_SCALE, n_visible)
    theta = rng.normal(0.0, FIELD_SCALE, n_hidden)
    return weights, g, theta


def random_binary(shape, seed: int = 1) -> np.ndarray:
    """A float32 array of fair coin flips in {0, 1}."""
    return (np.random.default_rng(seed).random(shape) < 0.5).astype(np.float32)


# --- runners: each is a function ``run(n_steps)`` doing n_steps full sweeps of all chains ------------------
def ours_runner(weights, g, theta, n_chains):
    engine = GibbsEngine(RBM(Binary(g), Binary(theta), weights), n_chains, seed=0)
    return engine.step


def gemm_only_runner(weights, g, theta, n_chains):
    w32 = np.ascontiguousarray(weights, dtype=np.float32)
    v = random_binary((n_chains, w32.shape[0]))
    h = random_binary((n_chains, w32.shape[1]))
    inputs_h = np.empty_like(h)
    inputs_v = np.empty_like(v)

    def run(n_steps):
        for _ in range(n_steps):
            np.matmul(v, w32, out=inputs_h)
            np.matmul(h, w32.T, out=inputs_v)

    return run


def _numpy_sample_into(state, inputs, fields, uniforms, rng):
    """state = (u < sigmoid(inputs + fields)) as float32; ``inputs`` is overwritten with the probabilities."""
    inputs += fields
    np.negative(inputs, out=inputs)
    np.exp(inputs, out=inputs)
    inputs += np.float32(1.0)
    np.reciprocal(inputs, out=inputs)
    rng.random(dtype=np.float32, out=uniforms)
    np.less(uniforms, inputs, out=state)


def numpy_runner(weights, g, theta, n_chains):
    """Plain numpy: the straightforward code, allocating its temporaries."""
    w32 = np.ascontiguousarray(weights, dtype=np.float32)
    g32, theta32 = g.astype(np.float32), theta.astype(np.float32)
    rng = np.random.default_rng(0)
    state = [random_binary((n_chains, w32.shape[0]))]

    def sample(inputs):
        p = np.float32(1.0) / (np.float32(1.0) + np.exp(-inputs))
        return (rng.random(p.shape, dtype=np.float32) < p).astype(np.float32)

    def run(n_steps):
        v = state[0]
        for _ in range(n_steps):
            h = sample(v @ w32 + theta32)
            v = sample(h @ w32.T + g32)
        state[0] = v

    return run


def numpy_inplace_runner(weights, g, theta, n_chains):
    w32 = np.ascontiguousarray(weights, dtype=np.float32)
    g32, theta32 = g.astype(np.float32), theta.astype(np.float32)
    rng = np.random.default_rng(0)
    v = random_binary((n_chains, w32.shape[0]))
    h = np.empty((n_chains, w32.shape[1]), np.float32)
    inputs_h, uniforms_h = np.empty_like(h), np.empty_like(h)
    inputs_v, uniforms_v = np.empty_like(v), np.empty_like(v)

    def run(n_steps):
        for _ in range(n_steps):
            np.matmul(v, w32, out=inputs_h)
            _numpy_sample_into(h, inputs_h, theta32, uniforms_h, rng)
            np.matmul(h, w32.T, out=inputs_v)
            _numpy_sample_into(v, inputs_v, g32, uniforms_v, rng)

    return run


@numba.njit(nogil=True, parallel=True, fastmath=True)
def _two_state_parallel(inputs, fields, scale, low, high, states, out):
    """``sample_two_state_into`` with a prange over chains (each chain still owns its stream)."""
    for c in numba.prange(inputs.shape[0]):
        two_state_chain(inputs, fields, scale, low, high, states, out, c)


def ours_parallel_runner(weights, g, theta, n_chains):
    """Our engine's step, with the parallel kernel in place of the serial one."""
    engine = GibbsEngine(RBM(Binary(g), Binary(theta), weights), n_chains, seed=0)
    st, w = engine.state, engine._w
    g32, theta32 = g.astype(np.float32), theta.astype(np.float32)
    inputs_h, inputs_v = np.empty_like(st.h), np.empty_like(st.v)
    one, zero = np.float32(1.0), np.float32(0.0)

    def run(n_steps):
        for _ in range(n_steps):
            np.matmul(st.v, w, out=inputs_h)
            _two_state_parallel(inputs_h, theta32, one, zero, one, st.counters, st.h)
            np.matmul(st.h, w.T, out=inputs_v)
            _two_state_parallel(inputs_v, g32, one, zero, one, st.counters, st.v)

    return run


def torch_runner(weights, g, theta, n_chains):
    w = torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32))
    g32, theta32 = torch.from_numpy(g.astype(np.float32)), torch.from_numpy(theta.astype(np.float32))
    generator = torch.Generator().manual_seed(0)
    v = torch.from_numpy(random_binary((n_chains, w.shape[0])))
    h = torch.empty((n_chains, w.shape[1]), dtype=torch.float32)
    inputs_h, inputs_v = torch.empty_like(h), torch.empty_like(v)

    def run(n_steps):
        with torch.no_grad():
            for _ in range(n_steps):
                torch.matmul(v, w, out=inputs_h)
                inputs_h.add_(theta32).sigmoid_()
                torch.bernoulli(inputs_h, generator=generator, out=h)
                torch.matmul(h, w.T, out=inputs_v)
                inputs_v.add_(g32).sigmoid_()
                torch.bernoulli(inputs_v, generator=generator, out=v)

    return run


def sklearn_runner(weights, g, theta, n_chains):
    """``BernoulliRBM.gibbs`` on float32 parameters, fed back its own output (a boolean array)."""
    model = BernoulliRBM(n_components=weights.shape[1], random_state=0)
    model.components_ = np.ascontiguousarray(weights.T, dtype=np.float32)
    model.intercept_hidden_ = theta.astype(np.float32)
    model.intercept_visible_ = g.astype(np.float32)
    model.random_state_ = np.random.RandomState(0)
    state = [random_binary((n_chains, weights.shape[0]))]

    def run(n_steps):
        v = state[0]
        for _ in range(n_steps):
            v = model.gibbs(v)
        state[0] = v

    return run


def rbms_runner(weights, g, theta, n_chains):
    """rbms's own block Gibbs: ``sample_state`` on its float32 ``BBRBM``, fed back its own chains."""
    params = BBRBM(weight_matrix=torch.from_numpy(np.ascontiguousarray(weights, dtype=np.float32)),
                   vbias=torch.from_numpy(g.astype(np.float32)), hbias=torch.from_numpy(theta.astype(np.float32)))
    torch.manual_seed(0)
    chains = [params.init_chains(n_chains, start_v=torch.from_numpy(random_binary((n_chains, weights.shape[0]))))]

    def run(n_steps):
        with torch.no_grad():
            chains[0] = rbms_sample_state(n_steps, chains[0], params)

    run.extra_sweeps = 0.5  # sample_state(n) ends with one more hidden half-sweep
    return run


def make_runners(weights, g, theta, n_chains, only: str | None = None) -> dict:
    """Runner of each available method (missing libraries are left out)."""
    if only is not None:
        return {only: globals()[f"{only}_runner"](weights, g, theta, n_chains)}
    factories = {
        "ours": ours_runner,
        "gemm_only": gemm_only_runner,
        "numpy": numpy_runner,
        "numpy_inplace": numpy_inplace_runner,
        "torch": torch_runner if torch is not None else None,
        "sklearn": sklearn_runner if sklearn is not None else None,
        "rbms": rbms_runner if rbms is not None else None,
    }
    return {name: make(weights, g, theta, n_chains) for name, make in factories.items() if make is not None}


# --- timing ------------------------------------------------------------------------------------------------
def timed(run, n_steps: int) -> float:
    start = time.perf_counter()
    run(n_steps)
    return time.perf_counter() - start


def calibrate(run, block_seconds: float) -> int:
    """Warm ``run`` up, then the number of sweeps that takes about ``block_seconds``."""
    run(1)
    n_steps, elapsed = 1, timed(run, 1)
    while elapsed < block_seconds / 4:
        n_steps *= 2
        elapsed = timed(run, n_steps)
    return max(1, round(n_steps * block_seconds / elapsed))


def measure_shape(n_visible, n_hidden, n_chains, repeats, block_seconds, only=None) -> dict[str, list[float]]:
    """Chain-sweeps/s of each method in each of ``repeats`` interleaved rounds, rotating the order, with an
    idle gap of ``IDLE_GAP`` seconds before every timed block."""
    runners = make_runners(*make_parameters(n_visible, n_hidden), n_chains, only)
    names = list(runners)
    steps = {name: calibrate(runners[name], block_seconds) for name in names}
    rates = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            run = runners[name]
            time.sleep(IDLE_GAP)
            sweeps = steps[name] + getattr(run, "extra_sweeps", 0.0)
            rates[name].append(n_chains * sweeps / timed(run, steps[name]))
    return rates


def spread(values: list[float]) -> dict:
    """Median, quartiles and range of the block values."""
    q1, median, q3 = (float(x) for x in np.percentile(values, [25, 50, 75]))
    return {"median": median, "min": min(values), "q1": q1, "q3": q3, "max": max(values), "n": len(values)}


def per_round(ours: list[float], other: list[float]) -> dict:
    """ours / other within each round (the same round index): median, min and max."""
    ratios = [o / x for o, x in zip(ours, other)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}


def make_row(n_visible, n_hidden, n_chains, rates: dict[str, list[float]]) -> dict:
    """The JSON row: median rate per method (null if missing) and its spread, ours/other ratios (median of the
    per-round ratios, and their range), and all block rates."""
    row = {"N": n_visible, "M": n_hidden, "chains": n_chains}
    for name in METHODS:
        row[name] = statistics.median(rates[name]) if name in rates else None
    row["spread"] = {name: spread(rates[name]) if name in rates else None for name in METHODS}
    for base in RATIO_BASES:
        if base in rates:
            if base == "ours_parallel":  # measured in a child process, not in the same rounds
                ratio = {"median": row["ours"] / row[base], "min": min(rates["ours"]) / max(rates[base]),
                         "max": max(rates["ours"]) / min(rates[base])}
            else:
                ratio = per_round(rates["ours"], rates[base])
        else:
            ratio = None
        row[f"ours_over_{base}"] = None if ratio is None else ratio["median"]
        row[f"ours_over_{base}_range"] = None if ratio is None else [ratio["min"], ratio["max"]]
    row["runs"] = rates
    return row


# --- machine information -----------------------------------------------------------------------------------
def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover
        return None


def blas_libraries() -> list[dict]:
    keys = ("prefix", "internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [
        {**{k: info.get(k) for k in keys}, "file": os.path.basename(info["filepath"])}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def numpy_blas_threads() -> int:
    """Thread count of the BLAS numpy links (the one in numpy's wheel if several are loaded)."""
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    if not blas:
        return 1
    numpy_own = [info for info in blas if "numpy" in info["filepath"]]
    return int((numpy_own or blas)[0]["num_threads"])


def machine_info(quick: bool, repeats: int, block_seconds: float) -> dict:
    return {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "sklearn": sklearn.__version__ if sklearn is not None else None,
        "rbms": _version("rbms") if rbms is not None else None,
        "kernel_threads": kernel_threads.threads_for(),
        "blas_threads": numpy_blas_threads(),
        "blas": blas_libraries(),
        "quick": quick,
        "repeats": repeats,
        "block_seconds": block_seconds,
        "idle_gap_seconds": IDLE_GAP,
        "weights": f"W ~ N(0, {WEIGHT_SCALE}^2), fields ~ N(0, {FIELD_SCALE}^2)",
        "unit": "chain-sweeps per second (chains x v->h->v sweeps / s), median over interleaved blocks",
        "ratios": "ours/X: median (and range) over rounds of ours' block rate / X's block rate in that round; "
                  "ours_parallel runs in a child process, so its ratio is of the medians (range: extremes)",
        "sklearn_note": "BernoulliRBM.gibbs, float32 parameters; draws float64 uniforms, returns bool states",
    }


# --- output ------------------------------------------------------------------------------------------------
def fmt_rate(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def fmt_k(x) -> str:
    """A rate in thousands, 3 significant digits."""
    k = x / 1e3
    return f"{k:.3g}" if k < 100 else f"{k:.0f}"


def fmt_rate_spread(row: dict, name: str) -> str:
    """``median (min–max)`` in thousands of chain-sweeps/s."""
    sp = row["spread"][name]
    if sp is None:
        return "-"
    return f"{fmt_k(sp['median'])}k ({fmt_k(sp['min'])}–{fmt_k(sp['max'])})"


def fmt_ratio(x, percent=False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.0f}%" if percent else f"{x:.2f}x"


def fmt_ratio_spread(row: dict, base: str) -> str:
    """``median (min–max)`` of ours/base over the rounds."""
    x, r = row["ours_over_" + base], row["ours_over_" + base + "_range"]
    if x is None:
        return "-"
    percent = base == "gemm_only"
    lo, hi = fmt_ratio(r[0], percent), fmt_ratio(r[1], percent)
    return f"{fmt_ratio(x, percent)} ({lo}–{hi})"


def print_row(row: dict) -> None:
    shape = f"{row['N']}x{row['M']} x{row['chains']}"
    rates = "".join(f"{fmt_rate(row[m]):>12}" for m in METHODS)
    ratios = "".join(f"{fmt_ratio(row['ours_over_' + b], b == 'gemm_only'):>16}" for b in RATIO_BASES)
    print(f"{shape:<18}{rates}{ratios}", file=sys.stderr, flush=True)


def print_header() -> None:
    names = "".join(f"{m:>12}" for m in METHODS) + "".join(f"{'ours/' + b:>16}" for b in RATIO_BASES)
    print(f"{'shape':<18}{names}   (chain-sweeps/s)", file=sys.stderr, flush=True)


def markdown_section(result: dict) -> str:
    lines = [README_START, "Chain-sweeps per second, thousands: median (min–max) of the interleaved blocks.", "",
             "| N x M, chains | " + " | ".join(METHODS) + " |", "|" + "---|" * (1 + len(METHODS))]
    for row in result["rows"]:
        lines.append(f"| {row['N']} x {row['M']}, {row['chains']} | "
                     + " | ".join(fmt_rate_spread(row, m) for m in METHODS) + " |")
    lines += ["", "Ours against each: median (min–max) over the rounds of ours' rate / its rate in the same round "
              "(ours_parallel: of the medians, range from the extremes).", "",
              "| N x M, chains | " + " | ".join("ours % of gemm_only" if b == "gemm_only" else f"ours/{b}"
                                                for b in RATIO_BASES) + " |",
              "|" + "---|" * (1 + len(RATIO_BASES))]
    for row in result["rows"]:
        lines.append(f"| {row['N']} x {row['M']}, {row['chains']} | "
                     + " | ".join(fmt_ratio_spread(row, b) for b in RATIO_BASES) + " |")
    m = result["machine"]
    lines += [
        "",
        f"{m['repeats']} interleaved rounds of blocks of ~{m['block_seconds']} s, {m['idle_gap_seconds']} s idle "
        f"before each block; sampling kernels on {m['kernel_threads']} threads; "
        + (f"other processes busy {m['other_processes_cores']:.2f} cores on average; "
           if m.get("other_processes_cores") is not None else "")
        + machine_summary(m, ("numpy", "numba", "torch", "rbms", "sklearn")),
        README_END,
    ]
    return "\n".join(lines)


def save(result: dict) -> Path:
    return save_result(result, "gibbs", markdown_section(result), README_START, README_END,
                       "## Gibbs sampling throughput (`benchmarks/gibbs.py`)")


# --- main --------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short blocks and few repeats; writes no files")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds per shape (3 quick, 11 full)")
    parser.add_argument("--isolated", nargs=3, type=int, metavar=("N", "M", "CHAINS"),
                        help="internal: measure ours_parallel alone for one shape and print its block rates")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 11
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def measure_isolated(n_visible, n_hidden, n_chains, repeats, block_seconds, quick) -> list[float]:
    """Block rates of ``ours_parallel`` for one shape, measured in a fresh child process."""
    import subprocess

    command = [sys.executable, __file__, "--repeats", str(repeats), "--isolated", str(n_visible), str(n_hidden),
               str(n_chains)] + (["--quick"] if quick else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None) -> dict:
    args = parse_args(argv)
    block_seconds = 0.1 if args.quick else 0.3
    if args.isolated:
        rates = measure_shape(*args.isolated, args.repeats, block_seconds, only="ours_parallel")
        print(json.dumps(rates["ours_parallel"]))
        return rates
    if torch is not None:
        torch.set_num_threads(numpy_blas_threads())
    print_header()
    rows = []
    with OtherLoad() as others:
        for n_visible, n_hidden, n_chains in SHAPES:
            rates = measure_shape(n_visible, n_hidden, n_chains, args.repeats, block_seconds)
            rates["ours_parallel"] = measure_isolated(n_visible, n_hidden, n_chains, args.repeats, block_seconds,
                                                      args.quick)
            rows.append(make_row(n_visible, n_hidden, n_chains, rates))
            print_row(rows[-1])
    result = {"rows": rows, "machine": machine_info(args.quick, args.repeats, block_seconds)}
    result["machine"]["other_processes_cores"] = others.cores
    return finish(result, save, args.quick)


if __name__ == "__main__":
    main()
