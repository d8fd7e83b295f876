"""Every setting is read through webapp/config.py, with its default there, and listed in the README."""

import ast
import re
from pathlib import Path

from webapp import config

ROOT = Path(__file__).resolve().parents[2]
WEBAPP = ROOT / "webapp"
READERS = {
    "_flag",
    "_float",
    "_int",
    "_text",
}  # config.py's typed readers: their first argument is a variable


def readme_variables() -> set[str]:
    """The variables in the first column of the README's configuration table."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}


def environment_reads(path: Path) -> set[str]:
    """Names read from the environment in a Python file: os.environ[...], os.environ.get(...), os.getenv(...),
    and config.py's typed readers."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            fn = node.func
            dotted = ast.unparse(fn)
            if dotted in ("os.environ.get", "os.getenv", "environ.get") or (
                path.name == "config.py" and isinstance(fn, ast.Name) and fn.id in READERS
            ):
                names.add(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and ast.unparse(node.value) in ("os.environ", "environ")
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(node.slice.value)
    return names


def shell_reads(path: Path) -> set[str]:
    """Variables a shell script reads with a default (${NAME:-default})."""
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]+):-", path.read_text()))


def test_every_config_key_is_listed_in_the_readme(monkeypatch, tmp_path):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    listed = readme_variables()
    missing = [
        key
        for key in config.load_config()
        if key not in config.FIXED and config.VARIABLE_OF.get(key, key) not in listed
    ]
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_the_readme_lists_only_variables_something_reads():
    read = environment_reads(WEBAPP / "config.py") | shell_reads(ROOT / "scripts" / "serve")
    assert readme_variables() - read == set()


def test_the_environment_is_read_only_in_config():
    outside = {
        str(path.relative_to(ROOT)): names
        for path in sorted(WEBAPP.rglob("*.py"))
        if path.name != "config.py" and (names := environment_reads(path))
    }
    assert not outside, f"read these through current_app.config (webapp/config.py): {outside}"


def test_no_setting_has_a_second_default():
    """`config.get("KEY", default)` hides a second default beside load_config's: read config["KEY"]."""
    keys = set(config.load_config())
    found = []
    for path in sorted(WEBAPP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and ast.unparse(node.func.value).endswith("config")
                and len(node.args) == 2
                and isinstance(node.args[0], ast.Constant)
            ):
                found.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.args[0].value}"
                    + ("" if node.args[0].value in keys else " (not a setting load_config defines)")
                )
    assert not found, found


def test_nsts_evaluation_cap_has_one_default_nsts_own(monkeypatch, tmp_path):
    """Unset, NST_MAX_EVALS leaves nst its own cap (ml.style.nst.MAX_EVALS), not a copy of it."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("NST_MAX_EVALS", raising=False)
    assert config.load_config()["NST_MAX_EVALS"] is None
    monkeypatch.setenv("NST_MAX_EVALS", "12")
    assert config.load_config()["NST_MAX_EVALS"] == 12
