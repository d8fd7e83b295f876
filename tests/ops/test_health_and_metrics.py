"""/healthz, /metrics and the database set-up."""

import io

from tests.conftest import image_bytes


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "storage": "ok", "queue": "ok"}


def test_healthz_names_failing_storage(tmp_path):
    from tests.conftest import build_app, make_config
    from tests.services import free_port

    app = build_app(
        make_config(
            tmp_path, STORAGE_URL="s3://bucket/x", S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"
        )
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["storage"].startswith("down") and response.json["database"] == "ok"


def test_metrics_counts_activity(client, admin):
    client.post(
        "/api/classify",
        data={"image": (io.BytesIO(image_bytes()), "a.jpg"), "task": "smiling"},
        content_type="multipart/form-data",
    )
    text = client.get("/metrics", headers=admin).get_data(as_text=True)
    assert 'celebvision_classifications{task="smiling"} 1.0' in text
    assert "celebvision_images 1.0" in text
    assert "# TYPE celebvision_jobs gauge" in text


def test_sqlite_in_wal_mode(app):
    from webapp.extensions import db

    with app.app_context():
        assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(db.text("PRAGMA busy_timeout")).scalar() == 30000
