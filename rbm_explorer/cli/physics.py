"""``rbm-explorer sweep ising``: a β sweep of the 2D Ising model on Dask, written as a CSV and a plot.

    rbm-explorer sweep ising --size 16 32 --beta 0.3:0.6:7 --out ising.csv

``--beta`` takes ``a:b:n`` ranges (n points from a to b, both included) and plain values. The CSV has one row per
(L, β), sorted, and is rewritten as each row finishes; ``--resume`` skips the rows already there. The plot goes
next to it with the same stem: PNG, or HTML (inline resources, works offline) with ``--html``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rbm_explorer.cli.common import UserError, output_file, positive_int


def cmd_sweep_ising(args) -> int:
    from rbm_explorer.ising.samplers import REPLICAS_PER_WORD
    from rbm_explorer.ising.sweep import SweepPlan, parse_betas, run_sweep

    out = output_file(args.out)
    if out.suffix.lower() != ".csv":
        raise UserError(f"--out {out}: the sweep is written as CSV; give a name ending in .csv")
    if out.exists() and not args.resume:
        raise UserError(f"--out {out} exists: add --resume to continue that sweep, or choose another file")
    replicas = args.replicas
    if replicas is None:
        replicas = REPLICAS_PER_WORD if args.algorithm == "multispin" else 16
    plan = SweepPlan(sizes=tuple(args.size), betas=tuple(parse_betas(args.beta)), coupling=args.coupling,
                     field=args.field, algorithm=args.algorithm, replicas=replicas, sweeps=args.sweeps,
                     thermalization=args.thermalization, seed=args.seed, measure_every=args.measure_every,
                     replicas_per_task=args.replicas_per_task)
    scheduler = "inprocess" if args.inprocess else args.scheduler
    points = len(plan.sizes) * len(plan.betas)
    print(f"ising sweep: {points} points (L = {', '.join(map(str, plan.sizes))}; {len(plan.betas)} beta values), "
          f"{plan.algorithm}, {plan.replicas} replicas x {plan.sweeps} sweeps each", file=sys.stderr)
    start = time.perf_counter()
    try:
        result = run_sweep(plan, out, scheduler=scheduler, resume=args.resume, progress=not args.quiet,
                           workers=args.workers)
    except KeyboardInterrupt:
        print(f"interrupted: the rows finished so far are in {out}; run again with --resume", file=sys.stderr)
        return 130
    print(f"wrote {out}: {result.computed} rows computed, {result.skipped} kept from before "
          f"({time.perf_counter() - start:.1f} s on {result.scheduler})", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not args.no_plot:
        from rbm_explorer.plotting.sweep_figure import write_sweep_plot

        plot = default_plot_path(out, args.html)
        write_sweep_plot(result.rows, plot)
        print(f"wrote {plot}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    from rbm_explorer.ising.samplers import ALGORITHMS

    sweep = sub.add_parser("sweep", help="sweep a physical model over a parameter (the Ising model over beta)")
    kinds = sweep.add_subparsers(dest="model", required=True)
    ising = kinds.add_parser("ising", help="2D Ising model on an L x L torus: observables against beta",
                             description=__doc__.split("\n\n")[0])
    ising.add_argument("--size", type=int, nargs="+", required=True, metavar="L", help="lattice sizes")
    ising.add_argument("--beta", nargs="+", required=True, metavar="B",
                       help="inverse temperatures: values, or a:b:n for n points from a to b")
    ising.add_argument("--coupling", type=float, default=1.0, metavar="J",
                       help="coupling J (negative: antiferromagnet, needs even L); default 1")
    ising.add_argument("--field", type=float, default=0.0, metavar="H",
                       help="external field h; needs --algorithm metropolis or multispin")
    ising.add_argument("--algorithm", choices=ALGORITHMS, default="hybrid",
                       help="hybrid (default): a Metropolis sweep then a Wolff sweep")
    ising.add_argument("--replicas", type=positive_int, default=None,
                       help="independent replicas per point (default 16; 64 for multispin)")
    ising.add_argument("--sweeps", type=positive_int, default=4000, help="measured sweeps per replica")
    ising.add_argument("--thermalization", type=int, default=None, help="discarded sweeps (default sweeps / 4)")
    ising.add_argument("--measure-every", type=positive_int, default=1, help="sweeps between measurements")
    ising.add_argument("--replicas-per-task", type=positive_int, default=None,
                       help="replicas in one Dask task (default 4; 64 for multispin)")
    ising.add_argument("--seed", type=int, default=0, help="the same seed gives the same numbers anywhere")
    ising.add_argument("--out", required=True, help="CSV file to write (the plot goes next to it)")
    ising.add_argument("--resume", action="store_true", help="keep the rows already in --out and skip them")
    ising.add_argument("--html", action="store_true", help="write the plot as offline HTML instead of PNG")
    ising.add_argument("--no-plot", action="store_true", help="write only the CSV")
    ising.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of an existing Dask scheduler (default: a local cluster)")
    ising.add_argument("--workers", type=positive_int, default=None,
                       help="worker processes of the local cluster (default: one per core)")
    ising.add_argument("--inprocess", action="store_true", help="run here, without Dask (for checks)")
    ising.add_argument("--quiet", action="store_true", help="no progress bar")
    ising.set_defaults(func=cmd_sweep_ising)


def default_plot_path(csv_path: Path, html: bool) -> Path:
    return csv_path.with_suffix(".html" if html else ".png")
