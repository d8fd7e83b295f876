"""Prometheus metrics computed from the database, so every web worker reports the same."""

from __future__ import annotations

from flask import current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from webapp.extensions import db
from webapp.tables import Classification, Feedback, Image, Job, Rating, Stylization, Task


def _grouped(column, *group):
    return db.session.execute(db.select(*group, db.func.count(column)).group_by(*group)).all()


class DatabaseCollector:
    """Counts of images, classifications, feedback, stylizations, ratings and jobs."""

    def collect(self):
        yield self._simple("celebvision_images", "Distinct images stored", Image.id)
        yield self._by(
            "celebvision_classifications",
            "Classifications per task",
            ["task"],
            db.session.execute(
                db.select(Task.name, db.func.count(Classification.id))
                .join(Task, Task.id == Classification.task_id)
                .group_by(Task.name)
            ).all(),
        )
        yield self._by(
            "celebvision_feedback",
            "Label feedback per task and agreement",
            ["task", "agrees"],
            db.session.execute(
                db.select(Task.name, Feedback.agrees, db.func.count(Feedback.id))
                .join(Task, Task.id == Feedback.task_id)
                .group_by(Task.name, Feedback.agrees)
            ).all(),
        )
        yield self._by(
            "celebvision_stylizations",
            "Stylizations per method and status",
            ["method", "status"],
            db.session.execute(  # a stylization's status is its job's
                db.select(Stylization.method, Job.status, db.func.count(Stylization.id))
                .join(Job, Job.id == Stylization.job_id)
                .group_by(Stylization.method, Job.status)
            ).all(),
        )
        yield self._by(
            "celebvision_ratings",
            "Ratings per star count",
            ["stars"],
            _grouped(Rating.id, Rating.stars),
        )
        yield self._by(
            "celebvision_jobs",
            "Jobs per kind and status",
            ["kind", "status"],
            _grouped(Job.id, Job.kind, Job.status),
        )
        queue = GaugeMetricFamily(
            "celebvision_queue_pending", "Jobs waiting in each queue", labels=["queue"]
        )
        for name in ("style", "train"):
            try:
                queue.add_metric([name], current_app.extensions["queue"].pending(name))
            except Exception:
                pass
        yield queue

    @staticmethod
    def _simple(name, doc, column):
        return GaugeMetricFamily(
            name, doc, value=db.session.scalar(db.select(db.func.count(column)))
        )

    @staticmethod
    def _by(name, doc, labels, rows):
        family = GaugeMetricFamily(name, doc, labels=labels)
        for *keys, count in rows:
            family.add_metric([str(k).lower() if k is not None else "none" for k in keys], count)
        return family

    def describe(self):
        return []


def render() -> bytes:
    """The metrics page."""
    registry = CollectorRegistry()
    registry.register(DatabaseCollector())
    return generate_latest(registry)
