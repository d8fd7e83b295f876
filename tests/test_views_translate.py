"""The admin blueprints and the command line translate only: they parse a request (or the
arguments), check access, call a service and shape its answer (docs/architecture.md, issue 19).

The rule, precisely, for every module in webapp/admin/ and webapp/cli/:
- no database session: neither `db.session` nor importing `db` from `webapp.extensions`, so
  counting, querying, creating, upserting and committing happen in a service
  (`webapp/classification/`, `webapp/registry/`, `webapp/jobs/runner.py`, `webapp/retention.py`);
  a row named in the URL is fetched by `webapp.web.requests.get_or_404`, which is request plumbing;
- no `ApiError`: the one kind of error crossing from services to views is a domain exception
  (`webapp.exceptions`), which a view may also raise itself for a malformed request (`Invalid`);
  `webapp.web.errors` maps them to HTTP in one place.
Reading a loaded row's attributes to shape JSON is allowed.
"""

import ast
from pathlib import Path

ADMIN = Path(__file__).resolve().parent.parent / "webapp" / "admin"
CLI = ADMIN.parent / "cli"


def violations(source: str) -> list[str]:
    """What in `source` breaks the rule, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "session"
            and isinstance(node.value, ast.Name)
            and node.value.id == "db"
        ):
            found.append(f"{node.lineno}: db.session")
        elif isinstance(node, ast.ImportFrom) and node.module == "webapp.extensions":
            found += [f"{node.lineno}: imports db" for a in node.names if a.name == "db"]
        elif isinstance(node, ast.Name) and node.id == "ApiError":
            found.append(f"{node.lineno}: ApiError")
        elif isinstance(node, ast.ImportFrom):
            found += [
                f"{node.lineno}: imports ApiError" for a in node.names if a.name == "ApiError"
            ]
    return sorted(found, key=lambda v: int(v.split(":")[0]))


def test_the_rule_sees_what_it_forbids():
    source = (
        "from webapp.extensions import db\n"
        "from webapp.web.errors import ApiError\n"
        "def view():\n"
        "    db.session.add(1)\n"
        "    db.session.commit()\n"
        "    raise ApiError('no', 409)\n"
    )
    assert violations(source) == [
        "1: imports db",
        "2: imports ApiError",
        "4: db.session",
        "5: db.session",
        "6: ApiError",
    ]
    assert violations("from webapp.exceptions import Invalid\nraise Invalid('bad')\n") == []


def test_admin_views_hold_no_session_and_raise_no_api_error():
    paths = sorted(ADMIN.glob("*.py"))
    assert {p.name for p in paths} >= {"tasks.py", "models.py", "jobs.py", "review.py", "pages.py"}
    wrong = {p.name: v for p in paths if (v := violations(p.read_text()))}
    assert wrong == {}, f"admin views must call services, not the database: {wrong}"


def test_the_command_line_holds_no_session_either():
    paths = sorted(CLI.glob("*.py"))
    assert {p.name for p in paths} >= {"data.py", "models.py", "commands.py"}
    wrong = {p.name: v for p in paths if (v := violations(p.read_text()))}
    assert wrong == {}, f"CLI commands must call services, not the database: {wrong}"
