"""Forwarded headers count only from the configured proxies, and cross-site pages cannot queue
paid work: replays of the reported attacks (a client that reaches the server directly with
PROXY_COUNT=1 and a rotating X-Forwarded-For; a forged X-Forwarded-Host; a cross-site POST
without cookies)."""

from __future__ import annotations

import base64
import io

import pytest

from tests.conftest import build_app, image_bytes, make_config

DIRECT = {"REMOTE_ADDR": "203.0.113.7"}  # a client on the internet, not the proxy
PROXY = {"REMOTE_ADDR": "127.0.0.1"}  # nginx on the same machine


@pytest.fixture
def proxied_app(tmp_path):
    app = build_app(
        make_config(
            tmp_path,
            PROXY_COUNT=1,
            FORWARDED_ALLOW_IPS="127.0.0.1,::1",
            RATE_LIMIT_LOGIN="10/minute",
            RATE_LIMIT_LOGIN_USER="1000/hour",
            MAX_QUEUED_PER_CLIENT=3,
        )
    )
    from webapp.auth.access import create_or_reset_admin

    with app.app_context():
        create_or_reset_admin("root", "s3cret-pass")
    return app


def forwarded(i: int) -> dict:
    return {"X-Forwarded-For": f"198.51.100.{i}"}


def basic(password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"root:{password}".encode()).decode()}


def post_nst(client, peer: dict, headers: dict):
    form = {
        "content": (io.BytesIO(image_bytes(seed=1)), "c.jpg"),
        "style": (io.BytesIO(image_bytes("PNG", seed=2)), "s.png"),
        "method": "nst",
        "size": "64",
    }
    return client.post(
        "/api/stylize",
        data=form,
        content_type="multipart/form-data",
        headers=headers,
        environ_base=peer,
    )


def test_rotating_forwarded_for_does_not_evade_login_throttling(proxied_app):
    client = proxied_app.test_client()
    codes = [
        client.get(
            "/api/admin/jobs", headers={**basic("guess"), **forwarded(i)}, environ_base=DIRECT
        ).status_code
        for i in range(12)
    ]
    assert codes == [401] * 10 + [429, 429]


def test_rotating_forwarded_for_does_not_evade_the_job_cap(proxied_app):
    client = proxied_app.test_client()
    codes = [post_nst(client, DIRECT, forwarded(i)).status_code for i in range(5)]
    assert codes == [202, 202, 202, 429, 429]


def test_rotating_forwarded_for_is_one_voter(proxied_app):
    from webapp.extensions import db
    from webapp.tables import Feedback

    client = proxied_app.test_client()
    for i in range(5):
        headers = forwarded(i)
        answer = client.post(
            "/api/classify",
            data={"image": (io.BytesIO(image_bytes(seed=3)), "p.jpg"), "task": "gender"},
            content_type="multipart/form-data",
            headers=headers,
            environ_base=DIRECT,
        )
        assert answer.status_code == 200, answer.json
        vote = client.post(
            f"/api/classify/{answer.json['id']}/feedback",
            json={"label": "male"},
            headers=headers,
            environ_base=DIRECT,
        )
        assert vote.status_code == 201, vote.json
    with proxied_app.app_context():
        voters = set(db.session.scalars(db.select(Feedback.client)))
    assert len(voters) == 1


def test_the_proxy_is_believed(proxied_app):
    """Through the configured proxy the address it reports counts (and so does the cap)."""
    client = proxied_app.test_client()
    codes = [post_nst(client, PROXY, forwarded(i)).status_code for i in range(5)]
    assert codes == [202] * 5


def test_forged_forwarded_host_does_not_pass_the_same_origin_check(proxied_app):
    client = proxied_app.test_client()
    forged = {"X-Forwarded-Host": "evil.example", "Origin": "http://evil.example"}
    answer = post_nst(client, DIRECT, forged)
    assert answer.status_code == 403 and "Cross-site" in answer.json["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cross_site_pages_cannot_queue_paid_work_even_without_cookies(app, headers):
    page = app.test_client(use_cookies=False)
    refused = post_nst(page, {}, headers)
    assert refused.status_code == 403, refused.json
    assert "Cross-site request refused" in refused.json["error"]
    classify = page.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes(seed=4)), "p.jpg")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert classify.status_code == 403


def test_same_origin_pages_and_scripts_still_queue_work(app):
    script = app.test_client(use_cookies=False)  # curl: no Origin, no cookie
    assert post_nst(script, {}, {}).status_code == 202
    page = app.test_client()
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert post_nst(page, {}, same).status_code == 202
