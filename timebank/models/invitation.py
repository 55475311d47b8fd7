"""Invitations: a coordinator asks someone, by email, to join the group.

The emailed link carries a random token; only its SHA-256 is stored. An invitation expires at
``expires_at`` and is used once (``accepted_at``); a coordinator may revoke it before then.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column, tenant_fk
from timebank.models.membership import Membership, Role


class Invitation(TenantMixin, db.Model):
    """One emailed invitation to join the group as ``role``."""

    __tablename__ = "invitations"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        sa.UniqueConstraint("token_hash"),
        tenant_fk("invited_by_id", "memberships"),
        tenant_fk("accepted_membership_id", "memberships"),
        sa.CheckConstraint("expires_at > created_at", name="expires_after_created"),
        sa.CheckConstraint(
            "(accepted_at IS NULL) = (accepted_membership_id IS NULL)", name="accepted_by_set"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[int] = mapped_column(sa.SmallInteger, default=Role.MEMBER)
    message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    invited_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    accepted_membership_id: Mapped[int | None]
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    invited_by: Mapped[Membership | None] = relationship(
        primaryjoin="Invitation.invited_by_id == Membership.id",
        foreign_keys="Invitation.invited_by_id",
    )

    def is_usable(self, now: datetime) -> bool:
        """Whether the link still works at ``now``: not used, not revoked, not expired."""
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at
