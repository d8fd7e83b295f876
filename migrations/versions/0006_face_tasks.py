"""Faces out of the box: the shipped task `age`, a switch per task, and what a face model answered.

- `tasks.enabled`: an admin may switch a task off (it leaves GET /api/tasks and the pages);
- `tasks.config` of the shipped tasks points at the face config (`face.yaml`): a retrain fits a
  head on the face networks' features, starting from the deployed network;
- `classifications.face_found` (whether a face was found or the whole picture stood in) and
  `classifications.age_years` (the age network's estimate);
- the task `age` with its five brackets.

Revision ID: 0006_face_tasks
Revises: 0005_abuse
"""

import datetime

import sqlalchemy as sa
from alembic import op

revision = "0006_face_tasks"
down_revision = "0005_abuse"
branch_labels = None
depends_on = None

SHIPPED = ("gender", "smiling", "age")


def upgrade():
    op.add_column(
        "tasks", sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true())
    )
    op.add_column("classifications", sa.Column("face_found", sa.Boolean(), nullable=True))
    op.add_column("classifications", sa.Column("age_years", sa.Double(), nullable=True))
    tasks = sa.table(
        "tasks",
        sa.column("name", sa.String),
        sa.column("labels", sa.JSON),
        sa.column("description", sa.String),
        sa.column("face_crop", sa.Boolean),
        sa.column("config", sa.String),
        sa.column("metric", sa.String),
        sa.column("enabled", sa.Boolean),
        sa.column("created", sa.DateTime(timezone=True)),
    )
    op.execute(
        tasks.update()
        .where(tasks.c.name.in_(("gender", "smiling")), tasks.c.config.is_(None))
        .values(config="face.yaml")
    )
    exists = op.get_bind().execute(sa.select(tasks.c.name).where(tasks.c.name == "age")).first()
    if exists is None:
        op.bulk_insert(
            tasks,
            [
                {
                    "name": "age",
                    "labels": ["0-17", "18-29", "30-44", "45-59", "60+"],
                    "description": "How old does the person look?",
                    "face_crop": True,
                    "config": "face.yaml",
                    "metric": "accuracy",
                    "enabled": True,
                    "created": datetime.datetime.now(datetime.UTC),
                }
            ],
        )


def downgrade():
    tasks = sa.table("tasks", sa.column("name", sa.String), sa.column("config", sa.String))
    op.execute(
        tasks.update()
        .where(tasks.c.name.in_(("gender", "smiling")), tasks.c.config == "face.yaml")
        .values(config=None)
    )
    op.drop_column("classifications", "age_years")
    op.drop_column("classifications", "face_found")
    op.drop_column("tasks", "enabled")
