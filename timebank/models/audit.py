"""The group's audit trail: one row per administrative act, append-only.

A database trigger refuses UPDATE and DELETE (a row goes only when its whole group is deleted),
so the trail cannot be rewritten, even by the application. Rows are written by
:func:`timebank.audit.service.record`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column, tenant_fk
from timebank.models.membership import Membership


class AuditEvent(TenantMixin, db.Model):
    """Who did what to which object, when, with the object's state before and after.

    ``actor_id`` is the acting membership (null for the system or a CLI command);
    ``actor_name`` keeps the name shown at the time. ``before``/``after`` are JSON objects of
    the fields that changed (amounts in subunits).
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        tenant_fk("actor_id", "memberships"),
        sa.Index("ix_audit_events_group_id_id", "group_id", "id"),  # the trail, paged by key
        sa.Index("ix_audit_events_group_id_action", "group_id", "action"),
        # The trail's "Who" menu and filter: one probe per member, however long the trail.
        sa.Index("ix_audit_events_group_id_actor_id", "group_id", "actor_id"),
        sa.CheckConstraint("char_length(action) > 0", name="action_present"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(120), default="")
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    before: Mapped[dict | None] = mapped_column(postgresql.JSONB(none_as_null=True))
    after: Mapped[dict | None] = mapped_column(postgresql.JSONB(none_as_null=True))
    created_at: Mapped[datetime] = created_at_column()

    actor: Mapped[Membership | None] = relationship(
        primaryjoin="AuditEvent.actor_id == Membership.id", foreign_keys="AuditEvent.actor_id"
    )

    def __repr__(self) -> str:
        return f"<AuditEvent {self.action} {self.object_type}:{self.object_id}>"
