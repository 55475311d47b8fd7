"""Memberships: a user's place in one group, with a role and a status."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column
from timebank.models.network import Group, User


class Role(enum.IntEnum):
    """Roles from least to most (DESIGN.md, "Identity and roles"); compare with ``>=``."""

    MEMBER = 10
    ORGANIZER = 20
    TREASURER = 30
    COORDINATOR = 40

    @property
    def key(self) -> str:
        return self.name.lower()


class MembershipStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LEFT = "left"


def _enum(enum_cls, name):
    return sa.Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e])


class Membership(TenantMixin, db.Model):
    """Joins a :class:`User` to a :class:`Group` with a :class:`Role` and a status."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        sa.UniqueConstraint("group_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[int] = mapped_column(sa.SmallInteger, default=Role.MEMBER)
    status: Mapped[MembershipStatus] = mapped_column(
        _enum(MembershipStatus, "membership_status"), default=MembershipStatus.PENDING
    )
    created_at: Mapped[datetime] = created_at_column()
    approved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="memberships", lazy="joined")
    group: Mapped[Group] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status == MembershipStatus.ACTIVE

    def has_role(self, role: Role) -> bool:
        """Return whether this membership is active and holds ``role`` or a higher one."""
        return self.is_active and self.role >= role

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def __repr__(self) -> str:
        return f"<Membership {self.user_id}@{self.group_id} {self.status}>"
