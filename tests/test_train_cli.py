"""``rbm-explorer train`` as a user runs it: recipes, constraints in the saved metadata, and a run killed
mid-way and resumed, which must end with the same weights as an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from browser_support import wait_until
from test_cli import assert_one_line_error, cli

from rbm_explorer.io import load_model

SMALL = ["--dataset", "mnist", "--digits", "0,1", "--hidden", "30", "--gibbs-steps", "2", "--lr", "0.02"]


def test_train_a_released_model_and_read_its_metadata(tmp_path):
    out = tmp_path / "m.npz"
    cli("train", *SMALL, "--constraint", "linear", "--released", "1", "--epochs", "3", "--out", out, "--quiet")
    model = load_model(out)
    meta = model.metadata
    assert meta["released_units"] == [0] and meta["released_classes"][0] in (0, 1)
    assert meta["constraint"]["kind"] == "linear" and meta["constraint"]["units"] == list(range(1, 30))
    assert meta["dataset"] == {"name": "mnist", "digits": "0,1", "label_names": ["0", "1"]}
    assert meta["binarize_threshold"] == 0.5 and meta["image_shape"] == [28, 28]
    assert len(meta["history"]["epochs"]) == 3 and "history_weights_epoch_0" in model.extra_arrays
    assert "rbm-explorer train" in meta["provenance"]["command"]
    from rbm_explorer.training.constraints import ConstraintSet

    constraints = ConstraintSet.from_metadata(meta["constraint"]["spec"], model.extra_arrays)
    assert constraints.violation(model.rbm.weight_matrix) < 1e-5


def test_multiclass_and_quadratic_recipes(tmp_path):
    cli("train", *SMALL[:2], "--digits", "0-3", "--hidden", "20", "--constraint", "linear", "--released", "3",
        "--epochs", "1", "--out", tmp_path / "mc.npz", "--quiet")
    assert load_model(tmp_path / "mc.npz").metadata["released_classes"] == [1, 2, 3]
    cli("train", *SMALL, "--constraint", "quadratic", "--epochs", "1", "--out", tmp_path / "q.npz", "--quiet")
    assert load_model(tmp_path / "q.npz").metadata["constraint"]["strength"] > 0
    # several classes: the Fig. 9(a) linear layout plus one quadratic penalty per class d = 1..3
    cli("train", *SMALL[:2], "--digits", "0-3", "--hidden", "20", "--constraint", "quadratic", "--released", "3",
        "--epochs", "1", "--out", tmp_path / "mcq.npz", "--quiet")
    spec = load_model(tmp_path / "mcq.npz").metadata["constraint"]["spec"]["constraints"]
    quadratic = [c for c in spec if c["type"] == "quadratic"]
    assert [c["name"] for c in quadratic] == ["class 1", "class 2", "class 3"]
    assert all(c["units"] == list(range(3, 20)) for c in quadratic)


def test_train_errors_are_one_line(tmp_path):
    assert_one_line_error(cli("train", "--preset", "nope", "--out", tmp_path / "x.npz", check=False),
                          "unknown preset 'nope'; presets: mnist01_none")
    assert_one_line_error(cli("train", *SMALL[:2], "--digits", "0-3", "--released", "2", "--constraint", "linear",
                              "--out", tmp_path / "x.npz", check=False), "released must be 0 or 3, got 2")
    assert_one_line_error(cli("train", "--dataset", "cifar", "--out", tmp_path / "x.npz", check=False),
                          "unknown dataset 'cifar'")


def checkpoint_epoch(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            return json.loads(f["metadata"].item())["training"]["epoch"]
    except (OSError, KeyError, ValueError, EOFError):
        return 0


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    args = [*SMALL, "--constraint", "linear", "--released", "1", "--epochs", "25", "--quiet", "--checkpoint-seconds", "0"]
    cli("train", *args, "--out", tmp_path / "whole.npz")
    out, checkpoint = tmp_path / "run.npz", tmp_path / "run.npz.checkpoint.npz"
    proc = subprocess.Popen([sys.executable, "-m", "rbm_explorer.cli.main", "train", *args, "--out", str(out)],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: checkpoint_epoch(checkpoint) >= 3 or proc.poll() is not None, 120,
                   what="the third checkpoint")
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    killed_at = checkpoint_epoch(checkpoint)
    assert 3 <= killed_at < 25 and not out.exists(), "the run should have been killed mid-way"
    cli("train", *args, "--out", out, "--resume")
    whole, resumed = load_model(tmp_path / "whole.npz"), load_model(out)
    np.testing.assert_array_equal(resumed.rbm.weights, whole.rbm.weights)
    np.testing.assert_array_equal(resumed.rbm.visible.fields, whole.rbm.visible.fields)
    assert len(resumed.metadata["history"]["epochs"]) == 25
    mismatch = cli("train", *args[:-3], "--epochs", "30", "--quiet", "--out", out, "--resume", check=False)
    assert_one_line_error(mismatch, "other training settings (epochs")
