"""Admin API for periodic retraining schedules."""

from flask import jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.registry import schedules
from webapp.tables import Schedule
from webapp.tables.base import iso
from webapp.web.requests import json_body


def describe(row: Schedule) -> dict:
    """The API's view of a schedule."""
    return {
        "target": row.target,
        "every_hours": row.every_hours,
        "enabled": row.enabled,
        "last_run": iso(row.last_run),
        "last_job_id": row.last_job_id,
        "last_outcome": row.last_outcome,
    }


@bp.get("/api/admin/schedules")
@admin_required
def list_schedules():
    """Every retraining schedule.
    ---
    get:
      summary: Retraining schedules
      responses:
        200:
          description: "Every schedule."
          content: {application/json: {schema: {type: array, items: Schedule}}}
    """
    return jsonify([describe(s) for s in schedules.every()])


@bp.put("/api/admin/schedules/<target>")
@admin_required
def set_schedule(target: str):
    """Create or change the schedule of a target: {"every_hours": 24, "enabled": true}.
    ---
    put:
      summary: Retrain a target periodically
      requestBody: {required: true, content: {application/json: {schema: ScheduleRequest}}}
      responses:
        200: {description: "The schedule.", content: {application/json: {schema: Schedule}}}
    """
    body = json_body()
    row = schedules.upsert(
        target, body.get("every_hours"), bool(body.get("enabled", True)), current_admin().username
    )
    return jsonify(describe(row))


@bp.delete("/api/admin/schedules/<target>")
@admin_required
def delete_schedule(target: str):
    """Stop retraining a target periodically.
    ---
    delete:
      summary: Stop retraining a target periodically
      responses:
        200:
          description: "Deleted."
          content: {application/json: {schema: Deleted}}
    """
    schedules.delete(target)
    return jsonify({"deleted": target})
