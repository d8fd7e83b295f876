"""A stranger cannot lock the admin out; sessions end; the CSRF token is renewed at login."""

import re

import pytest

from tests.http_helpers import at, basic, login_form


def jobs(client, password, address):
    return client.get("/api/admin/jobs", headers=basic("root", password), **at(address)).status_code


def test_strangers_cannot_lock_out_an_admin_who_never_logged_in(strict_app):
    """The reported reproduction: 10 wrong passwords from each of three addresses, then the right
    one from a fourth address the admin never used."""
    client = strict_app.test_client()
    for address in ("10.9.0.1", "10.9.0.2", "10.9.0.3"):
        codes = [jobs(client, "wrong", address) for _ in range(10)]
        assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}  # the guesser is slowed down
    assert jobs(client, "s3cret-pass", "127.0.0.1") == 200
    assert login_form(strict_app.test_client(), **at("127.0.0.2")).status_code == 302


@pytest.mark.slow
def test_an_admin_logs_in_from_a_new_address_while_strangers_guess(strict_app):
    client = strict_app.test_client()
    assert jobs(client, "s3cret-pass", "10.0.0.1") == 200  # the admin's usual address
    for i in range(30):  # an attacker guesses from 30 addresses, on and on
        jobs(client, "wrong", f"10.9.{i // 200}.{i % 200}")
        assert jobs(client, "s3cret-pass", f"10.5.5.{i}") == 200  # new addresses, every time
    assert login_form(strict_app.test_client(), **at("10.0.0.2")).status_code == 302
    assert jobs(client, "wrong", "10.9.0.0") == 401  # one guess from each: none is refused yet


def test_failed_logins_are_audited_per_address(strict_app):
    client = strict_app.test_client()
    jobs(client, "wrong", "10.9.0.1")
    jobs(client, "wrong", "2001:db8:1:2::7")
    jobs(client, "s3cret-pass", "10.0.0.1")
    from webapp.retention import audit_events

    with strict_app.app_context():
        events = audit_events("login-failed")
        assert sorted(e.actor for e in events) == ["10.9.0.1", "2001:db8:1:2::/64"]
        assert {e.subject for e in events} == {"user:root"}


def test_guessing_from_the_admins_own_address_is_still_limited(strict_app):
    client = strict_app.test_client()
    assert jobs(client, "s3cret-pass", "10.0.0.1") == 200
    codes = [jobs(client, "wrong", "10.0.0.1") for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_ipv6_guessing_counts_per_64(strict_app):
    client = strict_app.test_client()
    codes = [jobs(client, "wrong", f"2001:db8:1:2::{i:x}") for i in range(1, 5)]
    assert codes == [401, 401, 401, 429]  # a new address in the same /64 is the same client


def test_a_session_ends_after_session_hours(app, admin):
    client = app.test_client()
    assert login_form(client).status_code == 302
    assert client.get("/api/admin/jobs").status_code == 200
    with client.session_transaction() as session:
        session["login_at"] -= 13 * 3600  # SESSION_HOURS defaults to 12
    assert client.get("/api/admin/jobs").status_code == 401
    assert client.get("/admin").status_code in (302, 401)


def test_the_csrf_token_is_renewed_at_login(app, admin):
    client = app.test_client()
    page = client.get("/login")
    before = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    assert login_form(client).status_code == 302
    page = client.get("/admin")
    after = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    with client.session_transaction() as session:
        assert "login_at" in session
    old = client.post(
        "/api/admin/tasks",
        json={"name": "x1", "labels": ["a", "b"]},
        headers={"X-CSRFToken": before},
    )
    assert old.status_code == 400 and "CSRF" in old.json["error"]
    new = client.post(
        "/api/admin/tasks",
        json={"name": "x1", "labels": ["a", "b"]},
        headers={"X-CSRFToken": after},
    )
    assert new.status_code == 201
