"""The public API as a client sees it (the routes /api/docs describes), with no model deployed."""

import io

import pytest

from tests.conftest import image_bytes


def classify(client, data=None, task=None):
    fields = {"image": (io.BytesIO(data or image_bytes()), "me.jpg")}
    if task is not None:
        fields["task"] = task
    return client.post("/api/classify", data=fields, content_type="multipart/form-data")


def test_shipped_tasks_listed(client):
    tasks = {t["name"]: t for t in client.get("/api/tasks").json}
    assert tasks["gender"]["labels"] == ["female", "male"]
    assert tasks["smiling"]["labels"] == ["not_smiling", "smiling"]
    assert tasks["gender"]["model_version"] is None and tasks["gender"]["metrics"] is None


def test_classify_without_model_keeps_upload(client):
    response = classify(client, task="smiling")
    assert response.status_code == 200
    body = response.json
    assert body["label"] is None and body["model_version"] is None and body["face_box"] is None
    assert body["task"] == "smiling" and isinstance(body["id"], str) and len(body["id"]) >= 22


def test_default_task_is_first(client):
    assert classify(client).json["task"] == "gender"


def test_unknown_task_404(client):
    response = classify(client, task="nope")
    assert response.status_code == 404
    assert "nope" in response.json["error"]


def test_feedback_without_prediction_agrees_null(client):
    cid = classify(client).json["id"]
    response = client.post(f"/api/classify/{cid}/feedback", json={"label": "female"})
    assert response.status_code == 201
    assert response.json == {
        "agrees": None,
        "label": "female",
        "face": 0,
        "no_face": False,
        "counts": True,
    }


@pytest.mark.parametrize("body", [{"label": "cat"}, {"label": 3}, {}, []])
def test_feedback_bad_label_400(client, body):
    cid = classify(client).json["id"]
    response = client.post(f"/api/classify/{cid}/feedback", json=body)
    assert response.status_code == 400
    assert "error" in response.json


def test_feedback_not_json_400(client):
    cid = classify(client).json["id"]
    response = client.post(f"/api/classify/{cid}/feedback", data="label=male")
    assert response.status_code == 400


def test_feedback_unknown_id_404(client):
    response = client.post("/api/classify/999/feedback", json={"label": "male"})
    assert response.status_code == 404


def test_feedback_stored_per_client_address(app, client):
    cid = classify(client).json["id"]
    client.post(
        f"/api/classify/{cid}/feedback",
        json={"label": "male"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    client.post(
        f"/api/classify/{cid}/feedback",
        json={"label": "male"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    from webapp.extensions import db
    from webapp.tables import Feedback

    with app.app_context():
        rows = db.session.scalars(db.select(Feedback)).all()
        assert [r.label for r in rows] == ["male", "male"]
        assert len({r.client for r in rows}) == 2  # different clients, salted hashes
        assert all(len(r.client) == 32 and "10.0.0" not in r.client for r in rows)


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]


def test_security_headers(client):
    response = client.get("/api/tasks")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_uploads_rate_limited_per_client(tmp_path):
    from tests.conftest import build_app, make_config

    app = build_app(make_config(tmp_path, RATE_LIMIT_UPLOADS="3/minute"))
    client = app.test_client()
    codes = [classify(client).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert "Too many requests" in classify(client).json["error"]
    other = classify(client, task=None)
    assert other.status_code == 429
    # a new user agent and no cookies is still the same address: still limited, told when to retry
    again = app.test_client().post(
        "/api/classify",
        data={},
        headers={"User-Agent": "someone else"},
        content_type="multipart/form-data",
    )
    # the window slides: this minute's hits still weigh on part of the next, so at most two minutes
    assert again.status_code == 429 and 1 <= int(again.headers["Retry-After"]) <= 121
    assert (
        app.test_client()
        .post(
            "/api/classify",
            data={},
            environ_base={"REMOTE_ADDR": "10.9.9.9"},
            content_type="multipart/form-data",
        )
        .status_code
        == 400
    )


def test_styles_always_lists_nst(client):
    styles = client.get("/api/styles").json
    nst = [s for s in styles if s["method"] == "nst"]
    assert nst and nst[0]["needs_style_image"] is True and nst[0]["model_version"] is None


def test_stylize_validation(client):
    content = (io.BytesIO(image_bytes()), "c.jpg")
    cases = [
        ({"content": content}, "needs a style image"),
        (
            {
                "content": (io.BytesIO(image_bytes()), "c.jpg"),
                "style": (io.BytesIO(image_bytes(seed=1)), "s.jpg"),
                "strength": "2",
            },
            "'strength' must be from 0",
        ),
        (
            {
                "content": (io.BytesIO(image_bytes()), "c.jpg"),
                "style": (io.BytesIO(image_bytes(seed=1)), "s.jpg"),
                "size": "big",
            },
            "'size' must be a number",
        ),
        ({"content": (io.BytesIO(image_bytes()), "c.jpg"), "method": "picasso"}, "Unknown method"),
        ({"style": (io.BytesIO(image_bytes()), "s.jpg")}, "form field 'content'"),
    ]
    for fields, message in cases:
        response = client.post("/api/stylize", data=fields, content_type="multipart/form-data")
        assert response.status_code == 400, fields
        assert message in response.json["error"]


def test_stylize_unknown_ids_404(client):
    assert client.get("/api/stylize/42").status_code == 404
    assert client.get("/api/stylize/42/result").status_code == 404
    assert client.post("/api/stylize/42/rating", json={"stars": 3}).status_code == 404


def test_stylize_queued_then_result_404_until_done(client):
    fields = {
        "content": (io.BytesIO(image_bytes()), "c.jpg"),
        "style": (io.BytesIO(image_bytes(seed=2)), "s.png"),
    }
    response = client.post("/api/stylize", data=fields, content_type="multipart/form-data")
    assert response.status_code == 202
    sid = response.json["id"]
    assert response.json["status_url"] == f"/api/stylize/{sid}"
    status = client.get(f"/api/stylize/{sid}").json
    assert status["status"] == "queued" and status["progress"] == 0 and status["result_url"] is None
    assert client.get(f"/api/stylize/{sid}/result").status_code == 404
    assert client.post(f"/api/stylize/{sid}/rating", json={"stars": 4}).status_code == 409
    assert client.get(f"/api/stylize/{sid}/content").status_code == 200


def test_rate_limit_shared_by_worker_processes(tmp_path):
    """Two app instances (as two gunicorn workers) count one client's requests together."""
    from tests.conftest import build_app, make_config

    config = make_config(tmp_path, RATE_LIMIT_UPLOADS="3/minute")
    first, second = build_app(config).test_client(), build_app(config).test_client()
    codes = [classify(client).status_code for client in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]


def test_favicon_is_the_logo(client):
    """Browsers ask for /favicon.ico on pages without a <head> (the OpenAPI JSON); a 404 there is console noise."""
    response = client.get("/favicon.ico")
    assert (
        response.status_code == 200
        and response.mimetype == "image/svg+xml"
        and b"<svg" in response.data
    )
