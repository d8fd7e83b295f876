"""The admin console pages: each renders for a logged-in admin and sends everyone else to /login."""

import re

import pytest

PAGES = [
    "/admin",
    "/admin/review",
    "/admin/models",
    "/admin/models/gender",
    "/admin/jobs",
    "/admin/jobs/0123abcd",
    "/admin/audit",
    "/admin/tasks",
    "/admin/import",
]


def log_in(client) -> None:
    """Log in as the `admin` fixture's account through the login form."""
    token = (
        re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/login").data)
        .group(1)
        .decode()
    )
    response = client.post(
        "/login", data={"username": "root", "password": "s3cret-pass", "csrf_token": token}
    )
    assert response.status_code == 302


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_for_admin(client, admin, path):
    log_in(client)
    response = client.get(path)
    assert response.status_code == 200
    html = response.data.decode()
    assert 'data-testid="admin-subnav"' in html
    script = re.search(r'src="(/static/js/admin/(?!admin\.js)[a-z]+\.js)"', html).group(1)
    assert client.get(script).status_code == 200
    assert client.get("/static/css/admin.css").status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_page_redirects_to_login_when_logged_out(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_basic_auth_alone_does_not_open_pages(client, admin):
    """Pages are for browser sessions; scripts use the API with HTTP Basic."""
    assert client.get("/admin", headers=admin).status_code == 302


def test_pages_have_no_inline_script_or_style(client, admin):
    """The CSP forbids inline scripts, handlers and style attributes: none may appear in the markup."""
    log_in(client)
    for path in PAGES:
        html = client.get(path).data.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert " style=" not in html, path


def test_current_section_is_marked_in_the_subnav(client, admin):
    log_in(client)
    html = client.get("/admin/jobs/abc").data.decode()
    assert re.search(r'data-testid="subnav-jobs"\s+aria-current="page"', html)
