"""Ownership and voter identity: opaque public ids, upload owners, one rating per client, session nonces.

Plain ADD COLUMN and CREATE INDEX only: on SQLite a batch table rebuild would drop tables that
other rows point at (foreign keys are on). NOT NULL is added where the database can alter it.

Revision ID: 0003_ownership
Revises: 0002_schedules
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003_ownership"
down_revision = "0002_schedules"
branch_labels = None
depends_on = None

OWNED = ("classifications", "stylizations")


def _backfill(table: str, column: str, make) -> None:
    """Give every existing row its own random value."""
    conn = op.get_bind()
    for (row_id,) in conn.execute(sa.text(f"SELECT id FROM {table}")).fetchall():
        conn.execute(
            sa.text(f"UPDATE {table} SET {column} = :v WHERE id = :id"), {"v": make(), "id": row_id}
        )


def _not_null(table: str, column: str, type_) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(table, column, existing_type=type_, nullable=False)


def upgrade():
    for table in OWNED:
        op.add_column(table, sa.Column("public_id", sa.String(32), nullable=True))
        op.add_column(table, sa.Column("owner", sa.String(64), nullable=True))
        _backfill(table, "public_id", lambda: secrets.token_urlsafe(16))
        _not_null(table, "public_id", sa.String(32))
        op.create_index(f"ix_{table}_public_id", table, ["public_id"], unique=True)
    op.create_index("ix_stylizations_client", "stylizations", ["client"], unique=False)
    # one rating per (stylization, client): keep the newest of any duplicates
    op.execute(
        "DELETE FROM ratings WHERE id NOT IN (SELECT MAX(id) FROM ratings GROUP BY stylization_id, client)"
    )
    op.create_index(
        "uq_rating_stylization_client", "ratings", ["stylization_id", "client"], unique=True
    )
    op.add_column("users", sa.Column("session_nonce", sa.String(32), nullable=True))
    _backfill("users", "session_nonce", lambda: secrets.token_hex(16))
    _not_null("users", "session_nonce", sa.String(32))


def downgrade():
    op.drop_column("users", "session_nonce")
    op.drop_index("uq_rating_stylization_client", table_name="ratings")
    op.drop_index("ix_stylizations_client", table_name="stylizations")
    for table in OWNED:
        op.drop_index(f"ix_{table}_public_id", table_name=table)
        op.drop_column(table, "owner")
        op.drop_column(table, "public_id")
