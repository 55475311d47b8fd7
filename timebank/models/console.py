"""Network-level tables of the network site and its console (not tenant-owned).

* :class:`NetworkSettings` — one row: whether a new group needs a network admin's approval;
* :class:`GroupRequest` — "we want a timebank": the wished group, its requester, and the
  provisioning job's progress (``queued`` → ``running`` → ``done`` | ``failed``);
* :class:`NetworkAuditEvent` — every console action, append-only (a trigger refuses UPDATE and
  DELETE, see migration ``a7b8c9d0e1f2``);
* :class:`LedgerCheck` — the last ``ledger verify`` result of each group;
* :class:`GroupExport` — a ZIP of one group's data, built by a job, kept in the database (in
  :class:`GroupExportChunk` pieces) so any app host can serve it;
* :class:`LoginHandoff` — the single-use tokens that carry a login from the apex to a group's
  site (see :mod:`timebank.provisioning.handoff`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from timebank.extensions import db
from timebank.models.base import created_at_column


def _enum(enum_cls, name):
    return sa.Enum(enum_cls, name=name, values_callable=lambda e: [m.value for m in e])


class NetworkSettings(db.Model):
    """The network's own settings: a single row (``id = 1``)."""

    __tablename__ = "network_settings"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    groups_need_approval: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Network admins, coordinators and treasurers must sign in with a second factor (issue 15).
    staff_need_two_factor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    updated_at: Mapped[datetime] = created_at_column()


class GroupRequestStatus(enum.StrEnum):
    UNCONFIRMED = "unconfirmed"  # the requester has not clicked the email link yet
    PENDING = "pending"  # waiting for a network admin's approval
    DECLINED = "declined"
    QUEUED = "queued"  # approved; the provisioning job is on the queue
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # see ``error``; may be retried

    @property
    def is_open(self) -> bool:
        """Whether the request may still become a group (it holds its wished address)."""
        return self in {self.PENDING, self.QUEUED, self.RUNNING}


class GroupRequest(db.Model):
    """A request to start a timebank, and the state of the job that provisions it.

    ``token`` is the secret in the requester's status page URL. The requester's password hash
    waits here until the email is confirmed (the account is created then) and is wiped after.
    """

    __tablename__ = "group_requests"
    __table_args__ = (
        sa.UniqueConstraint("token"),
        sa.UniqueConstraint("group_id"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        sa.Index("ix_group_requests_status_created_at", "status", "created_at"),
        sa.Index("ix_group_requests_slug", "slug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(120))
    slug: Mapped[str] = mapped_column(sa.String(63))
    default_locale: Mapped[str] = mapped_column(sa.String(10))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    place: Mapped[str] = mapped_column(sa.String(120), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    requester_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    requester_name: Mapped[str] = mapped_column(sa.String(120))
    requester_email: Mapped[str] = mapped_column(sa.String(254))
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # The language the requester used the site in: their emails are written in it.
    requester_locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    status: Mapped[GroupRequestStatus] = mapped_column(
        _enum(GroupRequestStatus, "group_request_status"),
        default=GroupRequestStatus.UNCONFIRMED,
    )
    progress: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
    decision_message: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    confirmed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def is_in_progress(self) -> bool:
        return self.status in (GroupRequestStatus.QUEUED, GroupRequestStatus.RUNNING)

    def __repr__(self) -> str:
        return f"<GroupRequest {self.id} {self.slug} {self.status}>"


class NetworkAuditEvent(db.Model):
    """One console action: who did what to which group or person, when. Append-only.

    No foreign keys on purpose: an event outlives the group or user it names (``actor_email``
    and ``target_label`` keep them readable).
    """

    __tablename__ = "network_audit_events"
    __table_args__ = (
        sa.Index("ix_network_audit_events_created_at", "created_at"),
        sa.Index("ix_network_audit_events_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None]
    actor_email: Mapped[str] = mapped_column(sa.String(254), default="")
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str] = mapped_column(sa.String(32))
    target_id: Mapped[int | None]
    target_label: Mapped[str] = mapped_column(sa.String(254), default="")
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()


class LedgerCheck(db.Model):
    """The last ``ledger verify`` of one group: when, and how many problems (0 = sound). A
    group gets its row when it is created (a trigger on ``groups``, migration
    ``e7f8a9b0c1d2``), both null until its first check, so that the console's sort by health
    reads this table's index in order (a group never checked counts below a sound one)."""

    __tablename__ = "ledger_checks"
    __table_args__ = (
        sa.Index("ix_ledger_checks_problem_count",
                 sa.text("problem_count NULLS FIRST"), "group_id"),
    )

    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    checked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    problem_count: Mapped[int | None]
    problems: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")


class GroupFigures(db.Model):
    """The network console's figures of one group over the last 30 days, refreshed by a job
    (:func:`timebank.provisioning.overview.refresh_figures`) so every sort is an index scan.
    ``hours`` is in network hours. A group gets a row (zeros) when it is created."""

    __tablename__ = "group_figures"
    __table_args__ = (
        sa.Index("ix_group_figures_members", "members", "group_id"),
        sa.Index("ix_group_figures_active_members", "active_members", "group_id"),
        sa.Index("ix_group_figures_transfers", "transfers", "group_id"),
        sa.Index("ix_group_figures_hours", "hours", "group_id"),
    )

    group_id: Mapped[int] = mapped_column(
        sa.ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    members: Mapped[int] = mapped_column(default=0)
    active_members: Mapped[int] = mapped_column(default=0)
    transfers: Mapped[int] = mapped_column(default=0)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric, default=0)
    refreshed_at: Mapped[datetime] = created_at_column()


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class GroupExport(db.Model):
    """A ZIP of one group's data (CSV and JSON), built by :mod:`timebank.portability.jobs`.

    ``group_id`` is nulled when the group is deleted; ``group_slug`` keeps the export findable.
    The ZIP itself is in :class:`GroupExportChunk` rows; ``size`` is its length in bytes.
    """

    __tablename__ = "group_exports"
    __table_args__ = (
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_range"),
        sa.Index("ix_group_exports_group_id_created_at", "group_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("groups.id", ondelete="SET NULL"))
    group_slug: Mapped[str] = mapped_column(sa.String(63))
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[ExportStatus] = mapped_column(
        _enum(ExportStatus, "export_status"), default=ExportStatus.QUEUED
    )
    progress: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
    size: Mapped[int | None]
    # The whole ZIP as the release before group_export_chunks wrote it (and still does while
    # it runs, during a deploy or after a rollback): read only when an export has no pieces.
    # Drop it, and that fallback, in a later release (README, "Deploying": drop a release later).
    content: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def filename(self) -> str:
        stamp = self.created_at.strftime("%Y%m%d-%H%M%S")
        return f"{self.group_slug}-export-{stamp}.zip"


class GroupExportChunk(db.Model):
    """One piece of an export's ZIP: ``seq`` 0, 1, ... in order, each at most
    :data:`timebank.portability.export.CHUNK_BYTES`. The job stores them one at a time and a
    download reads them one at a time, so neither holds the whole file (issue 14)."""

    __tablename__ = "group_export_chunks"

    export_id: Mapped[int] = mapped_column(
        sa.ForeignKey("group_exports.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class LoginHandoff(db.Model):
    """A used cross-host login token (its random id): each token logs in once."""

    __tablename__ = "login_handoffs"

    token_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    used_at: Mapped[datetime] = created_at_column()
