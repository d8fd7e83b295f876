"""Health probes of the parts the app depends on: the database, file storage, the job queue and
its workers. `/healthz` reports them; each part is "ok" or "down: <why>"."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import text

from webapp.extensions import db


def _probe(name: str, fn) -> str:
    try:
        fn()
        return "ok"
    except Exception as exc:
        current_app.logger.warning("health check %s failed: %s", name, exc)
        return f"down: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}"


class WorkerProblem(Exception):
    """The registered workers of a queue cannot run jobs."""


def _check_queue_and_workers() -> None:
    """The queue answers, no job worker is broken or gone, and no job waits where no worker is
    live to run it (NO_WORKERS with jobs queued: they would wait for ever)."""
    from webapp.jobs import health
    from webapp.jobs.job_types import QUEUES

    current_app.extensions["queue"].check()
    problems = [p for queue in QUEUES if (p := health.problem(queue))]
    if problems:
        raise WorkerProblem("; ".join(problems))


def parts() -> dict[str, str]:
    """Each part's health: "ok", or "down: " and the first line of why (a job worker that broke
    or vanished, or jobs waiting with no live worker, count as the queue's failure)."""
    return {
        "database": _probe("database", lambda: db.session.execute(text("SELECT 1"))),
        "storage": _probe("storage", lambda: current_app.extensions["storage"].check()),
        "queue": _probe("queue", _check_queue_and_workers),
    }
