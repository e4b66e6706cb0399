"""Time per PCD update of ``Trainer`` against the same algorithm written in PyTorch CPU.

What: milliseconds per persistent-contrastive-divergence update of a binary-binary RBM on MNIST (the 8,000
training digits of ``load_dataset("mnist")``), 784 visible x 400 hidden units, minibatches of 100, 100
persistent chains, k = 10 Gibbs sweeps per update, plain SGD with learning rate 0.01, measured in the same run for

* ``ours``       -- ``rbm_explorer.training.loop.Trainer._update`` (one minibatch: positive moments, 10 sweeps of
  the ``GibbsEngine`` chains, negative moments, gradient, SGD step), batches from a permutation of the data;
* ``torch``      -- the same algorithm in PyTorch float32 on CPU under ``no_grad``, written the natural way:
  ``torch.sigmoid`` + ``torch.bernoulli`` for the sweeps, the gradient
  ``(v_data^T h_data - v_chain^T h_chain) / 100`` (conditional hidden means in both phases, as ours) and means
  for the fields, an in-place SGD step; ``torch.set_num_threads`` = numpy's BLAS thread count;
* ``torch_rand`` -- the same with ``(torch.rand(p.shape) < p).float()`` in place of ``torch.bernoulli``.

Each row is also split into the time of the 10 Gibbs sweeps (a ``perf_counter`` around the sweeps inside each
update: ``GibbsEngine.step(10)`` for ours, the sweep loop for torch) and the rest of the update.

Why: the issue asks that a PCD update be at least as fast as PyTorch CPU with the same threads.

How: as ``gibbs.py`` (whose helpers are reused): each method is warmed up and its block length calibrated, then
the methods run in time blocks interleaved in a rotating order, ``repeats`` times, and the median block time per
update is reported. The models keep training during the benchmark (the same way in all methods).

Usage: ``python benchmarks/training.py [--quick] [--repeats R]`` (about 1.5 minutes; ``--quick`` about 20 s). The last stdout line is one JSON object
``{"rows": [...], "machine": {...}}``; a table goes to stderr. A full run (no ``--quick``) also saves
``benchmarks/results/training-<UTC timestamp>.json`` and rewrites the marked table in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))  # gibbs.py puts this checkout (BENCH_DIR.parent) first on sys.path

from gibbs import calibrate, fmt_ratio, machine_info, numpy_blas_threads, timed, torch  # noqa: E402
from report import finish, machine_summary, save_result  # noqa: E402

from rbm_explorer.datasets import load_dataset  # noqa: E402
from rbm_explorer.training.config import TrainingConfig  # noqa: E402
from rbm_explorer.training.loop import Trainer, initialize_rbm  # noqa: E402

METHODS = ["ours", "torch", "torch_rand"]
N_HIDDEN = 400
BATCH = 100
CHAINS = 100
GIBBS_STEPS = 10
LEARNING_RATE = 0.01
README_START = "<!-- training-table:start -->"
README_END = "<!-- training-table:end -->"
README_TITLE = "## PCD training update (`benchmarks/training.py`)"


def training_config() -> TrainingConfig:
    # epochs only sets the length of the learning-rate schedule, which is constant here
    return TrainingConfig(algorithm="pcd", gibbs_steps=GIBBS_STEPS, batch_size=BATCH, n_chains=CHAINS,
                          epochs=1000, learning_rate=LEARNING_RATE, optimizer="sgd")


def mnist_train() -> np.ndarray:
    data, _ = load_dataset("mnist").part("train")
    return data


class Runner:
    """``run(n)`` does n updates; ``gibbs_seconds`` accumulates the time spent in the Gibbs sweeps."""

    gibbs_seconds = 0.0

    def timed_gibbs(self, sweeps):
        """Wrap ``sweeps`` so that its time is added to ``gibbs_seconds``."""
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return sweeps(*args, **kwargs)
            finally:
                self.gibbs_seconds += time.perf_counter() - start
        return wrapper


# --- ours ----------------------------------------------------------------------------------------------------
class OursRunner(Runner):
    def __init__(self, data: np.ndarray, seed: int = 0):
        config = training_config()
        rbm = initialize_rbm("binary", "binary", data.shape[1], N_HIDDEN, data.astype(float), config)
        self.trainer = Trainer(rbm, data, config)
        self.trainer.engine.step = self.timed_gibbs(self.trainer.engine.step)
        self.rng = np.random.default_rng(seed)
        self.batches: list[np.ndarray] = []

    def __call__(self, n_updates: int) -> None:
        for _ in range(n_updates):
            if not self.batches:
                order = self.rng.permutation(len(self.trainer.features))
                self.batches = [order[i:i + BATCH] for i in range(0, len(order) - BATCH + 1, BATCH)][::-1]
            self.trainer._update(self.batches.pop())


# --- torch ---------------------------------------------------------------------------------------------------
class TorchPCD:
    """Binary-binary RBM trained by PCD in PyTorch, as a torch user would write it."""

    def __init__(self, data, weights, visible_bias, hidden_bias, n_chains, gibbs_steps, lr, seed=0,
                 bernoulli=True):
        self.data = torch.as_tensor(data, dtype=torch.float32)
        self.W = torch.tensor(weights, dtype=torch.float32)
        self.b = torch.tensor(visible_bias, dtype=torch.float32)
        self.c = torch.tensor(hidden_bias, dtype=torch.float32)
        self.chains = self.data[:n_chains].clone()
        self.k, self.lr = gibbs_steps, lr
        self.generator = torch.Generator().manual_seed(seed)
        self.sample = self.sample_bernoulli if bernoulli else self.sample_rand

    def sample_bernoulli(self, p):
        return torch.bernoulli(p, generator=self.generator)

    def sample_rand(self, p):
        return (torch.rand(p.shape, generator=self.generator) < p).float()

    def gibbs(self, v, k):
        for _ in range(k):
            h = self.sample(torch.sigmoid(v @ self.W + self.c))
            v = self.sample(torch.sigmoid(h @ self.W.T + self.b))
        return v

    @torch.no_grad()
    def update(self, batch_index):
        v_data = self.data[batch_index]
        h_data = torch.sigmoid(v_data @ self.W + self.c)
        self.chains = self.gibbs(self.chains, self.k)
        v_model = self.chains
        h_model = torch.sigmoid(v_model @ self.W + self.c)
        n = v_data.shape[0]
        self.W += self.lr * (v_data.T @ h_data - v_model.T @ h_model) / n
        self.b += self.lr * (v_data.mean(0) - v_model.mean(0))
        self.c += self.lr * (h_data.mean(0) - h_model.mean(0))


class TorchRunner(Runner):
    def __init__(self, data: np.ndarray, bernoulli: bool, seed: int = 0):
        # the same initial parameters as ours
        rbm = initialize_rbm("binary", "binary", data.shape[1], N_HIDDEN, data.astype(float), training_config())
        self.model = TorchPCD(data, rbm.weight_matrix, rbm.visible.fields, rbm.hidden.fields, CHAINS,
                              GIBBS_STEPS, LEARNING_RATE, seed, bernoulli)
        self.model.gibbs = self.timed_gibbs(self.model.gibbs)
        self.generator = torch.Generator().manual_seed(seed)
        self.batches: list = []

    def __call__(self, n_updates: int) -> None:
        for _ in range(n_updates):
            if not self.batches:
                order = torch.randperm(len(self.model.data), generator=self.generator)
                self.batches = list(reversed(order.split(BATCH)))
            self.model.update(self.batches.pop())


def make_runners(data: np.ndarray) -> dict:
    runners = {"ours": OursRunner(data)}
    if torch is not None:
        runners["torch"] = TorchRunner(data, bernoulli=True)
        runners["torch_rand"] = TorchRunner(data, bernoulli=False)
    return runners


# --- timing --------------------------------------------------------------------------------------------------
def measure(repeats: int, block_seconds: float) -> dict[str, dict[str, list[float]]]:
    """Per method and interleaved block: ms per update, and of it ms in the Gibbs sweeps."""
    runners = make_runners(mnist_train())
    names = list(runners)
    for name in names:
        runners[name](3)  # numba compile, first-call allocations
    steps = {name: calibrate(runners[name], block_seconds) for name in names}
    blocks = {name: {"ms": [], "gibbs_ms": []} for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            run = runners[name]
            run.gibbs_seconds = 0.0
            seconds = timed(run, steps[name])
            blocks[name]["ms"].append(1e3 * seconds / steps[name])
            blocks[name]["gibbs_ms"].append(1e3 * run.gibbs_seconds / steps[name])
    return {"blocks": blocks, "updates_per_block": steps}


def make_rows(measured: dict) -> list[dict]:
    blocks = measured["blocks"]
    rows = []
    for name in METHODS:
        if name not in blocks:
            continue
        b = blocks[name]
        row = {
            "method": name,
            "ms_per_update": statistics.median(b["ms"]),
            "gibbs_ms": statistics.median(b["gibbs_ms"]),
            "rest_ms": statistics.median(t - g for t, g in zip(b["ms"], b["gibbs_ms"])),
            "updates_per_block": measured["updates_per_block"][name],
            "runs": b,
        }
        rows.append(row)
    ours = rows[0]
    for row in rows:
        # this method's ms / ours ms: > 1 means ours is faster. The ratio of the medians, and the median and range
        # of the ratios within each interleaved round (robust to the machine changing speed during the run)
        row["ours_speedup"] = row["ms_per_update"] / ours["ms_per_update"]
        per_round = [t / o for t, o in zip(row["runs"]["ms"], ours["runs"]["ms"])]
        row["ours_speedup_per_round"] = {"median": statistics.median(per_round), "min": min(per_round),
                                         "max": max(per_round)}
    return rows


def training_machine_info(quick: bool, repeats: int, block_seconds: float) -> dict:
    info = machine_info(quick, repeats, block_seconds)
    for key in ("sklearn", "sklearn_note", "weights"):
        info.pop(key, None)
    info.update({
        "task": (f"PCD on MNIST train part ({BATCH}-sample minibatches), {N_HIDDEN} hidden units, {CHAINS} "
                 f"persistent chains, k = {GIBBS_STEPS}, SGD lr {LEARNING_RATE}"),
        "unit": "milliseconds per update, median over interleaved blocks",
        "ours_dtypes": "Gibbs sweeps float32, moments / gradient / parameters float64",
        "torch_dtypes": "float32 throughout",
    })
    return info


# --- output --------------------------------------------------------------------------------------------------
def print_table(rows: list[dict]) -> None:
    print(f"{'method':<12}{'ms/update':>11}{'gibbs ms':>10}{'rest ms':>9}{'this/ours':>11}{'per round':>11}"
          f"{'min':>8}{'max':>8}", file=sys.stderr)
    for r in rows:
        pr = r["ours_speedup_per_round"]
        print(f"{r['method']:<12}{r['ms_per_update']:>11.2f}{r['gibbs_ms']:>10.2f}{r['rest_ms']:>9.2f}"
              f"{fmt_ratio(r['ours_speedup']):>11}{fmt_ratio(pr['median']):>11}{fmt_ratio(pr['min']):>8}"
              f"{fmt_ratio(pr['max']):>8}", file=sys.stderr, flush=True)


def markdown_section(result: dict) -> str:
    lines = [
        README_START,
        f"| method | ms per update | {GIBBS_STEPS} Gibbs sweeps, ms | rest of the update, ms "
        "| ours speed-up (this ms / ours ms) | same, per round: median (min–max) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        pr = r["ours_speedup_per_round"]
        lines.append(f"| {r['method']} | {r['ms_per_update']:.2f} | {r['gibbs_ms']:.2f} | {r['rest_ms']:.2f} "
                     f"| {fmt_ratio(r['ours_speedup'])} "
                     f"| {fmt_ratio(pr['median'])} ({fmt_ratio(pr['min'])}–{fmt_ratio(pr['max'])}) |")
    m = result["machine"]
    lines += [
        "",
        f"MNIST 8,000 training digits, 784 x {N_HIDDEN}, batch {BATCH}, {CHAINS} persistent chains, "
        f"k = {GIBBS_STEPS}, SGD; median of {m['repeats']} interleaved blocks of ~{m['block_seconds']} s; "
        + machine_summary(m, torch_threads=True),
        README_END,
    ]
    return "\n".join(lines)


def save(result: dict) -> Path:
    return save_result(result, "training", markdown_section(result), README_START, README_END, README_TITLE)


# --- main ----------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short blocks and few repeats; writes no files")
    parser.add_argument("--repeats", type=int, default=None, help="interleaved rounds (7 quick, 21 full)")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 7 if args.quick else 21
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    block_seconds = 0.3 if args.quick else 1.0
    if torch is not None:
        torch.set_num_threads(numpy_blas_threads())
    rows = make_rows(measure(args.repeats, block_seconds))
    print_table(rows)
    result = {"rows": rows, "machine": training_machine_info(args.quick, args.repeats, block_seconds)}
    return finish(result, save, args.quick)


if __name__ == "__main__":
    main()
