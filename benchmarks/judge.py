"""What judging the Morph page's 64 chains costs per frame: the class judge with its unclear outcome
(``Judge.assess``: the classifier's P(c | v) and the class densities' scores) against the logistic regression
it replaced (``predict_proba``), and against the classifier alone and the densities alone.

Usage: ``python benchmarks/judge.py [--rounds N]``. The methods run interleaved in rotating order, with 0.3 s
of idle time before each timed block; each block calls its method on the same 64 chain states for ~0.3 s.
Prints per method the median time per call (ms) with its range over the rounds, and the ratio to the
logistic regression in each round (median and range), then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import time
import warnings

import numpy as np

IDLE_GAP = 0.3
BLOCK = 0.3


def machine() -> dict:
    try:
        model = next(line.split(":", 1)[1].strip() for line in subprocess.run(
            ["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name"))
    except Exception:
        model = platform.processor()
    import os

    import sklearn

    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "scikit-learn": sklearn.__version__}


def per_call(method, v) -> float:
    """Seconds per call of ``method(v)``, over a block of about ``BLOCK`` seconds."""
    method(v)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < BLOCK:
        method(v)
        n += 1
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    from rbm_explorer.analysis.judge import class_judge, dataset_for
    from rbm_explorer.io import load_model
    from rbm_explorer.resources import bundled_model
    from rbm_explorer.sampling import GibbsEngine

    model = load_model(bundled_model("mnist01_linear_released1"))
    spec = model.metadata["dataset"]
    judge = class_judge(spec)
    x, y = dataset_for(spec).part("train")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logistic = LogisticRegression(max_iter=2000, C=0.1).fit(x.astype(np.float64), y)
    engine = GibbsEngine(model.rbm, 64, seed=3)
    engine.step(200)
    v = engine.visible_states().astype(np.float64)

    methods = {
        "judge_assess": judge.assess,
        "logistic_regression": logistic.predict_proba,
        "classifier_only": judge.probabilities,
        "densities_only": judge.scores,
    }
    names = list(methods)
    times = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(IDLE_GAP)
            times[name].append(per_call(methods[name], v))
    rows = []
    for name in names:
        ms = [1000 * t for t in times[name]]
        ratio = [a / b for a, b in zip(times[name], times["logistic_regression"])]
        rows.append({"method": name, "median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms),
                     "over_logistic_median": statistics.median(ratio), "over_logistic_min": min(ratio),
                     "over_logistic_max": max(ratio)})
        print(f"{name:20s} {statistics.median(ms):7.3f} ms ({min(ms):.3f}-{max(ms):.3f})   "
              f"x{statistics.median(ratio):.2f} of the logistic regression ({min(ratio):.2f}-{max(ratio):.2f})")
    print(json.dumps({"rows": rows, "rounds": args.rounds, "chains": 64, "machine": machine()}))


if __name__ == "__main__":
    main()
