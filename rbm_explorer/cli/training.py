"""Commands that train or walk models: ``train`` (a recipe of ``rbm_explorer.training``, from a preset and flags,
checkpointed and resumable) and ``morph`` (released units flipped class by class, each phase judged by a
classifier, as in Figs. 8c and 9e of Fernandez-de-Cossio-Diaz, Cocco and Monasson 2023).

Every flag of ``train`` defaults to None, meaning "keep the preset's value (or the library default)": a flag
given on the command line always wins, also when its value is 0 or off (``--quadratic-strength 0``,
``--l2 0``, ``--no-zero-fields``). The choices of the flags are the library's own constants.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys

import numpy as np

from rbm_explorer.cli.common import UserError, add_option_argument, open_model, output_file, progress_bar

TRAIN_OVERRIDES = {  # CLI flag -> TrainingConfig field
    "algorithm": "algorithm", "epochs": "epochs", "batch_size": "batch_size", "gibbs_steps": "gibbs_steps",
    "chains": "n_chains", "lr": "learning_rate", "final_lr": "final_learning_rate", "schedule": "schedule",
    "optimizer": "optimizer", "l1": "l1", "l2": "l2", "seed": "seed", "zero_fields": "zero_fields",
}
RECIPE_OVERRIDES = {  # CLI flag -> Recipe field (quadratic_rank is parsed by quadratic_rank())
    "dataset": "dataset", "hidden": "hidden", "hidden_kind": "hidden_kind", "constraint": "constraint",
    "released": "released", "quadratic_strength": "quadratic_strength", "labelled": "labelled",
    "quadratic_statistic": "quadratic_statistic",
}
DATASET_SHORTCUTS = ("digits", "attribute")  # --digits X is -o digits=X


def given(args, flags: dict) -> dict:
    """``{field: value}`` of the flags the user gave (not None), renamed by ``flags``."""
    return {field: getattr(args, flag) for flag, field in flags.items() if getattr(args, flag) is not None}


def quadratic_rank(text: str):
    """``--quadratic-rank``: 'mp' (the Marchenko-Pastur edge) or a number of components."""
    if text == "mp":
        return "mp"
    try:
        return int(text)
    except ValueError:
        raise UserError(f"--quadratic-rank takes 'mp' or a number of components, got {text!r}") from None


def recipe_from_args(args):
    """The ``Recipe`` of the command line: the preset (or the library's defaults for ``--dataset``), with every
    flag that was given replacing its field. Bad values raise ``ValueError`` naming the field."""
    from rbm_explorer.training.config import TrainingConfig
    from rbm_explorer.training.presets import preset
    from rbm_explorer.training.recipes import Recipe

    if args.preset is None and args.dataset is None:
        raise UserError("train needs --dataset or --preset")
    base = preset(args.preset) if args.preset is not None else Recipe(args.dataset)
    options = {**base.dataset_options, **dict(args.option), **given(args, {k: k for k in DATASET_SHORTCUTS})}
    config = {**base.config.to_dict(), **given(args, TRAIN_OVERRIDES)}
    config["snapshot_epochs"] = tuple(config["snapshot_epochs"])
    fields = given(args, RECIPE_OVERRIDES)
    if args.quadratic_rank is not None:
        fields["quadratic_rank"] = quadratic_rank(args.quadratic_rank)
    return dataclasses.replace(base, dataset_options=options, config=TrainingConfig.from_dict(config), **fields)


def check_label_classes(recipe, args) -> None:
    """A label constraint is built from at least two classes: say so in the user's terms (the flag that chose
    the data) before training, rather than in the constraint builder's. Loads the dataset once more, only for a
    constrained recipe."""
    from rbm_explorer.datasets import load_dataset

    if recipe.constraint == "none":
        return
    n_classes = len(load_dataset(recipe.dataset, **recipe.dataset_options).label_names)
    if n_classes >= 2:
        return
    chosen = [f"--{flag} {getattr(args, flag)}" for flag in DATASET_SHORTCUTS if getattr(args, flag) is not None]
    chosen = chosen or [f"dataset {recipe.dataset}" + (f" with {recipe.dataset_options}" if recipe.dataset_options
                                                       else "")]
    raise UserError(f"a label constraint (--constraint {recipe.constraint}) needs at least two classes; "
                    f"{', '.join(chosen)} gives {'one' if n_classes == 1 else n_classes}; choose more classes "
                    "or --constraint none")


def cmd_train(args) -> int:
    from rbm_explorer.training.recipes import train_recipe

    out = output_file(args.out)
    if args.checkpoint is not None and not args.resume:
        output_file(args.checkpoint, "--checkpoint")
    recipe = recipe_from_args(args)
    check_label_classes(recipe, args)
    command = "rbm-explorer " + shlex.join(args.argv)
    bars = []  # the bar appears with the first update, so set-up errors print one clean line

    def progress(record):
        if not bars:
            bars.append(progress_bar(record.total_updates, "training", args.quiet, unit="update",
                                     initial=record.update - 1))
        bars[0].update(1)
        bars[0].set_postfix(epoch=record.epoch, lr=f"{record.learning_rate:.3g}", refresh=False)

    try:
        model = train_recipe(recipe, out, checkpoint=args.checkpoint, resume=args.resume, command=command,
                             progress=progress, checkpoint_seconds=args.checkpoint_seconds)
    finally:
        for bar in bars:
            bar.close()
    last = model.metadata["history"]["epochs"][-1] if model.metadata["history"]["epochs"] else {}
    print(f"wrote {out}: {model.rbm!r}, released units {model.metadata['released_units']}, "
          f"reconstruction error {last.get('reconstruction_error', float('nan')):.4f}", file=sys.stderr)
    return 0


def cmd_morph(args) -> int:
    """Walk a released-unit model through classes (Figs. 8c, 9e) and judge each phase with a classifier."""
    from rbm_explorer.analysis.judge import UNCLEAR_INDEX, class_judge
    from rbm_explorer.analysis.morph import class_walk
    from rbm_explorer.datasets.pictures import save_grid_png, to_grey

    out = output_file(args.out) if args.out is not None else None
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
    wanted = args.sequence.split(",") if args.sequence is not None else [names[c] for c in default]
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise UserError(f"unknown classes {unknown}; this model's classes: {', '.join(names)}")
    sequence = [names.index(c) for c in wanted]
    if args.chains < 1 or args.steps < 1:
        raise UserError("--chains and --steps must be at least 1")
    with progress_bar(args.steps * len(sequence), "walk sweeps", args.quiet) as bar:
        shares, states = class_walk(model.rbm, judge, released, classes, sequence, steps=args.steps,
                                    n_chains=args.chains, seed=args.seed, keep_states=True, progress=bar.update)
    for target, share, v in zip(sequence, shares, states):
        unclear = float(np.mean(judge.outcomes(v) == UNCLEAR_INDEX))
        print(f"class {names[target]}: {share:.0%} of {args.chains} chains ({unclear:.0%} unclear)")
    if out is not None:
        shape = model.image_shape
        if not shape or len(shape) != 2:
            raise UserError("--out draws pictures, and this model has no 2-d image_shape")
        shown = min(args.chains, 8)
        images = np.concatenate([to_grey(v[:shown], model.rbm.visible.kind) for v in states]).reshape(-1, *shape)
        title = " -> ".join(f"{names[t]} ({s:.0%})" for t, s in zip(sequence, shares))
        save_grid_png(out, images, title=title, columns=shown, scale=3)
        print(f"wrote {out}: one row per phase", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    from rbm_explorer.layers import layer_kinds
    from rbm_explorer.training.config import ALGORITHMS, SCHEDULES
    from rbm_explorer.training.optimizers import OPTIMIZERS
    from rbm_explorer.training.recipes import CONSTRAINT_KINDS, QUADRATIC_STATISTICS

    train = sub.add_parser("train", help="train an RBM, optionally with weight constraints")
    train.add_argument("--preset", help="a named recipe (see rbm_explorer.training.presets); flags override it")
    train.add_argument("--dataset", help="dataset name (rbm-explorer datasets)")
    add_option_argument(train, "dataset option; may repeat")
    train.add_argument("--digits", help="shortcut for -o digits=...")
    train.add_argument("--attribute", help="shortcut for -o attribute=...")
    train.add_argument("--hidden", type=int, help="number of hidden units")
    train.add_argument("--hidden-kind", choices=layer_kinds("hidden"))
    train.add_argument("--constraint", choices=CONSTRAINT_KINDS)
    train.add_argument("--released", type=int, help="number of released (unconstrained) hidden units")
    train.add_argument("--quadratic-strength", type=float, help="lambda of the quadratic penalty (0: none)")
    train.add_argument("--quadratic-rank", help="truncate q2: 'mp' (Marchenko-Pastur edge) or a number of components")
    train.add_argument("--quadratic-statistic", choices=QUADRATIC_STATISTICS,
                       help="what the quadratic constraint decorrelates from: the label (Eq. 10, default) or "
                            "|sum v| (abs_sum: the Ising Q2 of Eq. 18)")
    train.add_argument("--labelled", type=int, help="build the constraints from B balanced labelled examples only")
    train.add_argument("--algorithm", choices=ALGORITHMS)
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--gibbs-steps", type=int, help="k: sweeps per update")
    train.add_argument("--chains", type=int, help="persistent chains (PCD) or chains (Rdm)")
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--final-lr", type=float, help="final learning rate of the schedule")
    train.add_argument("--schedule", choices=SCHEDULES)
    train.add_argument("--optimizer", choices=tuple(OPTIMIZERS))
    train.add_argument("--l1", type=float)
    train.add_argument("--l2", type=float)
    train.add_argument("--zero-fields", action=argparse.BooleanOptionalAction, default=None,
                       help="keep all fields at 0 (--no-zero-fields: train them, whatever the preset says)")
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
