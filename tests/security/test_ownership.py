"""Attacks on other people's uploads: guessing ids, reading inputs, cancelling, rating, cross-site posts."""

import io
import re

import pytest

from tests.conftest import image_bytes


def stylize(client, **extra):
    fields = {
        "content": (io.BytesIO(image_bytes(seed=1)), "c.jpg"),
        "style": (io.BytesIO(image_bytes(seed=2)), "s.png"),
    }
    response = client.post("/api/stylize", data=fields, content_type="multipart/form-data", **extra)
    assert response.status_code == 202, response.json
    return response.json["id"]


def classify(client, **extra):
    response = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes(seed=3)), "p.jpg")},
        content_type="multipart/form-data",
        **extra,
    )
    assert response.status_code == 200, response.json
    return response.json["id"]


def finish(app, sid):
    """Mark a stylization done with a result, as the worker would."""
    from webapp.extensions import db
    from webapp.tables import Stylization

    with app.app_context():
        row = db.session.scalar(db.select(Stylization).where(Stylization.public_id == sid))
        row.job.status, row.result_key = "done", row.content_image.storage_key
        db.session.commit()


def test_ids_are_opaque_and_sequential_guesses_find_nothing(client):
    ids = [stylize(client) for _ in range(2)] + [classify(client)]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22,}", i) for i in ids) and len(set(ids)) == 3
    for guess in ("1", "2", "3", "99999999999999999999"):
        assert client.get(f"/api/stylize/{guess}").status_code == 404
        assert client.get(f"/api/stylize/{guess}/content").status_code == 404
        assert (
            client.post(f"/api/classify/{guess}/feedback", json={"label": "male"}).status_code
            == 404
        )
    status = client.get(f"/api/stylize/{ids[0]}").json
    assert status["id"] == ids[0] and ids[0] in status["content_url"]


def test_stranger_cannot_read_inputs_cancel_or_rate(app, client):
    sid = stylize(client)
    stranger = app.test_client()
    assert stranger.get(f"/api/stylize/{sid}/content").status_code == 403
    assert stranger.get(f"/api/stylize/{sid}/style").status_code == 403
    refused = stranger.post(f"/api/stylize/{sid}/cancel")
    assert refused.status_code == 403 and "uploaded" in refused.json["error"]
    assert client.get(f"/api/stylize/{sid}").json["status"] == "queued"  # still alive
    shared = stranger.get(f"/api/stylize/{sid}").json  # the share link shows status, not the inputs
    assert (
        shared["content_url"] is None and shared["style_url"] is None and shared["yours"] is False
    )

    finish(app, sid)
    assert stranger.post(f"/api/stylize/{sid}/rating", json={"stars": 1}).status_code == 403
    assert stranger.get(f"/api/stylize/{sid}/result").status_code == 200  # results can be shared
    owner_view = client.get(f"/api/stylize/{sid}/content")
    assert owner_view.status_code == 200 and owner_view.headers["Cache-Control"] == "no-store"
    assert client.post(f"/api/stylize/{sid}/rating", json={"stars": 5}).status_code == 201


def test_stranger_cannot_label_someone_elses_photo(app, client, admin):
    cid = classify(client)
    stranger = app.test_client()
    assert stranger.post(f"/api/classify/{cid}/feedback", json={"label": "male"}).status_code == 403
    assert client.post(f"/api/classify/{cid}/feedback", json={"label": "female"}).status_code == 201
    assert (
        stranger.post(
            f"/api/classify/{cid}/feedback", json={"label": "male"}, headers=admin
        ).status_code
        == 201
    )


def test_admin_may_read_inputs(app, client, admin):
    sid = stylize(client)
    assert app.test_client().get(f"/api/stylize/{sid}/content", headers=admin).status_code == 200


def test_uploader_cookie_is_signed_httponly_lax(app, client):
    response = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes()), "p.jpg")},
        content_type="multipart/form-data",
    )
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("cv_client=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    cid = response.json["id"]
    forger = app.test_client()
    token = cookie.split(";")[0].split("=", 1)[1]
    forger.set_cookie("cv_client", token.split(".")[0] + ".forgedsignature")
    assert forger.post(f"/api/classify/{cid}/feedback", json={"label": "male"}).status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
    ],
)
def test_cross_site_requests_cannot_act_for_the_uploader(app, client, headers):
    sid = stylize(client)
    refused = client.post(f"/api/stylize/{sid}/cancel", headers=headers)
    assert refused.status_code == 403 and "Cross-site" in refused.json["error"]
    assert client.get(f"/api/stylize/{sid}").json["status"] == "queued"


def test_same_origin_browser_and_cookieless_scripts_still_work(app, client):
    sid = stylize(client, headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
    assert (
        client.post(
            f"/api/stylize/{sid}/cancel", headers={"Origin": "http://localhost"}
        ).status_code
        == 202
    )
    script = app.test_client(use_cookies=False)  # curl, requests: no cookies, no Origin
    answer = script.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes()), "p.jpg")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200


def test_share_page_takes_the_opaque_id(client):
    sid = stylize(client)
    page = client.get(f"/stylize/{sid}")
    assert page.status_code == 200 and f'data-stylization-id="{sid}"'.encode() in page.data
