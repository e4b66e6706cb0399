"""``rbm-explorer serve``: serve the Panel app (every script of ``apps/``) with ``panel serve``, for one user or a
classroom (other hosts' addresses, several processes, a password, a bound on live samplers per process, a folder
of models shared with every student).

Settings the app reads are passed to the server process in the environment: ``RBM_EXPLORER_MAX_SESSIONS``,
``RBM_EXPLORER_MAX_TRAINING_RUNS``, ``RBM_EXPLORER_SHARED_MODELS`` (``catalog.SHARED_MODELS_ENV``) and
``RBM_EXPLORER_LOGIN_USERS`` ("1" when ``--basic-auth`` names a users file: the login name is then the identity
each student's files belong to; otherwise the app keeps the identity in a browser cookie)."""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

from rbm_explorer.catalog import SHARED_MODELS_ENV
from rbm_explorer.cli.common import UserError

LOGIN_USERS_ENV = "RBM_EXPLORER_LOGIN_USERS"  # "1": the login names the user (read by app/identity.py)


def port_number(text: str) -> int:
    """``--port``: a TCP port, 1 to 65535 (checked while parsing, so a typo never reaches ``panel serve``)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, got {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 1 to 65535, got {port}")
    return port


def check_port_free(address: str, port: int) -> None:
    """``UserError`` when ``panel serve`` could not listen on ``address:port``: bind every address it would
    (SO_REUSEADDR, as Tornado does, so that a recently closed server's port counts as free) and let go.
    A port taken in the instant between this check and the server's own bind still fails in the server."""
    try:
        infos = socket.getaddrinfo(address or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0,
                                   socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UserError(f"--address {address}: unknown host ({exc.strerror})") from None
    targets = list(dict.fromkeys((family, kind, proto, where) for family, kind, proto, _, where in infos))
    failures = []
    for family, kind, proto, where in targets:
        try:
            with socket.socket(family, kind, proto) as probe:
                if os.name != "nt":
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                probe.bind(where)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(f"port {port} is in use (another server listens on it); choose another "
                                "with --port") from None
            failures.append(exc)
    if failures and len(failures) == len(targets):
        exc = failures[0]
        raise UserError(f"cannot listen on {address}:{port} ({exc.strerror or exc})") from None


def serve_command(args) -> list[str]:
    """The ``panel serve`` command line of the options; ``UserError`` for out-of-range values."""
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
    if args.cookie_secret is not None and not args.cookie_secret:
        raise UserError("--cookie-secret must not be empty (leave it out for a random one)")
    if args.basic_auth is not None:  # a password, or a JSON file of {user: password}; the cookie secret signs the login
        if not args.basic_auth:
            raise UserError("--basic-auth needs a password or a JSON file of users and passwords, got ''")
        command += ["--basic-auth", args.basic_auth, "--cookie-secret", args.cookie_secret or secrets.token_hex(32)]
    command += ["--unused-session-lifetime", str(args.session_lifetime_ms), "--check-unused-sessions",
                str(min(args.session_lifetime_ms, 5000))]
    return command


def shared_models_folder(text: str) -> Path:
    """``--shared-models``: an existing folder, as an absolute path (the server may run from elsewhere)."""
    folder = Path(text).expanduser()
    if not folder.exists():
        raise UserError(f"--shared-models {text}: no such folder")
    if not folder.is_dir():
        raise UserError(f"--shared-models {text}: not a folder")
    return folder.resolve()


def serve_environment(args) -> dict[str, str]:
    """The environment variables the app reads, from the options; ``UserError`` for bad values."""
    env = {}
    for flag, value, name in (("--max-sessions", args.max_sessions, "RBM_EXPLORER_MAX_SESSIONS"),
                              ("--max-training-runs", args.max_training_runs, "RBM_EXPLORER_MAX_TRAINING_RUNS")):
        if value is not None:
            if value < 1:
                raise UserError(f"{flag} must be at least 1, got {value}")
            env[name] = str(value)
    if getattr(args, "shared_models", None) is not None:
        env[SHARED_MODELS_ENV] = str(shared_models_folder(args.shared_models))
    # panel serve reads --basic-auth as a users file when it names a file, else as the password
    env[LOGIN_USERS_ENV] = "1" if args.basic_auth and os.path.isfile(args.basic_auth) else "0"
    return env


def cmd_serve(args) -> int:
    command = serve_command(args)
    os.environ.update(serve_environment(args))
    if args.num_procs != 1 and "RBM_EXPLORER_POOL_WORKERS" not in os.environ:
        # the processes share the cores: together they have one pool worker per core
        cores = os.cpu_count() or 1
        os.environ["RBM_EXPLORER_POOL_WORKERS"] = str(max(1, cores // (args.num_procs or cores)))
    check_port_free(args.address, args.port)
    print("serving: " + " ".join(command), file=sys.stderr, flush=True)
    if hasattr(os, "execv"):  # become the server, so that signals (Ctrl-C, a supervisor's TERM) reach it
        os.execv(sys.executable, command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def add_parsers(sub) -> None:
    serve = sub.add_parser("serve", help="serve the Panel app")
    serve.add_argument("--port", type=port_number, default=5006, help="TCP port, 1-65535 (default 5006)")
    serve.add_argument("--address", default="localhost")
    serve.add_argument("--show", action="store_true", help="open a browser")
    serve.add_argument("--allow-websocket-origin", action="append", default=[], metavar="HOST[:PORT]",
                       help="accept browsers that reach the server under this name (repeat; needed when students "
                            "connect to the machine's address, e.g. 192.168.1.20:5006)")
    serve.add_argument("--num-procs", type=int, default=1, help="server processes (0: one per core)")
    serve.add_argument("--basic-auth", metavar="PASSWORD_OR_FILE",
                       help="ask for a password: the password itself, or a JSON file mapping users to passwords")
    serve.add_argument("--cookie-secret", help="secret that signs login cookies (random by default)")
    serve.add_argument("--max-sessions", type=int, default=None,
                       help="browser sessions one server process takes (default 60; with --num-procs P, each "
                            "process has its own bound); a session over it gets a message")
    serve.add_argument("--max-training-runs", type=int, default=None,
                       help="training runs one server process runs at once (default: one per core); a run over "
                            "the bound waits in a queue, and its page says so")
    serve.add_argument("--shared-models", metavar="DIR",
                       help="a folder of models every session can open, read-only (e.g. the teacher's); each "
                            "student's own uploads and runs stay private to them")
    serve.add_argument("--session-lifetime-ms", type=int, default=15000,
                       help="how long a closed tab's session lives before its threads stop")
    serve.set_defaults(func=cmd_serve)
