"""Admin API for periodic retraining schedules.

Named for the resource it serves, as each admin module is: `registry/schedules.py`'s schedules.
"""

from flask import jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import DeletedSchema, ScheduleRequestSchema, ScheduleSchema
from webapp.auth.access import admin_required, current_admin
from webapp.registry import schedules
from webapp.tables import Schedule


def describe(row: Schedule) -> dict:
    """The API's view of a schedule: its described shape, filled from the row."""
    return ScheduleSchema().dump(row)


@bp.get("/api/admin/schedules")
@admin_required
@bp.doc(summary="Retraining schedules")
@bp.response(200, ScheduleSchema(many=True), description="Every schedule.")
def list_schedules():
    """Every retraining schedule."""
    return jsonify([describe(s) for s in schedules.every()])


@bp.put("/api/admin/schedules/<target>")
@admin_required
@bp.doc(summary="Retrain a target periodically")
@bp.arguments(ScheduleRequestSchema)
@bp.response(200, ScheduleSchema, description="The schedule.")
def set_schedule(body: dict, target: str):
    """Create or change the schedule of a target: {"every_hours": 24, "enabled": true}."""
    row = schedules.upsert(
        target, body.get("every_hours"), bool(body.get("enabled", True)), current_admin().username
    )
    return jsonify(describe(row))


@bp.delete("/api/admin/schedules/<target>")
@admin_required
@bp.doc(summary="Stop retraining a target periodically")
@bp.response(200, DeletedSchema, description="Deleted.")
def delete_schedule(target: str):
    """Stop retraining a target periodically."""
    schedules.delete(target)
    return jsonify({"deleted": target})
