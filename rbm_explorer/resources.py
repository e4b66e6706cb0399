"""Where the bundled assets and apps are, in a source checkout and in an installed wheel.

The wheel carries the repository's top-level ``assets/`` and ``apps/`` inside the package as
``rbm_explorer/assets`` and ``rbm_explorer/apps`` (hatchling ``force-include``). In a source checkout or an
editable install they are found beside the package directory instead.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def _bundled(name: str) -> Path:
    inside = resources.files("rbm_explorer").joinpath(name)
    if inside.is_dir():
        return Path(str(inside))
    beside = Path(__file__).resolve().parent.parent / name
    if beside.is_dir():
        return beside
    raise FileNotFoundError(f"the bundled '{name}' folder is missing from this installation of rbm_explorer")


def assets_dir() -> Path:
    """The bundled data and models folder."""
    return _bundled("assets")


def apps_dir() -> Path:
    """The folder of Panel app scripts served by ``rbm-explorer serve``."""
    return _bundled("apps")


def bundled_model(name: str) -> Path:
    """Path of a bundled model file ``assets/models/<name>`` (``.npz`` added if missing)."""
    if not name.endswith(".npz"):
        name += ".npz"
    path = assets_dir() / "models" / name
    if not path.is_file():
        known = sorted(p.name for p in (assets_dir() / "models").glob("*.npz"))
        raise FileNotFoundError(f"no bundled model {name!r}; bundled models: {', '.join(known) or 'none'}")
    return path
