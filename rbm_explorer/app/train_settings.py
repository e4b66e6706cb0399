"""The Train page's settings: the datasets it offers and the checks that turn its widgets into a ``Recipe``.

Nothing here needs Panel: the state object (``train_state.TrainSession``) calls these before any work starts,
so a mistake becomes a message a user can act on, never a failed thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rbm_explorer.datasets import DatasetError, list_datasets
from rbm_explorer.datasets.encode import parse_classes
from rbm_explorer.training.config import ALGORITHMS, TrainingConfig
from rbm_explorer.training.recipes import CONSTRAINT_KINDS, Recipe

# the ranges the page accepts: (setting, label, least, most); beyond them a run is a mistake, not an experiment
WHOLE_SETTINGS = (
    ("hidden", "Hidden units", 1, 4096),
    ("epochs", "Epochs", 1, 10_000),
    ("batch_size", "Batch size", 1, 100_000),
    ("chains", "Negative chains", 1, 10_000),
    ("gibbs_steps", "Gibbs steps per update", 1, 1_000),
    ("released", "Released units", 0, 4096),
    ("seed", "The seed", 0, 2**32 - 1),
)
MAX_LEARNING_RATE = 1.0
MAX_QUADRATIC_STRENGTH = 1e4


# --- the datasets the page offers --------------------------------------------------------------------------
@dataclass(frozen=True)
class DatasetChoice:
    """A dataset of the registry as the page offers it: its label, which option the page asks for, the fixed
    options (those of the bundled models, so that a saved model joins their family) and a batch size that
    fits the training split."""

    name: str
    label: str
    asks: str | None  # "digits", "attribute" or None
    fixed: dict
    batch_size: int = 20
    classes: int | None = None  # number of label classes when it does not depend on the asked option


DATASET_CHOICES = (
    DatasetChoice("mnist", "MNIST digits (28×28)", "digits", {"threshold": 0.5}),
    DatasetChoice("faces", "Procedural faces (32×32)", "attribute", {"size": 32, "n_samples": 10000}, classes=2),
    DatasetChoice("digits8", "scikit-learn digits (8×8)", "digits", {"threshold": 0.5}),
    DatasetChoice("bars_stripes12", "Bars and stripes (12×12 spins)", None, {}, classes=2),
    DatasetChoice("bars4", "Vertical bars (4×4 spins, tiny)", None, {}, batch_size=10, classes=1),
    DatasetChoice("ww_domain", "WW protein domain (Potts, 30 sites)", None, {}, classes=1),
)


def offered_datasets() -> dict[str, DatasetChoice]:
    """The choices whose dataset the registry has (the path-only ``alignment`` and ``celeba`` need files)."""
    registered = {entry.name for entry in list_datasets()}
    return {c.name: c for c in DATASET_CHOICES if c.name in registered}


def dataset_options(choice: DatasetChoice, digits: str, attribute: str) -> dict:
    """``load_dataset`` options for the page's settings."""
    options = dict(choice.fixed)
    if choice.asks == "digits":
        options["digits"] = digits.replace(" ", "")
    elif choice.asks == "attribute":
        options["attribute"] = attribute
    return options


def class_count(choice: DatasetChoice, options: dict) -> int:
    """Number of label classes (raises ``DatasetError`` for an unreadable digit subset)."""
    if choice.classes is not None:
        return choice.classes
    known = range(10)
    digits = parse_classes(options.get("digits", "all"), known)
    if len(set(digits)) != len(digits):
        raise DatasetError(f"digit {sorted(d for d in digits if digits.count(d) > 1)[0]} is listed twice")
    return len(digits)


# --- settings, checked before any work ----------------------------------------------------------------------
def _whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def settings_problems(settings: dict) -> list[str]:
    """What is wrong with the page's settings, in words a user can act on (empty when they are fine).

    Checks everything that can be checked without loading data, including the constraint layouts that
    ``build_constraints`` accepts for the dataset's number of classes."""
    problems = []
    s = settings
    choices = offered_datasets()
    choice = choices.get(s["dataset"])
    if choice is None:
        return [f"Unknown dataset {s['dataset']!r}; choose one of {', '.join(choices)}."]
    for key, label, least, most in WHOLE_SETTINGS:
        if not _whole(s[key]) or not least <= s[key] <= most:
            problems.append(f"{label} must be a whole number from {least} to {most:,} (got {s[key]}).")
    rate = s["learning_rate"]
    if not (isinstance(rate, (int, float)) and np.isfinite(rate) and 0 < rate <= MAX_LEARNING_RATE):
        problems.append(f"The learning rate must be a number above 0 and at most {MAX_LEARNING_RATE:g} (got {rate}); "
                        "the bundled models use 0.01 to 0.1, and larger rates drive every chain to the same state.")
    if s["constraint"] not in CONSTRAINT_KINDS:
        problems.append(f"Constraint must be one of {', '.join(CONSTRAINT_KINDS)}.")
    if s["algorithm"] not in ALGORITHMS:
        problems.append(f"Algorithm must be one of {', '.join(ALGORITHMS)}.")
    if not (isinstance(s["quadratic_strength"], (int, float)) and 0 <= s["quadratic_strength"] <= MAX_QUADRATIC_STRENGTH):
        problems.append(f"The quadratic strength λ must be a number from 0 to {MAX_QUADRATIC_STRENGTH:g} "
                        f"(got {s['quadratic_strength']}).")
    try:
        n_classes = class_count(choice, dataset_options(choice, s["digits"], s["attribute"]))
    except DatasetError as exc:
        problems.append(f"Digits: {exc}.")
        return problems
    if choice.asks == "digits" and n_classes < 2 and s["constraint"] != "none":
        problems.append("A label constraint needs at least two digits, e.g. 0,1 or 0-3.")
    elif n_classes < 2 and s["constraint"] != "none":
        problems.append(f"{choice.label} has a single class: choose constraint 'none' (the label constraints "
                        "need two or more classes).")
    if problems or s["constraint"] == "none":
        return problems
    if s["released"] > s["hidden"]:
        problems.append(f"Too many released units: {s['released']} released of {s['hidden']} hidden units.")
    elif n_classes > 2 and s["released"] not in (0, n_classes - 1):
        problems.append(f"Too many released units for {n_classes} classes: use 0 (every unit blind to the label) "
                        f"or {n_classes - 1} (one unit per class but the first, Fig. 9a), not {s['released']}.")
    return problems


def recipe_from_settings(settings: dict) -> Recipe:
    """The ``Recipe`` of valid page settings. The learning rate decays linearly to a tenth over the run, as
    for the bundled models (``training.presets``); CD runs one chain per batch sample whatever ``chains``."""
    s = settings
    choice = offered_datasets()[s["dataset"]]
    config = TrainingConfig(
        algorithm=s["algorithm"], gibbs_steps=int(s["gibbs_steps"]), batch_size=int(s["batch_size"]),
        n_chains=int(s["chains"]), epochs=int(s["epochs"]), learning_rate=float(s["learning_rate"]),
        final_learning_rate=float(s["learning_rate"]) / 10, schedule="linear", optimizer="sgd",
        seed=int(s["seed"]), snapshot_epochs=(0, int(s["epochs"])),
    )
    constraint = s["constraint"]
    return Recipe(s["dataset"], dataset_options(choice, s["digits"], s["attribute"]), hidden=int(s["hidden"]),
                  constraint=constraint, released=int(s["released"]) if constraint != "none" else 0,
                  quadratic_strength=float(s["quadratic_strength"]), config=config)
