"""Operations endpoints: /healthz and /metrics.

Each view package keeps its blueprint's views in `routes.py`, as `auth/routes.py` and `pages/routes.py` do.
"""

from __future__ import annotations

from flask import Response, jsonify

from webapp.apidocs.schemas import ErrorSchema, HealthSchema
from webapp.apidocs.spec import Blueprint
from webapp.ops import probes

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@bp.doc(summary="Health of the database, storage and queue")
@bp.response(200, HealthSchema, description="All parts answer.")
@bp.alt_response(503, schema=HealthSchema, description="A part is down; its entry says why.")
def healthz():
    """200 when database, storage and queue all answer; 503 naming the part that does not (a
    job worker that broke or vanished, or jobs waiting with no live worker, count as the
    queue's failure)."""
    parts = probes.parts()
    ok = all(v == "ok" for v in parts.values())
    return jsonify({"status": "ok" if ok else "degraded", **parts}), 200 if ok else 503


@bp.get("/metrics")
@bp.doc(summary="Prometheus metrics (METRICS_TOKEN bearer or an admin, unless METRICS_PUBLIC=1)")
@bp.response(
    200, {"type": "string"}, content_type="text/plain", description="Prometheus text format."
)
@bp.alt_response(401, schema=ErrorSchema, description="No token or admin.")
def metrics():
    """Prometheus text format: counts of what users did, job states, queue depth."""
    from webapp.auth.access import metrics_allowed
    from webapp.ops.metrics import render

    metrics_allowed()
    return Response(render(), mimetype="text/plain; version=0.0.4; charset=utf-8")
