"""Admin API for the audit log of actions on people's data."""

from flask import jsonify

from webapp import retention
from webapp.admin import bp
from webapp.auth.access import admin_required
from webapp.tables.base import iso
from webapp.web.validation import query_str


@bp.get("/api/admin/audit-events")
@admin_required
def audit_events():
    """The audit log of actions on people's data: deletions, bulk rejections, retention runs.
    ---
    get:
      summary: Deletions, bulk rejections and retention runs, newest first
      parameters:
        - {name: action, in: query, schema: {type: string, maxLength: 200}, description: "Only this action."}
      responses:
        200:
          description: "Audit events, newest first."
          content: {application/json: {schema: {type: array, items: AuditEvent}}}
    """
    return jsonify(
        [
            {
                "action": e.action,
                "actor": e.actor,
                "subject": e.subject,
                "detail": e.detail,
                "created": iso(e.created),
            }
            for e in retention.audit_events(query_str("action"))
        ]
    )
