"""A group's life after provisioning, as network admins drive it: suspend, reactivate, archive,
delete; network admins themselves; and the stored result of each group's ledger check.

Rules enforced here:

* ``active`` ⇄ ``suspended`` (the site stays readable with a notice, every write is refused:
  see :mod:`timebank.tenants.resolve`); ``active``/``suspended`` → ``archived`` (the site
  answers 410); ``archived`` → ``active`` by reactivating;
* a group is deleted only when archived, after an export of it has completed, and when the admin
  types its slug; its tenant rows go with it (``ON DELETE CASCADE``), the people stay;
* a network admin cannot remove their own admin role, and the network always keeps one admin;
* every action is recorded in the network audit trail, in the same transaction.

Functions take keyword-only arguments, raise :class:`LifecycleError` subclasses and never commit.
"""

import re

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects.postgresql import insert

from timebank.extensions import db
from timebank.models import (
    ExportStatus,
    Group,
    GroupExport,
    GroupStatus,
    LedgerCheck,
    User,
    utcnow,
)
from timebank.people import service as people
from timebank.provisioning import audit
from timebank.provisioning.service import ProvisioningError


class LifecycleError(ProvisioningError):
    message = _l("This is not possible for this group now.")


class WrongStatus(LifecycleError):
    message = _l("The group's status does not allow this.")


class ExportNeeded(LifecycleError):
    message = _l("Export the group first: a group is deleted only after a completed export.")


class SlugMismatch(LifecycleError):
    field = "confirm_slug"
    message = _l("Type the group's address exactly to confirm.")


class UnknownUser(LifecycleError):
    field = "email"
    message = _l("No account has this email.")


class LastAdmin(LifecycleError):
    message = _l("You cannot remove your own network admin role.")


def _set_status(group: Group, status: GroupStatus, *, actor: User | None, action: str,
                reason: str = "") -> Group:
    old = group.status
    group.status = status
    group.status_changed_at = utcnow()
    db.session.flush()
    audit.record(actor=actor, action=action, target=group,
                 details={"from": old.value, "to": status.value, "reason": reason.strip()})
    return group


def suspend_group(*, group: Group, actor: User | None, reason: str = "") -> Group:
    """Suspend an active group: readable with a notice, nothing can be written.

    Raises :class:`WrongStatus` unless the group is active.
    """
    if group.status != GroupStatus.ACTIVE:
        raise WrongStatus()
    return _set_status(group, GroupStatus.SUSPENDED, actor=actor, action="group.suspend",
                       reason=reason)


def reactivate_group(*, group: Group, actor: User | None, reason: str = "") -> Group:
    """Make a suspended or archived group active again. Raises :class:`WrongStatus`."""
    if group.status == GroupStatus.ACTIVE:
        raise WrongStatus()
    return _set_status(group, GroupStatus.ACTIVE, actor=actor, action="group.reactivate",
                       reason=reason)


def archive_group(*, group: Group, actor: User | None, reason: str = "") -> Group:
    """Archive a group: its site answers 410. Raises :class:`WrongStatus` if archived."""
    if group.status == GroupStatus.ARCHIVED:
        raise WrongStatus()
    return _set_status(group, GroupStatus.ARCHIVED, actor=actor, action="group.archive",
                       reason=reason)


def latest_export(group: Group) -> GroupExport | None:
    """Return the group's newest completed export, or None."""
    return db.session.scalar(
        sa.select(GroupExport)
        .where(GroupExport.group_id == group.id, GroupExport.status == ExportStatus.DONE)
        .order_by(GroupExport.created_at.desc(), GroupExport.id.desc())
        .limit(1)
    )


def delete_group(*, group: Group, actor: User | None, confirm_slug: str) -> None:
    """Delete an archived, exported group and everything it owns (its people stay).

    Raises :class:`WrongStatus` (not archived), :class:`ExportNeeded` (no completed export) or
    :class:`SlugMismatch` (``confirm_slug`` is not the group's slug).
    """
    if group.status != GroupStatus.ARCHIVED:
        raise WrongStatus()
    if (confirm_slug or "").strip() != group.slug:
        raise SlugMismatch()
    export = latest_export(group)
    if export is None:
        raise ExportNeeded()
    audit.record(actor=actor, action="group.delete", target=group,
                 details={"name": group.name, "export_id": export.id})
    group_id = group.id
    db.session.expunge(group)
    # Tenant rows go by ON DELETE CASCADE; composite foreign keys between them are checked at
    # the end of the statement, when both sides are gone.
    db.session.execute(sa.delete(Group).where(Group.id == group_id))
    db.session.flush()


# --- network admins ------------------------------------------------------------------------------


def network_admins() -> list[User]:
    """Return the network admins, by name."""
    return list(db.session.scalars(
        sa.select(User).where(User.is_network_admin).order_by(User.name, User.id)
    ))


def grant_network_admin(*, email: str, actor: User | None) -> User:
    """Make the user with ``email`` a network admin. Raises :class:`UnknownUser`."""
    user = people.find_user_by_email(email or "")
    if user is None:
        raise UnknownUser()
    if not user.is_network_admin:
        user.is_network_admin = True
        db.session.flush()
        audit.record(actor=actor, action="admin.grant", target=user)
    return user


def revoke_network_admin(*, user: User, actor: User | None) -> User:
    """Take the network admin role from ``user``. Raises :class:`LastAdmin` for oneself
    (which also keeps at least one admin: the one acting)."""
    if actor is not None and actor.id == user.id:
        raise LastAdmin()
    if user.is_network_admin:
        remaining = db.session.scalar(
            sa.select(sa.func.count()).select_from(User)
            .where(User.is_network_admin, User.id != user.id)
        )
        if not remaining:
            raise LastAdmin()
        user.is_network_admin = False
        db.session.flush()
        audit.record(actor=actor, action="admin.revoke", target=user)
    return user


# --- ledger health -------------------------------------------------------------------------------

_GROUP_IN_DETAIL = re.compile(r"^group (\d+)\b")


def record_ledger_checks(*, group_id: int | None = None, actor: User | None = None) -> dict:
    """Run ``ledger verify`` (every group, or ``group_id``) and store each group's result.

    Returns ``{group id: problem count}`` for the groups checked. One verify run for the whole
    network; each problem names its group first ("group 12 ..."), which is how they are
    attributed. Recorded in the audit trail when an admin asked for it.
    """
    from timebank.ledger.verify import verify_ledger

    problems = verify_ledger(group_id=group_id)
    by_group: dict[int, list[str]] = {}
    for problem in problems:
        match = _GROUP_IN_DETAIL.match(problem.detail)
        if match:
            by_group.setdefault(int(match.group(1)), []).append(str(problem))
    ids_query = sa.select(Group.id)
    if group_id is not None:
        ids_query = ids_query.where(Group.id == group_id)
    group_ids = list(db.session.scalars(ids_query))
    now = utcnow()
    rows = [
        {"group_id": gid, "checked_at": now, "problem_count": len(by_group.get(gid, [])),
         "problems": by_group.get(gid, [])[:50]}
        for gid in group_ids
    ]
    for start in range(0, len(rows), 5000):  # stay well under the bind-parameter limit
        statement = insert(LedgerCheck).values(rows[start:start + 5000])
        db.session.execute(statement.on_conflict_do_update(
            index_elements=[LedgerCheck.group_id],
            set_={"checked_at": statement.excluded.checked_at,
                  "problem_count": statement.excluded.problem_count,
                  "problems": statement.excluded.problems},
        ))
    if actor is not None:
        audit.record(actor=actor, action="ledger.verify",
                     target_type="group" if group_id else "network", target_id=group_id,
                     details={"groups": len(rows), "problems": len(problems)})
    return {row["group_id"]: row["problem_count"] for row in rows}
