"""/healthz reports job workers that registered and then broke or vanished (at once when their
process is gone), and jobs that wait with no worker to run them (NO_WORKERS with 5
jobs queued said ok); it stays 200 when no worker ever ran and nothing waits."""

from __future__ import annotations

import time


def health(client):
    response = client.get("/healthz")
    return response.status_code, response.json["queue"]


def test_no_registered_worker_is_healthy(client):
    assert health(client) == (200, "ok")


def test_a_broken_worker_makes_healthz_503_naming_it(app, client):
    from webapp.jobs import health as worker_health

    worker_health.report(app, "style", "ok")
    assert health(client) == (200, "ok")
    worker_health.report(app, "style", "broken", "TensorFlow is unusable in this worker (at start)")
    status, queue = health(client)
    assert status == 503
    assert "style worker: cannot run jobs: TensorFlow is unusable" in queue
    worker_health.deregister(app, "style")
    assert health(client) == (200, "ok")


def test_a_vanished_worker_is_reported_until_a_new_one_beats(app, client):
    from webapp.jobs import health as worker_health

    store = app.extensions["queue"].hueys["train"]
    old = time.time() - 120
    store.put("worker:gone-host:1", {"beat": old, "state": "ok", "reason": "", "host": "gone"})
    status, queue = health(client)
    assert status == 503 and "train worker: not running (last seen 12" in queue
    worker_health.report(app, "train", "ok")  # the supervisor started a new one
    assert health(client) == (200, "ok")
    assert store.get("worker:gone-host:1", peek=True) is None  # the dead one is forgotten


def test_jobs_waiting_with_no_worker_make_healthz_503(app, client):
    from webapp.jobs import health as worker_health

    queue = app.extensions["queue"]
    for i in range(5):
        queue.enqueue("retrain", f"job-{i}", "smiling")
    status, message = health(client)
    assert status == 503 and "train worker: none running, 5 job(s) waiting" in message
    worker_health.report(app, "train", "starting")  # a worker comes up
    assert health(client) == (200, "ok")


def test_a_killed_worker_shows_at_once_not_when_its_beats_go_stale(app, client):
    import socket
    import subprocess
    import sys

    from webapp.jobs import health as worker_health

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that no longer runs
    store = app.extensions["queue"].hueys["style"]
    entry = {"beat": time.time(), "state": "ok", "reason": "", "host": socket.gethostname()}
    store.put("worker:here:1", {**entry, "pid": gone.pid})
    status, message = health(client)
    assert status == 503 and "style worker: not running (last seen 0 s ago)" in message
    worker_health.report(app, "style", "ok")
    assert health(client) == (200, "ok")
