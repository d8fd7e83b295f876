"""One source of truth for a stylization's state: its job. Drop the stylization's own copy
(status, progress, error), the never-used training_examples.split, and holdout_items.source
(always "split": verified labels join a holdout live, they are never stored in it).

Before the drop, a stylization whose result was stored (status done) while its job did not end
done (the worker died between the two writes) gives its job that state, so no finished picture
is lost. Plain DROP INDEX / DROP COLUMN only (SQLite >= 3.35 drops a column in place): a batch
table rebuild would drop tables that other rows point at (foreign keys are on).

Revision ID: 0004_one_state
Revises: 0003_ownership
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_one_state"
down_revision = "0003_ownership"
branch_labels = None
depends_on = None


def upgrade():
    op.execute(
        "UPDATE jobs SET status = 'done', progress = 1.0, error = NULL WHERE status <> 'done' AND id IN "
        "(SELECT job_id FROM stylizations WHERE status = 'done' AND result_key IS NOT NULL)"
    )
    op.drop_index("ix_stylizations_status", table_name="stylizations")
    for column in ("status", "progress", "error"):
        op.drop_column("stylizations", column)
    op.drop_column("training_examples", "split")
    op.drop_column("holdout_items", "source")


def downgrade():
    op.add_column(
        "holdout_items", sa.Column("source", sa.String(16), nullable=False, server_default="split")
    )
    op.add_column("training_examples", sa.Column("split", sa.String(16), nullable=True))
    op.add_column(
        "stylizations", sa.Column("status", sa.String(16), nullable=False, server_default="queued")
    )
    op.add_column(
        "stylizations", sa.Column("progress", sa.Double(), nullable=False, server_default="0")
    )
    op.add_column("stylizations", sa.Column("error", sa.Text(), nullable=True))
    for column in ("status", "progress", "error"):
        op.execute(
            f"UPDATE stylizations SET {column} = (SELECT jobs.{column} FROM jobs WHERE jobs.id = stylizations.job_id) "
            "WHERE job_id IS NOT NULL"
        )
    op.create_index("ix_stylizations_status", "stylizations", ["status"], unique=False)
