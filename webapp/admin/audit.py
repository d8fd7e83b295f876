"""Admin API for the audit log of actions on people's data.

Named for the resource it serves, as each admin module is: the rows of `webapp/tables/audit.py`.
"""

from flask import jsonify

from webapp import retention
from webapp.admin import bp
from webapp.apidocs.schemas import AuditEventSchema, AuditQuery
from webapp.auth.access import admin_required
from webapp.tables.columns import iso


@bp.get("/api/admin/audit-events")
@admin_required
@bp.doc(summary="Deletions, bulk rejections and retention runs, newest first")
@bp.arguments(AuditQuery, location="query")
@bp.response(200, AuditEventSchema(many=True), description="Audit events, newest first.")
def audit_events(query: dict):
    """The audit log of actions on people's data: deletions, bulk rejections, retention runs."""
    return jsonify(
        [
            {
                "action": e.action,
                "actor": e.actor,
                "subject": e.subject,
                "detail": e.detail,
                "created": iso(e.created),
            }
            for e in retention.audit_events(query.get("action"))
        ]
    )
