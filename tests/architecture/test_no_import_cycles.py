"""webapp/ and ml/ have no import cycles, function-local imports included (they hide cycles, not
remove them); ml/'s subpackages never call up into its top-level entry points."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "webapp"
ML = REPO / "ml"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The webapp modules `path` imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            targets = [f"{stem}.{a.name}" for a in node.names] + [stem]
        else:
            continue
        found |= {t for t in targets if t in modules}
    # A module always runs its parent packages' __init__ first; importing from them is no cycle.
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return found - {name} - ancestors


def _graph(root: Path = ROOT) -> dict[str, set[str]]:
    paths = {_module(p): p for p in root.rglob("*.py")}
    return {name: _imports(path, name, set(paths)) for name, path in paths.items()}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in graph[node]:
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


def test_graph_sees_local_imports():
    graph = _graph()
    assert "webapp.jobs.runner" in graph["webapp.jobs.queue"]  # a top-level import
    assert "webapp.jobs.worker" in graph["webapp.cli.commands"]  # a function-local one


@pytest.mark.parametrize("root", [ROOT, ML], ids=["webapp", "ml"])
def test_no_import_cycles(root):
    graph = _graph(root)
    cycles = [c for m in sorted(graph) if (c := _cycle_from(m, graph))]
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_ml_graph_sees_local_imports():
    graph = _graph(ML)
    assert "ml.common.modeldir" in graph["ml.kinds"]  # a top-level import
    assert "ml.style.fast_style" in graph["ml.style.nst"]  # a function-local one


def test_ml_is_layered():
    """ml/ is a few entry points (the CLIs and the kinds registry) over subpackages: the
    subpackages never import an entry point, and ml.common imports no other part of ml/."""
    graph = _graph(ML)
    entry_points = {m for m in graph if m.count(".") == 1 and not (ML / m.split(".")[1]).is_dir()}
    assert {"ml.train", "ml.evaluate", "ml.stylize", "ml.kinds"} <= entry_points
    assert len(list(ML.glob("*.py"))) <= 6, sorted(p.name for p in ML.glob("*.py"))
    upward = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        if m.count(".") > 1
        for d in deps & entry_points
    )
    assert upward == [], "subpackages must not call up: " + "; ".join(upward)
    common = sorted(
        f"{m} imports {d}"
        for m, deps in graph.items()
        if m.startswith("ml.common")
        for d in deps
        if not d.startswith("ml.common")
    )
    assert common == [], "ml.common must stand alone: " + "; ".join(common)


def _blueprint_modules() -> set[str]:
    """Modules that define routes: they create a Blueprint or decorate views with one."""
    found = set()
    for path in ROOT.rglob("*.py"):
        source = path.read_text()
        if "Blueprint(" in source or "@bp." in source:
            found.add(_module(path))
    return found


def test_blueprints_are_imported_by_the_app_factory_only():
    graph, blueprints = _graph(), _blueprint_modules()
    assert {
        "webapp.api",
        "webapp.admin.models",
        "webapp.ops.routes",
    } <= blueprints  # the rule sees them
    package = lambda m: m.rsplit(".", 1)[0] if m.count(".") > 1 else m  # noqa: E731
    wrong = sorted(
        f"{m} imports {b}"
        for m, deps in graph.items()
        if m != "webapp"
        for b in deps & blueprints
        if package(b) != package(m) and not b.startswith(m + ".")
    )
    assert wrong == [], "services must not depend on views: " + "; ".join(wrong)
