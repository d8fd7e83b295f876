"""The Flask CLI's command groups and its one way to fail, shared by the command modules."""

from __future__ import annotations

import click
from flask.cli import AppGroup

data_cli = AppGroup("data", help="Import and export labelled images.")
models_cli = AppGroup("models", help="List, register, promote and roll back model versions.")


def fail(message: str) -> None:
    """Stop with a one-line reason and exit status 2."""
    raise click.ClickException(message)
