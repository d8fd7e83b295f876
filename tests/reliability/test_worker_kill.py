"""`kill -9` of the job worker mid-training and mid-stylization: the job is retried or failed,
nothing half-written is left, and the next job runs."""

from __future__ import annotations

import io

import pytest
import yaml

from tests import http_helpers
from tests.classification.test_celeba_import_and_retrain import write_split_celeba
from tests.conftest import image_bytes
from tests.http_helpers import ended, start_retrain
from tests.reliability import ADMIN, ADMIN_HEADER, orphans_and_dangling
from tests.services import REPO, wait_for

# Its own waits (start, RECOVERY, the next job) add up to more than the default limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# How long a job may take to end after the kill: a fresh worker imports TensorFlow, then runs the
# retried job and maybe one queued before it. A minute or two on a quiet 2-core box; an nst job at
# 256 px took over 3 minutes on one shared five times over, so the ceiling is generous.
RECOVERY = 600
# These tests are about recovery, not painting: an nst job here spends a few evaluations (the
# operator's NST_MAX_EVALS cap), a few seconds each, so a kill still lands mid-job.
FEW_EVALS = 8


def short_training_config(path) -> str:
    """The small CNN config with fewer epochs (its epochs are long enough to kill the worker
    in one), so a retry finishes in seconds."""
    config = yaml.safe_load((REPO / "ml/configs/small_cnn.yaml").read_text())
    config["training"]["epochs"] = 4
    path.write_text(yaml.safe_dump(config))
    return str(path)


def with_admin(app):
    from webapp.auth.access import create_or_reset_admin

    with app.app_context():
        create_or_reset_admin(*ADMIN)
    return app.test_client()


def job(client, job_id: str) -> dict:
    return http_helpers.job(client, ADMIN_HEADER, job_id)


def attempts(app, job_id: str) -> int:
    from webapp.extensions import db
    from webapp.tables import Job

    with app.app_context():
        count = db.session.get(Job, job_id).attempts
        db.session.remove()
    return count


def test_kill_worker_during_training(migrated, job_worker, tmp_path):
    app, env = migrated(TRAIN_CONFIG=short_training_config(tmp_path / "short.yaml"))
    client = with_admin(app)
    write_split_celeba(tmp_path / "celeba")
    result = app.test_cli_runner().invoke(
        args=[
            "data",
            "import-celeba",
            str(tmp_path / "celeba"),
            "--task",
            "gender",
            "--limit",
            "120",
        ]
    )
    assert result.exit_code == 0, result.output

    worker = job_worker(env, "train")
    job_id = start_retrain(client, ADMIN_HEADER, task="gender")
    wait_for(
        lambda: job(client, job_id)["progress"] >= 0.15, 180, message="training to be under way"
    )
    worker.kill()
    killed_at = job(client, job_id)
    assert killed_at["status"] == "running" and killed_at["progress"] < 0.85, killed_at
    assert orphans_and_dangling(app) == ([], [])
    assert client.get("/api/admin/models/gender", headers=ADMIN_HEADER).json == []

    job_worker(env, "train")
    final = wait_for(
        ended(lambda: job(client, job_id)), RECOVERY, interval=0.5, message="the killed job to end"
    )
    versions = client.get("/api/admin/models/gender", headers=ADMIN_HEADER).json
    if final["status"] == "done":  # retried from scratch: one whole version, not one and a half
        assert [v["version"] for v in versions] == ["v1"] and final["result"][
            "model_version"
        ] == "v1"
        assert attempts(app, job_id) == 2
    else:
        assert versions == [] and "worker stopped" in final["error"]
    assert orphans_and_dangling(app) == ([], [])

    next_id = start_retrain(client, ADMIN_HEADER, task="smiling")
    after = wait_for(ended(lambda: job(client, next_id)), 120, message="the next job to run")
    assert "Not enough labelled images" in (after["error"] or ""), (
        after
    )  # it ran: its handler judged the data


def stylize(client, seed: int) -> int:
    form = {
        "content": (io.BytesIO(image_bytes(seed=seed)), "c.jpg"),
        "style": (io.BytesIO(image_bytes("PNG", seed=seed + 1)), "s.png"),
        "method": "nst",
        "size": "64",
    }
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    return response.json["id"]


def test_kill_worker_during_stylization(migrated, job_worker):
    app, env = migrated(NST_MAX_EVALS=FEW_EVALS)
    client = app.test_client()
    status = lambda sid: client.get(f"/api/stylize/{sid}").json  # noqa: E731

    worker = job_worker(env, "style")
    first = stylize(client, 1)
    wait_for(
        lambda: status(first)["progress"] > 0.05, 180, message="the stylization to be under way"
    )
    worker.kill()
    assert status(first)["status"] == "running" and status(first)["result_url"] is None
    second = stylize(client, 10)

    job_worker(env, "style")
    final = wait_for(
        ended(lambda: status(first)),
        RECOVERY,
        interval=0.5,
        message="the killed stylization to end",
    )
    if final["status"] == "done":
        assert client.get(final["result_url"]).mimetype == "image/png"
    else:
        assert "worker stopped" in final["error"] and final["result_url"] is None
    after = wait_for(
        ended(lambda: status(second)), RECOVERY, interval=0.5, message="the next stylization to run"
    )
    assert after["status"] == "done", after
    assert client.get(after["result_url"]).status_code == 200
    assert orphans_and_dangling(app) == ([], [])


# ---------------------------------------------------------------- as `make run` serves: supervised


def post_stylize(url: str, session, method: str, seed: int, **fields) -> str:
    files = {"content": ("c.jpg", image_bytes(seed=seed))}
    if method in ("nst", "arbitrary"):
        files["style"] = ("s.png", image_bytes("PNG", seed=seed + 1))
    data = {"method": method, "size": "64", **fields}
    response = session.post(f"{url}/api/stylize", files=files, data=data, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def test_serve_restarts_a_killed_worker_and_the_job_recovers(migrated, served):
    """`kill -9` of the style worker mid-job under scripts/serve: the web keeps answering, the
    supervisor logs the exit and starts a new worker, the job is retried (or failed with the
    reason) and the next job runs, all without anyone's help; Ctrl-C still stops everything."""
    import os
    import signal

    import requests

    app, env = migrated(NST_MAX_EVALS=FEW_EVALS)
    server = served(env)
    wait_for(lambda: "worker consuming the style queue" in server.output(), 120)
    pid = server.pid_of("style worker")
    session = requests.Session()
    status = lambda sid: session.get(f"{server.url}/api/stylize/{sid}", timeout=10).json()  # noqa: E731

    first = post_stylize(server.url, session, "nst", 1)
    wait_for(lambda: status(first)["progress"] > 0.05, 180, message="the nst job to be under way")
    os.kill(pid, signal.SIGKILL)

    health = wait_for(  # at once, not 30 s later
        lambda: (
            (h := requests.get(f"{server.url}/healthz", timeout=5)).status_code == 503 and h.json()
        ),
        3,
        message="/healthz to name the killed worker",
    )
    assert "style worker: not running" in health["queue"], health
    wait_for(
        lambda: f"style worker (pid {pid}) stopped" in server.output(), 30, message="the exit log"
    )
    assert "(killed by SIGKILL); restarting in 1 s" in server.output()
    wait_for(lambda: server.pid_of("style worker") != pid, 30, message="a new style worker")

    final = wait_for(ended(lambda: status(first)), RECOVERY, interval=0.5, message="the killed job")
    if final["status"] == "done":
        assert session.get(f"{server.url}{final['result_url']}", timeout=10).status_code == 200
    else:
        assert "worker stopped" in final["error"], final
    second = post_stylize(server.url, session, "nst", 10)
    after = wait_for(ended(lambda: status(second)), RECOVERY, interval=0.5, message="the next job")
    assert after["status"] == "done", after
    assert requests.get(f"{server.url}/healthz", timeout=5).json()["queue"] == "ok"
    assert orphans_and_dangling(app) == ([], [])

    assert server.stop() == 0, server.output()[-2000:]
    assert "supervisor: stopped" in server.output()
    wait_for(lambda: not server.group_alive(), 30, message="every process to stop after Ctrl-C")


@pytest.fixture(scope="module")
def pretrained_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("pretrained")


def test_a_restart_with_queued_nst_and_fast_jobs_runs_them_all(
    migrated, job_worker, pretrained_cache
):
    """Jobs queued while no worker ran (nst, arbitrary, preset), then a style worker starts with
    its warm-up: the warm-up and the first jobs used to import TensorFlow at once (an import
    deadlock, then "Registering two gradient with name 'ReduceDataset'" for every later job)."""
    app, env = migrated(PRETRAINED_CACHE_DIR=str(pretrained_cache), NST_MAX_EVALS=FEW_EVALS)
    client = app.test_client()
    status = lambda sid: client.get(f"/api/stylize/{sid}").json  # noqa: E731
    ids = []
    for method, extra in (("nst", {}), ("arbitrary", {}), ("preset", {"preset": "1"})):
        form = {
            "content": (io.BytesIO(image_bytes(seed=len(ids))), "c.jpg"),
            "method": method,
            "size": "64",
            **extra,
        }
        if method != "preset":
            form["style"] = (io.BytesIO(image_bytes("PNG", seed=9)), "s.png")
        response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
        assert response.status_code == 202, response.json
        ids.append(response.json["id"])

    worker = job_worker(
        {**env, "STYLE_WARMUP": "1", "PRETRAINED_CACHE_DIR": str(pretrained_cache)}, "style"
    )
    finals = [
        wait_for(ended(lambda sid=sid: status(sid)), 600, interval=0.5, message=f"job {sid}")
        for sid in ids
    ]
    assert [f["status"] for f in finals] == ["done"] * 3, (finals, worker.output()[-3000:])
    assert "deadlock" not in worker.output() and "Registering two" not in worker.output()
    assert client.get("/healthz").status_code == 200
