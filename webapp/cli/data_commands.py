"""`flask data export|import-celeba|import-folder`."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from webapp.classification import datasets, importing, tasks
from webapp.cli.groups import data_cli, fail
from webapp.exceptions import DomainError, Invalid
from webapp.tables import Task


def _tasks(name: str | None) -> list[Task]:
    return [_task_or_fail(name, f"No task named {name!r}.")] if name else tasks.every()


@data_cli.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--task", "task_name", help="Only this task (default: all).")
def export(out_dir: str, task_name: str | None) -> None:
    """Write labelled images as OUT_DIR/<task>/<label>/<id>.<ext> plus a manifest.csv per task."""
    from tqdm import tqdm

    for task in _tasks(task_name):
        items = datasets.labelled_images(task)
        root = Path(out_dir) / task.name
        root.mkdir(parents=True, exist_ok=True)
        for item in tqdm(items, desc=task.name, unit="img"):
            datasets.write_folder([item], root)
        with open(root / "manifest.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "image_id", "sha256", "label", "source", "votes", "verified"])
            for item in items:
                ext = "jpg" if item.image.format == "jpeg" else item.image.format
                votes = ";".join(f"{k}:{v}" for k, v in sorted(item.votes.items()))
                writer.writerow(
                    [
                        f"{item.label}/{item.image.id}.{ext}",
                        item.image.id,
                        item.image.sha256,
                        item.label,
                        item.source,
                        votes,
                        int(item.verified),
                    ]
                )
        click.echo(f"{task.name}: {len(items)} labelled images -> {root}")


CELEBA_ATTRIBUTES = {"gender": "Male", "smiling": "Smiling"}


def _import(task: Task, samples, source: str) -> None:
    """Store each readable image once and label it for `task`; bad files are counted, not fatal."""
    import getpass

    from tqdm import tqdm

    items = [
        importing.Item(str(path), samples.label_names[int(label)], Path(path).read_bytes)
        for path, label in zip(samples.paths, samples.labels)
    ]
    with tqdm(total=len(items), desc=f"import {task.name}", unit="img") as bar:
        report = importing.import_images(
            task,
            items,
            source=source,
            actor=f"cli:{getpass.getuser()}",
            progress=lambda done, total: bar.update(1),
            bounded=False,
        )
    click.echo(report.summary())


def _task_or_fail(name: str, missing: str | None = None) -> Task:
    try:
        return tasks.named(
            name, missing or f"No task named {name!r}; create it first (POST /api/admin/tasks)."
        )
    except DomainError as exc:
        fail(exc.message)


@data_cli.command("import-celeba")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--task", "task_name", required=True, help="Task to label (gender -> Male, smiling -> Smiling)."
)
@click.option("--attribute", help="CelebA attribute to use (default from the task name).")
@click.option(
    "--limit", type=click.IntRange(min=1), help="Import at most N images (balanced per label)."
)
def import_celeba(data_dir: str, task_name: str, attribute: str | None, limit: int | None) -> None:
    """Import a CelebA-layout folder as a task's training data."""
    from ml.classify import data as ml_data

    task = _task_or_fail(task_name)
    attribute = attribute or CELEBA_ATTRIBUTES.get(task.name)
    if not attribute:
        fail(
            f"Say which CelebA attribute labels {task.name!r}: --attribute NAME (e.g. Eyeglasses)."
        )
    try:
        samples = ml_data.read_celeba(data_dir, attribute, list(task.labels))
    except (ml_data.DataError, ValueError, OSError, KeyError) as exc:
        fail(f"{data_dir} is not a readable CelebA folder: {exc}")
    _import(task, _limited(samples, limit), "celeba")


@data_cli.command("import-folder")
@click.argument("data_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--task", "task_name", required=True)
@click.option(
    "--limit", type=click.IntRange(min=1), help="Import at most N images (balanced per label)."
)
def import_folder(data_dir: str, task_name: str, limit: int | None) -> None:
    """Import DIR/<label>/*.jpg as a task's training data (labels must be the task's)."""
    from ml.classify import data as ml_data

    task = _task_or_fail(task_name)
    found = [p.name for p in Path(data_dir).iterdir() if p.is_dir() and not p.name.startswith(".")]
    try:
        labels = importing.check_labels(task, found, data_dir)
    except Invalid as exc:
        fail(str(exc))
    samples = ml_data.read_folder(data_dir, labels, 0.0, 0.0)
    _import(task, _limited(samples, limit), "folder")


def _limited(samples, limit: int | None):
    """At most `limit` samples, alternating labels so a small import stays balanced."""
    import numpy as np

    if not limit or len(samples) <= limit:
        return samples
    by_label = [list(np.flatnonzero(samples.labels == c)) for c in range(len(samples.label_names))]
    order = [i for group in zip(*by_label) for i in group] + sorted(
        set(range(len(samples))) - {i for group in zip(*by_label) for i in group}
    )
    mask = np.zeros(len(samples), dtype=bool)
    mask[order[:limit]] = True
    return samples.subset(mask)


@data_cli.command("prune-uploads")
@click.option(
    "--days",
    type=float,
    default=None,
    help="Older than this many days (default: RETAIN_UNLABELLED_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
def prune_uploads(days: float | None, dry_run: bool) -> None:
    """Delete unlabelled classifications and ended stylizations older than N days, with the
    pictures only they used (run it daily from cron; recorded in the audit log)."""
    from flask import current_app

    from webapp import retention

    days = current_app.config["RETAIN_UNLABELLED_DAYS"] if days is None else days
    if days <= 0:
        if days < 0:
            fail(f"--days must be 0 (keep everything) or more; got {days:g}.")
        click.echo("Retention is off (RETAIN_UNLABELLED_DAYS=0): nothing deleted.")
        return
    counts = retention.prune(days, dry_run=dry_run)
    verb = "Would delete" if dry_run else "Deleted"
    click.echo(
        f"{verb} {counts['classifications']} unlabelled classifications and "
        f"{counts['stylizations']} stylizations older than {days:g} days"
        + ("" if dry_run else f", {counts['pictures']} pictures no other record used.")
    )
