"""Database set-up: SQLite in WAL mode with a busy timeout; PostgreSQL URLs as written."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from webapp.config import touch_private
from webapp.extensions import db


def _normalise(url: str) -> str:
    """Accept `postgres://` (Heroku style) as PostgreSQL."""
    return "postgresql://" + url[len("postgres://") :] if url.startswith("postgres://") else url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def init_database(app: Flask) -> None:
    """Bind SQLAlchemy; make SQLite safe for several gunicorn workers and job workers."""
    url = _normalise(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?")[0]
        if path and path != ":memory:":
            touch_private(path)  # user data: readable by this account only
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        engine: Engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
