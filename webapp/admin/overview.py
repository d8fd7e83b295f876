"""Admin API for the dashboard's data.

Named for the resource it serves, as each admin module is: `classification/overview.py`'s task overview.
"""

import datetime as dt

from flask import jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import OverviewQuery, OverviewSchema
from webapp.auth.access import admin_required
from webapp.classification import tasks
from webapp.classification.overview import task_overview
from webapp.jobs import runner
from webapp.style import service as style_service
from webapp.style.offers import rating_distribution
from webapp.tables import utcnow


@bp.get("/api/admin/overview")
@admin_required
@bp.doc(summary="Dashboard data")
@bp.arguments(OverviewQuery, location="query")
@bp.response(200, OverviewSchema, description="Per task and per style method.")
def overview(query: dict):
    """Everything the dashboard draws."""
    since = utcnow() - dt.timedelta(days=query["days"])
    return jsonify(
        {
            "tasks": [task_overview(t, since) for t in tasks.every()],
            "styles": rating_distribution(),
            "jobs_active": runner.active_count(),
            "style_methods": style_service.list_methods(),
        }
    )
