"""The import graph of ``rbm_explorer``: lower layers never import higher ones, only the app imports panel, and no
module is part of an import cycle.

The cycle check builds a graph whose nodes are the package's modules (a package is its ``__init__``) and whose
edges are every ``import`` statement anywhere in a module, inside functions too, with relative imports resolved:

* ``import a.b.c`` and ``from a.b.c import name`` are an edge to ``a.b.c`` (or, if that is not a module of the
  package, to its longest prefix that is);
* ``from a.b import c`` is an edge to the submodule ``a.b.c`` when there is one, and to ``a.b`` (its
  ``__init__``) when ``c`` is a name defined there;
* the parent packages Python initialises on the way (``a`` and ``a.b`` for ``import a.b.c``) are not edges.

So a package ``__init__`` that imports its submodules, while they import their siblings by full path, is not a
cycle; but a submodule that imports names back from its package ``__init__`` (``from rbm_explorer.datasets import
load_dataset``) while that ``__init__`` imports it, directly or through other modules, is one, and so is a
registry that imports its members while they import it to register themselves. Names resolved at run time with
``importlib.import_module`` are not imports: that is how the dataset and page tables stay out of cycles. Any
strongly connected component of more than one module, or a module that imports itself, fails the test.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rbm_explorer"

# rank of each part of the package; a module may import only parts of lower or equal rank
RANKS = {
    "_kernels": 0,
    "live": 0,
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
    "plotting": 4,
    "reports": 5,
    "cli": 6,
    "app": 7,
}
GUI_MODULES = {"panel", "bokeh", "holoviews"}
# Static figures (PNG, and HTML files with inline resources) are drawn with bokeh and matplotlib, never panel or
# holoviews: the CLI writes them without a server.
STATIC_PLOTTING = {"plotting": {"bokeh", "matplotlib"}}


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
        top = module.split(".")[0]
        if top in GUI_MODULES and own != "app" and top not in STATIC_PLOTTING.get(own, ()):
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


def module_name(path: Path, package_dir: Path = PACKAGE) -> str:
    """Dotted name of the module at ``path`` under ``package_dir`` (``pkg/sub/__init__.py`` is ``pkg.sub``)."""
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_targets(path: Path, modules: set[str], package_dir: Path = PACKAGE):
    """(module, line) for every import in ``path`` that reaches a module in ``modules``, by the rule of the
    module docstring."""
    own = module_name(path, package_dir)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if (target := known(alias.name)) is not None:
                    yield target, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:
                    yield f"{source}.{alias.name}", node.lineno
                elif (target := known(source)) is not None:
                    yield target, node.lineno


def import_graph(package_dir: Path = PACKAGE) -> dict[str, dict[str, int]]:
    """module -> {imported module: first line} among the modules of the package at ``package_dir``."""
    paths = {module_name(p, package_dir): p for p in sorted(package_dir.rglob("*.py"))}
    graph = {}
    for name, path in paths.items():
        edges = graph.setdefault(name, {})
        for target, line in import_targets(path, set(paths), package_dir):
            edges.setdefault(target, line)
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` with more than one module, and modules that import
    themselves, each sorted (Tarjan's algorithm, iterative so that deep chains do not hit the recursion limit)."""
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(graph[succ])))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph[node]:
                        cycles.append(sorted(component))
    return cycles


def describe_cycle(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    """The component's modules and, for each, the imports that stay inside the component (with line numbers)."""
    members = set(component)
    lines = [" <-> ".join(component)]
    for module in component:
        for target, line in graph[module].items():
            if target in members:
                lines.append(f"    {module}:{line} imports {target}")
    return "\n".join(lines)


def test_no_import_cycles():
    graph = import_graph()
    cycles = import_cycles(graph)
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(describe_cycle(graph, c) for c in cycles)


def test_the_cycle_check_catches_cycles(tmp_path):
    """A registry that imports its members inside a function while a member imports it back, a package
    ``__init__`` whose submodule imports names from it, and a self-import are cycles; siblings imported by full
    path, a relative import of a sibling and an ``__init__`` importing an acyclic submodule are not."""
    package = tmp_path / "toy"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from toy.registry import load\n",
        "registry.py": "def load():\n    from toy import member  # noqa\n",
        "member.py": "from .registry import load\nfrom toy import base\n",
        "base.py": "import toy.leaf\n",
        "leaf.py": "",
        "selfish.py": "def f():\n    import toy.selfish\n",
        "sub/__init__.py": "from toy.sub.part import VALUE\nfrom . import clean\n",
        "sub/part.py": "from toy.sub import OTHER\nVALUE = 1\n",
        "sub/clean.py": "from ..leaf import *\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    graph = import_graph(package)
    assert graph["toy.member"] == {"toy.registry": 1, "toy.base": 2}
    assert graph["toy.sub.clean"] == {"toy.leaf": 1}
    assert import_cycles(graph) == [["toy.member", "toy.registry"], ["toy.selfish"], ["toy.sub", "toy.sub.part"]]
    (package / "registry.py").write_text("import importlib\n\ndef load():\n    importlib.import_module('toy.member')\n")
    (package / "selfish.py").write_text("")
    (package / "sub/part.py").write_text("VALUE = 1\n")
    assert import_cycles(import_graph(package)) == []


APP_MODULE_LINES = 450  # an app module longer than this holds code that belongs below app/ or in a new view


@pytest.mark.parametrize("path", sorted((PACKAGE / "app").glob("*.py")), ids=lambda p: p.name)
def test_app_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= APP_MODULE_LINES, f"{path.name} has {lines} lines; split it (state, views, or below app/)"
