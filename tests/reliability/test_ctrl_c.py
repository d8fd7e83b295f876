"""Ctrl-C stops `make run` (scripts/serve: the supervisor, gunicorn's master and workers, both job
workers) within gunicorn's grace, and nothing is killed for lingering (a web worker
ignored Ctrl-C for the 20 s grace and was killed with "Perhaps out of memory?")."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests

from tests.conftest import image_bytes
from tests.services import wait_for

pytestmark = pytest.mark.slow

GRACE = 20  # graceful_timeout in gunicorn.conf.py


def classify_forever(url: str, stop: threading.Event) -> None:
    seed = 0
    while not stop.is_set():
        seed += 1
        files = {"image": ("p.jpg", image_bytes("JPEG", seed=seed))}
        try:
            requests.post(f"{url}/api/classify", files=files, timeout=30)
        except requests.RequestException:
            return


def test_ctrl_c_stops_every_process_within_the_grace(migrated, served):
    app, env = migrated()
    server = served(env)
    wait_for(lambda: "worker consuming the style queue" in server.output(), 120)
    wait_for(lambda: "worker consuming the train queue" in server.output(), 120)
    stop = threading.Event()
    busy = [
        threading.Thread(target=classify_forever, args=(server.url, stop), daemon=True)
        for _ in range(4)
    ]
    for thread in busy:  # requests in flight when Ctrl-C comes
        thread.start()
    time.sleep(2)

    started = time.monotonic()
    os.killpg(server.proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends
    gone = lambda: server.proc.poll() is not None and not server.group_alive()  # noqa: E731
    wait_for(gone, GRACE, interval=0.2, message="every process to stop")
    stop.set()
    seconds = time.monotonic() - started
    output = server.output()
    assert "Perhaps out of memory" not in output, output[-3000:]
    assert "SIGKILL" not in output and "killing it" not in output, output[-3000:]
    assert seconds < GRACE, seconds  # measured 6 s on a busy 2-core machine
