"""Ownership and voter identity: opaque public ids, upload owners, one rating per client, session nonces.

Revision ID: 0003_i10
Revises: 0002_schedules
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003_i10"
down_revision = "0002_schedules"
branch_labels = None
depends_on = None

OWNED = ("classifications", "stylizations")


def _backfill(table: str, column: str, make) -> None:
    """Give every existing row its own random value."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(f"SELECT id FROM {table}")).fetchall()
    for (row_id,) in rows:
        conn.execute(sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": make(), "id": row_id})


def _dedupe_ratings() -> None:
    """Keep only the newest rating per (stylization, client) before the unique constraint."""
    op.execute("DELETE FROM ratings WHERE id NOT IN "
               "(SELECT MAX(id) FROM ratings GROUP BY stylization_id, client)")


def upgrade():
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("public_id", sa.String(32), nullable=True))
            batch.add_column(sa.Column("owner", sa.String(64), nullable=True))
        _backfill(table, "public_id", lambda: secrets.token_urlsafe(16))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("public_id", existing_type=sa.String(32), nullable=False)
            batch.create_index(f"ix_{table}_public_id", ["public_id"], unique=True)
    with op.batch_alter_table("stylizations") as batch:
        batch.create_index("ix_stylizations_client", ["client"], unique=False)
    _dedupe_ratings()
    with op.batch_alter_table("ratings") as batch:
        batch.create_unique_constraint("uq_rating_stylization_client", ["stylization_id", "client"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_nonce", sa.String(32), nullable=True))
    _backfill("users", "session_nonce", lambda: secrets.token_hex(16))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_nonce", existing_type=sa.String(32), nullable=False)


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_nonce")
    with op.batch_alter_table("ratings") as batch:
        batch.drop_constraint("uq_rating_stylization_client", type_="unique")
    with op.batch_alter_table("stylizations") as batch:
        batch.drop_index("ix_stylizations_client")
    for table in OWNED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_public_id")
            batch.drop_column("owner")
            batch.drop_column("public_id")
