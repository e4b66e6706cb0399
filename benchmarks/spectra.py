"""What the spectrum and landscape pages cost, on one BLAS thread as the server runs them.

Three operations on a 784 x 1000 binary RBM (W ~ N(0, 0.01²) plus 20 planted strong modes, as after training)
and 2,000 binarized MNIST test digits:

1. the singular-value spectrum: ours (``io.weight_history.singular_values``: eigenvalues of the smaller Gram
   matrix) against numpy's ``svd(compute_uv=False)``, torch's ``linalg.svdvals`` and the peer rbms 0.5.0's
   ``utils.get_eigenvalues_history`` (its spectrum of a training archive, here one with a single update);
2. the full spectrum plus the landscape: the reciprocal basis (all singular triplets), 4 modes (1, 2, 3, the
   last) on a 200 x 200 contour grid each, and the 2,000 test digits projected (x = Uᵀv, y = Vᵀ E[h | v]):
   ours (``analysis.spectra``: the Gram route of ``oriented_svd``) against the same with numpy's thin SVD;
3. one frame of the live projection of 64 chains onto 4 modes (x and y): ours (float32 products with the
   basis columns kept in float32) against a float64 projection, and torch.

Usage: ``python benchmarks/spectra.py [--rounds N] [--no-save]``. The methods of each operation run interleaved
in rotating order, with 0.3 s idle before each timed block of ~0.3 s; per method the median time per call with
its range, and ours' ratio to each in the same round (median and range), then one JSON line.
"""

from __future__ import annotations

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one BLAS thread, as the app's server runs

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import OtherLoad, cpu_model, finish, save_result  # noqa: E402

IDLE_GAP = 0.3
BLOCK = 0.3
N, M, PLANTED, TEST, CHAINS, GRID = 784, 1000, 20, 2000, 64, 200


def per_call(method) -> float:
    """Seconds per call of ``method()``, over a block of about ``BLOCK`` seconds (at least 2 calls)."""
    method()
    n, start = 0, time.perf_counter()
    while n < 2 or time.perf_counter() - start < BLOCK:
        method()
        n += 1
    return (time.perf_counter() - start) / n


def build():
    from rbm_explorer.datasets import load_dataset
    from rbm_explorer.layers import layer_for_role
    from rbm_explorer.rbm import RBM

    rng = np.random.default_rng(0)
    data = load_dataset("mnist", threshold=0.5)
    test = data.part("test")[0][:TEST].astype(np.float64)
    mean = test.mean(axis=0)
    planted = rng.standard_normal((N, PLANTED)) * (mean[:, None] + 0.05)
    weights = 0.01 * rng.standard_normal((N, M)) + planted @ (0.1 * rng.standard_normal((PLANTED, M)))
    visible = layer_for_role("binary", "visible").zeros(N)
    visible = visible.with_fields(visible.fields_from_mean(mean))
    rbm = RBM(visible, layer_for_role("binary", "hidden").zeros(M), weights)
    chains_v = (rng.random((CHAINS, N)) < 0.2).astype(np.float32)
    chains_h = (rng.random((CHAINS, M)) < 0.5).astype(np.float32)
    return rbm, test, chains_v, chains_h


def landscape(rbm, test, basis):
    from rbm_explorer.analysis.spectra import hidden_means, mode_view, modes_to_show, project

    hidden = hidden_means(rbm, test)
    return [mode_view(basis, k, project(basis, test, hidden, k), points=GRID)
            for k in modes_to_show(basis.n_modes)]


def spectrum_methods(rbm):
    from rbm_explorer.io.weight_history import singular_values

    w = rbm.weight_matrix
    methods = {"ours": lambda: singular_values(w), "numpy_svdvals": lambda: np.linalg.svd(w, compute_uv=False)}
    try:
        import torch

        torch.set_num_threads(1)
        wt = torch.from_numpy(w)
        methods["torch_svdvals"] = lambda: torch.linalg.svdvals(wt)
    except ImportError:
        pass
    try:
        import h5py
        from rbms.utils import get_eigenvalues_history

        folder = tempfile.mkdtemp()
        archive = os.path.join(folder, "one_update.h5")
        with h5py.File(archive, "w") as f:
            f.create_group("update_1/params").create_dataset("weight_matrix", data=w.astype(np.float32))
        methods["rbms"] = lambda: get_eigenvalues_history(archive)
    except ImportError:
        pass
    return methods


def landscape_methods(rbm, test):
    from rbm_explorer.analysis.spectra import ReciprocalBasis

    def thin_svd():
        u, s, vt = np.linalg.svd(rbm.weight_matrix, full_matrices=False)
        return ReciprocalBasis(u, s, vt.T, rbm.visible.feature_fields, rbm.hidden.fields)

    return {"ours": lambda: landscape(rbm, test, ReciprocalBasis.from_rbm(rbm)),
            "numpy_thin_svd": lambda: landscape(rbm, test, thin_svd())}


def frame_methods(rbm, chains_v, chains_h):
    from rbm_explorer.analysis.spectra import ReciprocalBasis, modes_to_show

    basis = ReciprocalBasis.from_rbm(rbm)
    modes = modes_to_show(basis.n_modes)
    u32, v32 = np.ascontiguousarray(basis.u[:, modes], np.float32), np.ascontiguousarray(basis.v[:, modes], np.float32)
    u64, v64 = basis.u[:, modes], basis.v[:, modes]
    methods = {"ours": lambda: (chains_v @ u32, chains_h @ v32),
               "float64": lambda: (chains_v.astype(np.float64) @ u64, chains_h.astype(np.float64) @ v64)}
    try:
        import torch

        tu, tv = torch.from_numpy(u32), torch.from_numpy(v32)
        methods["torch"] = lambda: (torch.from_numpy(chains_v) @ tu, torch.from_numpy(chains_h) @ tv)
    except ImportError:
        pass
    return methods


def run(methods: dict, rounds: int) -> tuple[dict, float | None]:
    names = list(methods)
    times = {name: [] for name in names}
    loads = []
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(IDLE_GAP)
            with OtherLoad() as load:
                times[name].append(per_call(methods[name]))
            if load.cores is not None:
                loads.append(load.cores)
    return times, (statistics.mean(loads) if loads else None)


def rows_of(operation: str, times: dict) -> list[dict]:
    rows = []
    for name, values in times.items():
        ms = [1000 * t for t in values]
        ratio = [b / a for a, b in zip(times["ours"], values)]  # how many times faster ours is, round by round
        rows.append({"operation": operation, "method": name, "median_ms": statistics.median(ms), "min_ms": min(ms),
                     "max_ms": max(ms), "ours_speedup_median": statistics.median(ratio),
                     "ours_speedup_min": min(ratio), "ours_speedup_max": max(ratio), "block_ms": ms})
    return rows


def table(result: dict) -> str:
    lines = ["Milliseconds per call, one BLAS thread: median (min–max) of the interleaved blocks; ours' speed-up is"
             " the other's time over ours in the same round, median (min–max).", "",
             "| operation | method | ms per call | ours' speed-up |", "|---|---|---|---|"]
    for row in result["rows"]:
        speed = "—" if row["method"] == "ours" else (
            f"{row['ours_speedup_median']:.2f}x ({row['ours_speedup_min']:.2f}x–{row['ours_speedup_max']:.2f}x)")
        lines.append(f"| {row['operation']} | {row['method']} | {row['median_ms']:.3g} ({row['min_ms']:.3g}–"
                     f"{row['max_ms']:.3g}) | {speed} |")
    m = result["machine"]
    lines += ["", f"{result['rounds']} rounds; other processes busy {m['other_cores']} cores on average; {m['cpu']}, "
              f"{m['cores']} cores, numpy {m['numpy']}, torch {m['torch'] or 'missing'}, rbms {m['rbms'] or 'missing'};"
              f" {m['date']}."]
    return "\n".join(lines)


def machine(other_cores) -> dict:
    import datetime as dt
    from importlib.metadata import PackageNotFoundError, version

    def ver(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "numpy": np.__version__, "torch": ver("torch"),
            "rbms": ver("rbms"), "other_cores": None if other_cores is None else round(other_cores, 2),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--no-save", action="store_true", help="print only; do not touch results/ or README.md")
    args = parser.parse_args()
    rbm, test, chains_v, chains_h = build()
    rows, loads = [], []
    for operation, methods in (("spectrum, 784 x 1000", spectrum_methods(rbm)),
                               ("spectrum + landscape (4 modes, 200 x 200, 2000 digits)", landscape_methods(rbm, test)),
                               ("live projection, 64 chains onto 4 modes", frame_methods(rbm, chains_v, chains_h))):
        times, load = run(methods, args.rounds)
        loads += [] if load is None else [load]
        rows += rows_of(operation, times)
        for row in rows_of(operation, times):
            print(f"{operation:55s} {row['method']:15s} {row['median_ms']:9.3f} ms ({row['min_ms']:.3f}-"
                  f"{row['max_ms']:.3f})  ours x{row['ours_speedup_median']:.2f}", file=sys.stderr)
    result = {"rows": rows, "rounds": args.rounds, "machine": machine(statistics.mean(loads) if loads else None)}
    start, end = "<!-- spectra-table:start -->", "<!-- spectra-table:end -->"
    finish(result, lambda r: save_result(r, "spectra", f"{start}\n{table(r)}\n{end}", start, end,
                                         "## Spectra and landscapes (`benchmarks/spectra.py`)"), args.no_save)


if __name__ == "__main__":
    main()
