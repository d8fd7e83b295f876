"""Admin API for the dashboard's data."""

import datetime as dt

from flask import jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required
from webapp.classification import tasks
from webapp.classification.overview import task_overview
from webapp.jobs import runner
from webapp.style import service as style_service
from webapp.style.methods import rating_distribution
from webapp.tables import utcnow
from webapp.web.validation import query_int


@bp.get("/api/admin/overview")
@admin_required
def overview():
    """Everything the dashboard draws.
    ---
    get:
      summary: Dashboard data
      parameters:
        - name: days
          in: query
          schema: {type: integer, minimum: 1, maximum: 3650, default: 30}
          description: Feedback of the last N days.
      responses:
        200:
          description: "Per task and per style method."
          content: {application/json: {schema: Overview}}
    """
    since = utcnow() - dt.timedelta(days=query_int("days", 30, 1, 3650))
    return jsonify(
        {
            "tasks": [task_overview(t, since) for t in tasks.every()],
            "styles": rating_distribution(),
            "jobs_active": runner.active_count(),
            "style_methods": style_service.list_methods(),
        }
    )
