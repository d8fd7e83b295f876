"""Layers that never climb, over every module of webapp/ (blueprints included).

Bottom to top (docs/architecture.md): ml < infrastructure < jobs < registry < domains <
composition < views < the app factory. A module imports only modules of its own layer or lower,
function-local imports included; "module:function" strings naming a webapp function count as
imports; and no two packages import each other, directly or round a loop.
"""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WEBAPP, ML = REPO / "webapp", REPO / "ml"

# Bottom to top; a module belongs to the layer of the longest prefix that names it.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ml", ("ml",)),
    (
        "infrastructure",
        (
            "webapp.config",
            "webapp.exceptions",
            "webapp.extensions",
            "webapp.database",
            "webapp.tables",
            "webapp.storage",
            "webapp.uploads",
            "webapp.web",
        ),
    ),
    ("jobs", ("webapp.jobs",)),
    ("registry", ("webapp.registry",)),
    ("domains", ("webapp.classification", "webapp.style", "webapp.retention")),
    ("composition", ("webapp.wiring",)),
    (
        "views",
        (
            "webapp.api",
            "webapp.auth",
            "webapp.admin",
            "webapp.ops",
            "webapp.pages",
            "webapp.cli",
            "webapp.apidocs",
        ),
    ),
    ("app factory", ("webapp",)),
)
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}
HANDLER_STRING = re.compile(r"^(webapp(?:\.\w+)+):\w+$")


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules(root: Path) -> dict[str, Path]:
    return {_module(p): p for p in root.rglob("*.py")}


KNOWN = {**_modules(WEBAPP), **_modules(ML)}


def _resolve(name: str) -> str | None:
    """The module `name` is, or lives in (a class or function imported from a module)."""
    while name and name not in KNOWN:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(path: Path) -> set[str]:
    """Every webapp or ml module `path` imports anywhere in its body, and every webapp module a
    "module:function" string in it names."""
    name = _module(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {_resolve(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            found |= {_resolve(f"{stem}.{a.name}") for a in node.names}
    return (found | handler_strings(path)) - {None, name}


def handler_strings(path: Path) -> set[str]:
    """The webapp modules that "module:function" strings in `path` name."""
    return {
        _resolve(match.group(1))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if (match := HANDLER_STRING.match(node.value))
    } - {None}


def layer_of(module: str) -> str:
    best = max(
        (
            (prefix, layer)
            for layer, prefixes in LAYERS
            for prefix in prefixes
            if module == prefix or module.startswith(prefix + ".")
        ),
        key=lambda found: len(found[0]),
        default=(None, None),
    )
    assert best[1] is not None, f"{module} belongs to no layer: place it in LAYERS"
    return best[1]


def package_of(module: str) -> str:
    """webapp's second-level package (or top-level module) a module is part of; ml is one."""
    parts = module.split(".")
    return "ml" if parts[0] == "ml" else ".".join(parts[:2])


def _graph() -> dict[str, set[str]]:
    return {name: imports_of(path) for name, path in _modules(WEBAPP).items()}


def test_the_check_sees_every_kind_of_import(tmp_path):
    graph = _graph()
    assert "webapp.jobs.runner" in graph["webapp.jobs.queue"]  # a top-level import
    assert "webapp.jobs.worker" in graph["webapp.cli.commands"]  # a function-local one
    assert "webapp.retention" in graph["webapp.cli.data_commands"]  # `from webapp import retention`
    assert "webapp.wiring" in graph["webapp"]
    source = tmp_path / "probe.py"
    source.write_text('HANDLER = "webapp.style.render:run_stylization"\n')
    assert handler_strings(source) == {"webapp.style.render"}


def test_every_module_has_a_layer():
    for module in _modules(WEBAPP):
        layer_of(module)


def test_no_module_imports_a_higher_layer():
    climbs = sorted(
        f"{m} ({layer_of(m)}) imports {d} ({layer_of(d)})"
        for m, deps in _graph().items()
        for d in deps
        if RANK[layer_of(d)] > RANK[layer_of(m)]
    )
    assert climbs == [], "layers climb:\n" + "\n".join(climbs)


def _package_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one package (Tarjan)."""
    edges: dict[str, set[str]] = {}
    for m, deps in graph.items():
        edges.setdefault(package_of(m), set()).update(
            package_of(d) for d in deps if package_of(d) != package_of(m)
        )
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_package_level_loop():
    graph = _graph()
    loops = _package_cycles(graph)
    detail = [
        f"{' <-> '.join(group)}: "
        + "; ".join(
            f"{m} -> {d}"
            for m, deps in sorted(graph.items())
            for d in sorted(deps)
            if package_of(m) in group and package_of(d) in group and package_of(m) != package_of(d)
        )
        for group in loops
    ]
    assert loops == [], "packages import each other:\n" + "\n".join(detail)


def test_the_loop_check_finds_a_loop():
    graph = {
        "webapp.a.x": {"webapp.b.y"},
        "webapp.b.y": {"webapp.c.z"},
        "webapp.c.z": {"webapp.a.w"},
    }
    assert _package_cycles(graph) == [["webapp.a", "webapp.b", "webapp.c"]]


def test_ml_never_imports_the_web_app():
    wrong = sorted(
        f"{_module(path)} imports {alias}"
        for path in ML.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if alias.split(".")[0] in ("webapp", "flask", "flask_sqlalchemy")
    )
    assert wrong == [], "ml/ must not import the web app: " + "; ".join(wrong)
