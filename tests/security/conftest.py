"""Fixtures shared by the security tests."""

import pytest

from tests.conftest import build_app, make_config


@pytest.fixture
def strict_app(tmp_path):
    app = build_app(
        make_config(tmp_path, RATE_LIMIT_LOGIN="3/minute", RATE_LIMIT_LOGIN_USER="5/hour")
    )
    from webapp.auth.access import create_or_reset_admin

    with app.app_context():
        create_or_reset_admin("root", "s3cret-pass")
    return app
