"""Issue 26: every face answered, a "no face here" answer, and one answer per user and face.

- `classifications.faces`: the answer for each face found (index, box, rotation, label,
  probability, probabilities, age), largest first; the top-level columns describe face 0;
- `feedback.face`: which face of the photo a label is about (0: the largest);
- `feedback.no_face`: the user said there is no face in the photo (`label` is then null and the
  row never becomes a training label).

Revision ID: 0007_faces
Revises: 0006_face_tasks
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_faces"
down_revision = "0006_face_tasks"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("classifications", sa.Column("faces", sa.JSON(), nullable=True))
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("face", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(
            sa.Column("no_face", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.alter_column("label", existing_type=sa.String(64), nullable=True)


def downgrade():
    op.execute("DELETE FROM feedback WHERE label IS NULL")
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("label", existing_type=sa.String(64), nullable=False)
        batch.drop_column("no_face")
        batch.drop_column("face")
    op.drop_column("classifications", "faces")
