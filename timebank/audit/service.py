"""Write and read the audit trail (the rows are append-only: a trigger refuses changes).

Functions take keyword-only arguments and never commit: an event is written in the same
transaction as the act it records, so a rolled-back act leaves no event and a recorded act
always has one.
"""

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.models import AuditEvent, Membership, User, utcnow
from timebank.paging import Page, keyset_objects

# action -> what a coordinator reads in the trail. Actions are "<area>.<verb>".
ACTIONS: dict[str, Any] = {
    "members.approve": _l("Join request approved"),
    "members.decline": _l("Join request declined"),
    "members.role": _l("Role changed"),
    "members.suspend": _l("Member suspended"),
    "members.reactivate": _l("Member reactivated"),
    "members.invite": _l("Invitation sent"),
    "members.invitation_revoked": _l("Invitation revoked"),
    "members.invitation_accepted": _l("Invitation accepted"),
    "members.add_offline": _l("Member without email added"),
    "members.leave": _l("Member left"),
    "members.settle": _l("Balance moved to the group account"),
    "ledger.limits": _l("Limits changed"),
    "ledger.currency_defaults": _l("Currency default limits changed"),
    "ledger.on_behalf": _l("Entry on behalf"),
    "ledger.reversal": _l("Transfer reversed"),
    "ledger.bulk": _l("Bulk entry"),
    "ledger.issuance": _l("Currency issued"),
    "ledger.levy": _l("Levy on transfers changed"),
    "settings.change": _l("Group settings changed"),
    "schedules.order_created": _l("Standing order set up"),
    "schedules.order_cancelled": _l("Standing order cancelled"),
    "schedules.order_ended": _l("Standing order ended: a party left the group"),
    "schedules.charges": _l("Membership fee or demurrage changed"),
    "volunteering.complete": _l("Volunteer's part marked done"),
    "volunteering.cancel": _l("Volunteer task cancelled"),
}


# object_type -> what the trail shows for it.
OBJECT_TYPES: dict[str, Any] = {
    "membership": _l("member"),
    "invitation": _l("invitation"),
    "account": _l("account"),
    "currency": _l("currency"),
    "transfer": _l("transfer"),
    "group": _l("group"),
    "volunteer_task": _l("volunteer task"),
    "volunteer_pledge": _l("pledge"),
    "standing_order": _l("standing order"),
}


class UnknownAuditAction(ValueError):
    """A programming error: an action missing from :data:`ACTIONS`."""


def json_safe(value: Any) -> Any:
    """Return ``value`` as plain JSON (dates as ISO 8601, enums by value, Decimals as text)."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(item) for item in value]
    if isinstance(value, enum.Enum):
        return value.value if not isinstance(value, enum.IntEnum) else value.name.lower()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def actor_name(actor: Membership | None) -> str:
    if actor is None:
        return ""
    user = actor.user
    return user.name if user is not None else ""


def record(
    *,
    action: str,
    object_type: str,
    object_id: int | None,
    actor: Membership | None,
    before: dict | None = None,
    after: dict | None = None,
    group_id: int | None = None,
) -> AuditEvent:
    """Append one event to the current group's trail and return it (flushed, not committed).

    ``actor`` is the acting membership (None: the system). ``before``/``after`` hold the
    fields the act changed (amounts in subunits); they are stored as JSON. ``group_id``
    defaults to the group in context. Raises :class:`UnknownAuditAction` for an action not
    in :data:`ACTIONS` (a programming error, so a typo cannot hide an act).
    """
    if action not in ACTIONS:
        raise UnknownAuditAction(action)
    event = AuditEvent(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_id=actor.id if actor is not None else None,
        actor_name=actor_name(actor)[:120],
        before=json_safe(before) if before is not None else None,
        after=json_safe(after) if after is not None else None,
        created_at=utcnow(),
    )
    if group_id is not None:
        event.group_id = group_id
    db.session.add(event)
    db.session.flush()
    return event


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Return only the keys whose values differ, as (before, after)."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


@dataclass(frozen=True)
class AuditFilter:
    """Filters of the trail: an action (or an area like ``members``), an actor, dates."""

    action: str | None = None
    actor_id: int | None = None
    start: date | None = None
    end: date | None = None
    object_type: str | None = None
    object_id: int | None = None


def events(flt: AuditFilter, *, timezone: str = "UTC", limit: int = 100,
           before: int | None = None, after: int | None = None) -> Page:
    """Return one :class:`~timebank.paging.Page` of the current group's events matching
    ``flt``, newest (last recorded) first; ``before`` / ``after`` are event ids from a page.
    One statement on the ``(group_id, id)`` index, as cheap deep in the trail as at its top.

    ``start``/``end`` are calendar days in ``timezone`` (the group's), both included.
    """
    query = sa.select(AuditEvent)
    if flt.action:
        if "." in flt.action:
            query = query.where(AuditEvent.action == flt.action)
        else:
            query = query.where(AuditEvent.action.startswith(flt.action + "."))
    if flt.actor_id:
        query = query.where(AuditEvent.actor_id == flt.actor_id)
    if flt.object_type:
        query = query.where(AuditEvent.object_type == flt.object_type)
    if flt.object_id:
        query = query.where(AuditEvent.object_id == flt.object_id)
    local = sa.func.timezone(timezone, AuditEvent.created_at)
    if flt.start:
        query = query.where(sa.cast(local, sa.Date) >= flt.start)
    if flt.end:
        query = query.where(sa.cast(local, sa.Date) <= flt.end)
    return keyset_objects(query, AuditEvent.id, limit=limit, before=before, after=after)


def actor_choices() -> list[tuple[int, str]]:
    """Members who appear as actors in the current group's trail, as (membership id, name):
    one probe of ``ix_audit_events_group_id_actor_id`` per member, not a read of the trail."""
    acted = (sa.select(AuditEvent.id)
             .where(AuditEvent.group_id == Membership.group_id,
                    AuditEvent.actor_id == Membership.id)
             .exists())
    rows = db.session.execute(
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(acted)
        .order_by(User.name)
    )
    return [(row.id, row.name) for row in rows]
