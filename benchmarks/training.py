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
* ``torch_rand`` -- the same with ``(torch.rand(p.shape) < p).float()`` in place of ``torch.bernoulli``;
* ``rbms``       -- the peer library rbms (DsysDML/rbms 0.5.0, ``benchmarks/requirements.txt``), its own PCD
  step as its ``rbms.training.pcd.train`` runs it: ``fit_batch_pcd`` (the batch's hidden magnetisations through
  ``init_chains``, ``sample_state`` of the 100 persistent chains for k = 10 sweeps, ``compute_gradient`` and
  ``normalize_grad``) then ``torch.optim.SGD(maximize=True).step()``, on its float32 ``BBRBM`` with the same
  initial parameters, batches from a permutation of the data. Its defaults are kept: centered gradient,
  normalised to unit norm. Null when rbms is missing.

Each row is also split into the time of the 10 Gibbs sweeps (a ``perf_counter`` around the sweeps inside each
update: ``GibbsEngine.step(10)`` for ours, the sweep loop for torch) and the rest of the update.

Why: the issue asks that a PCD update be at least as fast as PyTorch CPU with the same threads.

How: as ``gibbs.py`` (whose helpers are reused): each method is warmed up and its block length calibrated, then
the methods run in time blocks interleaved in a rotating order, ``repeats`` times, with ``gibbs.IDLE_GAP``
seconds of sleep before every timed block (so that no library's thread pool is still spinning when the next
one starts), and the median block time per update is reported with its range. The speed-up of ours over each
method is also taken per round (its block / ours in the same round): median and range. The models keep
training during the benchmark (each in its own way).

Usage: ``python benchmarks/training.py [--quick] [--repeats R]`` (a full run takes about 2.5 minutes,
``--quick`` about 20 s). The last stdout line is one JSON object ``{"rows": [...], "machine": {...}}``; a
table goes to stderr. A full run (no ``--quick``) also saves
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

from gibbs import IDLE_GAP, calibrate, fmt_ratio, machine_info, numpy_blas_threads, timed, torch  # noqa: E402
from report import OtherLoad, finish, machine_summary, save_result  # noqa: E402

from rbm_explorer.datasets import load_dataset  # noqa: E402
from rbm_explorer.training.config import TrainingConfig  # noqa: E402
from rbm_explorer.training.loop import Trainer, initialize_rbm  # noqa: E402

METHODS = ["ours", "torch", "torch_rand", "rbms"]

try:
    from rbms.bernoulli_bernoulli.classes import BBRBM
    from rbms.training.pcd import fit_batch_pcd
except ImportError:  # pragma: no cover - depends on the environment (rbms needs torch)
    BBRBM = None
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


# --- rbms ----------------------------------------------------------------------------------------------------
class RbmsRunner(Runner):
    """rbms's own PCD update, as its ``train`` loop runs one (without the checkpoint and log file writes)."""

    def __init__(self, data: np.ndarray, seed: int = 0):
        rbm = initialize_rbm("binary", "binary", data.shape[1], N_HIDDEN, data.astype(float), training_config())
        f32 = torch.float32
        self.params = BBRBM(weight_matrix=torch.tensor(rbm.weight_matrix, dtype=f32),
                            vbias=torch.tensor(rbm.visible.fields, dtype=f32),
                            hbias=torch.tensor(rbm.hidden.fields, dtype=f32))
        self.params.init_grad()
        self.data = torch.as_tensor(data, dtype=f32)
        self.weights = torch.ones(len(self.data), dtype=f32)
        torch.manual_seed(seed)
        self.chains = self.params.init_chains(CHAINS, start_v=self.data[:CHAINS].clone())
        self.optimizer = torch.optim.SGD(self.params.parameters(), lr=LEARNING_RATE, maximize=True)
        self.params.sample_state = self.timed_gibbs(self.params.sample_state)
        self.generator = torch.Generator().manual_seed(seed)
        self.batches: list = []

    def __call__(self, n_updates: int) -> None:
        with torch.no_grad():
            for _ in range(n_updates):
                if not self.batches:
                    order = torch.randperm(len(self.data), generator=self.generator)
                    self.batches = list(reversed(order.split(BATCH)))
                index = self.batches.pop()
                self.optimizer.zero_grad(set_to_none=False)
                self.chains, _ = fit_batch_pcd((self.data[index], self.weights[index]), self.chains, self.params,
                                               gibbs_steps=GIBBS_STEPS, beta=1.0)
                self.optimizer.step()


def make_runners(data: np.ndarray) -> dict:
    runners = {"ours": OursRunner(data)}
    if torch is not None:
        runners["torch"] = TorchRunner(data, bernoulli=True)
        runners["torch_rand"] = TorchRunner(data, bernoulli=False)
    if BBRBM is not None:
        runners["rbms"] = RbmsRunner(data)
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
            time.sleep(IDLE_GAP)
            run.gibbs_seconds = 0.0
            seconds = timed(run, steps[name])
            blocks[name]["ms"].append(1e3 * seconds / steps[name])
            blocks[name]["gibbs_ms"].append(1e3 * run.gibbs_seconds / steps[name])
    return {"blocks": blocks, "updates_per_block": steps}


def make_rows(measured: dict) -> list[dict]:
    """One row per method of ``METHODS`` (all values null for a library that is missing)."""
    blocks = measured["blocks"]
    ours = blocks["ours"]
    rows = []
    for name in METHODS:
        if name not in blocks:
            rows.append({"method": name, "ms_per_update": None, "ms_range": None, "gibbs_ms": None,
                         "rest_ms": None, "updates_per_block": None, "runs": None, "ours_speedup": None,
                         "ours_speedup_per_round": None})
            continue
        b = blocks[name]
        row = {
            "method": name,
            "ms_per_update": statistics.median(b["ms"]),
            "ms_range": [min(b["ms"]), max(b["ms"])],
            "gibbs_ms": statistics.median(b["gibbs_ms"]),
            "rest_ms": statistics.median(t - g for t, g in zip(b["ms"], b["gibbs_ms"])),
            "updates_per_block": measured["updates_per_block"][name],
            "runs": b,
        }
        # this method's ms / ours ms: > 1 means ours is faster. The ratio of the medians, and the median and range
        # of the ratios within each interleaved round (robust to the machine changing speed during the run)
        row["ours_speedup"] = row["ms_per_update"] / statistics.median(ours["ms"])
        per_round = [t / o for t, o in zip(b["ms"], ours["ms"])]
        row["ours_speedup_per_round"] = {"median": statistics.median(per_round), "min": min(per_round),
                                         "max": max(per_round)}
        rows.append(row)
    return rows


def training_machine_info(quick: bool, repeats: int, block_seconds: float) -> dict:
    info = machine_info(quick, repeats, block_seconds)
    for key in ("sklearn", "sklearn_note", "weights", "ratios"):
        info.pop(key, None)
    info.update({
        "task": (f"PCD on MNIST train part ({BATCH}-sample minibatches), {N_HIDDEN} hidden units, {CHAINS} "
                 f"persistent chains, k = {GIBBS_STEPS}, SGD lr {LEARNING_RATE}"),
        "unit": "milliseconds per update, median over interleaved blocks",
        "ours_dtypes": "Gibbs sweeps float32, moments / gradient / parameters float64",
        "torch_dtypes": "float32 throughout",
        "rbms_step": "rbms.training.pcd.fit_batch_pcd + SGD(maximize=True).step, BBRBM float32, centered "
                     "gradient normalised to unit norm (rbms's defaults)",
        "idle_gap_seconds": IDLE_GAP,
    })
    return info


# --- output --------------------------------------------------------------------------------------------------
def fmt_ms(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def print_table(rows: list[dict]) -> None:
    print(f"{'method':<12}{'ms/update':>11}{'min':>8}{'max':>8}{'gibbs ms':>10}{'rest ms':>9}{'this/ours':>11}"
          f"{'per round':>11}{'min':>8}{'max':>8}", file=sys.stderr)
    for r in rows:
        pr = r["ours_speedup_per_round"] or {"median": None, "min": None, "max": None}
        lo, hi = r["ms_range"] or (None, None)
        print(f"{r['method']:<12}{fmt_ms(r['ms_per_update']):>11}{fmt_ms(lo):>8}{fmt_ms(hi):>8}"
              f"{fmt_ms(r['gibbs_ms']):>10}{fmt_ms(r['rest_ms']):>9}"
              f"{fmt_ratio(r['ours_speedup']):>11}{fmt_ratio(pr['median']):>11}{fmt_ratio(pr['min']):>8}"
              f"{fmt_ratio(pr['max']):>8}", file=sys.stderr, flush=True)


def markdown_section(result: dict) -> str:
    lines = [
        README_START,
        f"| method | ms per update: median (min–max) | {GIBBS_STEPS} Gibbs sweeps, ms | rest of the update, ms "
        "| ours speed-up (this ms / ours ms) | same, per round: median (min–max) |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        if r["ms_per_update"] is None:
            lines.append(f"| {r['method']} | - | - | - | - | - |")
            continue
        pr = r["ours_speedup_per_round"]
        lo, hi = r["ms_range"]
        lines.append(f"| {r['method']} | {r['ms_per_update']:.2f} ({lo:.2f}–{hi:.2f}) | {r['gibbs_ms']:.2f} "
                     f"| {r['rest_ms']:.2f} | {fmt_ratio(r['ours_speedup'])} "
                     f"| {fmt_ratio(pr['median'])} ({fmt_ratio(pr['min'])}–{fmt_ratio(pr['max'])}) |")
    m = result["machine"]
    lines += [
        "",
        f"MNIST 8,000 training digits, 784 x {N_HIDDEN}, batch {BATCH}, {CHAINS} persistent chains, "
        f"k = {GIBBS_STEPS}, SGD; {m['repeats']} interleaved rounds of blocks of ~{m['block_seconds']} s, "
        f"{m['idle_gap_seconds']} s idle before each block; sampling kernels on {m['kernel_threads']} threads; "
        + (f"other processes busy {m['other_processes_cores']:.2f} cores on average; "
           if m.get("other_processes_cores") is not None else "")
        + machine_summary(m, ("numpy", "numba", "torch", "rbms"), torch_threads=True),
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
    with OtherLoad() as others:
        rows = make_rows(measure(args.repeats, block_seconds))
    print_table(rows)
    result = {"rows": rows, "machine": training_machine_info(args.quick, args.repeats, block_seconds)}
    result["machine"]["other_processes_cores"] = others.cores
    return finish(result, save, args.quick)


if __name__ == "__main__":
    main()
