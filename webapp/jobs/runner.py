"""A job's life: created queued, run by a worker with progress and heartbeat, always ended."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import update

from webapp.exceptions import Conflict
from webapp.extensions import db
from webapp.jobs import health
from webapp.jobs.job_types import handler_for, names_in, queue_for, time_limit_key
from webapp.tables import Job, utcnow
from webapp.tables.columns import iso

LOG_REPEAT_SECONDS = 5.0
HARD_LIMIT_EXIT = (
    4  # the exit status of a worker whose job overran its time limit and would not stop
)


def stale_seconds() -> float:
    """After how long without a heartbeat a running job counts as abandoned by its worker."""
    return float(current_app.config["JOB_STALE_SECONDS"])


def heartbeat_seconds() -> float:
    """Beat well inside the stale window, so a live job is never mistaken for a dead one."""
    return min(5.0, stale_seconds() / 4)


class JobCancelled(Exception):
    """The job was cancelled by a person."""


def create_job(
    job_type: str,
    *,
    target: str | None = None,
    params: dict | None = None,
    created_by: str | None = None,
) -> Job:
    """Add a queued Job row (committed by the caller, enqueued after the commit)."""
    job = Job(
        id=str(uuid.uuid4()),
        kind=job_type,
        target=target,
        params=params or {},
        created_by=created_by,
        status="queued",
    )
    db.session.add(job)
    return job


def describe_job(job: Job) -> dict:
    """The API's view of a job."""
    return {
        "id": job.id,
        "kind": job.kind,
        "target": job.target,
        "status": job.status,
        "progress": round(job.progress, 4),
        "log_tail": job.log_tail(),
        "result": job.result,
        "error": job.error,
        "created": iso(job.created),
        "started": iso(job.started),
        "finished": iso(job.finished),
        "created_by": job.created_by,
    }


def recent_jobs(limit: int, job_type: str | None = None) -> list[Job]:
    """The newest `limit` jobs (of type `job_type` only, when given), newest first."""
    query = db.select(Job).order_by(Job.created.desc()).limit(limit)
    if job_type:
        query = query.where(Job.kind == job_type)
    return list(db.session.scalars(query))


def active_count() -> int:
    """How many jobs are queued or running."""
    return db.session.scalar(
        db.select(db.func.count(Job.id)).where(Job.status.in_(("queued", "running")))
    )


def enqueue(job: Job) -> None:
    """Hand a committed job to the queue (the lane for its type and target)."""
    current_app.extensions["queue"].enqueue(job.kind, job.id, job.target)


def time_limit(job: Job) -> float:
    """How many seconds a job of this type and target may run (STYLE_/NST_/TRAIN_JOB_SECONDS)."""
    return float(current_app.config[time_limit_key(job.kind, job.target)])


def over_time_message(limit: float) -> str:
    return (
        f"Took longer than {limit:.0f} s, this kind of job's time limit; try a smaller size "
        "or a faster method."
    )


class JobContext:
    """What a handler uses to report progress, log lines and learn of cancellation."""

    def __init__(
        self,
        job_id: str,
        on_progress: Callable[[float], None] | None = None,
        deadline: float | None = None,
    ):
        self.job_id = job_id
        self.on_progress = on_progress
        self.deadline = deadline  # time.monotonic() after which should_stop says stop
        self.over_time = False
        self._last_write = 0.0
        self._last_line: tuple[str, float] = ("", 0.0)  # shape of the last logged message, when
        self._cancel_checked = 0.0
        self._cancelled = False

    def _update(self, **values) -> None:
        db.session.execute(update(Job).where(Job.id == self.job_id).values(**values))
        db.session.commit()

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1), at most a few writes a second; `message` goes to the log.

        Trainers report every batch; a message that differs from the last logged one only in
        its numbers ("epoch 1/8 batch 3/5") is written at most every few seconds and replaces
        that last line instead of adding one, so the log tail keeps the epoch summaries and the
        lines that matter (a retry after a worker stopped), and the training loop is not slowed
        by a write per batch.
        """
        now = time.monotonic()
        if message:
            shape = re.sub(r"\d+(\.\d+)?", "#", message)
            same = shape == self._last_line[0]
            if not same or now - self._last_line[1] >= LOG_REPEAT_SECONDS:
                self._write(message, replace_last=same)
                self._last_line = (shape, now)
        if now - self._last_write < 0.4 and fraction < 1.0:
            return
        self._last_write = now
        fraction = float(min(max(fraction, 0.0), 1.0))
        self._update(progress=fraction, heartbeat=utcnow())
        if self.on_progress:
            self.on_progress(fraction)

    def log(self, line: str) -> None:
        """Append a line to the job's log (the admin console shows its tail)."""
        self._write(line)
        self._last_line = ("", 0.0)  # the next progress line must not replace this one

    def _write(self, line: str, replace_last: bool = False) -> None:
        """Append `line`, or put it in place of the log's last line (a progress line superseded
        by a newer one)."""
        job = db.session.get(Job, self.job_id)
        if replace_last:
            job.log = "".join((job.log or "").splitlines(keepends=True)[:-1])
        job.append_log(f"{dt.datetime.now():%H:%M:%S} {line}")
        db.session.commit()

    def should_stop(self) -> bool:
        """True once someone asked to cancel the job (checked at most once a second), or once
        it has run past its time limit."""
        now = time.monotonic()
        if self.deadline is not None and now > self.deadline:
            self.over_time = True
            return True
        if not self._cancelled and now - self._cancel_checked > 1.0:
            self._cancel_checked = now
            self._cancelled = bool(
                db.session.scalar(db.select(Job.cancel_requested).where(Job.id == self.job_id))
            )
        return self._cancelled


def _heartbeat(app, job_id: str, stop: threading.Event, hard_deadline: float, limit: float):
    """Mark the job alive while its handler runs, so a dead worker's jobs can be found.

    A handler checks its time limit through `should_stop`; one stuck past it in a single long
    call is not waited for: past `hard_deadline` the job is failed with the time-limit message
    and the worker process exits (its supervisor starts a fresh one).
    """
    with app.app_context():
        while not stop.wait(heartbeat_seconds()):
            if time.monotonic() > hard_deadline:
                app.logger.error("job %s overran its time limit and did not stop; exiting", job_id)
                _finish(job_id, "failed", error=over_time_message(limit))
                os._exit(HARD_LIMIT_EXIT)
            db.session.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == "running")
                .values(heartbeat=utcnow())
            )
            db.session.commit()
        db.session.remove()


def _claim(job_id: str) -> Job | None:
    """Move a queued job to running; None when it is gone or already taken."""
    claimed = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="running", started=utcnow(), heartbeat=utcnow(), attempts=Job.attempts + 1)
    )
    db.session.commit()
    return db.session.get(Job, job_id) if claimed.rowcount == 1 else None


def current(job_id: str) -> Job | None:
    """The job as the database holds it now (not as this session last saw it): for a follower."""
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _finish(job_id: str, status: str, result: dict | None = None, error: str | None = None) -> None:
    db.session.rollback()
    job = db.session.get(Job, job_id)
    job.status, job.finished, job.result, job.error = status, utcnow(), result, error
    if status == "done":
        job.progress = 1.0
    job.append_log(f"{dt.datetime.now():%H:%M:%S} {status}" + (f": {error}" if error else ""))
    db.session.commit()


def execute_job(job_id: str) -> None:
    """Run one job in this worker; whatever happens, the job ends done or failed."""
    job = _claim(job_id)
    if job is None:
        return
    limit = time_limit(job)
    started = time.monotonic()
    ctx = JobContext(job_id, deadline=started + limit)
    hard_deadline = started + limit + max(30.0, limit / 10)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat,
        args=(current_app._get_current_object(), job_id, stop, hard_deadline, limit),
        daemon=True,
    )
    beat.start()
    try:
        result = handler_for(job.kind)(job, ctx)
        _finish(job_id, "done", result=result)
    except JobCancelled:
        _finish(job_id, "failed", error=over_time_message(limit) if ctx.over_time else "Cancelled.")
    except Exception as exc:
        current_app.logger.error("job %s failed:\n%s", job_id, traceback.format_exc())
        _finish(job_id, "failed", error=_reason(exc))
        health.exit_if_broken(
            current_app._get_current_object(), queue_for(job.kind), "after a failed job"
        )
    finally:
        stop.set()
        beat.join(timeout=10)


@contextmanager
def workdir(job_id: str):
    """A scratch folder for a job, removed when it ends (and by the worker if it was killed)."""
    path = Path(current_app.config["INSTANCE_DIR"]) / "jobs" / job_id
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def clean_workdirs() -> None:
    """Remove scratch folders left by jobs that are no longer running (a SIGKILLed worker)."""
    root = Path(current_app.config["INSTANCE_DIR"]) / "jobs"
    if not root.is_dir():
        return
    running = set(db.session.scalars(db.select(Job.id).where(Job.status == "running")))
    for path in root.iterdir():
        if path.name not in running:
            shutil.rmtree(path, ignore_errors=True)


def _reason(exc: Exception) -> str:
    """A one-line reason for a failed job."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:500]


def recover_stale_jobs(queue_name: str, stale_seconds: float, max_attempts: int = 2) -> list[str]:
    """Requeue (or fail, after `max_attempts`) running jobs whose worker stopped beating."""
    types = names_in(queue_name)
    cutoff = utcnow() - dt.timedelta(seconds=stale_seconds)
    stale = db.session.scalars(
        db.select(Job).where(Job.status == "running", Job.kind.in_(types), Job.heartbeat < cutoff)
    ).all()
    requeued = []
    for job in stale:
        job.append_log(
            f"{dt.datetime.now():%H:%M:%S} the worker stopped during attempt {job.attempts}"
        )
        if job.attempts < max_attempts and not job.cancel_requested:
            job.status, job.progress = "queued", 0.0
            requeued.append(job.id)
        else:
            job.status, job.finished = "failed", utcnow()
            job.error = "The worker stopped while running this job; start it again."
    db.session.commit()
    for job_id in requeued:
        job = db.session.get(Job, job_id)
        current_app.extensions["queue"].enqueue(job.kind, job_id, job.target)
    return [j.id for j in stale]


def request_cancel(job: Job) -> None:
    """Ask a queued or running job to stop (committed by the caller): a queued job ends now,
    failed with "Cancelled."; a running one when its handler next checks `should_stop`."""
    job.cancel_requested = True
    if job.status == "queued":
        job.status, job.error, job.finished = "failed", "Cancelled.", utcnow()


def cancel(job: Job) -> None:
    """A person's cancel (committed): as `request_cancel`; Conflict when the job has ended."""
    if job.status in ("done", "failed"):
        raise Conflict(f"Job {job.id} has already ended ({job.status}).")
    request_cancel(job)
    db.session.commit()
