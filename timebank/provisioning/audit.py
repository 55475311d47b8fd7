"""The network audit trail: every console action, append-only.

Each service that a network admin (or a script) drives records one event here in the same
transaction as the change it describes, so an action and its record commit or roll back together.
The table refuses UPDATE and DELETE (a trigger), so the trail cannot be edited after the fact.
"""

import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Group, NetworkAuditEvent, User, utcnow
from timebank.paging import Page, keyset_objects


def record(
    *,
    actor: User | None,
    action: str,
    target: Group | User | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    target_label: str = "",
    details: dict | None = None,
) -> NetworkAuditEvent:
    """Append one event: ``actor`` (None = a CLI command or the system) did ``action``.

    ``action`` is a dotted machine name (``group.suspend``); ``target`` a group or user, or
    ``target_type``/``target_id``/``target_label`` given directly. ``details`` holds plain
    JSON values (a message, an old and a new value).
    """
    if isinstance(target, Group):
        target_type, target_id, target_label = "group", target.id, target.slug
    elif isinstance(target, User):
        target_type, target_id, target_label = "user", target.id, target.email
    event = NetworkAuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor_email=actor.email if actor is not None else "",
        action=action,
        target_type=target_type or "network",
        target_id=target_id,
        target_label=(target_label or "")[:254],
        details=details or {},
        created_at=utcnow(),
    )
    db.session.add(event)
    db.session.flush()
    return event


def recent_events(*, limit: int = 50, before: int | None = None, after: int | None = None,
                  search: str = "", group: Group | None = None) -> Page:
    """Return one page of ``limit`` events, newest first, paged by key from the event ids
    ``before`` / ``after`` (:func:`timebank.paging.keyset_page`: one query, a deep page costs
    what the first does), filtered by ``search`` (action, target or actor email,
    case-insensitive) and ``group`` (events about that group). The page's rows are
    :class:`NetworkAuditEvent` objects."""
    query = sa.select(NetworkAuditEvent)
    if group is not None:
        query = query.where(NetworkAuditEvent.target_type == "group",
                            NetworkAuditEvent.target_id == group.id)
    if search:
        pattern = f"%{search.strip().lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(NetworkAuditEvent.action).like(pattern),
                sa.func.lower(NetworkAuditEvent.target_label).like(pattern),
                sa.func.lower(NetworkAuditEvent.actor_email).like(pattern),
            )
        )
    return keyset_objects(query, NetworkAuditEvent.id, limit=limit, before=before, after=after)
