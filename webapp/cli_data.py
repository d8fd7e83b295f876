"""`flask data export|import-celeba|import-folder`."""
from __future__ import annotations

import csv
from pathlib import Path

import click

from . import datasets
from .cli import data_cli, fail
from .extensions import db
from .models import Task


def _tasks(name: str | None) -> list[Task]:
    query = db.select(Task).order_by(Task.id)
    tasks = db.session.scalars(query.where(Task.name == name) if name else query).all()
    if name and not tasks:
        fail(f"No task named {name!r}.")
    return tasks


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
                writer.writerow([f"{item.label}/{item.image.id}.{ext}", item.image.id, item.image.sha256,
                                 item.label, item.source, votes, int(item.verified)])
        click.echo(f"{task.name}: {len(items)} labelled images -> {root}")
