"""The same product on PostgreSQL and with jobs going through Redis, over real connections."""

import io
import uuid

import pytest

from tests.conftest import build_app, image_bytes, make_config
from tests.http_helpers import start_retrain, wait_for_job
from tests.services import REDIS_URL, Worker, require_service


def test_postgres_classify_and_feedback(pg_app):
    client = pg_app.test_client()
    assert {t["name"] for t in client.get("/api/tasks").json} >= {"gender", "smiling"}
    body = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes()), "a.jpg")},
        content_type="multipart/form-data",
    ).json
    assert (
        client.post(f"/api/classify/{body['id']}/feedback", json={"label": "male"}).status_code
        == 201
    )
    assert client.get("/healthz").json["database"] == "ok"


def test_postgres_migrations_down_and_up(pg_app):
    from flask_migrate import downgrade, upgrade

    with pg_app.app_context():
        downgrade(revision="base")
        upgrade()
    names = [t["name"] for t in pg_app.test_client().get("/api/tasks").json]
    assert names == ["gender", "smiling", "age"]  # the shipped tasks, once each


@pytest.fixture
def redis_app(tmp_path):
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"cvtest-{uuid.uuid4().hex[:8]}"
    app = build_app(make_config(tmp_path, REDIS_URL=REDIS_URL, QUEUE_PREFIX=prefix))
    yield app
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(f"*{prefix}*"):
        conn.delete(key)


@pytest.mark.slow
def test_jobs_go_through_redis(redis_app, admin, tmp_path):
    from tests.services import app_env

    client = redis_app.test_client()
    job_id = start_retrain(client, admin, task="smiling")
    assert redis_app.extensions["queue"].pending("train") == 1
    assert "1 job(s) waiting" in client.get("/healthz").json["queue"]  # and no worker
    worker = Worker(app_env(redis_app.config), "train", tmp_path / "w.log").start()
    try:
        job = wait_for_job(client, admin, job_id, 60, message="the Redis worker to run the job")
    finally:
        worker.stop()
    assert job["status"] == "failed" and "Not enough labelled images" in job["error"], job
    assert redis_app.extensions["queue"].pending("train") == 0
