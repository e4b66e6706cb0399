"""Packaging: environment.yml agrees with pyproject.toml, and a plain (non-editable) install of the wheel
finds the bundled assets, models and apps."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def normalise(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def pyproject_dependencies():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return dict(normalise(r) for r in data["project"]["dependencies"])


def environment_dependencies():
    deps = {}
    text = (ROOT / "environment.yml").read_text()
    section = text.split("\ndependencies:\n", 1)[1]
    for line in section.splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+.*)$", line)
        if m and not m.group(1).startswith(("pip:", "python", "pip")):
            name, spec = normalise(m.group(1))
            deps[name] = spec
    return deps


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert environment_dependencies() == pyproject_dependencies()


def test_python_floor_agrees():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert data["project"]["requires-python"] == ">=3.11"
    assert "  - python>=3.11" in (ROOT / "environment.yml").read_text()


@pytest.mark.slow
def test_a_plain_wheel_install_finds_assets_models_and_apps(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", wheel_dir,
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    wheel = next(wheel_dir.glob("rbm_explorer-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--force-reinstall", "--quiet", wheel], check=True,
                   capture_output=True, timeout=600)
    probe = (
        "import rbm_explorer, pathlib; from rbm_explorer.resources import assets_dir, apps_dir, bundled_model;"
        "from rbm_explorer.io import load_model;"
        "print(pathlib.Path(rbm_explorer.__file__).parent); print(assets_dir()); print(apps_dir());"
        "print(load_model(bundled_model('ising32_single_hidden')).rbm)"
    )
    out = subprocess.run([python, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True,
                         timeout=300).stdout.splitlines()
    package, assets, apps, model = out
    assert str(ROOT) not in package, "the probe imported the source tree instead of the installed wheel"
    assert assets.startswith(package) and apps.startswith(package)
    assert "1024 spin visible" in model
    assert (Path(apps) / "explorer.py").is_file()


# --- the asset budget ---------------------------------------------------------------------------------------
ASSET_BUDGET_BYTES = 58 * 10**6  # the wheel carries assets/; new bundled files must fit in what is left


def test_assets_fit_the_budget():
    files = [p for p in (ROOT / "assets").rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    largest = sorted(files, key=lambda p: p.stat().st_size, reverse=True)[:5]
    listing = ", ".join(f"{p.relative_to(ROOT)} {p.stat().st_size / 1e6:.1f} MB" for p in largest)
    assert total <= ASSET_BUDGET_BYTES, f"assets/ holds {total / 1e6:.1f} MB, over {ASSET_BUDGET_BYTES / 1e6:.0f} MB; largest: {listing}"


@pytest.mark.parametrize("path", sorted((ROOT / "assets" / "models").glob("*.npz")), ids=lambda p: p.stem)
def test_bundled_weight_histories_are_lean(path):
    """No bundled snapshot duplicates the model's weights, snapshots (weights, fields, top modes) are float16,
    the projection histograms are exact counts, and the history reads."""
    import numpy as np

    from rbm_explorer.io import load_model

    model = load_model(path)
    weights = model.rbm.weight_matrix
    for name, array in model.extra_arrays.items():
        if "_epoch_" in name and name.startswith("history_projection_"):
            assert array.dtype in (np.int32, np.float32), f"{name} is {array.dtype}, not int32 counts or float32"
        elif "_epoch_" in name:
            assert array.dtype == np.float16, f"{name} is {array.dtype}, not float16"
            if array.size != weights.size:  # a snapshot's fields
                continue
            assert not np.allclose(array.reshape(weights.shape), weights, rtol=1e-3, atol=1e-3), \
                f"{name} duplicates the model's weights"
    history = model.weight_history()
    if "history" in model.metadata:
        assert len(history) >= 2 and history.singular_values.shape[1] == min(weights.shape)
        assert history.snapshot(model.metadata["history"]["model_epoch"]).weights is not None
