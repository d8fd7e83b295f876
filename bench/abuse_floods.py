"""Connection floods and admin lock-out, with and without the defence, for bench/abuse.py.

Floods: the product as `make run` serves it (scripts/serve, web only), once with the web workers'
front (webapp/ops/front.py) and once with gunicorn's stock gthread worker (WEB_FRONT=0), each
under: 34 reconnecting slow bodies from one address; 200 slow connections from five addresses
(127.0.0.2-6), each declaring a 10 MB body and sending a byte a second, reconnecting when cut
off. /healthz and a classify are probed from 127.0.0.1. Also: how long one such body is read
before the server lets it go.

Lock-out: 10 wrong passwords from each of three addresses, then the right one from a fourth
address the admin never used, with today's rule and with the former one (a counter per user name
for addresses the admin never logged in from, re-created here).
"""

from __future__ import annotations

import select
import socket
import threading
import time

ATTACKERS = [f"127.0.0.{i}" for i in range(2, 7)]
SLOW_HEAD = (
    b"POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
    b"Content-Length: 10000000\r\n\r\n"
)


class Flooder(threading.Thread):
    """One slow 10 MB body from `source`, a byte a second, opened again whenever it is cut off."""

    def __init__(self, port: int, source: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.source, self.stop = port, source, stop

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                sock = socket.create_connection(
                    ("127.0.0.1", self.port), timeout=10, source_address=(self.source, 0)
                )
            except OSError:
                self.stop.wait(0.5)
                continue
            try:
                sock.sendall(SLOW_HEAD)
                while not self.stop.wait(1.0):
                    if select.select([sock], [], [], 0)[0]:
                        break  # answered (408, 429) or closed
                    sock.sendall(b"x")
            except OSError:
                pass
            finally:
                sock.close()
            self.stop.wait(0.2)


def flood_probe(url: str, probes: int, faces: list[bytes]) -> dict:
    """Sequential /healthz and classify from 127.0.0.1; a request not answered in 20 s fails."""
    import requests

    health, classify, failures = [], [], 0
    for i in range(probes):
        for kind in ("health", "classify"):
            started = time.perf_counter()
            try:
                if kind == "health":
                    ok = requests.get(f"{url}/healthz", timeout=20).status_code == 200
                else:
                    files = {"image": ("face.jpg", faces[i % len(faces)])}
                    response = requests.post(
                        f"{url}/api/classify", files=files, data={"task": "gender"}, timeout=20
                    )
                    ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            (health if kind == "health" else classify).append(time.perf_counter() - started)
            failures += not ok
        time.sleep(0.3)
    return {"health": health, "classify": classify, "failures": failures}


def under_flood(url: str, port: int, sources: list[str], probes: int, faces) -> dict:
    stop = threading.Event()
    flood = [Flooder(port, source, stop) for source in sources]
    for thread in flood:
        thread.start()
    time.sleep(4)
    try:
        return flood_probe(url, probes, faces)
    finally:
        stop.set()
        time.sleep(1.5)


def body_held_seconds(port: int, cap: float = 40.0) -> float:
    """How long the server reads one 10 MB body arriving at a byte a second (capped)."""
    sock = socket.create_connection(
        ("127.0.0.1", port), timeout=cap + 5, source_address=(ATTACKERS[0], 0)
    )
    started = time.perf_counter()
    try:
        sock.sendall(SLOW_HEAD)
        while time.perf_counter() - started < cap:
            if select.select([sock], [], [], 1.0)[0]:
                break
            sock.sendall(b"x")
    except OSError:
        pass
    finally:
        sock.close()
    return time.perf_counter() - started


def flood_rows(config: dict, root, probes: int, faces) -> list[tuple]:
    """(defence, situation, measurements) for each server and attack."""
    from tests.reliability import Served, served_env

    rows = []
    for front in (False, True):
        # a queue of its own: jobs left queued by earlier attacks would make /healthz 503 here
        queue = root / f"flood-queue-{int(front)}.db"
        env = served_env(
            config, WEB_FRONT="1" if front else "0", QUEUE_PATH=queue, CONNECTIONS_PER_ADDRESS=32
        )
        server = Served(env, root / f"serve-front-{int(front)}.log", no_workers=True)
        server.start(timeout=300)
        url, port = server.url, int(server.env["PORT"])
        name = "with the front" if front else "without (stock gthread)"
        try:
            print(f"floods, {name}...", flush=True)
            flood_probe(url, 3, faces)  # warm-up
            rows.append((name, "baseline", flood_probe(url, probes, faces)))
            rows.append(
                (
                    name,
                    "34 slow bodies from one address",
                    under_flood(url, port, [ATTACKERS[0]] * 34, probes, faces),
                )
            )
            rows.append(
                (
                    name,
                    "200 slow connections from 5 addresses",
                    under_flood(url, port, [ATTACKERS[i % 5] for i in range(200)], probes, faces),
                )
            )
            rows.append((name, "one 10 MB body at 1 byte/s: read for (s)", body_held_seconds(port)))
        finally:
            server.stop()
    return rows


def lockout_rows(tmp) -> list[tuple[str, str]]:
    """The right password from a new address after strangers' guesses: old rule and new."""
    from tests.conftest import build_app, make_config
    from tests.http_helpers import at, basic
    from webapp.auth import access

    rows = []
    for old_rule in (True, False):
        app = build_app(make_config(tmp / f"lockout-{int(old_rule)}"))
        with app.app_context():
            access.create_or_reset_admin("root", "s3cret-pass")
        original = access._guards
        if old_rule:

            def issue_20_guards(username: str, original=original):
                from flask import current_app

                name = username[:80].lower()
                return original(username) + [
                    (name, "auth-fail-user", current_app.config["RATE_LIMIT_LOGIN_USER"])
                ]

            access._guards = issue_20_guards
        try:
            client = app.test_client()
            for address in ("10.9.0.1", "10.9.0.2", "10.9.0.3"):
                for _ in range(10):
                    client.get("/api/admin/jobs", headers=basic("root", "wrong"), **at(address))
            response = client.get(
                "/api/admin/jobs", headers=basic("root", "s3cret-pass"), **at("127.0.0.1")
            )
            guesser = client.get("/api/admin/jobs", headers=basic("root", "x"), **at("10.9.0.1"))
        finally:
            access._guards = original
        label = "without (the former per-name counter)" if old_rule else "with (per address)"
        answer = f"{response.status_code}" + (
            f" ({response.json['error']})" if response.status_code != 200 else ""
        )
        rows.append((label, answer, str(guesser.status_code)))
    return rows


def ms(values: list[float]) -> str:
    import statistics

    return f"{statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f}"


def print_tables(floods: list[tuple], lockout: list[tuple[str, str]]) -> None:
    print()
    print(
        "| connection flood | defence | /healthz p50 / max (ms) | classify p50 / max (ms) | failed |"
    )
    print("|---|---|---|---|---|")
    for name, situation, measured in floods:
        if isinstance(measured, float):
            print(f"| {situation} | {name} | {measured:.1f} s | | |")
        else:
            print(
                f"| {situation} | {name} | {ms(measured['health'])} | "
                f"{ms(measured['classify'])} | {measured['failures']} |"
            )
    print()
    print(
        "| admin lock-out: 3 addresses x 10 wrong passwords, then the right one from a 4th | "
        "right password | the guessing address next |"
    )
    print("|---|---|---|")
    for label, answer, guesser in lockout:
        print(f"| {label} | {answer} | {guesser} |")
