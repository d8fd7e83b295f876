"""Operations endpoints: /healthz and /metrics."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from webapp.ops import probes

bp = Blueprint("ops", __name__)


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
    parts = probes.parts()
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
