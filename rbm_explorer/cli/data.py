"""``rbm-explorer datasets``: list the datasets of the registry with their options, or describe one and draw
samples of it (a logo for sequence data)."""

from __future__ import annotations

import sys

from rbm_explorer.cli.common import UserError, add_option_argument, output_file


def cmd_datasets(args) -> int:
    from rbm_explorer.datasets import list_datasets, load_dataset

    if args.action is None:
        for entry in list_datasets():
            options = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
            print(f"{entry.name:<16} {entry.description}")
            print(f"{'':<16} options: {options}")
        return 0
    if args.name is None:
        raise UserError("datasets show needs a dataset NAME")
    out = output_file(args.out) if args.out is not None else None
    dataset = load_dataset(args.name, **dict(args.option))
    print(f"{dataset.name}: {dataset.n_samples} samples x {dataset.n_features} ({dataset.encoding}), "
          f"{len(dataset.train)} train / {len(dataset.test)} test; classes {dataset.class_counts()}", file=sys.stderr)
    if out is not None:
        from rbm_explorer.datasets.show import save_dataset_picture

        path = save_dataset_picture(dataset, out, n=args.n, seed=args.seed)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    data = sub.add_parser("datasets", help="list the datasets, or show samples of one")
    data.add_argument("action", nargs="?", choices=["show"], help="'show NAME' describes a dataset")
    data.add_argument("name", nargs="?", help="dataset name (see the list)")
    add_option_argument(data, "loader option, e.g. -o digits=0,1 -o threshold=0.3; may repeat")
    data.add_argument("--out", help="write a PNG picture of samples (a logo for sequence data)")
    data.add_argument("--n", type=int, default=64, help="how many samples to draw")
    data.add_argument("--seed", type=int, default=0, help="which samples to draw")
    data.set_defaults(func=cmd_datasets)
