"""The admin side: the console pages and /api/admin/*, all behind admin auth.

One module per resource, each adding its routes to the one `admin` blueprint (so endpoint names
are `admin.<view function>`): `pages` (every console page), `overview` (the dashboard's data),
`tasks`, `imports` (labelled pictures into a task), `review` (users' labels), `models`
(retrainable targets, versions, promote, rollback, deploy log), `jobs` (retrain, status, list,
cancel), `schedules` and `audit`.
"""

from webapp.apidocs.spec import Blueprint

bp = Blueprint("admin", __name__)

from webapp.admin import (  # noqa: E402,F401
    audit,
    imports,
    jobs,
    models,
    overview,
    pages,
    review,
    schedules,
    tasks,
)
