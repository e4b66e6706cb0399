"""``rbm-explorer spectrum MODEL --out DIR``: spectrum.json against direct computations, the figures, the
training history of a trained model, and one clear line for each user mistake."""

import json

import numpy as np
import pytest
from conftest import tiny_rbm
from test_cli import assert_one_line_error, cli

from rbm_explorer.io import load_model, save_model
from rbm_explorer.training.config import TrainingConfig
from rbm_explorer.training.recipes import Recipe, train_recipe

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """An 8x8-digits model with snapshots at 0, 1, 3 and 5: full W at 0 and 5, top modes between."""
    config = TrainingConfig(gibbs_steps=1, epochs=5, batch_size=50, snapshot_epochs=(0, 1, 3, 5), seed=2,
                            weight_std=0.02)
    recipe = Recipe("digits8", {"digits": "0,1"}, hidden=30, constraint="none", released=0, config=config)
    path = tmp_path_factory.mktemp("spectrum") / "digits.npz"
    train_recipe(recipe, path)
    return path


def test_spectrum_json_holds_the_singular_values_edges_and_history(trained, tmp_path):
    result = cli("spectrum", trained, "--out", tmp_path, "--chains", 50, "--sweeps", 20, "--quiet")
    report = json.loads((tmp_path / "spectrum.json").read_text())
    model = load_model(trained)
    w = model.rbm.weight_matrix
    n, m = w.shape
    direct = np.linalg.svd(w, compute_uv=False)
    np.testing.assert_allclose(report["singular_values"], direct, rtol=1e-5)
    assert report["singular_values"] == sorted(report["singular_values"], reverse=True)
    assert report["sigma_w"] == 0.02  # from the training metadata
    lower, upper = report["mp_edges"]
    assert lower == pytest.approx(0.02 * abs(np.sqrt(n) - np.sqrt(m))) and upper == pytest.approx(0.02 * (np.sqrt(n) + np.sqrt(m)))
    assert report["n_above_edge"] == int(np.sum(direct > upper))
    js = report["rotation_js_divergence"]
    assert js["bins"] == 100 and js["noise_floor"] == pytest.approx(99 / (4 * n * m)) and 0 <= js["value"] <= np.log(2)
    history = report["history"]
    assert history["epochs"] == [0, 1, 2, 3, 4, 5] and len(history["singular_values"]) == 6
    np.testing.assert_allclose(history["singular_values"][-1], direct, rtol=1e-5)
    for name in ("spectrum", "history", "landscape_model_fields", "landscape_zero_fields", "landscape_data_fields",
                 "free_energy"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG, name
        assert f"{name}.png" in result.stdout


def test_sigma_w_on_the_command_line_overrides_the_metadata(trained, tmp_path):
    cli("spectrum", trained, "--out", tmp_path, "--sigma-w", 0.5, "--chains", 0, "--quiet")
    report = json.loads((tmp_path / "spectrum.json").read_text())
    assert report["sigma_w"] == 0.5 and report["n_above_edge"] == 0  # every value inside a wide bulk


def test_a_gaussian_model_gets_its_spectrum_and_the_reason_for_no_landscape(tmp_path):
    path = save_model(tmp_path / "g.npz", tiny_rbm("gaussian", "binary"), {})
    result = cli("spectrum", path, "--out", tmp_path, "--sigma-w", 0.1, "--quiet")
    assert (tmp_path / "spectrum.png").exists() and not (tmp_path / "landscape_zero_fields.png").exists()
    assert "skipped landscapes" in result.stdout and "quadratic term" in result.stdout
    assert "skipped history.png" in result.stdout


@pytest.mark.parametrize("args,text", [
    (["--out", "/nonexistent/folder"], "no such folder"),
    (["--sigma-w", "-1"], "--sigma-w must be a positive number"),
    (["--chains", "-3"], "must not be negative"),
])
def test_mistakes_print_one_clear_line(trained, tmp_path, args, text):
    argv = ["spectrum", trained, *(["--out", tmp_path] if "--out" not in args else []), *args]
    assert_one_line_error(cli(*argv, check=False), text)


def test_an_unknown_model_is_named(tmp_path):
    result = cli("spectrum", "no_such_model", "--out", tmp_path, check=False)
    assert result.returncode == 2 and "no_such_model" in result.stderr
