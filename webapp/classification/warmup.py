"""Load every deployed classifier in the background when a web worker starts.

Without it the first classify request of each worker pays for importing TensorFlow and loading
the model (seconds); with it that happens while the worker is idle.
"""

from __future__ import annotations

import threading

from flask import Flask

from webapp.classification import service as classify_service
from webapp.extensions import db
from webapp.jobs.background import in_background
from webapp.models import Task


def _warm_classifiers() -> None:
    """Register the shipped face models on a fresh install, then load every deployed classifier once."""
    for task in db.session.scalars(db.select(Task).where(Task.enabled.is_(True))).all():
        mv, model = classify_service.serving_model(task)
        if model is not None:
            classify_service.warm(model)  # trace the model's function now, not in a request


def start(app: Flask) -> threading.Thread:
    """Warm `app`'s deployed classifiers in a daemon thread."""
    return in_background(app, _warm_classifiers, "model-warmup")
