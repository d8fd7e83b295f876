"""Load every deployed classifier in the background when a web worker starts, and each new
deployment as soon as it happens.

Without it the first classify request of each worker pays for importing TensorFlow and loading
the model (seconds); with it that happens while the worker is idle. After a deploy (a retrain
promoted by a train worker, a promote or rollback by an admin) the watcher loads the new version
within `WATCH_SECONDS`, so the first request after a deploy is as fast as the rest.
"""

from __future__ import annotations

import threading

from flask import Flask

from webapp.classification import service as classify_service
from webapp.classification import shipped
from webapp.extensions import db
from webapp.jobs.background import in_background
from webapp.registry import versions as registry
from webapp.tables import Task

WATCH_SECONDS = 3.0


def _warm_classifiers() -> None:
    """Register the shipped face models on a fresh install, then load every deployed classifier once."""
    for task in db.session.scalars(db.select(Task).where(Task.enabled.is_(True))).all():
        mv, model = classify_service.serving_model(task)
        shipped.want_evidence(mv)  # an install that registered v1 before evidence existed
        if model is not None:
            classify_service.warm(model)  # trace the model's function now, not in a request


def _load_new_deployments() -> None:
    """Load (and run once) every deployed version this process has not loaded yet."""
    for task in db.session.scalars(db.select(Task).where(Task.enabled.is_(True))).all():
        mv = registry.deployed(task.name)
        if mv is not None and not registry.is_loaded(mv):
            try:
                classify_service.warm(registry.load(mv))
            except registry.ModelRefused:
                pass  # remembered by the registry; requests keep the last good version


def _watch(app: Flask, stop: threading.Event) -> None:
    _warm_classifiers()
    while not stop.wait(WATCH_SECONDS):
        try:
            _load_new_deployments()
        except Exception:  # a database hiccup must not end the watcher
            app.logger.exception("watching for new deployments failed; retrying")
        finally:
            db.session.remove()


def start(app: Flask, stop: threading.Event | None = None) -> threading.Thread:
    """Warm `app`'s deployed classifiers, then keep loading new deployments, in a daemon thread."""
    stop = stop or threading.Event()
    return in_background(app, lambda: _watch(app, stop), "model-warmup")
