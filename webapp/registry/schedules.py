"""Periodic retraining: due schedules start a retrain unless nothing new arrived since the last run."""

from __future__ import annotations

import datetime as dt

from flask import current_app

from webapp.exceptions import DomainError
from webapp.extensions import db
from webapp.registry import targets
from webapp.tables import Schedule, utcnow


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def new_feedback_since(target: str, since: dt.datetime | None) -> int:
    """How many labels (task) or ratings (style model) arrived after `since`."""
    kind = targets.resolve_or_none(target)
    return kind.new_feedback_since(target, since) if kind else 0


def is_due(schedule: Schedule, now: dt.datetime) -> bool:
    """True when the schedule's period has passed since its last run (or it never ran)."""
    last = _aware(schedule.last_run)
    return schedule.enabled and (
        last is None or now - last >= dt.timedelta(hours=schedule.every_hours)
    )


def run_due_schedules(now: dt.datetime | None = None) -> list[str]:
    """Start the retrains that are due; return the job ids started."""
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
        try:
            job = targets.start_retrain(schedule.target, f"schedule:{schedule.target}")
            schedule.last_job_id, schedule.last_outcome = (
                job.id,
                f"started a retrain ({fresh} new since last run)",
            )
            started.append(job.id)
        except DomainError as exc:
            schedule.last_outcome = f"skipped: {exc.message}"
        db.session.commit()
        current_app.logger.info("schedule %s: %s", schedule.target, schedule.last_outcome)
    return started
