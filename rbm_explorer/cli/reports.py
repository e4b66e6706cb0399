"""``rbm-explorer report fig7``: reproduce Fig. 7 of Fernandez-de-Cossio-Diaz, Cocco and Monasson (2023).

    rbm-explorer report fig7 --out DIR

trains the grid (four RBM variants at each β) as one Dask job, or reuses the models already in DIR that were
trained by the same recipe, samples each model, and writes ``DIR/fig7.csv`` and ``DIR/fig7.png``. ``--tiny``
runs a grid small enough for a smoke test.
"""

from __future__ import annotations

import sys
import time

from rbm_explorer.cli.common import output_directory, positive_int


def cmd_report_fig7(args) -> int:
    from rbm_explorer.ising.sweep import parse_betas
    from rbm_explorer.reports.fig7 import DEFAULT_TRAINING, Fig7Plan, run_fig7, tiny_plan

    out = output_directory(args.out)
    values = {}
    if args.size is not None:
        values["L"] = args.size
    if args.beta is not None:
        values["betas"] = tuple(parse_betas(args.beta))
    if args.variants is not None:
        values["variants"] = tuple(args.variants)
    if args.hidden is not None:
        values["hidden"] = args.hidden
    if args.seed is not None:
        values["seed"] = args.seed
    if args.epochs is not None:
        base = tiny_plan().training if args.tiny else DEFAULT_TRAINING
        values["training"] = {**base, "epochs": args.epochs}
    plan = tiny_plan(**values) if args.tiny else Fig7Plan(**values)
    scheduler = "inprocess" if args.inprocess else args.scheduler
    tasks = len(plan.betas) * len(plan.variants)
    epochs = sorted({t.recipe().config.epochs for t in plan.tasks(out)})
    print(f"fig7: L = {plan.L}, beta = {', '.join(f'{b:g}' for b in plan.betas)}; {len(plan.variants)} variants "
          f"({tasks} models of {plan.hidden} hidden units, {' or '.join(map(str, epochs))} epochs) in {out}",
          file=sys.stderr)
    start = time.perf_counter()
    try:
        result = run_fig7(plan, out, scheduler=scheduler, workers=args.workers, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"interrupted: finished points are in {out / 'fig7.csv'} and their models in {out}; run the same "
              "command again to reuse them", file=sys.stderr)
        return 130
    reused = sum(1 for r in result.rows if r.get("reused"))
    print(f"wrote {result.csv_path} and {result.figure_path}: {len(result.rows)} points ({reused} models reused) "
          f"in {time.perf_counter() - start:.1f} s on {result.scheduler}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    from rbm_explorer.reports.fig7 import VARIANTS

    report = sub.add_parser("report", help="reproduce a figure of the papers (fig7: Ising RBMs across beta)")
    kinds = report.add_subparsers(dest="report", required=True)
    fig7 = kinds.add_parser("fig7", help="Fig. 7 of the PRX paper: RBM variants trained on 2D Ising data",
                            description=__doc__.split("\n\n")[0])
    fig7.add_argument("--out", required=True, metavar="DIR", help="folder for the models, fig7.csv and fig7.png")
    fig7.add_argument("--size", type=positive_int, default=None, metavar="L", help="lattice size (default 16)")
    fig7.add_argument("--beta", nargs="+", default=None, metavar="B",
                      help="inverse temperatures (default 0.35 0.40 0.44 0.46 0.50); a:b:n for n points")
    fig7.add_argument("--variants", nargs="+", choices=VARIANTS, default=None, help="default: all four")
    fig7.add_argument("--hidden", type=positive_int, default=None, help="hidden units (default 512)")
    fig7.add_argument("--epochs", type=positive_int, default=None,
                      help="training epochs of every variant (default 400 unconstrained and released, 200 others)")
    fig7.add_argument("--seed", type=int, default=None, help="seed of the data; training and sampling derive from it")
    fig7.add_argument("--tiny", action="store_true", help="a tiny grid (L = 6, 2 epochs): a smoke test")
    fig7.add_argument("--scheduler", default=None, metavar="ADDRESS",
                      help="address of an existing Dask scheduler (default: a local cluster)")
    fig7.add_argument("--workers", type=positive_int, default=None,
                      help="worker processes of the local cluster (default: one per core)")
    fig7.add_argument("--inprocess", action="store_true", help="run here, without Dask")
    fig7.add_argument("--quiet", action="store_true", help="no progress bar")
    fig7.set_defaults(func=cmd_report_fig7)
