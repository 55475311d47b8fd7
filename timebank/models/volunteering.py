"""Volunteer tasks, pledges and kudos (DESIGN.md, "Marketplace and kudos").

An organizer posts a :class:`VolunteerTask`; members pledge (:class:`Pledge`); an organizer
marks each volunteer's part done, which writes one :class:`KudosAward` (a count, not money;
optionally with thank-you minutes paid from the community pot, linked as ``transfer_id``).
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column, tenant_fk
from timebank.models.membership import Membership

TASK_TITLE_MAX = 120


def _enum(enum_cls, name):
    return sa.Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e])


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class PledgeStatus(enum.StrEnum):
    PLEDGED = "pledged"
    WITHDRAWN = "withdrawn"
    DONE = "done"


class VolunteerTask(TenantMixin, db.Model):
    """Work the group needs done by ``volunteers_needed`` people, starting ``starts_at``."""

    __tablename__ = "volunteer_tasks"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        tenant_fk("posted_by_id", "memberships"),
        tenant_fk("cancelled_by_id", "memberships"),
        sa.CheckConstraint("volunteers_needed BETWEEN 1 AND 1000", name="volunteers_range"),
        sa.CheckConstraint(
            f"char_length(title) BETWEEN 1 AND {TASK_TITLE_MAX}", name="title_length"
        ),
        sa.CheckConstraint(
            "(status = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_at_set"
        ),
        sa.Index("ix_volunteer_tasks_group_id_starts_at", "group_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TASK_TITLE_MAX))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    volunteers_needed: Mapped[int] = mapped_column(default=1)
    status: Mapped[TaskStatus] = mapped_column(
        _enum(TaskStatus, "volunteer_task_status"), default=TaskStatus.OPEN
    )
    posted_by_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    cancelled_by_id: Mapped[int | None]
    cancel_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    posted_by: Mapped[Membership | None] = relationship(
        primaryjoin="VolunteerTask.posted_by_id == Membership.id",
        foreign_keys="VolunteerTask.posted_by_id",
    )
    pledges: Mapped[list[Pledge]] = relationship(
        primaryjoin="VolunteerTask.id == Pledge.task_id",
        foreign_keys="Pledge.task_id",
        order_by="Pledge.created_at",
        viewonly=True,
    )

    @property
    def is_open(self) -> bool:
        return self.status == TaskStatus.OPEN

    @property
    def is_cancelled(self) -> bool:
        return self.status == TaskStatus.CANCELLED

    @property
    def has_started(self) -> bool:
        """Whether the task's start time has passed (kudos are for work already begun)."""
        from timebank.models.base import utcnow

        return self.starts_at <= utcnow()


class Pledge(TenantMixin, db.Model):
    """A member's promise to help with a task; one row per (task, member), reused on re-pledge."""

    __tablename__ = "volunteer_pledges"
    __table_args__ = (
        sa.UniqueConstraint("group_id", "id"),
        sa.UniqueConstraint("task_id", "membership_id"),
        tenant_fk("task_id", "volunteer_tasks", ondelete="CASCADE"),
        tenant_fk("membership_id", "memberships", ondelete="CASCADE"),
        tenant_fk("done_by_id", "memberships"),
        sa.CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_at_set"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(index=True)
    membership_id: Mapped[int] = mapped_column(index=True)
    status: Mapped[PledgeStatus] = mapped_column(
        _enum(PledgeStatus, "pledge_status"), default=PledgeStatus.PLEDGED
    )
    created_at: Mapped[datetime] = created_at_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    done_by_id: Mapped[int | None]

    task: Mapped[VolunteerTask] = relationship(
        primaryjoin="Pledge.task_id == VolunteerTask.id", foreign_keys="Pledge.task_id"
    )
    membership: Mapped[Membership] = relationship(
        primaryjoin="Pledge.membership_id == Membership.id", foreign_keys="Pledge.membership_id"
    )

    @property
    def is_pledged(self) -> bool:
        return self.status == PledgeStatus.PLEDGED

    @property
    def is_done(self) -> bool:
        return self.status == PledgeStatus.DONE


class KudosAward(TenantMixin, db.Model):
    """Kudos given to a member for a volunteer's part done (``kudos`` is a count, not money).

    ``thanks_transfer_id`` links the thank-you payment from the community pot, if any.
    """

    __tablename__ = "kudos_awards"
    __table_args__ = (
        sa.UniqueConstraint("pledge_id"),
        tenant_fk("membership_id", "memberships", ondelete="CASCADE"),
        tenant_fk("task_id", "volunteer_tasks", ondelete="CASCADE"),
        tenant_fk("pledge_id", "volunteer_pledges", ondelete="CASCADE"),
        tenant_fk("awarded_by_id", "memberships"),
        tenant_fk("thanks_transfer_id", "transfers"),
        sa.CheckConstraint("kudos > 0", name="kudos_positive"),
        sa.Index("ix_kudos_awards_group_id_created_at", "group_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(index=True)
    task_id: Mapped[int]
    pledge_id: Mapped[int]
    kudos: Mapped[int] = mapped_column(default=1)
    awarded_by_id: Mapped[int | None]
    thanks_transfer_id: Mapped[int | None]
    created_at: Mapped[datetime] = created_at_column()

    task: Mapped[VolunteerTask] = relationship(
        primaryjoin="KudosAward.task_id == VolunteerTask.id",
        foreign_keys="KudosAward.task_id",
    )
    membership: Mapped[Membership] = relationship(
        primaryjoin="KudosAward.membership_id == Membership.id",
        foreign_keys="KudosAward.membership_id",
    )
