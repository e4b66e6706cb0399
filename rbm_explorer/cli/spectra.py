"""``rbm-explorer spectrum MODEL --out DIR``: the singular-value spectrum of a model against Marchenko–Pastur,
its training history, its reciprocal-space landscapes and the free energy along its top mode, as PNG figures
and ``DIR/spectrum.json`` (``rbm_explorer.reports.spectrum``)."""

from __future__ import annotations

from pathlib import Path

from rbm_explorer.cli.common import MODEL_HELP, UserError, open_model, progress_bar


def cmd_spectrum(args) -> int:
    from rbm_explorer.reports.spectrum import write_spectrum_files

    out = Path(args.out)
    if not out.is_dir():
        raise UserError(f"--out {out}: no such folder (create it first)")
    if args.sigma_w is not None and not args.sigma_w > 0:
        raise UserError(f"--sigma-w must be a positive number, got {args.sigma_w}")
    if args.chains < 0 or args.sweeps < 0:
        raise UserError("--chains and --sweeps must not be negative")
    model = open_model(args.model)
    with progress_bar(args.sweeps, "Gibbs samples for the landscapes", args.quiet) as bar:

        def progress(sweeps: int) -> None:
            bar.update(sweeps)
            if bar.n >= bar.total:  # the figures follow: the bar should not go on counting their time
                bar.close()

        files = write_spectrum_files(model, out, sigma_w=args.sigma_w, chains=args.chains, sweeps=args.sweeps,
                                     seed=args.seed, progress=progress, name=Path(args.model).stem)
    print(f"wrote {files.json}")
    for figure in files.figures:
        print(f"wrote {figure}")
    for what, why in files.skipped.items():
        print(f"skipped {what}: {why}")
    return 0


def add_parsers(sub) -> None:
    spectrum = sub.add_parser("spectrum", help="singular values against Marchenko–Pastur, history, landscapes")
    spectrum.add_argument("model", help=MODEL_HELP)
    spectrum.add_argument("--out", required=True, help="an existing folder for spectrum.json and the figures")
    spectrum.add_argument("--sigma-w", type=float, default=None,
                          help="the initial weights' scale σ_W (default: from the model's training metadata)")
    spectrum.add_argument("--chains", type=int, default=500, help="Gibbs chains drawn on the landscapes")
    spectrum.add_argument("--sweeps", type=int, default=200, help="Gibbs sweeps before the chains are drawn")
    spectrum.add_argument("--seed", type=int, default=0)
    spectrum.add_argument("--quiet", action="store_true", help="no progress bar")
    spectrum.set_defaults(func=cmd_spectrum)
