"""The S3 endpoint goes away and comes back: clear 503s, no row without its object, then service resumes."""

from __future__ import annotations

import boto3
import pytest
import requests

from tests.conftest import image_bytes
from tests.reliability import orphans_and_dangling
from tests.services import FAKE_AWS, free_port, wait_for

pytestmark = pytest.mark.slow  # gunicorn and its workers, started for the test

BUCKET = "celebvision-reliability"
AWS = FAKE_AWS


class S3Server:
    """moto's S3 server over HTTP on a fixed port, which can be stopped and started again (empty)."""

    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        boto3.client("s3", endpoint_url=self.endpoint).create_bucket(Bucket=BUCKET)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def s3(monkeypatch):
    for var, value in AWS.items():
        monkeypatch.setenv(var, value)
    server = S3Server()
    server.start()
    yield server
    server.stop()


def classify(url: str, seed: int) -> requests.Response:
    return requests.post(
        f"{url}/api/classify",
        files={"image": ("a.jpg", image_bytes(seed=seed))},
        data={"task": "gender"},
        timeout=60,
    )


def row_counts(app) -> tuple[int, int]:
    from webapp.extensions import db
    from webapp.tables import Classification, Image

    with app.app_context():
        counts = tuple(
            db.session.scalar(db.select(db.func.count()).select_from(m))
            for m in (Classification, Image)
        )
        db.session.remove()
    return counts


def test_s3_outage_answers_503_and_service_resumes(s3, migrated, serve):
    app, env = migrated(STORAGE_URL=f"s3://{BUCKET}/prefix", S3_ENDPOINT_URL=s3.endpoint)
    env.update(AWS)
    server = serve(env, workers=2)
    assert requests.get(f"{server.url}/healthz", timeout=30).json()["storage"] == "ok"
    assert classify(server.url, 1).status_code == 200
    assert orphans_and_dangling(app) == ([], [])
    before = row_counts(app)

    s3.stop()
    for seed in range(2, 6):
        response = classify(server.url, seed)
        assert response.status_code == 503, response.text
        assert (
            "storage is unavailable" in response.json()["error"]
            and "nothing was saved" in response.json()["error"]
        )
    health = requests.get(f"{server.url}/healthz", timeout=30)
    assert health.status_code == 503
    assert health.json()["storage"].startswith("down") and health.json()["database"] == "ok"
    assert row_counts(app) == before, "a failed upload left rows behind"

    s3.start()  # a fresh moto server forgets everything; the bucket is recreated, the old object is gone
    wait_for(
        lambda: requests.get(f"{server.url}/healthz", timeout=30).status_code == 200,
        30,
        message="/healthz to report storage ok again",
    )
    answers = [classify(server.url, seed) for seed in range(2, 6)]
    assert [r.status_code for r in answers] == [200] * 4
    assert row_counts(app) == (before[0] + 4, before[1] + 4)
    from webapp.extensions import db
    from webapp.tables import Classification

    with app.app_context():
        for r in answers:
            row = db.session.scalar(
                db.select(Classification).where(Classification.public_id == r.json()["id"])
            )
            key = row.image.storage_key
            assert app.extensions["storage"].exists(key), f"{key} answered 200 but is not stored"
        db.session.remove()
