"""Commands on model files: ``info`` (the summary the Models page shows), ``sample`` (headless Gibbs chains, saved
as arrays) and ``import`` (an HDF5 archive of the PyTorch ``rbms`` package to the public format)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from rbm_explorer.cli.common import MODEL_HELP, UserError, open_model, output_file, progress_bar, resolve_model_path


# --- info ----------------------------------------------------------------------------------------------------
def cmd_info(args) -> int:
    from rbm_explorer.io.summary import summarize

    model = open_model(args.model)
    summary = summarize(model)
    if args.json:
        print(json.dumps({"summary": summary.model, "metadata": model.metadata, "tables": summary.tables}, indent=2))
        return 0
    print(summary.text(heading=str(resolve_model_path(args.model))))
    return 0


# --- sample --------------------------------------------------------------------------------------------------
def parse_clamp(text: str) -> tuple[int, float]:
    try:
        unit, value = text.split("=")
        return int(unit), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--clamp takes UNIT=VALUE, e.g. 0=-1; got {text!r}") from None


def load_init(path: str, n_visible: int) -> np.ndarray:
    """Initial visible states from a ``.npy`` file or an ``.npz`` with an entry ``v`` or ``data``."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--init {path}: no such file")
    try:
        loaded = np.load(p, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                key = next((k for k in ("v", "data") if k in loaded.files), None)
                if key is None:
                    raise UserError(f"--init {path}: the .npz needs an array named 'v' or 'data'")
                data = loaded[key]
        else:
            data = loaded
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"--init {path}: cannot read ({type(exc).__name__}: {exc})") from None
    data = np.asarray(data)
    if data.ndim > 2:
        data = data.reshape(data.shape[0], -1)
    if data.ndim != 2 or data.shape[1] != n_visible:
        raise UserError(f"--init {path}: expected rows of {n_visible} visible units, got shape {data.shape}")
    return data


def cmd_sample(args) -> int:
    from rbm_explorer.io.atomic import atomic_write
    from rbm_explorer.sampling import GibbsEngine

    if args.chains < 1 or args.steps < 0:
        raise UserError("--chains must be >= 1 and --steps >= 0")
    if not (np.isfinite(args.beta) and args.beta > 0):
        raise UserError(f"--beta must be a positive number, got {args.beta}")
    out = output_file(args.out)
    model = open_model(args.model)
    rbm = model.rbm
    init = load_init(args.init, rbm.n_visible) if args.init is not None else None
    try:
        engine = GibbsEngine(rbm, args.chains, seed=args.seed, beta=args.beta, init_v=init)
        for unit, value in args.clamp:
            engine.clamp("h", [unit], [value])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    chunk = max(1, min(100, args.steps // 100))  # about 100 bar updates, at most 100 sweeps between them
    with progress_bar(args.steps, "gibbs sweeps", args.quiet) as bar:
        done = 0
        while done < args.steps:
            n = min(chunk, args.steps - done)
            engine.step(n)
            done += n
            bar.update(n)
    v, h = engine.visible_states(), engine.hidden_states()
    with atomic_write(out) as handle:
        np.savez_compressed(handle, v=v, h=h)
    if not args.quiet:
        summary = f"wrote {out}: v {v.shape}, h {h.shape}"
        if rbm.visible.mirror_sum == 0:  # symmetric states (spins): the magnetization is meaningful
            summary += f", mean magnetization {v.mean():+.3f}"
        print(summary, file=sys.stderr)
    return 0


# --- import ------------------------------------------------------------------------------------------------
def check_rbms_archive(path: str) -> None:
    """``UserError`` unless ``path`` is a readable HDF5 file with the ``model_type`` entry of the rbms package,
    so that a wrong path reads as one plain sentence rather than h5py's internals."""
    import h5py

    p = Path(path)
    if not p.exists():
        raise UserError(f"{path}: no such file")
    if not p.is_file():
        raise UserError(f"{path}: is a folder, not an HDF5 archive")
    if not os.access(p, os.R_OK):
        raise UserError(f"{path}: not readable (permission denied)")
    if not h5py.is_hdf5(p):  # the signature, also after a user block
        raise UserError(f"{path}: not an HDF5 archive of the rbms package (not an HDF5 file)")
    try:
        with h5py.File(p, "r") as f:
            has_model_type = "model_type" in f
    except OSError as exc:
        raise UserError(f"{path}: a damaged HDF5 file ({str(exc).split('(')[0].strip() or type(exc).__name__})") from None
    if not has_model_type:
        raise UserError(f"{path}: not an HDF5 archive of the rbms package (no 'model_type' entry)")


def cmd_import(args) -> int:
    from rbm_explorer.io import from_rbms_archive

    out = output_file(args.out)
    check_rbms_archive(args.archive)
    model = from_rbms_archive(args.archive, update=args.update)
    model.metadata.setdefault("provenance", {})["command"] = "rbm-explorer import " + " ".join(
        [args.archive] + ([f"--update {args.update}"] if args.update is not None else []))
    model.save(out)
    print(f"wrote {out}: {model.rbm!r} (update {model.metadata['provenance']['update']})", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    info = sub.add_parser("info", help="describe a model file")
    info.add_argument("model", help=MODEL_HELP)
    info.add_argument("--json", action="store_true", help="print the metadata and the summary tables as JSON")
    info.set_defaults(func=cmd_info)

    sample = sub.add_parser("sample", help="run Gibbs chains and save the final states")
    sample.add_argument("model", help=MODEL_HELP)
    sample.add_argument("--chains", type=int, default=16)
    sample.add_argument("--steps", type=int, default=100)
    sample.add_argument("--clamp", type=parse_clamp, action="append", default=[], metavar="UNIT=VALUE",
                        help="fix hidden unit UNIT to VALUE (0/1 binary, -1/+1 spin); may repeat")
    sample.add_argument("--beta", type=float, default=1.0, help="inverse temperature of sampling")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--init", help="start from visible states in a .npy/.npz file (default: uniform noise)")
    sample.add_argument("--out", required=True, help="output .npz with arrays v (chains x N) and h (chains x M)")
    sample.add_argument("--quiet", action="store_true", help="no progress bar")
    sample.set_defaults(func=cmd_sample)

    imp = sub.add_parser("import", help="convert an HDF5 archive of the PyTorch rbms package to a model file")
    imp.add_argument("archive", help="the .h5 file written by rbms")
    imp.add_argument("--update", type=int, help="which saved update (default: the newest)")
    imp.add_argument("--out", required=True, help="output .npz model file")
    imp.set_defaults(func=cmd_import)
