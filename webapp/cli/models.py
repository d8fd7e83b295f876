"""`flask retrain` and `flask models ...`.

The command-line view of the model registry; `webapp/admin/models.py` is its HTTP view.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext
from tqdm import tqdm

from webapp.cli.groups import fail, models_cli
from webapp.exceptions import DomainError
from webapp.jobs import runner
from webapp.registry import catalog, targets
from webapp.registry import versions as registry
from webapp.tables import Job


def _wait(job_id: str) -> Job:
    """Follow a job with a progress bar until it ends."""
    started, hinted = time.monotonic(), False
    with tqdm(total=100, desc="retrain", unit="%") as bar:
        while True:
            job = runner.current(job_id)
            bar.update(int(job.progress * 100) - bar.n)
            bar.set_postfix_str(job.status)
            if job.status in ("done", "failed"):
                return job
            if job.status == "queued" and not hinted and time.monotonic() - started > 15:
                hinted = True
                bar.write(
                    "Still queued: is a train worker running? (`make run` starts one; or "
                    "`flask --app wsgi worker --queue train`). Ctrl-C stops waiting; the job stays queued."
                )
            time.sleep(1.0)


@click.command("retrain")
@with_appcontext
@click.argument("target")
@click.option(
    "--wait", is_flag=True, help="Follow the job until it ends (a worker must be running)."
)
def retrain(target: str, wait: bool) -> None:
    """Queue a retrain of TARGET (a task, or a style model), the same job as the admin API."""
    try:
        job = targets.start_retrain(
            targets.from_request({"task" if targets.is_task(target) else "style": target}), "cli"
        )
    except DomainError as exc:
        fail(exc.message + (f" (job {exc.extra['job_id']})" if "job_id" in exc.extra else ""))
    click.echo(f"Queued job {job.id}")
    if not wait:
        return
    job = _wait(job.id)
    click.echo(f"Job {job.status}: {job.result or job.error}")
    if job.status != "done":
        raise SystemExit(1)


@models_cli.command("list")
@click.argument("target", required=False)
def list_models(target: str | None) -> None:
    """List model versions (of TARGET, or all)."""
    rows = catalog.every_version(target)
    if not rows:
        click.echo("No model versions yet.")
    for mv in rows:
        current = registry.deployed(mv.target)
        mark = "*" if current and current.id == mv.id else " "
        metrics = ", ".join(
            f"{k}={v:.3f}" for k, v in (mv.metrics or {}).items() if isinstance(v, (int, float))
        )
        click.echo(
            f"{mark} {mv.target:<16} {mv.version:<6} {mv.kind:<10} {mv.created:%Y-%m-%d %H:%M}  {metrics}"
        )


@models_cli.command("promote")
@click.argument("target")
@click.argument("version")
def promote(target: str, version: str) -> None:
    """Deploy VERSION of TARGET."""
    try:
        catalog.promote(target, version, actor="cli", reason="promoted from the command line")
    except DomainError as exc:
        fail(exc.message)
    click.echo(f"{target}: {version} deployed")


@models_cli.command("rollback")
@click.argument("target")
def rollback(target: str) -> None:
    """Deploy the version of TARGET that was deployed before the current one."""
    try:
        mv = catalog.rollback(target, actor="cli")
    except DomainError as exc:
        fail(exc.message)
    click.echo(f"{target}: rolled back to {mv.version}")


@models_cli.command("register")
@click.argument("target")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option(
    "--promote/--no-promote", "do_promote", default=True, help="Deploy it at once (default)."
)
def register(target: str, model_dir: str, do_promote: bool) -> None:
    """Add a model folder written by `python -m ml.train` as the next version of TARGET."""
    try:
        mv = catalog.register_folder(target, Path(model_dir), actor="cli")
    except DomainError as exc:
        fail(exc.message)
    click.echo(f"{target}: registered {mv.version}")
    if do_promote:
        try:
            catalog.promote(
                target, mv.version, actor="cli", reason="registered from the command line"
            )
        except DomainError as exc:
            fail(exc.message)
        click.echo(f"{target}: {mv.version} deployed")
