"""Warm-up and job threads never import TensorFlow at once.

In a fresh process, threads that import the style code (and so TensorFlow) at the same moment
hit Python's import deadlock detection and leave TensorFlow half-imported for good (what a style
worker restarted with queued `nst`, `arbitrary` and `preset` jobs did). The worker imports it in
its main thread first (`import_ml`); after that the same threads run cleanly. When TensorFlow
is broken anyway, the worker's self-check sees it (and the worker exits for a fresh one).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.services import REPO, app_env

pytestmark = pytest.mark.slow

RACE = """
import json, sys, threading
from webapp.jobs import health
from webapp.jobs.background import import_ml
from webapp.jobs.worker import ML_MODULES

if sys.argv[1] == "main-thread-first":
    import_ml(*ML_MODULES["style"])
errors = []

def use(name):
    try:
        import importlib
        module = importlib.import_module(name)
        if name == "ml.style.nst":
            module.feature_extractor("hed")
        health.self_check()
    except Exception as exc:
        errors.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")

threads = [threading.Thread(target=use, args=(n,)) for n in ("ml.style.fast_style", "ml.style.nst", "ml.stylize")]
for t in threads:
    t.start()
for t in threads:
    t.join()
try:
    health.self_check()
    check = "ok"
except Exception as exc:
    check = f"{type(exc).__name__}: {exc}"
print("RESULT " + json.dumps({"errors": errors, "self_check": check}))
"""


def race(mode: str, tmp_path) -> dict:
    env = app_env({"INSTANCE_DIR": str(tmp_path)})
    done = subprocess.run(
        [sys.executable, "-c", RACE, mode],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    line = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(line[-1][len("RESULT ") :])


def test_threads_use_tensorflow_cleanly_once_the_main_thread_imported_it(tmp_path):
    result = race("main-thread-first", tmp_path)
    assert result == {"errors": [], "self_check": "ok"}


def test_a_concurrent_first_import_that_breaks_tensorflow_is_seen_by_the_self_check(tmp_path):
    result = race("threads-only", tmp_path)
    if not result["errors"]:
        pytest.skip("the threads did not collide this time")
    assert result["self_check"] != "ok", result
