"""Fixtures: an app per test on a temporary SQLite database and storage directory."""

from __future__ import annotations

import base64
import contextlib
import faulthandler
import hashlib
import io
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.services import REPO, app_env, fresh_postgres_database

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Pretrained networks converted to model folders once per machine, shared by every test app.
PRETRAINED_CACHE = Path(tempfile.gettempdir()) / "celebvision-test-pretrained"
# Databases migrated to head, one per version of migrations/ (see build_app).
MIGRATED_TEMPLATES = Path(tempfile.gettempdir()) / "celebvision-test-migrated"


def pytest_configure(config):
    # The terminal's stderr, kept before output capture can redirect it: where the backstop below
    # writes the stacks of a test that even pytest-timeout could not stop.
    config.backstop_stderr = os.dup(2)


def timeout_of(item) -> float:
    """The test's pytest-timeout limit in seconds (0: none), as pytest-timeout resolves it."""
    marker = item.get_closest_marker("timeout")
    if marker is not None:
        value = marker.kwargs.get("timeout", marker.args[0] if marker.args else None)
        if value is not None:
            return float(value)
    value = item.config.getoption("timeout", None)
    if value is None:
        value = os.environ.get("PYTEST_TIMEOUT") or item.config.getini("timeout")
    return float(value or 0)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Backstop for a test stuck where pytest-timeout's SIGALRM cannot reach it (native code that
    never returns to Python): at twice its limit plus a minute, print every thread's stack and
    end the run with status 1, so CI fails instead of hanging."""
    limit = timeout_of(item)
    if limit > 0:
        faulthandler.dump_traceback_later(
            2 * limit + 60, exit=True, file=item.config.backstop_stderr
        )
    try:
        return (yield)
    finally:
        if limit > 0:
            faulthandler.cancel_dump_traceback_later()


def make_config(tmp_path, **overrides) -> dict:
    """Config for an isolated app under `tmp_path`."""
    instance = tmp_path / "instance"
    config = {
        "TESTING": True,
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'app.db'}",
        "STORAGE_URL": f"file://{instance / 'storage'}",
        "QUEUE_PATH": str(instance / "queue.db"),
        "MODEL_CACHE_DIR": str(instance / "model-cache"),
        "REDIS_URL": None,
        "S3_ENDPOINT_URL": None,
        "RATE_LIMIT_UPLOADS": "1000/minute",
        "RATE_LIMIT_FEEDBACK": "1000/minute",
        "MAX_QUEUED_PER_CLIENT": 100,  # every test client shares one address; the cap has its own test
        # The shipped tasks' pretrained face networks are off except in their own tests
        # (tests/faces/test_shipped_face_tasks.py): the loop's tests train gender/smiling from scratch.
        "SHIPPED_FACE_MODELS": False,
        "NEW_TASK_FEATURES": "photo",
        "PRETRAINED_CACHE_DIR": str(PRETRAINED_CACHE),
    }
    config.update(overrides)
    return config


def build_app(config: dict):
    """Create the app and migrate its database with the real migrations.

    A SQLite database starts as a byte copy of one migrated by them once per version of
    migrations/ (milliseconds instead of running every migration for each test's app).
    """
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app(config)
    path = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
    if path is not None and path.stat().st_size == 0:
        # into the file create_app made, so it keeps its private permissions
        shutil.copyfile(migrated_sqlite_template(), path)
        return app
    with app.app_context():
        upgrade()
    return app


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///` URL, None for other databases and in-memory ones."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?")[0]
    return Path(path) if path and path != ":memory:" else None


def migrated_sqlite_template() -> Path:
    """A SQLite database migrated to head, shared by the test runs of these migrations."""
    digest = hashlib.sha256()
    for version in sorted((REPO / "migrations").rglob("*.py")):
        digest.update(version.name.encode() + version.read_bytes())
    template = MIGRATED_TEMPLATES / f"{digest.hexdigest()[:16]}.db"
    if not template.exists():
        from flask_migrate import upgrade

        from webapp import create_app

        MIGRATED_TEMPLATES.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=MIGRATED_TEMPLATES) as tmp:
            app = create_app(make_config(Path(tmp)))
            with app.app_context():
                upgrade()
            dispose(app)
            database = sqlite_path(app.config["SQLALCHEMY_DATABASE_URI"])
            with contextlib.closing(sqlite3.connect(database)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the one file
            os.replace(database, template)  # atomic: parallel runs never read half a file
    return template


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def app(config):
    app = build_app(config)
    yield app
    dispose(app)


def dispose(app) -> None:
    """Close the app's database connections (before its database is dropped)."""
    from webapp.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def pg_app(tmp_path):
    """The app on a fresh PostgreSQL database, dropped afterwards (fails instead of skipping under CI=true)."""
    url, drop = fresh_postgres_database()
    app = build_app(make_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))
    yield app
    dispose(app)
    drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_app(request):
    """The same test on SQLite (the default) and on PostgreSQL."""
    return request.getfixturevalue("app" if request.param == "sqlite" else "pg_app")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def env(app):
    """Environment for subprocesses (workers, CLI) that must see this test's app."""
    return app_env(app.config)


@pytest.fixture
def admin(app):
    """An admin account and the HTTP Basic header that authenticates as it."""
    from webapp.auth.access import create_or_reset_admin

    with app.app_context():
        create_or_reset_admin("root", "s3cret-pass")
    token = base64.b64encode(b"root:s3cret-pass").decode()
    return {"Authorization": f"Basic {token}"}


def image_bytes(fmt: str = "JPEG", size=(96, 80), color=None, seed: int = 0, **save) -> bytes:
    """A small picture in `fmt` (random texture unless `color` is given)."""
    if color is None:
        pixels = np.random.default_rng(seed).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        im = PILImage.fromarray(pixels)
    else:
        im = PILImage.new("RGB", size, color)
    out = io.BytesIO()
    im.save(out, format=fmt, **save)
    return out.getvalue()


@pytest.fixture
def jpeg():
    return image_bytes("JPEG")
