"""Accounts: only admins log in; end users stay anonymous."""

import datetime as dt
import secrets

from flask_login import UserMixin
from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.tables.columns import created_column


class User(UserMixin, db.Model):
    """An admin account (username + password hash)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=True)
    # Part of every session cookie; a new one (logout, password change) revokes every old session.
    session_nonce: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    # hashes of the addresses this admin logged in from (newest last): failed logins by others
    # never lock the admin out from these
    known_addresses: Mapped[list | None] = mapped_column(JSON)
    created: Mapped[dt.datetime] = created_column()

    def get_id(self) -> str:
        """What the session stores: the user id and the current nonce."""
        return f"{self.id}:{self.session_nonce}"

    def revoke_sessions(self) -> None:
        """Make every session cookie issued so far invalid."""
        self.session_nonce = secrets.token_hex(16)

    def set_password(self, password: str) -> None:
        """Store a salted hash of `password`; sessions from before the change stop working."""
        self.password_hash = generate_password_hash(password)
        self.revoke_sessions()

    def check_password(self, password: str) -> bool:
        """True when `password` matches the stored hash."""
        return check_password_hash(self.password_hash, password)
