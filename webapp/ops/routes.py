"""Operations endpoints: /healthz and /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from webapp.extensions import db

bp = Blueprint("ops", __name__)


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


@bp.get("/healthz")
def healthz():
    """200 when database, storage and queue all answer; 503 naming the part that does not (a
    job worker that broke or vanished, or jobs waiting with no live worker, count as the
    queue's failure).
    ---
    get:
      summary: Health of the database, storage and queue
      responses:
        200: {description: "All parts answer.", content: {application/json: {schema: Health}}}
        "503":
          description: "A part is down; its entry says why."
          content: {application/json: {schema: Health}}
    """
    parts = {
        "database": _probe("database", lambda: db.session.execute(text("SELECT 1"))),
        "storage": _probe("storage", lambda: current_app.extensions["storage"].check()),
        "queue": _probe("queue", _check_queue_and_workers),
    }
    ok = all(v == "ok" for v in parts.values())
    return jsonify({"status": "ok" if ok else "degraded", **parts}), 200 if ok else 503


@bp.get("/metrics")
def metrics():
    """Prometheus text format: counts of what users did, job states, queue depth.
    ---
    get:
      summary: Prometheus metrics (METRICS_TOKEN bearer or an admin, unless METRICS_PUBLIC=1)
      responses:
        200:
          description: "Prometheus text format."
          content: {text/plain: {schema: {type: string}}}
        401: {description: "No token or admin.", content: {application/json: {schema: Error}}}
    """
    from webapp.auth.access import metrics_allowed
    from webapp.ops.metrics import render

    metrics_allowed()
    return Response(render(), mimetype="text/plain; version=0.0.4; charset=utf-8")
