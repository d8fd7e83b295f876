"""Periodic retraining: the schedules an admin sets (listed, created or changed, deleted), and due
schedules starting a retrain unless nothing new arrived since the last run.

`webapp/admin/schedules.py` is its admin API (admin modules are named for the resource they serve).
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from webapp.exceptions import DomainError, Invalid, NotFound
from webapp.extensions import db
from webapp.registry import targets
from webapp.tables import Schedule, utcnow

MIN_HOURS, MAX_HOURS = 0.05, 24 * 90


def every() -> list[Schedule]:
    """Every schedule, by target."""
    return list(db.session.scalars(db.select(Schedule).order_by(Schedule.target)))


def upsert(target: str, every_hours: object, enabled: bool, actor: str) -> Schedule:
    """Create or change the schedule of `target` (committed); NotFound for a target that cannot
    be retrained, Invalid for a period outside MIN_HOURS..MAX_HOURS."""
    targets.from_request({"task" if targets.is_task(target) else "style": target})
    if (
        isinstance(every_hours, bool)
        or not isinstance(every_hours, (int, float))
        or not MIN_HOURS <= every_hours <= MAX_HOURS
    ):
        raise Invalid(f"'every_hours' must be a number of hours from {MIN_HOURS} to {MAX_HOURS}.")
    row = db.session.scalar(db.select(Schedule).where(Schedule.target == target))
    if row is None:
        row = Schedule(target=target, every_hours=float(every_hours), created_by=actor)
        db.session.add(row)
    row.every_hours, row.enabled = float(every_hours), enabled
    db.session.commit()
    return row


def delete(target: str) -> None:
    """Stop retraining `target` periodically (committed); NotFound when it has no schedule."""
    row = db.session.scalar(db.select(Schedule).where(Schedule.target == target))
    if row is None:
        raise NotFound(f"No schedule for {target!r}.")
    db.session.delete(row)
    db.session.commit()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def new_feedback_since(target: str, since: dt.datetime | None) -> int:
    """How many labels (task) or ratings (style model) arrived after `since`."""
    family = targets.resolve_or_none(target)
    return family.new_feedback_since(target, since) if family else 0


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
