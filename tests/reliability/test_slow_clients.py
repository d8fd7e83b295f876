"""Slow and idle clients cannot starve the web server (gunicorn as `make run` starts it, with its
settings from gunicorn.conf.py): with idle sockets and slow uploads held open, /healthz and a
classify still answer in well under a second, and a body that trickles in is cut off with 408."""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest
import requests

from tests.conftest import image_bytes

pytestmark = pytest.mark.slow


def idle_socket(port: int) -> socket.socket:
    """A connection that never sends anything."""
    return socket.create_connection(("127.0.0.1", port), timeout=5)


class SlowBody(threading.Thread):
    """POST /api/classify headers declaring 100000 bytes, then one byte every `every` seconds."""

    def __init__(self, port: int, every: float = 2.0):
        super().__init__(daemon=True)
        self.port, self.every = port, every
        self.stop = threading.Event()
        self.answer = b""

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        head = (
            "POST /api/classify HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
        )
        sock.sendall(head.encode())
        try:
            while not self.stop.wait(self.every):
                if select.select([sock], [], [], 0)[0]:  # the server answered (408)
                    self.answer = sock.recv(4096)
                    break
                sock.sendall(b"x")
        except OSError:  # the server closed the connection
            pass
        sock.close()


def timed(fn) -> tuple[float, requests.Response]:
    started = time.perf_counter()
    response = fn()
    return time.perf_counter() - started, response


def classify(url: str, seed: int) -> requests.Response:
    files = {"image": ("p.jpg", image_bytes("JPEG", seed=seed))}
    return requests.post(f"{url}/api/classify", files=files, data={"task": "gender"}, timeout=30)


def test_idle_sockets_and_slow_bodies_do_not_starve_the_server(migrated, serve):
    app, env = migrated()
    server = serve(env, workers=2)
    classify(server.url, 0)  # the first classify of a worker loads the model: not measured
    classify(server.url, 1)

    idle = [idle_socket(server.port) for _ in range(50)]
    slow = [SlowBody(server.port) for _ in range(6)]
    for s in slow:
        s.start()
    time.sleep(3)  # every attacker connected and holding on

    health, answers = [], []
    for i in range(8):
        seconds, response = timed(lambda: requests.get(f"{server.url}/healthz", timeout=10))
        assert response.status_code == 200, response.text
        health.append(seconds)
        seconds, response = timed(lambda i=i: classify(server.url, 10 + i))
        assert response.status_code == 200, response.text
        answers.append(seconds)
    for s in slow:
        s.stop.set()
    for sock in idle:
        sock.close()
    assert max(health) < 1.0, health
    assert max(answers) < 1.0, answers
    assert "Server: gunicorn" not in server.output()


def test_a_body_that_trickles_in_is_cut_off(migrated, serve):
    app, env = migrated()
    env["REQUEST_BODY_SECONDS"] = "2"
    server = serve(env, workers=1)
    slow = SlowBody(server.port, every=0.5)
    started = time.perf_counter()
    slow.start()
    slow.join(30)
    assert not slow.is_alive(), "the server kept reading a body that took 30 s"
    assert time.perf_counter() - started < 15
    assert slow.answer.startswith(b"HTTP/1.1 408"), slow.answer[:200]
    assert b"too slowly" in slow.answer

    response = requests.get(f"{server.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.headers["Server"] == "CelebVision"
