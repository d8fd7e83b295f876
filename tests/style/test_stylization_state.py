"""A stylization's state has one source, its job: every path (worker, API, admin cancel, recovery
after a crash) tells the user the same thing through GET /api/stylize/<id>."""

import datetime as dt
import io

from tests.conftest import image_bytes


def submit(client) -> str:
    form = {
        "content": (io.BytesIO(image_bytes(seed=1)), "me.jpg"),
        "style": (io.BytesIO(image_bytes(seed=2)), "s.jpg"),
        "size": "64",
        "method": "nst",
    }
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    return response.json["id"]


def job_of(app, sid: str) -> str:
    from webapp.extensions import db
    from webapp.tables import Stylization

    with app.app_context():
        return db.session.scalar(db.select(Stylization.job_id).where(Stylization.public_id == sid))


def test_admin_cancels_a_queued_stylization_and_its_page_says_so(app, client, admin):
    sid = submit(client)
    assert client.get(f"/api/stylize/{sid}").json["status"] == "queued"
    job_id = job_of(app, sid)
    assert client.post(f"/api/admin/jobs/{job_id}/cancel", headers=admin).status_code == 202
    status = client.get(f"/api/stylize/{sid}").json
    assert status["status"] == "failed" and status["error"] == "Cancelled.", status
    assert status["result_url"] is None
    assert client.get(f"/api/stylize/{sid}/result").status_code == 404
    assert client.post(f"/api/stylize/{sid}/cancel").status_code == 409  # it has ended
    assert client.post(f"/api/stylize/{sid}/rating", json={"stars": 5}).status_code == 409
    job = client.get(f"/api/admin/jobs/{job_id}", headers=admin).json
    assert job["status"] == "failed" and job["error"] == "Cancelled."
    app.config["MAX_QUEUED_PER_CLIENT"] = 1
    submit(client)  # the cancelled one no longer counts as waiting


def test_owner_cancel_shows_in_the_admin_job_list(app, client, admin):
    sid = submit(client)
    assert client.post(f"/api/stylize/{sid}/cancel").status_code == 202
    job = client.get(f"/api/admin/jobs/{job_of(app, sid)}", headers=admin).json
    assert job["status"] == "failed" and job["error"] == "Cancelled."
    assert client.post(f"/api/admin/jobs/{job['id']}/cancel", headers=admin).status_code == 409


def _stale(app, sid: str, attempts: int) -> None:
    """As if a worker claimed the job, reported progress, then died `attempts` times."""
    from webapp.extensions import db
    from webapp.tables import Job, utcnow

    with app.app_context():
        job = db.session.get(Job, job_of(app, sid))
        job.status, job.progress, job.attempts = "running", 0.4, attempts
        job.started = job.heartbeat = utcnow() - dt.timedelta(minutes=10)
        db.session.commit()


def test_stale_running_stylization_is_requeued_then_failed_and_the_api_agrees(app, client):
    from webapp.jobs.runner import recover_stale_jobs

    sid = submit(client)
    _stale(app, sid, attempts=1)
    running = client.get(f"/api/stylize/{sid}").json
    assert running["status"] == "running" and running["progress"] == 0.4
    with app.app_context():
        assert recover_stale_jobs("style", 60) == [job_of(app, sid)]
    requeued = client.get(f"/api/stylize/{sid}").json
    assert (
        requeued["status"] == "queued" and requeued["progress"] == 0 and requeued["error"] is None
    )

    _stale(app, sid, attempts=2)  # the second attempt's worker died too: it is given up
    with app.app_context():
        recover_stale_jobs("style", 60)
    failed = client.get(f"/api/stylize/{sid}").json
    assert failed["status"] == "failed" and "worker stopped" in failed["error"], failed
    assert failed["result_url"] is None


def test_metrics_count_stylizations_by_their_jobs_status(app, client, admin):
    cancelled, waiting = submit(client), submit(client)
    client.post(f"/api/admin/jobs/{job_of(app, cancelled)}/cancel", headers=admin)
    text = client.get("/metrics", headers=admin).get_data(as_text=True)
    assert 'celebvision_stylizations{method="nst",status="failed"} 1.0' in text, text
    assert 'celebvision_stylizations{method="nst",status="queued"} 1.0' in text
    assert waiting


def test_migration_keeps_what_users_were_told(any_db_app):
    """Rows written before 0004 (state on both rows) read the same after it, and back."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from webapp.extensions import db

    app = any_db_app
    with app.app_context():
        downgrade(revision="0003_ownership")
        db.session.execute(
            text(
                "INSERT INTO images (id, sha256, storage_key, format, width, height, size_bytes, "
                "created) VALUES (1, :sha, 'images/x.jpg', 'jpeg', 1, 1, 1, :now)"
            ),
            {"sha": "0" * 64, "now": dt.datetime.now(dt.UTC)},
        )
        # a finished one, one whose worker died after storing the result, one cancelled while queued
        for n, (job_status, row_status, key) in enumerate(
            [
                ("done", "done", "results/a.png"),
                ("running", "done", "results/b.png"),
                ("failed", "queued", None),
            ]
        ):
            db.session.execute(
                text(
                    "INSERT INTO jobs (id, kind, status, progress, log, attempts, cancel_requested, "
                    "created) VALUES (:id, 'stylize', :s, 0.5, '', 1, false, :now)"
                ),
                {"id": f"job{n}", "s": job_status, "now": dt.datetime.now(dt.UTC)},
            )
            db.session.execute(
                text(
                    "INSERT INTO stylizations (public_id, content_image_id, method, params, status, progress, job_id, "
                    "result_key, client, created) VALUES (:pid, 1, 'nst', '{}', :s, 0.5, :job, :key, 'c', :now)"
                ),
                {
                    "pid": f"migrated-{n:04d}",
                    "s": row_status,
                    "job": f"job{n}",
                    "key": key,
                    "now": dt.datetime.now(dt.UTC),
                },
            )
        db.session.commit()
        upgrade()
    client = app.test_client()
    states = [client.get(f"/api/stylize/migrated-{n:04d}").json for n in range(3)]
    assert [s["status"] for s in states] == ["done", "done", "failed"], states
    assert (
        states[1]["result_url"] and states[2]["result_url"] is None
    )  # its stored picture is offered
    with app.app_context():
        downgrade(revision="0003_ownership")
        assert db.session.execute(
            text("SELECT status FROM stylizations ORDER BY id")
        ).scalars().all() == ["done", "done", "failed"]
        db.session.commit()  # end the read before the migration alters the table
        upgrade()
