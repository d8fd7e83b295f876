"""A stylization's state has one source, its job: every path (worker, API, admin cancel, recovery
after a crash) tells the user the same thing through GET /api/stylize/<id>."""
import datetime as dt
import io

from tests.conftest import image_bytes


def submit(client) -> str:
    form = {"content": (io.BytesIO(image_bytes(seed=1)), "me.jpg"), "style": (io.BytesIO(image_bytes(seed=2)), "s.jpg"),
            "size": "64", "method": "nst"}
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    return response.json["id"]


def job_of(app, sid: str) -> str:
    from webapp.extensions import db
    from webapp.models import Stylization

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
    from webapp.models import Job, utcnow

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
    assert requeued["status"] == "queued" and requeued["progress"] == 0 and requeued["error"] is None

    _stale(app, sid, attempts=2)  # the second attempt's worker died too: it is given up
    with app.app_context():
        recover_stale_jobs("style", 60)
    failed = client.get(f"/api/stylize/{sid}").json
    assert failed["status"] == "failed" and "worker stopped" in failed["error"], failed
    assert failed["result_url"] is None


def test_metrics_count_stylizations_by_their_jobs_status(app, client, admin):
    cancelled, waiting = submit(client), submit(client)
    client.post(f"/api/admin/jobs/{job_of(app, cancelled)}/cancel", headers=admin)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'celebvision_stylizations{method="nst",status="failed"} 1.0' in text, text
    assert 'celebvision_stylizations{method="nst",status="queued"} 1.0' in text
    assert waiting
