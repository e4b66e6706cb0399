"""The Fig. 7 grid on 1 and 2 Dask worker processes: wall time of the same reduced grid, interleaved.

    python benchmarks/fig7_workers.py              # 2 beta x 4 variants, 10 epochs, 2 rounds
    python benchmarks/fig7_workers.py --quick      # 2 beta x 2 variants, 4 epochs, 1 round, nothing saved

Each block runs ``rbm_explorer.reports.fig7.run_fig7`` in a fresh folder on a new ``LocalCluster`` of 1 or 2
single-threaded worker processes (its start-up is part of the time: a user pays it too), after an idle gap.
The order of the worker counts rotates between rounds. The data are generated once beforehand (they are cached
by request), so every block trains and samples the same models from the same data. Other processes' load during
each block is recorded (``report.OtherLoad``). The full grid's own time is in docs/fig7/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import OtherLoad, cpu_model, finish, save_result  # noqa: E402

IDLE_GAP = 2.0
README_START = "<!-- fig7-workers:start -->"
README_END = "<!-- fig7-workers:end -->"
TITLE = "## The Fig. 7 grid on 1 and 2 workers (`benchmarks/fig7_workers.py`)"


def plan_for(quick: bool):
    from rbm_explorer.reports.fig7 import DEFAULT_TRAINING, Fig7Plan

    if quick:
        return Fig7Plan(betas=(0.35, 0.50), variants=("none", "linear_released1"),
                        training={**DEFAULT_TRAINING, "epochs": 4})
    return Fig7Plan(betas=(0.35, 0.50), training={**DEFAULT_TRAINING, "epochs": 10})


def run(quick: bool, rounds: int) -> dict:
    from rbm_explorer.datasets import load_dataset
    from rbm_explorer.reports.fig7 import run_fig7

    plan = plan_for(quick)
    for beta in plan.betas:  # the data once, into the cache, outside the timed blocks
        load_dataset("ising", L=plan.L, beta=beta, n=plan.n_data, seed=plan.seed)
    times: dict[int, list[float]] = {1: [], 2: []}
    loads: dict[int, list] = {1: [], 2: []}
    order = [1, 2]
    for r in range(rounds):
        for workers in (order if r % 2 == 0 else order[::-1]):
            with tempfile.TemporaryDirectory() as out:
                time.sleep(IDLE_GAP)
                with OtherLoad() as load:
                    start = time.perf_counter()
                    run_fig7(plan, out, workers=workers, progress=False, figure=False)
                    times[workers].append(time.perf_counter() - start)
                loads[workers].append(load.cores)
            print(f"round {r}, {workers} worker(s): {times[workers][-1]:.1f} s", file=sys.stderr, flush=True)
    median = {w: statistics.median(t) for w, t in times.items()}
    return {
        "cpu": cpu_model(), "date": time.strftime("%Y-%m-%d"), "tasks": len(plan.betas) * len(plan.variants),
        "grid": {"L": plan.L, "betas": list(plan.betas), "variants": list(plan.variants),
                 "epochs": plan.training["epochs"], "hidden": plan.hidden},
        "seconds": {str(w): t for w, t in times.items()}, "median_seconds": {str(w): m for w, m in median.items()},
        "spread_seconds": {str(w): [min(t), max(t)] for w, t in times.items()},
        "other_load_cores": {str(w): v for w, v in loads.items()},
        "speedup_2_over_1": median[1] / median[2],
    }


def markdown_section(result: dict) -> str:
    g = result["grid"]
    lines = [README_START, "",
             f"{result['tasks']} tasks (L = {g['L']}, β = {', '.join(map(str, g['betas']))}, "
             f"{len(g['variants'])} variants, {g['hidden']} hidden units, {g['epochs']} epochs each), "
             "a new `LocalCluster` per block; median and [min, max] of the rounds.", "",
             "| workers | wall time (s) | spread (s) | other load (cores) |", "|---|---|---|---|"]
    for w in ("1", "2"):
        lo, hi = result["spread_seconds"][w]
        lines.append(f"| {w} | {result['median_seconds'][w]:.1f} | [{lo:.1f}, {hi:.1f}] | "
                     f"{', '.join(str(c) for c in result['other_load_cores'][w])} |")
    lines += ["", f"2 workers are **{result['speedup_2_over_1']:.2f}×** faster than 1. "
              f"Machine: {result['cpu']}, 2 vCPUs; {result['date']}.", "", README_END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small grid, one round, nothing saved")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    result = run(args.quick, 1 if args.quick else args.rounds)
    finish(result, lambda r: save_result(r, "fig7_workers", markdown_section(r), README_START, README_END, TITLE),
           args.quick)


if __name__ == "__main__":
    main()
