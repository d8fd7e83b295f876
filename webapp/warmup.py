"""Load every deployed classifier in the background when a web worker starts.

Without it the first classify request of each worker pays for importing TensorFlow and loading
the model (seconds); with it that happens while the worker is idle.
"""
from __future__ import annotations

import threading

from flask import Flask


def _warm(app: Flask) -> None:
    from . import classify_service
    from .extensions import db
    from .models import Task

    with app.app_context():
        try:
            for task in db.session.scalars(db.select(Task)).all():
                classify_service.serving_model(task)
        except Exception:  # a cold start is slower, never broken
            app.logger.exception("model warm-up failed; models load on first use instead")
        finally:
            db.session.remove()


def start(app: Flask) -> threading.Thread:
    """Warm `app`'s models in a daemon thread."""
    thread = threading.Thread(target=_warm, args=(app,), name="model-warmup", daemon=True)
    thread.start()
    return thread
