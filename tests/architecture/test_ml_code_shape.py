"""The shape of ml/'s code: short functions, imports at the top, and no TensorFlow on the web path.

The rule (ml/__init__.py): a function of ml/ is at most ``MAX_FUNCTION_LINES`` long, and it
imports nothing unless the import must wait, which its line says with a ``# lazy: <why>``
comment (TensorFlow in a module the web app imports without running a model, an optional
backend). The web app's pages and API reads, and the modules named in ``WEB_PATH_MODULES``,
load no TensorFlow: a web worker that serves no model answers fast and stays small.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ML = ROOT / "ml"
MAX_FUNCTION_LINES = 60
HEAVY = ("tensorflow", "keras", "onnx")
# Modules the web app imports without running a model: the style methods it offers, the presets
# they name, the model-folder registry, decoding uploads, and `flask data`'s folder reading.
WEB_PATH_MODULES = (
    "ml.style.methods",
    "ml.style.fast_style",
    "ml.kinds",
    "ml.common.images",
    "ml.classify.data",
    "ml.classify.evaluate",
)


def _functions(path: Path):
    """(qualified name, first line, last line, node) of every function in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                yield name, child.lineno, child.end_lineno, child
                yield from walk(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def _ml_files():
    return sorted(ML.rglob("*.py"))


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_no_ml_function_is_longer_than_60_lines():
    too_long = [
        f"{_where(path, first)} {name}: {last - first + 1} lines"
        for path in _ml_files()
        for name, first, last, _ in _functions(path)
        if last - first + 1 > MAX_FUNCTION_LINES
    ]
    assert not too_long, (
        f"functions over {MAX_FUNCTION_LINES} lines (split them into named steps):\n"
        + "\n".join(too_long)
    )


def test_ml_imports_inside_functions_say_why_they_wait():
    hidden = []
    for path in _ml_files():
        lines = path.read_text().splitlines()
        seen = set()
        for _, _, _, function in _functions(path):
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)) or node.lineno in seen:
                    continue
                seen.add(node.lineno)
                text = " ".join(lines[node.lineno - 1 : node.end_lineno])
                if "# lazy:" not in text:
                    hidden.append(f"{_where(path, node.lineno)} {lines[node.lineno - 1].strip()}")
    assert not hidden, (
        "imports inside functions without a '# lazy: <why>' comment (move them to the top):\n"
        + "\n".join(hidden)
    )


def _loaded_after(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a fresh interpreter at the repository root; the heavy modules it loaded."""
    probe = (
        f"import json, sys\n{code}\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_web_app_serves_pages_and_reads_without_loading_tensorflow(tmp_path):
    code = f"""
import io
from pathlib import Path
from tests.conftest import build_app, image_bytes, make_config
app = build_app(make_config(Path({str(tmp_path)!r})))
client = app.test_client()
for url in ("/", "/api/styles", "/api/tasks", "/api/styles/preset/ready", "/healthz"):
    assert client.get(url).status_code == 200, url
upload = {{"image": (io.BytesIO(image_bytes()), "photo.jpg")}}
answer = client.post("/api/classify", data=upload, content_type="multipart/form-data")
assert answer.status_code == 200 and answer.get_json()["model_version"] is None, answer.data
"""
    assert _loaded_after(code, tmp_path) == dict.fromkeys(HEAVY, False)


@pytest.mark.parametrize("module", WEB_PATH_MODULES)
def test_web_path_ml_modules_load_no_tensorflow(module, tmp_path):
    assert _loaded_after(f"import {module}", tmp_path) == dict.fromkeys(HEAVY, False)
