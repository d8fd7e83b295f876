"""Periodic retraining: due schedules start a retrain unless nothing new arrived since the last run."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from webapp.exceptions import DomainError
from webapp.extensions import db
from webapp.models import Feedback, Rating, Schedule, Stylization, Task, utcnow


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.timezone.utc) if value is not None and value.tzinfo is None else value


def new_feedback_since(target: str, since: dt.datetime | None) -> int:
    """How many labels (task) or ratings (style model) arrived after `since`."""
    task = db.session.scalar(db.select(Task).where(Task.name == target))
    if task is not None:
        query = db.select(db.func.count(Feedback.id)).where(Feedback.task_id == task.id)
        return db.session.scalar(query.where(Feedback.created > since) if since else query)
    query = (db.select(db.func.count(Rating.id)).join(Stylization, Stylization.id == Rating.stylization_id)
             .where(Stylization.method == target))
    return db.session.scalar(query.where(Rating.created > since) if since else query)


def is_due(schedule: Schedule, now: dt.datetime) -> bool:
    """True when the schedule's period has passed since its last run (or it never ran)."""
    last = _aware(schedule.last_run)
    return schedule.enabled and (last is None or now - last >= dt.timedelta(hours=schedule.every_hours))


def run_due_schedules(now: dt.datetime | None = None) -> list[str]:
    """Start the retrains that are due; return the job ids started."""
    from webapp.admin.api import start_retrain

    now, started = now or utcnow(), []
    for schedule in db.session.scalars(db.select(Schedule).where(Schedule.enabled.is_(True))).all():
        if not is_due(schedule, now):
            continue
        previous, schedule.last_run = _aware(schedule.last_run), now
        fresh = new_feedback_since(schedule.target, previous)
        if previous is not None and fresh == 0:
            schedule.last_outcome = "skipped: no new feedback since the last run"
            db.session.commit()
            continue
        is_task = db.session.scalar(db.select(Task.id).where(Task.name == schedule.target)) is not None
        try:
            job = start_retrain(schedule.target, f"schedule:{schedule.target}", "task" if is_task else "style")
            schedule.last_job_id, schedule.last_outcome = job.id, f"started a retrain ({fresh} new since last run)"
            started.append(job.id)
        except DomainError as exc:
            schedule.last_outcome = f"skipped: {exc.message}"
        db.session.commit()
        current_app.logger.info("schedule %s: %s", schedule.target, schedule.last_outcome)
    return started
