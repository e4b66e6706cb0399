"""The ``rbm-explorer`` command line, run as a user runs it (a subprocess)."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from test_model_file import BAD_CASES, META, write_bad_case, write_minimal


def cli(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "rbm_explorer.cli.main", *map(str, args)],
                            capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stderr}")
    return result


def test_info_on_the_bundled_model():
    """``info`` prints the summary tables of the Models page (``rbm_explorer.io.summary``) as aligned text."""
    out = cli("info", "ising32_single_hidden").stdout
    lines = [line.split() for line in out.splitlines()]
    assert "RBM(1024 spin visible, 1 spin hidden)" in out
    assert ["visible", "spin,", "32", "×", "32", "image", "1,024", "visible_fields", "1024"] in lines
    assert ["w", "star", "0.5"] in lines  # free metadata, under "Other metadata"
    assert "Other metadata" in out and "format_version" not in out  # the reserved keys are not listed
    info = json.loads(cli("info", "ising32_single_hidden", "--json").stdout)
    assert info["metadata"]["format"] == "rbm_explorer.model"
    assert info["tables"]["Units and shapes"]["rows"][0][1] == "spin, 32 × 32 image"


def test_info_of_a_released_model_shows_its_constraint_and_released_units():
    out = cli("info", "mnist01_linear_released1").stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "constrained units 1–399 (399 of 400)" in lines and "free units 0" in lines
    released = lines[lines.index("Released units") + 2].split()
    assert released[:3] == ["0", "class", "0"]
    assert "command rbm-explorer train --preset mnist01_linear_released1" in lines


def test_sample_the_bundled_model(tmp_path):
    out = tmp_path / "s.npz"
    result = cli("sample", "ising32_single_hidden", "--chains", 16, "--steps", 100, "--out", out)
    assert "100/100" in result.stderr  # the progress bar reached the end
    with np.load(out) as f:
        assert f["v"].shape == (16, 1024) and f["h"].shape == (16, 1)
        assert set(np.unique(f["v"])) <= {-1.0, 1.0}


@pytest.mark.parametrize("value,sign", [(-1, -1), (1, 1)])
def test_clamping_the_hidden_unit_sets_the_sign_of_the_magnetization(tmp_path, value, sign):
    out = tmp_path / "s.npz"
    cli("sample", "ising32_single_hidden", "--chains", 16, "--steps", 100, "--clamp", f"0={value}", "--out", out)
    with np.load(out) as f:
        m = f["v"].mean(axis=1)
        assert np.all(f["h"][:, 0] == value)
    # clamped spins are independent with mean tanh(w*) = tanh(0.5) = 0.462; sd of m over 1024 spins is 0.028
    assert np.all(np.abs(sign * m - np.tanh(0.5)) < 5 * np.sqrt((1 - np.tanh(0.5) ** 2) / 1024))


def test_same_seed_same_output(tmp_path):
    for name in ("a", "b"):
        cli("sample", "ising32_single_hidden", "--chains", 4, "--steps", 10, "--seed", 3, "--quiet",
            "--out", tmp_path / f"{name}.npz")
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        np.testing.assert_array_equal(a["v"], b["v"])


def test_init_from_a_data_file(tmp_path):
    np.save(tmp_path / "init.npy", -np.ones((2, 1024)))
    out = tmp_path / "s.npz"
    cli("sample", "ising32_single_hidden", "--chains", 4, "--steps", 0, "--init", tmp_path / "init.npy",
        "--out", out)
    with np.load(out) as f:
        assert np.all(f["v"] == -1)


def test_potts_samples_are_integer_states(tmp_path):
    meta = dict(META, visible_kind="potts", q=3)
    model = write_minimal(tmp_path / "p.npz", meta, weights=np.ones((4, 3, 2)), visible_fields=np.zeros((4, 3)))
    cli("sample", model, "--chains", 5, "--steps", 3, "--out", tmp_path / "s.npz", "--quiet")
    with np.load(tmp_path / "s.npz") as f:
        assert np.issubdtype(f["v"].dtype, np.integer) and f["v"].max() <= 2


def assert_one_line_error(result, text):
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rbm-explorer: error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert text in lines[0], lines[0]


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_each_corrupt_file_prints_one_clear_line(tmp_path, case):
    path, message = write_bad_case(tmp_path, case)
    result = cli("info", path, check=False)
    assert_one_line_error(result, "bad.npz: ")
    assert re.search(message, result.stderr)


@pytest.mark.parametrize(
    "args,text",
    [
        (["info", "no_such_model"], "no bundled model 'no_such_model.npz'"),
        (["sample", "ising32_single_hidden", "--clamp", "0=3", "--out", "x.npz"], "spin units take the values"),
        (["sample", "ising32_single_hidden", "--clamp", "4=1", "--out", "x.npz"], "h unit index out of range 0..0"),
        (["sample", "ising32_single_hidden", "--beta", "-1", "--out", "x.npz"], "--beta must be a positive"),
        (["sample", "ising32_single_hidden", "--chains", "0", "--out", "x.npz"], "--chains must be >= 1"),
        (["sample", "ising32_single_hidden", "--init", "nothing.npy", "--out", "x.npz"], "--init nothing.npy"),
        (["sample", "ising32_single_hidden", "--init", "HALF", "--out", "x.npz"], "spin units take the values -1 and 1, got [0.5]"),
    ],
)
def test_user_mistakes_print_one_clear_line(tmp_path, args, text):
    np.save(tmp_path / "half.npy", np.full((2, 1024), 0.5))
    args = [str(tmp_path / "half.npy") if a == "HALF" else a for a in args]
    assert_one_line_error(cli(*args, check=False), text)


def test_junk_file(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_text("hello")
    assert_one_line_error(cli("info", junk, check=False), "not a readable .npz archive")


def test_import_an_rbms_archive(tmp_path):
    from test_importers import write_rbms_archive

    rng = np.random.default_rng(0)
    params = {n: {"weight_matrix": rng.standard_normal((6, 3)), "vbias": rng.standard_normal(6),
                  "hbias": rng.standard_normal(3)} for n in (1, 50)}
    write_rbms_archive(tmp_path / "run.h5", "BBRBM", params)
    cli("import", tmp_path / "run.h5", "--update", 1, "--out", tmp_path / "m.npz")
    out = cli("info", tmp_path / "m.npz").stdout
    assert "RBM(6 binary visible, 3 binary hidden)" in out and ["update", "1"] in [l.split() for l in out.splitlines()]
    assert_one_line_error(cli("import", tmp_path / "run.h5", "--update", 7, "--out", tmp_path / "x.npz",
                              check=False), "no update 7; saved updates: [1, 50]")


def test_datasets_list_and_show(tmp_path):
    listing = cli("datasets").stdout
    for name in ("mnist", "digits8", "bars4", "bars_stripes12", "faces", "celeba", "ww_domain", "alignment"):
        assert f"\n{name} " in "\n" + listing
    out = tmp_path / "grid.png"
    result = cli("datasets", "show", "mnist", "-o", "digits=0,1", "-o", "threshold=0.3", "--out", out)
    assert "mnist(digits=0,1): 2128 samples x 784" in result.stderr
    from PIL import Image

    with Image.open(out) as picture:
        assert picture.width > 200 and len(np.unique(np.asarray(picture))) > 2


def test_datasets_errors_are_one_line():
    assert_one_line_error(cli("datasets", "show", "cifar", check=False), "unknown dataset 'cifar'; available:")
    assert_one_line_error(cli("datasets", "show", "mnist", "-o", "digits=0,12", check=False),
                          "classes [12] are not in 0..9")


@pytest.mark.xfail(strict=True, reason="the class judge calls most of the released model's 1s unclear "
                   "(issue 12, item 4): measured class 0 66 % (34 % unclear), class 1 6 % (94 % unclear)")
def test_morph_walks_the_released_model_through_both_digits(tmp_path):
    """``rbm-explorer morph``: the released unit of the MNIST 0/1 model turns the chains from 0s into 1s,
    judged by a classifier trained on real digits (>= 90 % each, as in the bundled-model tests)."""
    out = tmp_path / "walk.png"
    result = subprocess.run([sys.executable, "-m", "rbm_explorer.cli.main", "morph", "mnist01_linear_released1",
                             "--steps", "300", "--chains", "32", "--out", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    shares = dict(re.findall(r"class (\d): (\d+)%", result.stdout))
    assert set(shares) == {"0", "1"} and all(int(v) >= 90 for v in shares.values()), result.stdout
    assert out.stat().st_size > 1000


def test_morph_names_unknown_classes_and_models_without_released_units():
    for args, message in ((["mnist01_linear_released1", "--sequence", "7"], "unknown classes"),
                          (["mnist01_none"], "no released units")):
        result = subprocess.run([sys.executable, "-m", "rbm_explorer.cli.main", "morph", *args],
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and message in result.stderr, result.stderr
