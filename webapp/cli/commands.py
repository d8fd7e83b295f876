"""Flask CLI commands (`flask --help` lists them): admins, workers, data, retraining, models."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp.cli import data_commands as cli_data
from webapp.cli import models as cli_models
from webapp.cli.groups import fail


@click.command("create-admin")
@with_appcontext
@click.argument("name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(name: str, password: str) -> None:
    """Create an admin account, or reset its password."""
    from webapp.auth.access import create_or_reset_admin

    try:
        create_or_reset_admin(name, password)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"Admin {name!r} is ready.")


@click.command("worker")
@with_appcontext
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(["style", "train"]),
    help="Queue to consume (repeatable); default: style.",
)
def worker(queues: tuple[str, ...]) -> None:
    """Run a job worker for a queue (Ctrl-C stops it cleanly)."""
    from webapp import wiring
    from webapp.jobs.worker import run_worker
    from webapp.ops.process import exit_code, exit_now

    app, queue = current_app._get_current_object(), queues[0] if queues else "style"
    try:
        run_worker(app, queue, wiring.worker_duties(queue, warm=app.config["STYLE_WARMUP"]))
    except BaseException as exc:  # Ctrl-C, SIGTERM: the consumer has stopped
        exit_now(exit_code(exc if not isinstance(exc, KeyboardInterrupt) else None))
    exit_now(0)


def register_cli(app: Flask) -> None:
    """Attach every command to the app."""
    # each group comes from the module that adds its commands to it
    for command in (
        create_admin,
        worker,
        cli_data.data_cli,
        cli_models.models_cli,
        cli_models.retrain,
    ):
        app.cli.add_command(command)
