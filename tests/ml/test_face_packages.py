"""The face package sits in one place among ml's packages: no package imports ml.faces while
ml.faces imports it back (counting function-local imports too)."""

from __future__ import annotations

import ast
from pathlib import Path

ML = Path(__file__).resolve().parents[2] / "ml"


def package_of(module: str) -> str:
    """``ml.faces.align`` -> ``ml.faces``; a top-level module (``ml.kinds``) stands for itself."""
    return ".".join(module.split(".")[:2])


def package_imports() -> dict[str, set[str]]:
    """ml's package -> the other ml packages its modules import (absolute imports, as ml writes them)."""
    edges: dict[str, set[str]] = {}
    for path in ML.rglob("*.py"):
        parts = path.relative_to(ML.parent).with_suffix("").parts
        source = package_of(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("ml.") and package_of(name) != source:
                    edges.setdefault(source, set()).add(package_of(name))
    return edges


def reaches(edges, start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        here = todo.pop()
        if here == goal:
            return True
        if here not in seen:
            seen.add(here)
            todo += sorted(edges.get(here, ()))
    return False


def test_no_package_imports_ml_faces_and_is_imported_back():
    edges = package_imports()
    # face training reads its folders with ml.classify.data: that edge stays, so none may come back
    assert "ml.classify" in edges.get("ml.faces", set())
    loops = [p for p in sorted(edges.get("ml.faces", ())) if reaches(edges, p, "ml.faces")]
    assert loops == [], f"ml.faces and {loops} import each other"
