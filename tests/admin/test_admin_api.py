"""Admin endpoints: 401 without an admin, and what they do with one."""

import pytest

ADMIN_ROUTES = [
    ("post", "/api/admin/tasks", {"name": "cats", "labels": ["cat", "dog"]}),
    ("post", "/api/admin/retrain", {"task": "gender"}),
    ("get", "/api/admin/jobs/abc", None),
    ("get", "/api/admin/models/gender", None),
    ("post", "/api/admin/models/gender/v1/promote", None),
    ("post", "/api/admin/models/gender/rollback", None),
]


@pytest.mark.parametrize("method,url,body", ADMIN_ROUTES)
def test_admin_routes_need_admin(client, method, url, body):
    response = getattr(client, method)(url, json=body)
    assert response.status_code == 401
    assert "Admin login required" in response.json["error"]


def test_wrong_password_is_401(client, admin):
    import base64

    bad = {"Authorization": "Basic " + base64.b64encode(b"root:wrong").decode()}
    assert client.get("/api/admin/models/gender", headers=bad).status_code == 401


def test_create_task(client, admin):
    response = client.post(
        "/api/admin/tasks", json={"name": "glasses", "labels": ["no", "yes"]}, headers=admin
    )
    assert response.status_code == 201
    assert any(t["name"] == "glasses" for t in client.get("/api/tasks").json)
    again = client.post(
        "/api/admin/tasks", json={"name": "glasses", "labels": ["no", "yes"]}, headers=admin
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "labels": ["a"]},
        {"name": "Bad Name", "labels": ["a", "b"]},
        {"name": "ok", "labels": ["a", "a"]},
        {"labels": ["a", "b"]},
        {"name": "ok", "labels": ["a", "b"], "features": ["face"]},  # once a 500
    ],
)
def test_create_task_bad_input(client, admin, body):
    response = client.post("/api/admin/tasks", json=body, headers=admin)
    assert response.status_code == 400


def test_models_of_task_without_versions(client, admin):
    assert client.get("/api/admin/models/gender", headers=admin).json == []
    assert client.get("/api/admin/models/unknown", headers=admin).status_code == 404
    rollback = client.post("/api/admin/models/gender/rollback", headers=admin)
    assert rollback.status_code == 409
    assert client.post("/api/admin/models/gender/v9/promote", headers=admin).status_code == 404


def test_retrain_twice_is_409_with_job_id(client, admin):
    first = client.post("/api/admin/retrain", json={"task": "gender"}, headers=admin)
    assert first.status_code == 202
    second = client.post("/api/admin/retrain", json={"task": "gender"}, headers=admin)
    assert second.status_code == 409
    assert second.json["job_id"] == first.json["job_id"]
    job = client.get(f"/api/admin/jobs/{first.json['job_id']}", headers=admin).json
    assert job["status"] == "queued" and job["kind"] == "retrain"


def test_retrain_unknown_task_404(client, admin):
    assert (
        client.post("/api/admin/retrain", json={"task": "nope"}, headers=admin).status_code == 404
    )
    assert client.post("/api/admin/retrain", json={}, headers=admin).status_code == 400


def test_session_login_then_admin_api_needs_csrf(client, admin):
    page = client.get("/login")
    assert page.status_code == 200
    import re

    token = re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()
    response = client.post(
        "/login", data={"username": "root", "password": "s3cret-pass", "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/api/admin/models/gender").status_code == 200
    # the login renewed the CSRF token: the console's pages carry the new one
    token = (
        re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/admin").data)
        .group(1)
        .decode()
    )
    no_token = client.post("/api/admin/tasks", json={"name": "hats", "labels": ["a", "b"]})
    assert no_token.status_code == 400 and "CSRF" in no_token.json["error"]
    ok = client.post(
        "/api/admin/tasks",
        json={"name": "hats", "labels": ["a", "b"]},
        headers={"X-CSRFToken": token},
    )
    assert ok.status_code == 201


def test_login_wrong_password(client, admin):
    import re

    token = (
        re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/login").data)
        .group(1)
        .decode()
    )
    response = client.post(
        "/login", data={"username": "root", "password": "nope", "csrf_token": token}
    )
    assert response.status_code == 401
    assert b"Wrong username or password" in response.data


REFUSALS = [  # the services' domain exceptions leave as the same status and message as before
    ("patch", "/api/admin/tasks/nope", {"enabled": True}, 404, "No task named 'nope'."),
    (
        "patch",
        "/api/admin/tasks/gender",
        {"enabled": "yes"},
        400,
        "'enabled' must be true or false. Received: 'yes'",
    ),
    (
        "post",
        "/api/admin/tasks",
        {"name": "gender", "labels": ["a", "b"]},
        409,
        "A task named 'gender' already exists.",
    ),
    ("get", "/api/admin/models/nope", None, 404, "No models or task named 'nope'."),
    ("delete", "/api/admin/schedules/gender", None, 404, "No schedule for 'gender'."),
    (
        "put",
        "/api/admin/schedules/gender",
        {"every_hours": 0},
        400,
        "'every_hours' must be a number of hours from 0.05 to 2160.",
    ),
    ("post", "/api/admin/jobs/nope/cancel", None, 404, "No job with id nope."),
    (
        "get",
        "/api/admin/models/gender/v1/files/metrics.json",
        None,
        404,
        "No version 'v1' of 'gender'.",
    ),
    (
        "post",
        "/api/admin/feedback/reject-voter",
        {"client": "abcdefgh", "task": "nope"},
        404,
        "No task named 'nope'.",
    ),
    (
        "post",
        "/api/admin/feedback/reject-voter",
        {"client": "short"},
        400,
        "'client' must be the 8-character id the review queue shows (client or voter).",
    ),
]


@pytest.mark.parametrize("method,url,body,status,message", REFUSALS)
def test_admin_refusals_keep_their_status_and_message(
    client, admin, method, url, body, status, message
):
    response = getattr(client, method)(url, json=body, headers=admin)
    assert (response.status_code, response.json) == (status, {"error": message})
