"""Inputs that used to answer 500: each is now a 4xx or 503 with a message a person can act on."""

from __future__ import annotations

import base64
import io
from types import SimpleNamespace

import pytest

from tests.conftest import build_app, image_bytes, make_config

HUGE = "99999999999999999999"
DEEP = "[" * 100_000


def classify(client) -> int:
    response = client.post("/api/classify", data={"image": (io.BytesIO(image_bytes()), "a.jpg")})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["id"]


def assert_error(response, status: int, *words: str) -> str:
    assert response.status_code == status, (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    message = response.get_json()["error"]
    for word in words:
        assert word in message, message
    return message


JSON_ROUTES = [
    ("post", "/api/admin/tasks"),
    ("post", "/api/admin/retrain"),
    ("put", "/api/admin/schedules/gender"),
]


@pytest.mark.parametrize("method,path", JSON_ROUTES)
def test_deeply_nested_json_is_400(client, admin, method, path):
    response = getattr(client, method)(
        path, data=DEEP, content_type="application/json", headers=admin
    )
    assert_error(response, 400, "nests deeper")


def test_deeply_nested_json_on_public_routes_is_400(client):
    cid = classify(client)
    response = client.post(
        f"/api/classify/{cid}/feedback", data=DEEP, content_type="application/json"
    )
    assert_error(response, 400, "nests deeper")
    # nesting inside a string is text, not nesting
    response = client.post(f"/api/classify/{cid}/feedback", json={"label": "[" * 1000})
    assert_error(response, 400, "'label' must be one of")


def test_large_json_is_413(client, admin):
    response = client.post(
        "/api/admin/tasks", json={"name": "x", "labels": ["a" * 1_100_000, "b"]}, headers=admin
    )
    assert_error(response, 413, "larger than 1024 KB")


@pytest.mark.parametrize("body", ["{", "nul\x00l", '{"a": 1e99999}x', "\xff"])
def test_malformed_json_is_400(client, admin, body):
    response = client.post(
        "/api/admin/retrain",
        data=body.encode("latin-1"),
        content_type="application/json",
        headers=admin,
    )
    assert_error(response, 400)


@pytest.mark.parametrize(
    "path,param",
    [
        ("/api/admin/overview?days=abc", "days"),
        ("/api/admin/overview?days=0", "days"),
        ("/api/admin/overview?days=99999999999999999999", "days"),
        ("/api/admin/feedback?limit=abc", "limit"),
        ("/api/admin/feedback?limit=1e3", "limit"),
        ("/api/admin/feedback?limit=-5", "limit"),
        ("/api/admin/feedback?review=maybe", "review"),
        ("/api/admin/jobs?limit=1e3", "limit"),
        ("/api/admin/jobs?limit=abc", "limit"),
    ],
)
def test_bad_query_parameters_are_400_naming_them(client, admin, path, param):
    assert_error(client.get(path, headers=admin), 400, f"'{param}'")


def test_good_query_parameters_still_work(client, admin):
    assert client.get("/api/admin/overview?days=7", headers=admin).status_code == 200
    assert (
        client.get("/api/admin/feedback?limit=3&review=verified", headers=admin).status_code == 200
    )
    assert client.get("/api/admin/jobs?limit=10&kind=retrain", headers=admin).status_code == 200


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", f"/api/stylize/{HUGE}"),
        ("get", f"/api/stylize/{HUGE}/result"),
        ("get", f"/api/stylize/{HUGE}/content"),
        ("post", f"/api/classify/{HUGE}/feedback"),
        ("get", f"/api/admin/images/{HUGE}"),
        ("post", f"/api/admin/feedback/{HUGE}/review"),
        ("get", "/api/admin/images/2147483648"),  # one past a PostgreSQL integer
    ],
)
def test_overflowing_ids_are_404(client, admin, method, path):
    response = getattr(client, method)(
        path, headers=admin, json={"label": "male", "verdict": "verified"}
    )
    assert_error(response, 404)


@pytest.mark.parametrize("labels", [[[1], [2]], [{"a": 1}, {"b": 2}], [None, None], "ab"])
def test_task_labels_of_the_wrong_type_are_400(client, admin, labels):
    response = client.post(
        "/api/admin/tasks", json={"name": "pets", "labels": labels}, headers=admin
    )
    assert_error(response, 400, "'labels' must be a list")


def test_nul_characters_are_not_a_500(client, admin):
    assert client.get("/api/admin/models/a%00b", headers=admin).status_code == 404
    assert client.get("/api/admin/jobs?kind=a%00b", headers=admin).status_code == 400


# ------------------------------------------------------------------ outages: 503 with a message


def test_local_storage_failure_is_503(app, client):
    """A file where the images folder should be: writes fail with an OSError, answered as 503."""
    from pathlib import Path

    root = Path(app.config["STORAGE_URL"][len("file://") :])
    root.mkdir(parents=True, exist_ok=True)
    (root / "images").write_bytes(b"not a folder")
    response = client.post(
        "/api/classify", data={"image": (io.BytesIO(image_bytes(seed=9)), "a.jpg")}
    )
    assert_error(response, 503, "storage is unavailable", "nothing was saved")


def test_failed_database_commit_is_503(pg_app):
    """Another session holds the tasks table; the commit cannot get its lock and gives up."""
    import psycopg

    client = pg_app.app.test_client()
    with psycopg.connect(pg_app.url) as blocker:
        blocker.execute("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE")
        response = client.post(
            "/api/admin/tasks",
            json={"name": "pets", "labels": ["cat", "dog"]},
            headers=pg_app.header,
        )
        assert_error(response, 503, "database is unavailable", "Try again")
        assert response.headers["Retry-After"].isdigit()
    # once the lock is gone the same request works
    response = client.post(
        "/api/admin/tasks", json={"name": "pets", "labels": ["cat", "dog"]}, headers=pg_app.header
    )
    assert response.status_code == 201


def test_values_postgresql_cannot_store_are_400(pg_app):
    client = pg_app.app.test_client()
    response = client.post(
        "/api/admin/tasks",
        headers=pg_app.header,
        json={"name": "pets", "labels": ["cat", "dog"], "description": "a\u0000b"},
    )
    assert_error(response, 400, "NUL character")
    assert client.get("/api/admin/jobs/a%00b", headers=pg_app.header).status_code == 400
    assert (
        client.get("/api/tasks").status_code == 200
    )  # the session was rolled back, nothing is stuck


@pytest.fixture
def pg_app(tmp_path):
    """An app on a fresh PostgreSQL database whose statements give up after 300 ms waiting for a lock."""
    from tests.services import fresh_postgres_database
    from webapp.auth.access import create_or_reset_admin
    from webapp.extensions import db

    url, drop = fresh_postgres_database()
    app = build_app(
        make_config(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=url,
            SQLALCHEMY_ENGINE_OPTIONS={
                "pool_pre_ping": True,
                "connect_args": {"options": "-c lock_timeout=300"},
            },
        )
    )
    with app.app_context():
        create_or_reset_admin("root", "pw")
    yield SimpleNamespace(
        app=app, url=url, header={"Authorization": "Basic " + base64.b64encode(b"root:pw").decode()}
    )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


@pytest.fixture
def s3_app(tmp_path, monkeypatch):
    """An app storing into a bucket on a real S3 server (moto over HTTP)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.services import fake_aws_credentials, free_port
    from webapp.extensions import db

    fake_aws_credentials(monkeypatch)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="cv-no500")
    app = build_app(make_config(tmp_path, STORAGE_URL="s3://cv-no500/p", S3_ENDPOINT_URL=endpoint))
    yield app, s3
    with app.app_context():
        db.engine.dispose()
    server.stop()


def test_s3_refusals_are_503(s3_app):
    """The bucket is deleted under the app: S3 answers NoSuchBucket (a ClientError, not an outage)."""
    app, s3 = s3_app
    client = app.test_client()
    cid = classify(client)
    for key in [o["Key"] for o in s3.list_objects_v2(Bucket="cv-no500").get("Contents", [])]:
        s3.delete_object(Bucket="cv-no500", Key=key)
    s3.delete_bucket(Bucket="cv-no500")
    response = client.post(
        "/api/classify", data={"image": (io.BytesIO(image_bytes(seed=3)), "b.jpg")}
    )
    assert_error(response, 503, "storage is unavailable", "nothing was saved")
    assert response.headers["Retry-After"].isdigit()
    response = client.post(
        "/api/stylize",
        data={
            "content": (io.BytesIO(image_bytes(seed=4)), "c.jpg"),
            "style": (io.BytesIO(image_bytes(seed=5)), "s.jpg"),
        },
    )
    assert_error(response, 503, "storage is unavailable")
    assert client.get("/healthz").status_code == 503
    assert cid is not None
