"""One name, one meaning: two modules of webapp/ and ml/ may share a file name only when they play
the same role in parallel places (each domain's `service.py`, each view package's `routes.py`,
the admin view named for the resource it serves) and each says so, naming its twin."""

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _modules() -> dict[str, list[Path]]:
    by_name = defaultdict(list)
    for root in ("webapp", "ml"):
        for path in (REPO / root).rglob("*.py"):
            if path.name != "__init__.py":
                by_name[path.name].append(path)
    return {name: paths for name, paths in by_name.items() if len(paths) > 1}


def _names_a_twin(doc: str, twins: list[Path]) -> bool:
    """Whether a module docstring names one of its twins (dotted, or as package/file.py)."""
    for rel in twins:
        dotted = ".".join(rel.with_suffix("").parts)
        if dotted in doc or "/".join(rel.parts[-2:]) in doc:
            return True
    return False


def test_modules_sharing_a_name_say_which_twin_they_parallel():
    silent = []
    for paths in _modules().values():
        for path in paths:
            twins = [p.relative_to(REPO) for p in paths if p != path]
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            if not _names_a_twin(doc, twins):
                silent.append(
                    f"{path.relative_to(REPO)} (shares its name with {', '.join(map(str, twins))})"
                )
    assert not silent, (
        "modules that share a file name without saying which module they parallel (rename one, "
        "or say in its docstring which it parallels and why):\n" + "\n".join(sorted(silent))
    )


def test_the_check_tells_a_silent_twin_from_one_that_says_so():
    twin = [Path("webapp/admin/tasks.py")]
    assert not _names_a_twin("Classification tasks: creating one, listing.", twin)
    assert _names_a_twin("`webapp/admin/tasks.py` is its admin API.", twin)
    assert _names_a_twin("See webapp.admin.tasks.", twin)
