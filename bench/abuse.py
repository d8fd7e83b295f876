"""/healthz and classify latency with and without each attack (idle sockets, slow bodies, a job
flood), side by side, in one run.

    .venv/bin/python bench/abuse.py [--probes 15] [--idle 200] [--slow 10] [--flood-addresses 4]

Starts the product as `make run` does (`scripts/serve`: gunicorn with its gunicorn.conf.py and
both job workers under the supervisor) in a throw-away instance whose `gender` task serves a
freshly trained model, then measures, for each situation, `--probes` sequential requests of
/healthz and of a full classify (a 178x218 face), and the time a 256 px `arbitrary` stylization
from an uninvolved address takes from post to done:

- baseline: nothing else going on;
- idle sockets: `--idle` connections opened and left silent;
- slow bodies: `--slow` connections sending `POST /api/classify` headers with Content-Length
  100000, then one byte every 5 s;
- job flood: `--flood-addresses` loopback addresses (127.0.0.2, ...) each queueing as many
  1024 px `nst` jobs as the per-client cap lets them (3).

Idle sockets and slow bodies come from 127.0.0.2-6, not the probing address (one address may
hold CONNECTIONS_PER_ADDRESS connections). Then the connection floods and admin lock-out,
with and without the defence (bench/abuse_floods.py; `--flood-probes`, 0 skips them).

All clients are on this machine (loopback addresses), as in the reported reproductions. Prints
one markdown table; then the slow poisoning with and without its defences
(`bench/poisoning.py`; `--poisoning-only` runs just that).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import abuse_floods  # noqa: E402
from bench.http_load import deploy_model, face_jpegs  # noqa: E402
from tests.conftest import image_bytes  # noqa: E402
from tests.http_helpers import wait_until_ended  # noqa: E402
from tests.reliability import Served, served_env  # noqa: E402
from tests.services import wait_for  # noqa: E402


def session_from(address: str):
    """A requests session whose connections leave from `address` (any 127.x.y.z works)."""
    import requests
    from requests.adapters import HTTPAdapter

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (address, 0)
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.mount("http://", Adapter())
    return session


def probe(url: str, probes: int, faces: list[bytes]) -> dict:
    """Sequential /healthz and classify requests: their latencies (s) and failures."""
    session = session_from("127.0.0.1")
    health, classify, failures = [], [], 0
    for i in range(probes):
        started = time.perf_counter()
        try:
            ok = session.get(f"{url}/healthz", timeout=30).status_code == 200
        except Exception:
            ok = False
        health.append(time.perf_counter() - started)
        failures += not ok
        started = time.perf_counter()
        try:
            response = session.post(
                f"{url}/api/classify",
                files={"image": ("face.jpg", faces[i % len(faces)])},
                data={"task": "gender"},
                timeout=30,
            )
            ok = response.status_code == 200
        except Exception:
            ok = False
        classify.append(time.perf_counter() - started)
        failures += not ok
        time.sleep(0.2)
    return {"health": health, "classify": classify, "failures": failures}


def stylize(url: str, address: str, method: str, size: int, seed: int) -> str | None:
    files = {
        "content": ("c.jpg", image_bytes(seed=seed)),
        "style": ("s.png", image_bytes("PNG", seed=seed + 1)),
    }
    response = session_from(address).post(
        f"{url}/api/stylize", files=files, data={"method": method, "size": str(size)}, timeout=60
    )
    return response.json()["id"] if response.status_code == 202 else None


def fast_job_seconds(url: str, seed: int) -> float:
    """Post a 256 px `arbitrary` job from an uninvolved address; seconds until it is done."""
    address = f"127.0.1.{seed % 250 + 1}"
    started = time.perf_counter()
    sid = stylize(url, address, "arbitrary", 256, seed)
    session = session_from(address)
    body = wait_until_ended(
        lambda: session.get(f"{url}/api/stylize/{sid}", timeout=30).json(),
        900,
        "the arbitrary job",
        interval=0.2,
    )
    assert body["status"] == "done", body
    return time.perf_counter() - started


class SlowBody(threading.Thread):
    def __init__(self, port: int, stop: threading.Event, source: str = "127.0.0.2"):
        super().__init__(daemon=True)
        self.port, self.stop, self.source = port, stop, source

    def run(self) -> None:
        while not self.stop.is_set():  # reconnect when the server cuts it off (408)
            try:
                sock = socket.create_connection(
                    ("127.0.0.1", self.port), timeout=30, source_address=(self.source, 0)
                )
            except OSError:
                time.sleep(1)
                continue
            try:
                sock.sendall(
                    b"POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data;"
                    b" boundary=x\r\nContent-Length: 100000\r\n\r\n"
                )
                while not self.stop.wait(5):
                    sock.sendall(b"x")
            except OSError:
                pass
            finally:
                sock.close()


def summary(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} / {max(values) * 1000:.0f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=15)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--slow", type=int, default=10)
    parser.add_argument("--flood-addresses", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--poisoning-only", action="store_true")
    parser.add_argument("--flood-probes", type=int, default=8)
    parser.add_argument(
        "--only-floods",
        action="store_true",
        help="skip the idle-socket, slow-body and job-flood attacks",
    )
    args = parser.parse_args(argv)
    if args.poisoning_only:
        return poisoning_table()

    root = Path(tempfile.mkdtemp(prefix="abuse-bench-"))
    config = deploy_model(root, args.epochs)
    env = served_env(config, MAX_QUEUED_PER_CLIENT="3", JOB_STALE_SECONDS="60")
    faces = face_jpegs()
    rows = []
    if not args.only_floods:
        rows = issue_20_rows(args, env, root, faces)
    floods = (
        abuse_floods.flood_rows(config, root, args.flood_probes, faces) if args.flood_probes else []
    )
    lockout = abuse_floods.lockout_rows(root)
    print_rows(rows)
    abuse_floods.print_tables(floods, lockout)
    return poisoning_table()


def print_rows(rows: list[tuple]) -> None:
    """The idle-socket, slow-body and job-flood table."""
    print()
    print(
        "| situation | /healthz p50 / max (ms) | classify p50 / max (ms) | failed "
        "| 256 px `arbitrary` job, post to done (s) |"
    )
    print("|---|---|---|---|---|")
    for label, measured, fast in rows:
        fast_text = f"{fast:.1f}" if fast is not None else "-"
        print(
            f"| {label} | {summary(measured['health'])} | {summary(measured['classify'])} | "
            f"{measured['failures']} | {fast_text} |"
        )


def issue_20_rows(args, env: dict, root: Path, faces: list[bytes]) -> list[tuple]:
    """The idle-socket, slow-body and job-flood attacks against one server: (situation, probes, fast job seconds)."""
    server = Served(env, root / "serve.log").start(timeout=300)
    url, port = server.url, int(server.env["PORT"])
    rows = []
    try:
        wait_for(lambda: "worker consuming the style queue" in server.output(), 300)
        print("warming up (models load on first use)...", flush=True)
        probe(url, 4, faces)
        fast_job_seconds(url, 1)

        print("baseline...", flush=True)
        rows.append(("baseline", probe(url, args.probes, faces), fast_job_seconds(url, 2)))

        print(f"{args.idle} idle sockets...", flush=True)
        idle = [
            socket.create_connection(
                ("127.0.0.1", port), source_address=(abuse_floods.ATTACKERS[i % 5], 0)
            )
            for i in range(args.idle)
        ]
        time.sleep(2)
        rows.append((f"{args.idle} idle sockets", probe(url, args.probes, faces), None))
        for sock in idle:
            sock.close()

        print(f"{args.slow} slow bodies...", flush=True)
        stop = threading.Event()
        slow = [SlowBody(port, stop, abuse_floods.ATTACKERS[i % 5]) for i in range(args.slow)]
        for thread in slow:
            thread.start()
        time.sleep(3)
        rows.append(
            (f"{args.slow} slow bodies (1 byte / 5 s)", probe(url, args.probes, faces), None)
        )
        stop.set()

        print("job flood...", flush=True)
        flood = [
            stylize(url, f"127.0.0.{2 + a}", "nst", 1024, 100 + 10 * a + j)
            for a in range(args.flood_addresses)
            for j in range(4)
        ]
        accepted = [sid for sid in flood if sid]
        time.sleep(5)
        label = (
            f"job flood ({len(accepted)} nst 1024 px jobs from {args.flood_addresses} "
            f"addresses; {len(flood) - len(accepted)} refused by the cap)"
        )
        rows.append((label, probe(url, args.probes, faces), fast_job_seconds(url, 3)))
    finally:
        server.stop()
    return rows


def poisoning_table() -> int:
    """The slow poisoning, with and without the defences (in-process)."""
    from bench.poisoning import table

    print("\nslow poisoning (80 new addresses, one wrong label each, three rounds):", flush=True)
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
