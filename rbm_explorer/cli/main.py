"""``rbm-explorer``: inspect models, sample them headless, and serve the app.

User mistakes (bad paths, corrupt files, out-of-range options) print one line ``rbm-explorer: error: ...``
and exit with status 2; there is no traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import numpy as np


class UserError(Exception):
    """A mistake in the command line or its inputs; printed as one line."""


def resolve_model_path(name: str) -> Path:
    """A path to a model file, or the name of a bundled model."""
    path = Path(name)
    if path.exists():
        return path
    from rbm_explorer.resources import bundled_model

    try:
        return bundled_model(name)
    except FileNotFoundError as exc:
        raise UserError(f"{name}: no such file, and {exc}") from None


def open_model(name: str):
    from rbm_explorer.io import load_model

    return load_model(resolve_model_path(name))


# --- info ----------------------------------------------------------------------------------------------------
def cmd_info(args) -> int:
    model = open_model(args.model)
    rbm, meta = model.rbm, model.metadata
    if args.json:
        print(json.dumps({"summary": repr(rbm), "metadata": meta}, indent=2))
        return 0
    print(f"{resolve_model_path(args.model)}")
    print(f"  {rbm!r}")
    if rbm.visible.options():
        print(f"  visible units: {rbm.visible.describe()}")
    w = rbm.weight_matrix
    print(f"  weights: shape {rbm.weights.shape}, mean {w.mean():.4g}, std {w.std():.4g}, max |w| {np.abs(w).max():.4g}")
    for key, value in meta.items():
        if key in ("format", "format_version", "visible_kind", "hidden_kind", "q"):
            continue
        text = json.dumps(value)
        print(f"  {key}: {text if len(text) < 200 else text[:197] + '...'}")
    if model.extra_arrays:
        print("  extra arrays: " + ", ".join(f"{k} {v.shape}" for k, v in model.extra_arrays.items()))
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
    from tqdm import tqdm

    from rbm_explorer.io.atomic import atomic_write
    from rbm_explorer.sampling import GibbsEngine

    if args.chains < 1 or args.steps < 0:
        raise UserError("--chains must be >= 1 and --steps >= 0")
    if not (np.isfinite(args.beta) and args.beta > 0):
        raise UserError(f"--beta must be a positive number, got {args.beta}")
    model = open_model(args.model)
    rbm = model.rbm
    init = load_init(args.init, rbm.n_visible) if args.init else None
    try:
        engine = GibbsEngine(rbm, args.chains, seed=args.seed, beta=args.beta, init_v=init)
        for unit, value in args.clamp:
            engine.clamp("h", [unit], [value])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    chunk = max(1, min(100, args.steps // 100 or 1))
    with tqdm(total=args.steps, desc="gibbs sweeps", unit="sweep", file=sys.stderr, disable=args.quiet) as bar:
        done = 0
        while done < args.steps:
            n = min(chunk, args.steps - done)
            engine.step(n)
            done += n
            bar.update(n)
    v, h = engine.visible_states(), engine.hidden_states()
    out = Path(args.out)
    with atomic_write(out) as handle:
        np.savez_compressed(handle, v=v, h=h)
    if not args.quiet:
        summary = f"wrote {out}: v {v.shape}, h {h.shape}"
        if rbm.visible.mirror_sum == 0:  # symmetric states (spins): the magnetization is meaningful
            summary += f", mean magnetization {v.mean():+.3f}"
        print(summary, file=sys.stderr)
    return 0


# --- morph -------------------------------------------------------------------------------------------------
def cmd_morph(args) -> int:
    """Walk a released-unit model through classes (Figs. 8c, 9e) and judge each phase with a classifier."""
    from tqdm import tqdm

    from rbm_explorer.analysis.judge import class_judge
    from rbm_explorer.analysis.morph import class_walk
    from rbm_explorer.datasets.pictures import save_grid_png, to_grey

    model = open_model(args.model)
    meta = model.metadata
    released, classes = meta.get("released_units") or [], meta.get("released_classes") or []
    if not released or len(classes) != len(released) or None in classes:
        raise UserError(f"{args.model} has no released units with known classes (metadata released_units and "
                        "released_classes)")
    try:
        judge = class_judge(meta.get("dataset") or {})
    except ValueError as exc:
        raise UserError(str(exc)) from None
    names = judge.class_names
    default = dict.fromkeys([*classes, *range(len(names))])  # the released units' classes first, then the rest
    wanted = args.sequence.split(",") if args.sequence else [names[c] for c in default]
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise UserError(f"unknown classes {unknown}; this model's classes: {', '.join(names)}")
    sequence = [names.index(c) for c in wanted]
    if args.chains < 1 or args.steps < 1:
        raise UserError("--chains and --steps must be at least 1")
    with tqdm(total=args.steps * len(sequence), desc="walk sweeps", unit="sweep", file=sys.stderr,
              disable=args.quiet) as bar:
        shares, states = class_walk(model.rbm, judge, released, classes, sequence, steps=args.steps,
                                    n_chains=args.chains, seed=args.seed, keep_states=True, progress=bar.update)
    for target, share in zip(sequence, shares):
        print(f"class {judge.class_names[target]}: {share:.0%} of {args.chains} chains")
    if args.out:
        shape = model.image_shape
        if not shape or len(shape) != 2:
            raise UserError("--out draws pictures, and this model has no 2-d image_shape")
        shown = min(args.chains, 8)
        images = np.concatenate([to_grey(v[:shown], model.rbm.visible.kind) for v in states]).reshape(-1, *shape)
        title = " -> ".join(f"{judge.class_names[t]} ({s:.0%})" for t, s in zip(sequence, shares))
        save_grid_png(args.out, images, title=title, columns=shown, scale=3)
        print(f"wrote {args.out}: one row per phase", file=sys.stderr)
    return 0


# --- import ------------------------------------------------------------------------------------------------
def cmd_import(args) -> int:
    from rbm_explorer.io import from_rbms_archive

    model = from_rbms_archive(args.archive, update=args.update)
    model.metadata.setdefault("provenance", {})["command"] = "rbm-explorer import " + " ".join(
        [args.archive] + ([f"--update {args.update}"] if args.update is not None else []))
    model.save(args.out)
    print(f"wrote {args.out}: {model.rbm!r} (update {model.metadata['provenance']['update']})", file=sys.stderr)
    return 0


# --- datasets ----------------------------------------------------------------------------------------------
def parse_option(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON when it parses (numbers, null, true), else kept as a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--option takes KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def cmd_datasets(args) -> int:
    from rbm_explorer.datasets import list_datasets, load_dataset

    if args.action is None:
        for entry in list_datasets():
            options = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
            print(f"{entry.name:<16} {entry.description}")
            print(f"{'':<16} options: {options}")
        return 0
    if not args.name:
        raise UserError("datasets show needs a dataset NAME")
    dataset = load_dataset(args.name, **dict(args.option))
    print(f"{dataset.name}: {dataset.n_samples} samples x {dataset.n_features} ({dataset.encoding}), "
          f"{len(dataset.train)} train / {len(dataset.test)} test; classes {dataset.class_counts()}", file=sys.stderr)
    if args.out:
        from rbm_explorer.datasets.show import save_dataset_picture

        path = save_dataset_picture(dataset, args.out, n=args.n, seed=args.seed)
        print(f"wrote {path}", file=sys.stderr)
    return 0


# --- train -------------------------------------------------------------------------------------------------
TRAIN_OVERRIDES = {  # CLI flag -> TrainingConfig field
    "algorithm": "algorithm", "epochs": "epochs", "batch_size": "batch_size", "gibbs_steps": "gibbs_steps",
    "chains": "n_chains", "lr": "learning_rate", "final_lr": "final_learning_rate", "schedule": "schedule",
    "optimizer": "optimizer", "l1": "l1", "l2": "l2", "seed": "seed", "zero_fields": "zero_fields",
}


def recipe_from_args(args):
    import dataclasses

    from rbm_explorer.training.config import TrainingConfig
    from rbm_explorer.training.presets import preset
    from rbm_explorer.training.recipes import Recipe

    recipe = dataclasses.replace(preset(args.preset)) if args.preset else None
    if recipe is None and not args.dataset:
        raise UserError("train needs --dataset or --preset")
    options = dict(recipe.dataset_options) if recipe else {}
    options.update(dict(args.option))
    for flag, key in (("digits", "digits"), ("attribute", "attribute")):
        if getattr(args, flag) is not None:
            options[key] = getattr(args, flag)
    config = recipe.config.to_dict() if recipe else {}
    config.update({field: getattr(args, flag) for flag, field in TRAIN_OVERRIDES.items()
                   if getattr(args, flag) is not None})
    base = recipe or Recipe(args.dataset)
    return Recipe(
        dataset=args.dataset or base.dataset,
        dataset_options=options,
        hidden=args.hidden if args.hidden is not None else base.hidden,
        hidden_kind=args.hidden_kind or base.hidden_kind,
        constraint=args.constraint or base.constraint,
        released=args.released if args.released is not None else base.released,
        quadratic_strength=args.quadratic_strength or base.quadratic_strength,
        quadratic_rank=_rank(args.quadratic_rank) if args.quadratic_rank else base.quadratic_rank,
        labelled=args.labelled if args.labelled is not None else base.labelled,
        config=TrainingConfig.from_dict({k: tuple(v) if k == "snapshot_epochs" else v for k, v in config.items()}),
    )


def _rank(text: str):
    if text == "mp":
        return "mp"
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--quadratic-rank takes 'mp' or a number of components, got {text!r}") from None


def cmd_train(args) -> int:
    from tqdm import tqdm

    from rbm_explorer.training.recipes import train_recipe

    recipe = recipe_from_args(args)
    command = "rbm-explorer train " + " ".join(sys.argv[2:] if len(sys.argv) > 2 else [])
    bars = []  # the bar appears with the first update, so set-up errors print one clean line

    def progress(record):
        if not bars:
            bars.append(tqdm(total=record.total_updates, initial=record.update - 1, desc="training", unit="update",
                             file=sys.stderr, disable=args.quiet))
        bars[0].update(1)
        bars[0].set_postfix(epoch=record.epoch, lr=f"{record.learning_rate:.3g}", refresh=False)

    try:
        model = train_recipe(recipe, args.out, checkpoint=args.checkpoint, resume=args.resume, command=command,
                             progress=progress, checkpoint_seconds=args.checkpoint_seconds)
    finally:
        for bar in bars:
            bar.close()
    last = model.metadata["history"]["epochs"][-1] if model.metadata["history"]["epochs"] else {}
    print(f"wrote {args.out}: {model.rbm!r}, released units {model.metadata['released_units']}, "
          f"reconstruction error {last.get('reconstruction_error', float('nan')):.4f}", file=sys.stderr)
    return 0


# --- serve ---------------------------------------------------------------------------------------------------
def cmd_serve(args) -> int:
    from rbm_explorer.resources import apps_dir

    apps = sorted(str(p) for p in apps_dir().glob("*.py") if not p.name.startswith("_"))
    if not apps:
        raise UserError(f"no app scripts found in {apps_dir()}")
    command = [sys.executable, "-m", "panel", "serve", *apps, "--port", str(args.port), "--address", args.address]
    command += ["--index", Path(apps[0]).stem]
    if args.show:
        command.append("--show")
    for origin in args.allow_websocket_origin:
        command += ["--allow-websocket-origin", origin]
    if args.num_procs != 1:
        if args.num_procs < 0:
            raise UserError(f"--num-procs must be 0 (one per core) or more, got {args.num_procs}")
        command += ["--num-procs", str(args.num_procs)]
    if args.basic_auth:  # a password, or a JSON file of {user: password}; the cookie secret signs the login
        command += ["--basic-auth", args.basic_auth, "--cookie-secret", args.cookie_secret or secrets.token_hex(32)]
    if args.max_samplers is not None:
        if args.max_samplers < 1:
            raise UserError(f"--max-samplers must be at least 1, got {args.max_samplers}")
        os.environ["RBM_EXPLORER_MAX_SAMPLERS"] = str(args.max_samplers)
    command += ["--unused-session-lifetime", str(args.session_lifetime_ms), "--check-unused-sessions",
                str(min(args.session_lifetime_ms, 5000))]
    print("serving: " + " ".join(command), file=sys.stderr, flush=True)
    if hasattr(os, "execv"):  # become the server, so that signals (Ctrl-C, a supervisor's TERM) reach it
        os.execv(sys.executable, command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


# --- entry ---------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from rbm_explorer.layers import layer_kinds

    parser = argparse.ArgumentParser(prog="rbm-explorer", description="Explore Restricted Boltzmann Machines.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    info = sub.add_parser("info", help="describe a model file")
    info.add_argument("model", help="path to a .npz model, or the name of a bundled model")
    info.add_argument("--json", action="store_true", help="print the metadata as JSON")
    info.set_defaults(func=cmd_info)

    sample = sub.add_parser("sample", help="run Gibbs chains and save the final states")
    sample.add_argument("model", help="path to a .npz model, or the name of a bundled model")
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

    data = sub.add_parser("datasets", help="list the datasets, or show samples of one")
    data.add_argument("action", nargs="?", choices=["show"], help="'show NAME' describes a dataset")
    data.add_argument("name", nargs="?", help="dataset name (see the list)")
    data.add_argument("--option", "-o", type=parse_option, action="append", default=[], metavar="KEY=VALUE",
                      help="loader option, e.g. -o digits=0,1 -o threshold=0.3; may repeat")
    data.add_argument("--out", help="write a PNG picture of samples (a logo for sequence data)")
    data.add_argument("--n", type=int, default=64, help="how many samples to draw")
    data.add_argument("--seed", type=int, default=0, help="which samples to draw")
    data.set_defaults(func=cmd_datasets)

    train = sub.add_parser("train", help="train an RBM, optionally with weight constraints")
    train.add_argument("--preset", help="a named recipe (see rbm_explorer.training.presets); flags override it")
    train.add_argument("--dataset", help="dataset name (rbm-explorer datasets)")
    train.add_argument("--option", "-o", type=parse_option, action="append", default=[], metavar="KEY=VALUE",
                       help="dataset option; may repeat")
    train.add_argument("--digits", help="shortcut for -o digits=...")
    train.add_argument("--attribute", help="shortcut for -o attribute=...")
    train.add_argument("--hidden", type=int, help="number of hidden units")
    train.add_argument("--hidden-kind", choices=layer_kinds("hidden"))
    train.add_argument("--constraint", choices=["none", "linear", "quadratic"])
    train.add_argument("--released", type=int, help="number of released (unconstrained) hidden units")
    train.add_argument("--quadratic-strength", type=float, help="lambda of the quadratic penalty")
    train.add_argument("--quadratic-rank", help="truncate q2: 'mp' (Marchenko-Pastur edge) or a number of components")
    train.add_argument("--labelled", type=int, help="build the constraints from B balanced labelled examples only")
    train.add_argument("--algorithm", choices=["pcd", "cd", "rdm"])
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--gibbs-steps", type=int, help="k: sweeps per update")
    train.add_argument("--chains", type=int, help="persistent chains (PCD) or chains (Rdm)")
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--final-lr", type=float, help="final learning rate of the schedule")
    train.add_argument("--schedule", choices=["constant", "linear", "exponential"])
    train.add_argument("--optimizer", choices=["sgd", "adam"])
    train.add_argument("--l1", type=float)
    train.add_argument("--l2", type=float)
    train.add_argument("--zero-fields", action="store_true", default=None)
    train.add_argument("--seed", type=int)
    train.add_argument("--out", required=True, help="output model file (.npz)")
    train.add_argument("--checkpoint", help="checkpoint file (default: OUT.checkpoint.npz)")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    train.add_argument("--checkpoint-seconds", type=float, default=30.0,
                       help="checkpoint at the first epoch end after this many seconds (0: every epoch)")
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(func=cmd_train)

    morph = sub.add_parser("morph", help="walk a released-unit model through its classes and judge each phase")
    morph.add_argument("model", help="a model file or bundled model name with released units")
    morph.add_argument("--sequence", help="classes to visit by name, e.g. 1,2,3,0 (default: each class once)")
    morph.add_argument("--steps", type=int, default=500, help="Gibbs sweeps per phase")
    morph.add_argument("--chains", type=int, default=64)
    morph.add_argument("--seed", type=int, default=0)
    morph.add_argument("--out", help="PNG with the first 8 chains at the end of each phase")
    morph.add_argument("--quiet", action="store_true")
    morph.set_defaults(func=cmd_morph)

    serve = sub.add_parser("serve", help="serve the Panel app")
    serve.add_argument("--port", type=int, default=5006)
    serve.add_argument("--address", default="localhost")
    serve.add_argument("--show", action="store_true", help="open a browser")
    serve.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                       help="accept browsers that reach the server under this name (repeat; needed when students "
                            "connect to the machine's address, e.g. 192.168.1.20:5006)")
    serve.add_argument("--num-procs", type=int, default=1, help="server processes (0: one per core)")
    serve.add_argument("--basic-auth", metavar="PASSWORD_OR_FILE",
                       help="ask for a password: the password itself, or a JSON file mapping users to passwords")
    serve.add_argument("--cookie-secret", help="secret that signs login cookies (random by default)")
    serve.add_argument("--max-samplers", type=int, default=None,
                       help="samplers and training runs one server process runs at once (default 8); sessions "
                            "over the bound get a message")
    serve.add_argument("--session-lifetime-ms", type=int, default=15000,
                       help="how long a closed tab's session lives before its threads stop")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UserError, ValueError, FileNotFoundError, OSError, MemoryError, FloatingPointError) as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, MemoryError):
            message = f"not enough memory for this request ({message}); use fewer chains or a smaller model"
        print(f"rbm-explorer: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
