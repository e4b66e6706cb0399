"""``rbm-explorer``: inspect models, sample them headless, train them, and serve the app.

The dispatcher: each command group is one module of ``rbm_explorer.cli`` with ``add_parsers(subparsers)``, which
adds its sub-commands and sets ``func`` on each; ``COMMAND_GROUPS`` lists them in the order of ``--help``.
Adding a group is one module plus one line there.

User mistakes (bad paths, corrupt files, out-of-range options) print one line ``rbm-explorer: error: ...``
and exit with status 2; there is no traceback unless ``--debug`` is given. A reader that stops early
(``rbm-explorer datasets | head``) ends the command quietly, as the Python documentation recommends for
SIGPIPE: stdout goes to devnull and the exit status is 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from rbm_explorer.cli import data, models, physics, reports, serve, spectra, training
from rbm_explorer.cli.common import UserError

COMMAND_GROUPS = (models, data, training, spectra, physics, reports, serve)
USER_ERRORS = (UserError, ValueError, FileNotFoundError, OSError, MemoryError, FloatingPointError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rbm-explorer", description="Explore Restricted Boltzmann Machines.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the command line as given, for provenance (``train`` records it in the model)
    try:
        status = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows up here, not at interpreter exit
        return status
    except BrokenPipeError:
        return closed_pipe()
    except USER_ERRORS as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, MemoryError):
            message = f"not enough memory for this request ({message}); use fewer chains or a smaller model"
        print(f"rbm-explorer: error: {message}", file=sys.stderr)
        return 2


def closed_pipe() -> int:
    """The reader of stdout went away: point stdout at devnull, so that the interpreter's last flush does not
    fail again, and exit 1 without a message (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 1


if __name__ == "__main__":
    sys.exit(main())
