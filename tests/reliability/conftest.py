"""Fixtures: the app served by real gunicorn and real job workers, torn down after each test."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, make_config
from tests.reliability import Gunicorn, served_env, train_default_model, write_lfw_folder
from tests.services import Worker, fresh_postgres_database


@pytest.fixture
def migrated(tmp_path):
    """Build (and migrate) an app for a config; returns (app, env) and disposes of it afterwards."""
    apps = []

    def make(**overrides):
        config = make_config(tmp_path, **overrides)
        app = build_app(config)
        apps.append(app)
        return app, served_env(config)

    yield make
    from webapp.extensions import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def serve(tmp_path):
    """Start gunicorn for an env (`serve(env, workers=2)`); every server is stopped afterwards."""
    servers: list[Gunicorn] = []

    def start(env: dict, workers: int = 2, port: int | None = None) -> Gunicorn:
        server = Gunicorn(
            env, tmp_path / f"gunicorn-{len(servers)}.log", workers=workers, port=port
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def job_worker(tmp_path):
    """Start a `flask worker --queue NAME` process (`job_worker(env, "train")`); all stopped afterwards."""
    workers: list[Worker] = []

    def start(env: dict, queue: str) -> Worker:
        worker = Worker(env, queue, tmp_path / f"worker-{queue}-{len(workers)}.log").start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database, dropped afterwards (fails instead of skipping under CI=true)."""
    url, drop = fresh_postgres_database()
    yield url
    drop()


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory):
    """A `female`/`male` classifier trained for one epoch with `python -m ml.train` (about 20 s)."""
    root = tmp_path_factory.mktemp("trained")
    data = write_lfw_folder(root / "data", limit=100)
    return train_default_model(data, root / "model")


@pytest.fixture
def served(tmp_path):
    """Start `scripts/serve` for an env (`served(env)`); Ctrl-C'd afterwards."""
    from tests.reliability import Served

    running: list[Served] = []

    def start(env: dict, **kwargs) -> Served:
        server = Served(env, tmp_path / f"serve-{len(running)}.log", **kwargs)
        running.append(server)
        return server.start()

    yield start
    for server in running:
        server.stop()
