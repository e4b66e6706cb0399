"""What every command group of ``rbm-explorer`` shares: the user-mistake exception, finding a model by path or
bundled name, checking output paths, and the parsers of ``KEY=VALUE`` arguments.

A ``UserError`` (or a ``ValueError`` / ``OSError`` from the library, whose messages name the problem) is printed
by the dispatcher (``rbm_explorer.cli.main``) as one line ``rbm-explorer: error: ...`` with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

MODEL_HELP = "path to a .npz model, or the name of a bundled model"


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
    """The validated ``ModelFile`` of a path or bundled model name (``ModelFileError`` names a bad file)."""
    from rbm_explorer.io import load_model

    return load_model(resolve_model_path(name))


def output_file(path, option: str = "--out") -> Path:
    """``path`` as the file a command will write: its folder must already exist (a typo in a folder name is not
    silently made into new folders) and be writable, and ``path`` must not be a folder. Call it before any long
    work, so that a mistake costs nothing."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise UserError(f"{option} {path}: is a folder; give a file name")
    if not folder.is_dir():
        raise UserError(f"{option} {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: folder {folder} is not writable")
    return path


def output_directory(path, option: str = "--out") -> Path:
    """``path`` as the folder a command will write into, made if missing; its parent must already exist (one
    new level, not a chain of folders from a typo) and ``path`` must not be a file."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {path}: is a file, not a folder")
    if not path.is_dir():
        output_file(path, option)  # the parent folder must exist and be writable
        path.mkdir()
    if not os.access(path, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: folder {path} is not writable")
    return path


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1, else a ``UserError`` naming the value."""
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise UserError(f"expected a positive whole number, got {value}")
    return value


def parse_option(text: str) -> tuple[str, object]:
    """KEY=VALUE with VALUE read as JSON when it parses (numbers, null, true), else kept as a string."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--option takes KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_option_argument(parser: argparse.ArgumentParser, help: str) -> None:
    """``--option/-o KEY=VALUE`` (repeatable): loader options of a dataset, collected as (key, value) pairs."""
    parser.add_argument("--option", "-o", type=parse_option, action="append", default=[], metavar="KEY=VALUE",
                        help=help)


def progress_bar(total: int, desc: str, quiet: bool, unit: str = "sweep", **options):
    """A tqdm progress bar on stderr (stdout stays for results), silent with ``--quiet``."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=quiet, **options)
