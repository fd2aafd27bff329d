"""The core stays a clean core: dependencies inside `isolation/` run one way (no cycles, not
even through imports deferred into functions), and nothing in it imports a feature package.
It counts what it decides through `observability/metrics.py` only, a leaf that imports
nothing of the app."""
import ast
from pathlib import Path

import finance_app

PACKAGE = Path(finance_app.__file__).parent
CORE = PACKAGE / "isolation"
FEATURES = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()
            and p.name not in ("isolation", "observability")}
METRICS = PACKAGE / "observability" / "metrics.py"


def imports_of(path):
    """(core modules, top-level finance_app modules) imported anywhere in `path`."""
    core, app = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        names = [a.name for a in node.names]
        module = node.module or ""
        if node.level == 1:  # from .x import y / from . import x
            core.update([module.split(".")[0]] if module else names)
        elif node.level == 2:  # from ..x import y
            app.add(module.split(".")[0])
        elif module.startswith("finance_app."):
            parts = module.split(".")
            (core if parts[1] == "isolation" else app).add(parts[2] if parts[1] == "isolation"
                                                          and len(parts) > 2 else parts[1])
    return core, app


def core_graph():
    return {p.stem: imports_of(p)[0] - {"__init__"} for p in CORE.glob("*.py")
            if p.stem != "__init__"}


def test_the_core_imports_no_feature_package():
    for path in CORE.glob("*.py"):
        features = imports_of(path)[1] & FEATURES
        assert not features, f"{path.name} imports feature package(s) {sorted(features)}"


def test_no_import_cycle_inside_the_core():
    graph = core_graph()
    assert {"keys", "escape"} <= set(graph)
    state = {}

    def visit(module, trail):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", f"import cycle: {' -> '.join(trail + [module])}"
        state[module] = "open"
        for dependency in sorted(graph.get(module, ())):
            visit(dependency, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_leaf_modules_depend_on_nothing_in_the_core():
    graph = core_graph()
    for leaf in ("keys", "escape"):
        assert not graph[leaf], f"{leaf}.py imports {sorted(graph[leaf])} of the core"


def observability_imports(path):
    """The modules of observability/ that `path` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            module = (node.module or "").removeprefix("finance_app.")
            if node.level in (0, 2) and module == "observability":
                found.update(a.name for a in node.names)
            elif node.level in (0, 2) and module.startswith("observability."):
                found.add(module.split(".")[1])
    return found


def test_the_core_counts_through_the_metrics_leaf_only():
    used = set().union(*(observability_imports(path) for path in CORE.glob("*.py")))
    assert used == {"metrics"}
    tree = ast.parse(METRICS.read_text())
    app_imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                   and (node.level or (node.module or "").startswith("finance_app"))]
    assert not app_imports, "observability/metrics.py must import nothing of the app"
