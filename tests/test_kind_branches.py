"""Nothing outside ``rbm_explorer/layers/`` branches on a unit kind: the layers answer every question a caller
has (roles, levels, options, mirrors, data checks), so adding a kind touches only ``layers/``.

A *branch* is a comparison of a kind value (an expression naming ``kind``: ``layer.kind``, ``visible_kind``,
``meta["hidden_kind"]``) against a kind name, a ``hasattr`` / ``getattr`` probe for a kind's private attributes
(``low``, ``high``, ``q``), an ``isinstance`` test against a layer class, or a literal list of kind names. Dataset
encodings (which share the names ``binary`` and ``spin``) are data formats, not unit kinds, and are exempt.
When this scan was written (2026-12-01) it found 32 outside ``layers/``: 25 branches and 7 kind lists.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KIND_NAMES = {"binary", "spin", "potts", "gaussian", "label"}
PROBED_ATTRIBUTES = {"low", "high", "q"}
LAYER_CLASSES = {"Binary", "Spin", "Potts", "Gaussian", "Label", "TwoStateLayer"}
SCANNED = ["rbm_explorer", "apps", "scripts"]
EXEMPT_DIRS = {ROOT / "rbm_explorer" / "layers", ROOT / "rbm_explorer" / "datasets"}


def _strings(node) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return set().union(*(_strings(e) for e in node.elts)) if node.elts else set()
    return set()


def _names(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
           {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def kind_branches(source: str) -> list[tuple[int, str]]:
    """(line, code) of every kind branch in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_strings(s) & KIND_NAMES for s in sides) and \
                    any("kind" in ast.unparse(s) for s in sides if not _strings(s)):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) >= 2:
            if node.func.id in ("hasattr", "getattr") and _strings(node.args[1]) & PROBED_ATTRIBUTES:
                found.append((node.lineno, ast.unparse(node)))
            elif node.func.id == "isinstance" and _names(node.args[1]) & LAYER_CLASSES:
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            names = _strings(node)
            if len(names & KIND_NAMES) >= 2 and names <= KIND_NAMES:
                found.append((node.lineno, "kind list " + ast.unparse(node)))
    return found


def scanned_files() -> list[Path]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if not any(d in path.parents for d in EXEMPT_DIRS):
                files.append(path)
    return files


def test_no_kind_branches_outside_layers():
    files = scanned_files()
    assert len(files) > 50, "the scan found too few files to be looking in the right place"
    found = [f"{path.relative_to(ROOT)}:{line}: {code}"
             for path in files for line, code in kind_branches(path.read_text())]
    assert not found, "branches on a unit kind outside rbm_explorer/layers/:\n" + "\n".join(found)


@pytest.mark.parametrize("code", [
    "if layer.kind == 'potts': pass",
    "x = meta['visible_kind'] in ('binary', 'spin')",
    "ok = hasattr(layer, 'low')",
    "low = getattr(rbm.hidden, 'low', 0.0)",
    "isinstance(layer, Potts)",
    "KINDS = ('binary', 'spin', 'gaussian')",
    "if rbm.hidden.kind != 'spin': raise ValueError",
])
def test_the_scan_catches_each_form_of_branch(code):
    assert len(kind_branches(code)) >= 1


@pytest.mark.parametrize("code", [
    "if dataset.encoding == 'spin': pass",
    "layer.kind + ' units'",
    "cls = layer_class(meta['visible_kind'])",
    "if layer.mirror_sum is None: pass",
])
def test_the_scan_leaves_other_code_alone(code):
    assert kind_branches(code) == []
