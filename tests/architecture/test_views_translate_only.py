"""Views translate only: they parse a request (or the command line's arguments), check access,
call a service and shape its answer; the work happens in the domain services
(docs/http.md, "Errors" and "Adding an admin page or endpoint").

The rule, precisely, for every view module (webapp/admin/, webapp/api/, webapp/pages/,
webapp/auth/routes.py, webapp/ops/routes.py) and every command in webapp/cli/:
- no database: neither `db.session` nor importing `db` from `webapp.extensions`, no SQLAlchemy
  import and no `Model.query`, so counting, querying, creating and committing happen in a service
  (`webapp/classification/`, `webapp/style/service.py`, `webapp/auth/access.py`, ...); a row
  named in the URL is fetched by `webapp.web.requests.get_or_404` / `public_or_404`, which are
  request plumbing;
- no file storage: no `storage()` nor the app's extensions (`current_app.extensions[...]`, where
  the storage and the queue live): a service reads pictures and probes the parts;
- no `ApiError` and no error response built by hand (`abort(...)`, setting `.status_code`): what
  crosses from services to views is a domain exception (`webapp.exceptions`: `NotFound`,
  `Conflict`, `NotReady`, ...), which a view may also raise itself for a malformed request
  (`Invalid`); `webapp.web.errors` maps them to HTTP statuses and the JSON error body in one place.
Reading a loaded row's attributes to shape JSON is allowed.
"""

import ast
from pathlib import Path

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"
VIEWS = [
    *sorted((WEBAPP / "admin").glob("*.py")),
    *sorted((WEBAPP / "api").glob("*.py")),
    *sorted((WEBAPP / "pages").glob("*.py")),
    WEBAPP / "auth" / "routes.py",
    WEBAPP / "ops" / "routes.py",
]
CLI = sorted((WEBAPP / "cli").glob("*.py"))


def violations(source: str) -> list[str]:
    """What in `source` breaks the rule, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            if (
                node.attr == "session"
                and isinstance(node.value, ast.Name)
                and node.value.id == "db"
            ):
                found.append(f"{node.lineno}: db.session")
            elif node.attr == "query":
                found.append(f"{node.lineno}: .query")
            elif node.attr == "extensions" and getattr(node.value, "id", "") == "current_app":
                found.append(f"{node.lineno}: current_app.extensions")
            elif node.attr == "status_code" and isinstance(node.ctx, ast.Store):
                found.append(f"{node.lineno}: sets status_code")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "abort":
            found.append(f"{node.lineno}: abort")
        elif isinstance(node, ast.Name) and node.id in ("ApiError", "storage"):
            found.append(f"{node.lineno}: {node.id}")
        elif isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: imports sqlalchemy"
                for a in node.names
                if a.name.split(".")[0] == "sqlalchemy"
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] == "sqlalchemy":
                found.append(f"{node.lineno}: imports sqlalchemy")
            for a in node.names:
                if a.name == "db" and module == "webapp.extensions":
                    found.append(f"{node.lineno}: imports db")
                elif a.name == "ApiError":
                    found.append(f"{node.lineno}: imports ApiError")
                elif a.name == "storage" and module.startswith("webapp.storage"):
                    found.append(f"{node.lineno}: imports storage")
    return sorted(found, key=lambda v: int(v.split(":")[0]))


def test_the_rule_sees_what_it_forbids():
    source = (
        "from webapp.extensions import db\n"
        "from webapp.web.errors import ApiError\n"
        "from webapp.storage.store import storage\n"
        "from sqlalchemy import text\n"
        "def view():\n"
        "    db.session.add(1)\n"
        "    db.session.commit()\n"
        "    Rating.query.filter_by(id=1)\n"
        "    storage().get('key')\n"
        "    current_app.extensions['queue'].check()\n"
        "    response.status_code = 202\n"
        "    abort(404)\n"
        "    raise ApiError('no', 404)\n"
    )
    assert violations(source) == [
        "1: imports db",
        "2: imports ApiError",
        "3: imports storage",
        "4: imports sqlalchemy",
        "6: db.session",
        "7: db.session",
        "8: .query",
        "9: storage",
        "10: current_app.extensions",
        "11: sets status_code",
        "12: abort",
        "13: ApiError",
    ]
    assert violations("import sqlalchemy as sa\n") == ["1: imports sqlalchemy"]
    allowed = (
        "from webapp.exceptions import Invalid, NotFound\n"
        "from webapp.web.requests import public_or_404\n"
        "row = public_or_404(Classification, 'x', 'classification')\n"
        "raise NotFound('No such thing.')\n"
        "return jsonify(body), 201\n"
        "print(response.status_code)\n"
    )
    assert violations(allowed) == []


def test_every_view_package_is_checked():
    names = {p.relative_to(WEBAPP).as_posix() for p in VIEWS}
    assert {
        "admin/tasks.py",
        "admin/models.py",
        "admin/jobs.py",
        "admin/review.py",
        "admin/pages.py",
        "api/classify.py",
        "api/style.py",
        "api/style_presets.py",
        "pages/routes.py",
        "auth/routes.py",
        "ops/routes.py",
    } <= names
    assert {p.name for p in CLI} >= {"data_commands.py", "models.py", "commands.py"}


def test_views_hold_no_session_no_storage_and_raise_no_api_error():
    wrong = {p.relative_to(WEBAPP).as_posix(): v for p in VIEWS if (v := violations(p.read_text()))}
    assert wrong == {}, f"views must call services, not the database or storage: {wrong}"


def test_the_command_line_holds_no_session_either():
    wrong = {p.name: v for p in CLI if (v := violations(p.read_text()))}
    assert wrong == {}, f"CLI commands must call services, not the database: {wrong}"


def test_every_domain_exception_has_its_http_status_in_one_place():
    import inspect

    from webapp import exceptions
    from webapp.web.errors import STATUS

    domain = {
        cls
        for _, cls in inspect.getmembers(exceptions, inspect.isclass)
        if issubclass(cls, exceptions.DomainError) and cls is not exceptions.DomainError
    }
    assert domain == set(STATUS), "map each domain exception to a status in webapp.web.errors"
    assert STATUS[exceptions.NotFound] == 404 and STATUS[exceptions.Conflict] == 409


def test_a_domain_exception_leaves_as_the_json_error_body(app):
    from flask import Blueprint

    from webapp.exceptions import Conflict, NotFound, NotReady

    raised = {
        "missing": NotFound("No such thing."),
        "busy": Conflict("Already running.", job_id="j1"),
    }
    raised["later"] = NotReady("Still being painted.", retry_after=3)
    probe = Blueprint("probe", __name__)
    probe.add_url_rule(
        "/api/probe/<what>", "raise", lambda what: (_ for _ in ()).throw(raised[what])
    )
    app.register_blueprint(probe)
    client = app.test_client()
    missing, busy, later = (client.get(f"/api/probe/{w}") for w in ("missing", "busy", "later"))
    assert (missing.status_code, missing.json) == (404, {"error": "No such thing."})
    assert (busy.status_code, busy.json) == (409, {"error": "Already running.", "job_id": "j1"})
    assert (later.status_code, later.json) == (202, {"error": "Still being painted."})
    assert later.headers["Retry-After"] == "3" and later.headers["Cache-Control"] == "no-store"
