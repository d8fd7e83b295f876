"""Load every deployed classifier in the background when a web worker starts.

Without it the first classify request of each worker pays for importing TensorFlow and loading
the model (seconds); with it that happens while the worker is idle.
"""
from __future__ import annotations

import threading

from flask import Flask


def in_background(app: Flask, work, name: str) -> threading.Thread:
    """Run `work()` in `app`'s context in a daemon thread; a failure is logged, never raised.

    A cold start is slower, never broken: whatever `work` warms is loaded on first use instead.
    """
    def run() -> None:
        from webapp.extensions import db

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


def _warm_classifiers() -> None:
    from webapp.classification import service as classify_service
    from webapp.extensions import db
    from webapp.models import Task

    for task in db.session.scalars(db.select(Task)).all():
        classify_service.serving_model(task)


def start(app: Flask) -> threading.Thread:
    """Warm `app`'s deployed classifiers in a daemon thread."""
    return in_background(app, _warm_classifiers, "model-warmup")
