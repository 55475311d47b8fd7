"""Notice preferences (how each person hears of each kind of notice) and the notices waiting
for their daily digest. Network-wide tables: a person's choice holds in all their groups."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from timebank.extensions import db
from timebank.models.base import created_at_column


class Delivery(enum.StrEnum):
    """How a person hears of one kind of notice."""

    IMMEDIATE = "immediate"  # an email at once
    DIGEST = "digest"  # a line in the daily digest of notices
    OFF = "off"  # not at all (the page still shows it)


class NoticeKind(enum.StrEnum):
    """The kinds of notice a person can choose for."""

    TRANSFERS = "transfers"  # payments and requests that concern me
    JOIN_REQUESTS = "join_requests"  # coordinators: someone asks to join
    TREASURER = "treasurer"  # treasurers: a balance waits to be settled


class NoticePreference(db.Model):
    """One person's delivery choice for one kind of notice (absent = :attr:`Delivery.IMMEDIATE`)."""

    __tablename__ = "notice_preferences"
    __table_args__ = (
        sa.CheckConstraint("delivery IN ('immediate', 'digest', 'off')", name="delivery_known"),
    )

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    delivery: Mapped[str] = mapped_column(sa.String(16), default=Delivery.IMMEDIATE.value)


class DigestNotice(db.Model):
    """A notice waiting for the person's next daily digest, already worded in their language."""

    __tablename__ = "digest_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    group_name: Mapped[str] = mapped_column(sa.String(200), default="")
    text: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = created_at_column()
