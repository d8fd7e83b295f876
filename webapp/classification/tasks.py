"""Classification tasks themselves: creating one, finding one by name, listing, switching on or off.

`webapp/admin/tasks.py` is its admin API (admin modules are named for the resource they serve).
"""

from __future__ import annotations

import re

from flask import current_app

from webapp.exceptions import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.tables import Task

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# What a new task's model reads: the face networks' features (ml/configs/face.yaml), or VGG16
# features of the photo (the app's TRAIN_CONFIG, ml/configs/default.yaml unless set).
TASK_FEATURES = {"face": "face.yaml", "photo": None}


def every() -> list[Task]:
    """Every task, switched off or not, oldest first."""
    return list(db.session.scalars(db.select(Task).order_by(Task.id)))


def named(name: str, missing: str | None = None) -> Task:
    """The task called `name`, or NotFound (with `missing` as its message when given)."""
    task = db.session.scalar(db.select(Task).where(Task.name == name))
    if task is None:
        raise NotFound(missing or f"No task named {name!r}.")
    return task


def create(
    name: object, labels: object, features: object, *, description: str = "", face_crop=True
) -> Task:
    """A new task with its labels (committed); Invalid for a bad name, labels or features,
    Conflict when the name is taken."""
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid(
            "'name' must be lowercase letters, digits, '_' or '-', starting with a letter."
        )
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(x, str) and NAME.match(x) for x in labels)
        or len(set(labels)) != len(labels)
    ):
        raise Invalid(
            "'labels' must be a list of at least 2 distinct lowercase names, e.g. ['cat', 'dog']."
        )
    if db.session.scalar(db.select(Task).where(Task.name == name)):
        raise Conflict(f"A task named {name!r} already exists.")
    if not isinstance(features, str) or features not in TASK_FEATURES:  # a list: 400, not 500
        raise Invalid(f"'features' must be one of {sorted(TASK_FEATURES)}. Received: {features!r}")
    task = Task(
        name=name,
        labels=labels,
        description=description[:255],
        face_crop=bool(face_crop),
        config=TASK_FEATURES[features],
    )
    db.session.add(task)
    db.session.commit()
    return task


def switch(task: Task, enabled: object, actor: str) -> Task:
    """Switch `task` on or off (committed); a switched-off task leaves the public list and pages."""
    if not isinstance(enabled, bool):
        raise Invalid(f"'enabled' must be true or false. Received: {enabled!r}")
    task.enabled = enabled
    db.session.commit()
    current_app.logger.info("%s switched task %s %s", actor, task.name, "on" if enabled else "off")
    return task
