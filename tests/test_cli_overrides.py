"""Flags of ``rbm-explorer train`` override the preset whatever their value: 0, off and empty are values, not
"not given" (``--quadratic-strength 0`` once became the default 50). In-process: the parser and
``recipe_from_args``, no training."""

from __future__ import annotations

import dataclasses

import pytest

from rbm_explorer.cli import main as cli_main
from rbm_explorer.cli.common import UserError
from rbm_explorer.cli.training import recipe_from_args
from rbm_explorer.training import presets
from rbm_explorer.training.recipes import Recipe

PRESET = "mnist01_quadratic_all"


def recipe(*flags):
    return recipe_from_args(cli_main.build_parser().parse_args(["train", *flags, "--out", "x.npz"]))


@pytest.fixture
def strong_preset(monkeypatch):
    """A preset whose every overridable value is non-zero or on, so that a 0 or off flag must be seen."""
    base = presets.PRESETS[PRESET]
    config = dataclasses.replace(base.config, l1=0.01, l2=0.02, seed=7, zero_fields=True)
    strong = dataclasses.replace(base, quadratic_strength=50.0, released=1, config=config)
    monkeypatch.setitem(presets.PRESETS, "strong", strong)
    return strong


def test_quadratic_strength_zero_is_lambda_zero():
    assert presets.PRESETS[PRESET].quadratic_strength == 50.0
    assert recipe("--preset", PRESET).quadratic_strength == 50.0
    assert recipe("--preset", PRESET, "--quadratic-strength", "0").quadratic_strength == 0.0
    assert recipe("--dataset", "mnist", "--constraint", "quadratic",
                  "--quadratic-strength", "0").quadratic_strength == 0.0


@pytest.mark.parametrize("flags,field,value", [
    (["--l1", "0"], "l1", 0.0),
    (["--l2", "0"], "l2", 0.0),
    (["--seed", "0"], "seed", 0),
    (["--no-zero-fields"], "zero_fields", False),
])
def test_zero_and_off_flags_override_the_preset_config(strong_preset, flags, field, value):
    assert getattr(strong_preset.config, field) != value
    assert getattr(recipe("--preset", "strong", *flags).config, field) == value
    assert getattr(recipe("--preset", "strong").config, field) == getattr(strong_preset.config, field)


def test_released_zero_overrides_the_preset(strong_preset):
    assert recipe("--preset", "strong").released == 1
    assert recipe("--preset", "strong", "--released", "0").released == 0


def test_flags_not_given_keep_the_preset_and_given_ones_win():
    base = presets.PRESETS["mnist01_linear_released1"]
    kept = recipe("--preset", "mnist01_linear_released1")
    assert kept == base and kept is not base
    changed = recipe("--preset", "mnist01_linear_released1", "--hidden", "30", "--digits", "0-3", "--lr", "0.5",
                     "--quadratic-rank", "mp", "-o", "threshold=0.3")
    assert (changed.hidden, changed.quadratic_rank, changed.config.learning_rate) == (30, "mp", 0.5)
    assert changed.dataset_options == {"digits": "0-3", "threshold": 0.3}
    assert base.dataset_options == {"digits": "0,1", "threshold": 0.5}  # the preset itself is not changed


def test_without_a_preset_the_library_defaults_apply():
    assert recipe("--dataset", "mnist") == Recipe("mnist")


def test_empty_values_are_errors_not_defaults():
    with pytest.raises(UserError, match="--quadratic-rank takes 'mp' or a number"):
        recipe("--preset", PRESET, "--quadratic-rank", "")
    with pytest.raises(ValueError, match="quadratic_rank must be None, 'mp' or a positive integer, got 0"):
        recipe("--preset", PRESET, "--quadratic-rank", "0")
    with pytest.raises(UserError, match="train needs --dataset or --preset"):
        recipe()


def test_choices_are_the_library_constants():
    from rbm_explorer.layers import layer_kinds
    from rbm_explorer.training.config import ALGORITHMS, SCHEDULES
    from rbm_explorer.training.optimizers import OPTIMIZERS
    from rbm_explorer.training.recipes import CONSTRAINT_KINDS, QUADRATIC_STATISTICS

    parser = cli_main.build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    choices = {action.dest: tuple(action.choices) for action in train._actions if action.choices}
    assert choices == {"hidden_kind": tuple(layer_kinds("hidden")), "constraint": tuple(CONSTRAINT_KINDS),
                       "algorithm": tuple(ALGORITHMS), "schedule": tuple(SCHEDULES),
                       "optimizer": tuple(OPTIMIZERS), "quadratic_statistic": tuple(QUADRATIC_STATISTICS)}


def test_serve_refuses_empty_secrets():
    from rbm_explorer.cli.serve import serve_command

    parser = cli_main.build_parser()
    with pytest.raises(UserError, match="--cookie-secret must not be empty"):
        serve_command(parser.parse_args(["serve", "--basic-auth", "pw", "--cookie-secret", ""]))
    with pytest.raises(UserError, match="--basic-auth needs a password"):
        serve_command(parser.parse_args(["serve", "--basic-auth", ""]))
    command = serve_command(parser.parse_args(["serve", "--basic-auth", "pw", "--num-procs", "0"]))
    assert command[command.index("--num-procs") + 1] == "0" and command[command.index("--basic-auth") + 1] == "pw"


def test_every_command_group_adds_its_own_commands():
    parser = cli_main.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == {"info", "sample", "import", "datasets", "train", "morph", "spectrum", "sweep", "report",
                             "serve"}
    sweep = parser.parse_args(["sweep", "ising", "--size", "8", "--beta", "0.4", "--out", "x.csv"])
    assert sweep.func.__module__ == "rbm_explorer.cli.physics"
    for group in cli_main.COMMAND_GROUPS:
        assert callable(group.add_parsers) and group.__name__.startswith("rbm_explorer.cli.")
    assert all(commands[name].get_default("func").__module__ == "rbm_explorer.cli.training"
               for name in ("train", "morph"))
    assert commands["spectrum"].get_default("func").__module__ == "rbm_explorer.cli.spectra"
