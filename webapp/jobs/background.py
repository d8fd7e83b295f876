"""Work that runs beside a process's main job: daemon threads in the app's context."""

from __future__ import annotations

import threading

from flask import Flask

from webapp.extensions import db

# Held while a thread builds or loads models (a style worker's warm-up, a job's preparation):
# Keras model building in two threads of one process at once is not safe.
MODELS_LOCK = threading.RLock()


def with_models_lock(work):
    """Call `work()` holding MODELS_LOCK."""
    with MODELS_LOCK:
        return work()


def in_background(app: Flask, work, name: str) -> threading.Thread:
    """Run `work()` in `app`'s context in a daemon thread; a failure is logged, never raised.

    A cold start is slower, never broken: whatever `work` warms is loaded on first use instead.
    """

    def run() -> None:
        with app.app_context():
            try:
                work()
            except Exception:
                app.logger.exception("%s failed; models load on first use instead", name)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def import_ml(*modules: str) -> None:
    """Import TensorFlow (and `modules`) now, in the calling (main) thread.

    Call it before starting warm-up or job threads: two threads importing TensorFlow at once can
    deadlock on Python's import locks, and a failed half-import leaves TensorFlow's op registry
    broken for the life of the process ("Registering two gradient with name 'ReduceDataset'").
    """
    import importlib

    import tensorflow  # noqa: F401

    for name in ("keras", *modules):
        importlib.import_module(name)
