"""Real services for tests: PostgreSQL, Redis, an S3 server (moto over HTTP), a job worker.

PostgreSQL and Redis are used where they run on 127.0.0.1; without them the tests that need
them skip with the reason, except under CI=true, where a missing service is a failure.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def port_open(host: str, port: int) -> bool:
    """True when something listens on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or fail under CI=true) when `name` is not listening."""
    if port_open(host, port):
        return
    message = f"{name} is not running on {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must provide it")
    pytest.skip(f"{message}; start it to run this test")


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_postgres_database() -> tuple[str, callable]:
    """A new empty PostgreSQL database and a function that drops it."""
    import psycopg

    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"cv_test_{uuid.uuid4().hex[:10]}"
    admin = PG_ADMIN_URL.replace("postgresql://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return admin.rsplit("/", 1)[0] + "/" + name, drop


def app_env(config: dict) -> dict:
    """Environment variables that make a subprocess build the same app as `config`."""
    env = dict(os.environ)
    mapping = {
        "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
        "STORAGE_URL": "STORAGE_URL",
        "S3_ENDPOINT_URL": "S3_ENDPOINT_URL",
        "REDIS_URL": "REDIS_URL",
        "QUEUE_PATH": "QUEUE_PATH",
        "INSTANCE_DIR": "INSTANCE_PATH",
        "SECRET_KEY": "SECRET_KEY",
        "MODEL_CACHE_DIR": "MODEL_CACHE_DIR",
        "TRAIN_CONFIG": "TRAIN_CONFIG",
        "QUEUE_PREFIX": "QUEUE_PREFIX",
        "PRETRAINED_CACHE_DIR": "PRETRAINED_CACHE_DIR",
        "NEW_TASK_FEATURES": "NEW_TASK_FEATURES",
        "NST_MAX_EVALS": "NST_MAX_EVALS",
    }
    for key, var in mapping.items():
        if config.get(key):
            env[var] = str(config[key])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "SHIPPED_FACE_MODELS" in config:
        env["SHIPPED_FACE_MODELS"] = "1" if config["SHIPPED_FACE_MODELS"] else "0"
    # A dead worker's job is found within seconds: looked for every second, stale after 10 s of
    # silence. Not less: on a busy CI box a live job's heartbeat thread can starve for several
    # seconds (seen at 3 s: the job was requeued under its running worker, its workdir removed).
    env["JOB_STALE_SECONDS"] = env.get("JOB_STALE_SECONDS", "10")
    env.setdefault("JOB_RECOVERY_SECONDS", "1")
    # A style worker warms the pretrained fast networks at start (conversion, thumbnails): only the
    # tests of those networks want that work (tests/style/test_fast_style_methods.py turns it on).
    env.setdefault("STYLE_WARMUP", "0")
    return env


def terminate(proc: subprocess.Popen | None, wait: float = 15) -> None:
    """SIGTERM (what Ctrl-C in `make run` leads to), then SIGKILL if the process lingers."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


class Worker:
    """A real `flask worker` process for one queue."""

    def __init__(self, env: dict, queue: str, log: Path):
        self.env, self.queue, self.log_path = env, queue, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Worker:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--queue", self.queue],
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: what a crash or the OOM killer does."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        terminate(self.proc)
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for(predicate, timeout: float, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns a truthy value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


# Credentials for the S3 server the tests start (moto); boto3 refuses to sign without some.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def fake_aws_credentials(monkeypatch) -> None:
    """Point boto3 at the fake credentials for the rest of the test."""
    for var, value in FAKE_AWS.items():
        monkeypatch.setenv(var, value)


def race(script: str, env: dict, racers: int = 2) -> list[str]:
    """Run `script` in `racers` Python processes at the same moment; their last stdout lines.

    Fails with their stderr when any of them fails.
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(racers)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outputs]
    return [o[0].strip().splitlines()[-1] for o in outputs]
