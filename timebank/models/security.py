"""Logins that can end, and the per-account count of failed logins (network-wide tables).

A :class:`LoginSession` is one login on one host: the session cookie and the "keep me logged in"
cookie carry its random token (only its SHA-256 is stored), so deleting the row ends both
cookies, wherever they were copied to. :class:`LoginFailures` counts wrong passwords for one
account since its last successful login (see :mod:`timebank.security.throttle`).
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from timebank.extensions import db
from timebank.models.base import created_at_column


class LoginSession(db.Model):
    """One login on one host, until logout, a password change or ``expires_at``."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256, hex
    host: Mapped[str] = mapped_column(sa.String(255))
    is_remembered: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))


class LoginFailures(db.Model):
    """Wrong passwords for one account since it last logged in; a lock once too many."""

    __tablename__ = "login_failures"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class TwoFactor(db.Model):
    """One person's TOTP second factor (RFC 6238) and unused recovery codes.

    ``secret`` is the base32 shared secret; ``enabled_at`` is set once the person proved their
    app with a code (until then the row is a setup in progress). ``last_step`` is the 30-second
    step of the last accepted code, so a code works once. ``recovery_code_hashes``: SHA-256 of
    each unused recovery code (random, 50 bits: a plain hash suffices).
    """

    __tablename__ = "two_factors"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(64))
    enabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_step: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(
        sa.ARRAY(sa.String(64)), default=list)
