"""CelebVision's web side: the Flask app factory."""

from __future__ import annotations

import logging

from flask import Flask

from webapp.config import REPO_ROOT, load_config
from webapp.extensions import csrf, db, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    """Build the app: config from the environment, overridden by `config` (tests)."""
    app = Flask(
        __name__,
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
        instance_relative_config=False,
    )
    app.config.update(load_config())
    app.config.update(config or {})
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _init_extensions(app)
    _register_blueprints(app)
    from webapp.cli.commands import register_cli

    register_cli(app)
    _ensure_env_admin(app)
    return app


def _ensure_env_admin(app: Flask) -> None:
    """Create or reset the ADMIN_USERNAME account when ADMIN_USERNAME/ADMIN_PASSWORD are set."""
    name, password = app.config.get("ADMIN_USERNAME"), app.config.get("ADMIN_PASSWORD")
    if not (name and password):
        return
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError

    from webapp.auth.access import create_or_reset_admin

    with app.app_context():
        if not inspect(db.engine).has_table("users"):
            return  # not migrated yet (e.g. during `flask db upgrade`); the next start does it
        try:
            create_or_reset_admin(name, password)
        except IntegrityError:  # another process created the same account at the same moment
            db.session.rollback()


def _init_extensions(app: Flask) -> None:
    from webapp import wiring
    from webapp.database import init_database
    from webapp.jobs import JobQueue
    from webapp.storage import open_storage
    from webapp.web.errors import register_error_handlers
    from webapp.web.security import register_security
    from webapp.web.validation import register_validation

    wiring.install()  # model kinds, job types and their handlers: before the queue's lanes
    register_validation(app)
    init_database(app)
    migrate.init_app(app, db, directory=str(REPO_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    app.extensions["storage"] = open_storage(
        app.config["STORAGE_URL"], endpoint_url=app.config["S3_ENDPOINT_URL"]
    )
    app.extensions["queue"] = JobQueue(app)
    register_security(app)
    register_error_handlers(app)


def _register_blueprints(app: Flask) -> None:
    from webapp.admin import bp as admin_bp
    from webapp.api import bp as api_bp
    from webapp.apidocs import bp as apidocs_bp
    from webapp.auth import bp as auth_bp
    from webapp.ops.routes import bp as ops_bp
    from webapp.pages import bp as pages_bp

    # The JSON APIs answer scripts without cookies; for an admin's cookie session the admin
    # routes check the CSRF token themselves (webapp.auth.access.current_admin).
    csrf.exempt(api_bp)
    csrf.exempt(admin_bp)
    for bp in (pages_bp, auth_bp, api_bp, admin_bp, ops_bp, apidocs_bp):
        app.register_blueprint(bp)
