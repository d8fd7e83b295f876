"""Schemathesis against the served app (gunicorn, as `make run` serves it): for generated requests
to every route in /api/openapi.json, public and admin, no answer is a 5xx and every answer is
what the description says (status, content type, headers, JSON body).

No job worker runs, uploads are rate-limited and stylizations capped at 64 px, so fuzzing the
upload routes cannot start heavy work. FUZZ_EXAMPLES sets the examples per route (default 12).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import build_app, make_config
from tests.reliability import ADMIN, Gunicorn, served_env

pytestmark = pytest.mark.slow  # Schemathesis against the app served by gunicorn

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SENT: list[tuple[str, int]] = []


@pytest.fixture(scope="module")
def served(tmp_path_factory, request):
    """The app under gunicorn on a free port, with an admin account from ADMIN_USERNAME/ADMIN_PASSWORD."""
    from webapp.extensions import db

    root = tmp_path_factory.mktemp("fuzz")
    config = make_config(root)
    app = build_app(config)  # migrates the database
    with app.app_context():
        db.engine.dispose()
    env = served_env(
        config, RATE_LIMIT_UPLOADS="60/minute", RATE_LIMIT_FEEDBACK="600/minute", MAX_STYLE_SIZE=64
    )
    server = Gunicorn(env, root / "gunicorn.log", workers=2).start()
    yield server
    server.stop()
    statuses: dict[int, int] = {}
    for _, status in SENT:
        statuses[status] = statuses.get(status, 0) + 1
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():  # the count belongs in the test log
        print(
            f"\nschemathesis sent {len(SENT)} requests to {len({op for op, _ in SENT})} operations; "
            f"statuses {dict(sorted(statuses.items()))}"
        )
    assert "Traceback" not in server.output(), server.output()[-3000:]


def described_api() -> dict:
    """The OpenAPI document, built from the code as /api/openapi.json serves it (the served copy is
    compared with it below); pytest needs it at collection time, before any server runs."""
    import tempfile
    from pathlib import Path

    from webapp import create_app
    from webapp.apidocs.spec import build_spec

    with tempfile.TemporaryDirectory() as root:
        return build_spec(create_app(make_config(Path(root))))


DOCUMENT = described_api()
# Valid and invalid requests; credentials come from the admin session, not from generated headers.
CONFIG = schemathesis.Config.from_dict(
    {"generation": {"mode": "all", "with-security-parameters": False}}
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def test_served_description_is_the_one_fuzzed(served):
    import requests

    from webapp.apidocs import at_address

    served_copy = requests.get(f"{served.url}/api/openapi.json", timeout=30).json()
    assert served_copy == at_address(DOCUMENT, served.url)


@pytest.fixture(scope="module")
def admin_session(served):
    """A session logged in as the admin through /login, so that fuzzing does not pay a password hash
    per request (HTTP Basic, the other documented scheme, is exercised by test_admin_basic_auth)."""
    import re

    import requests

    session = requests.Session()
    form = session.get(f"{served.url}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(
        f"{served.url}/login",
        data={"username": ADMIN[0], "password": ADMIN[1], "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:500]
    page = session.get(f"{served.url}/admin", timeout=30).text  # login renewed the CSRF token
    session.headers["X-CSRFToken"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return session


def test_admin_basic_auth(served):
    import requests

    assert (
        requests.get(f"{served.url}/api/admin/targets", auth=ADMIN, timeout=30).status_code == 200
    )
    answer = requests.get(f"{served.url}/api/admin/targets", auth=(ADMIN[0], "wrong"), timeout=30)
    assert answer.status_code == 401 and "error" in answer.json()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_described(case, served, admin_session):
    response = case.call(base_url=served.url, session=admin_session, timeout=60)
    SENT.append((case.operation.label, response.status_code))
    if case.operation.label == "GET /healthz" and "job(s) waiting" in response.text:
        # No job worker runs here, so a fuzzed stylization leaves a job waiting: /healthz is
        # right to answer 503; it is checked against its description all the same.
        case.validate_response(response, checks=[c for c in CHECKS if c is not not_a_server_error])
        return
    case.validate_response(response, checks=CHECKS)
