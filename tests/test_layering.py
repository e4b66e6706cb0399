"""The import graph follows DESIGN.md: lower layers never import higher ones, and only the app imports panel."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rbm_explorer"

# rank of each part of the package; a module may import only parts of lower or equal rank
RANKS = {
    "_kernels": 0,
    "layers": 1,
    "rbm": 2,
    "sampling": 3,
    "resources": 4,
    "catalog": 4,
    "pictures": 4,
    "io": 4,
    "analysis": 4,
    "training": 4,
    "ising": 4,
    "datasets": 4,
    "distributed": 4,
    "cli": 5,
    "app": 6,
}
GUI_MODULES = {"panel", "bokeh", "holoviews"}


def part_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "rbm_explorer":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imports_of(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno


def package_modules():
    return sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", package_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_respects_the_layering(path):
    own = part_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
    own_rank = RANKS.get(own)
    problems = []
    for module, line in imports_of(path):
        if module.split(".")[0] in GUI_MODULES and own != "app":
            problems.append(f"line {line}: imports {module}, but only rbm_explorer.app may use the GUI stack")
        target = part_of(module)
        if target in (None, "__init__") or own_rank is None or own == "__init__":
            continue
        assert target in RANKS, f"{module} is not placed in the layering table of this test"
        if RANKS[target] > own_rank:
            problems.append(f"line {line}: {own} (rank {own_rank}) imports higher layer {module} (rank {RANKS[target]})")
    assert not problems, "\n".join(problems)


def test_every_part_has_a_rank():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if not p.name.startswith("__")}
    parts = {p for p in parts if (PACKAGE / p).is_dir() or (PACKAGE / f"{p}.py").is_file()}
    assert parts <= set(RANKS), parts - set(RANKS)


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import panel\nfrom rbm_explorer.app import chain_state\n")
    found = list(imports_of(bad))
    assert ("panel", 1) in found and ("rbm_explorer.app", 2) in found


def test_apps_import_only_the_app_layer():
    for path in (ROOT / "apps").glob("*.py"):
        for module, line in imports_of(path):
            target = part_of(module)
            assert target in (None, "app"), f"{path.name}:{line} imports {module}; apps go through rbm_explorer.app"
