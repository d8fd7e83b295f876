"""Issue 20: the audit log of deletions and bulk rejections, the addresses an admin logged in
from, and indexes for the per-client storage quota and deleting one's uploads.

Revision ID: 0005_abuse
Revises: 0004_one_state
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_abuse"
down_revision = "0004_one_state"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("subject", sa.String(120), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_events_action", "audit_events", ["action"])
    op.create_index("ix_audit_events_created", "audit_events", ["created"])
    op.add_column("users", sa.Column("known_addresses", sa.JSON(), nullable=True))
    op.create_index("ix_classifications_client", "classifications", ["client"])
    op.create_index("ix_classifications_owner", "classifications", ["owner"])
    op.create_index("ix_stylizations_owner", "stylizations", ["owner"])


def downgrade():
    op.drop_index("ix_stylizations_owner", table_name="stylizations")
    op.drop_index("ix_classifications_owner", table_name="classifications")
    op.drop_index("ix_classifications_client", table_name="classifications")
    op.drop_column("users", "known_addresses")
    op.drop_index("ix_audit_events_created", table_name="audit_events")
    op.drop_index("ix_audit_events_action", table_name="audit_events")
    op.drop_table("audit_events")
