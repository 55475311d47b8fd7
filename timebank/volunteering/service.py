"""Volunteer tasks, pledges and kudos.

Rules enforced here (issue 6):

* organizers (and coordinators) post, cancel and complete tasks; any active member pledges;
* a task takes at most ``volunteers_needed`` open or done pledges; the task row is locked while
  counting, so two last-place pledges at once cannot both succeed;
* a member withdraws only their own open pledge; a done pledge stays done;
* marking a volunteer's part done awards kudos (a count, not money) once per pledge, never to
  the organizer themself; with the group's ``volunteer_thanks_minutes`` above zero the
  community pot also pays the volunteer that many minutes of the default currency, within the
  pot's limits (if they refuse it, the kudos stand and the thank-you is skipped);
* cancelling a task emails everyone with an open pledge (after commit);
* completing and cancelling are recorded in the audit trail.

Functions take keyword-only arguments, raise :class:`~timebank.volunteering.errors.
VolunteeringError` subclasses (nothing written), and never commit. Times are aware UTC.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from timebank.audit.service import record
from timebank.extensions import db
from timebank.i18n import N_
from timebank.ledger.errors import LedgerError
from timebank.models import (
    Group,
    KudosAward,
    Membership,
    Pledge,
    PledgeStatus,
    Role,
    TaskStatus,
    Transfer,
    TransferKind,
    User,
    VolunteerTask,
    utcnow,
)
from timebank.models.volunteering import TASK_TITLE_MAX
from timebank.volunteering.errors import (
    AlreadyPledged,
    InvalidVolunteerCount,
    NoSelfKudos,
    NotActiveMember,
    NotOrganizer,
    NotPledged,
    NotYourPledge,
    TaskCancelled,
    TaskFull,
    TaskNotStarted,
    TitleRequired,
)


def _require_organizer(membership: Membership | None) -> None:
    if membership is None or not membership.has_role(Role.ORGANIZER):
        raise NotOrganizer()


# --- tasks ----------------------------------------------------------------------------------


def post_task(*, title: str, description: str, starts_at: datetime, volunteers_needed: int,
              by: Membership) -> VolunteerTask:
    """Post a volunteer task ``by`` an organizer; ``starts_at`` is an aware datetime.

    Raises :class:`NotOrganizer`, :class:`TitleRequired` or :class:`InvalidVolunteerCount`.
    """
    _require_organizer(by)
    title = (title or "").strip()[:TASK_TITLE_MAX]
    if not title:
        raise TitleRequired()
    if not isinstance(volunteers_needed, int) or not 1 <= volunteers_needed <= 1000:
        raise InvalidVolunteerCount()
    task = VolunteerTask(
        title=title, description=(description or "").strip()[:10_000], starts_at=starts_at,
        volunteers_needed=volunteers_needed, posted_by_id=by.id, status=TaskStatus.OPEN,
        created_at=utcnow(),
    )
    db.session.add(task)
    db.session.flush()
    return task


def _lock_task(task: VolunteerTask) -> VolunteerTask:
    return db.session.scalar(
        sa.select(VolunteerTask).where(VolunteerTask.id == task.id).with_for_update()
        .execution_options(populate_existing=True)
    )


def taken_places(task: VolunteerTask) -> int:
    """Return how many pledges of ``task`` are open or done (they fill its places)."""
    return db.session.scalar(
        sa.select(sa.func.count(Pledge.id)).where(
            Pledge.task_id == task.id,
            Pledge.status.in_([PledgeStatus.PLEDGED, PledgeStatus.DONE]),
        )
    ) or 0


def cancel_task(*, task: VolunteerTask, by: Membership, reason: str = "") -> VolunteerTask:
    """Cancel a task ``by`` an organizer; everyone with an open pledge is emailed.

    Done pledges and their kudos stay. Raises :class:`NotOrganizer` or
    :class:`TaskCancelled` (already cancelled).
    """
    from timebank.people.notify import tell_member

    _require_organizer(by)
    task = _lock_task(task)
    if task.status == TaskStatus.CANCELLED:
        raise TaskCancelled()
    reason = (reason or "").strip()[:2000]
    task.status = TaskStatus.CANCELLED
    task.cancelled_at = utcnow()
    task.cancelled_by_id = by.id
    task.cancel_reason = reason
    db.session.flush()
    pledgers = db.session.scalars(
        sa.select(Pledge).where(Pledge.task_id == task.id, Pledge.status == PledgeStatus.PLEDGED)
    ).all()
    for pledge in pledgers:
        tell_member(
            pledge.membership, "volunteer_task_cancelled",
            N_("Cancelled: %(title)s"), {"title": task.title, "reason": reason},
            path=f"/volunteering/{task.id}",
        )
    record(action="volunteering.cancel", object_type="volunteer_task", object_id=task.id,
           actor=by, before={"status": "open"},
           after={"status": "cancelled", "reason": reason, "pledgers_told": len(pledgers)})
    return task


# --- pledges --------------------------------------------------------------------------------


def pledge_of(task: VolunteerTask, membership: Membership) -> Pledge | None:
    """Return ``membership``'s pledge row for ``task`` (any status), or None."""
    return db.session.scalar(
        sa.select(Pledge).where(Pledge.task_id == task.id, Pledge.membership_id == membership.id)
    )


def pledge(*, task: VolunteerTask, membership: Membership) -> Pledge:
    """Pledge ``membership`` to help with ``task`` (again, after withdrawing, is fine).

    Raises :class:`NotActiveMember`, :class:`TaskCancelled`, :class:`AlreadyPledged` or
    :class:`TaskFull`.
    """
    if membership is None or not membership.is_active:
        raise NotActiveMember()
    task = _lock_task(task)
    if task.status == TaskStatus.CANCELLED:
        raise TaskCancelled()
    existing = pledge_of(task, membership)
    if existing is not None and existing.status != PledgeStatus.WITHDRAWN:
        raise AlreadyPledged()
    if taken_places(task) >= task.volunteers_needed:
        raise TaskFull()
    if existing is None:
        existing = Pledge(task_id=task.id, membership_id=membership.id, created_at=utcnow())
        db.session.add(existing)
    existing.status = PledgeStatus.PLEDGED
    existing.created_at = utcnow()
    existing.withdrawn_at = None
    db.session.flush()
    return existing


def withdraw(*, pledge: Pledge, membership: Membership) -> Pledge:
    """Withdraw ``membership``'s own open pledge. Raises :class:`NotYourPledge` or
    :class:`NotPledged`."""
    if membership is None or pledge.membership_id != membership.id:
        raise NotYourPledge()
    if pledge.status != PledgeStatus.PLEDGED:
        raise NotPledged()
    pledge.status = PledgeStatus.WITHDRAWN
    pledge.withdrawn_at = utcnow()
    db.session.flush()
    return pledge


@dataclass
class Completion:
    """What marking a part done did: the award, and the thank-you transfer or why not."""

    award: KudosAward
    thanks: Transfer | None = None
    thanks_error: LedgerError | None = None


def complete(*, pledge: Pledge, by: Membership, kudos: int = 1) -> Completion:
    """Mark a volunteer's part done ``by`` an organizer: award ``kudos`` (a count) once.

    With the group's ``volunteer_thanks_minutes`` above zero, the community pot pays the
    volunteer that many minutes (subunits) of the default currency; if the ledger refuses it
    (a limit), the kudos stand and :attr:`Completion.thanks_error` says why. Raises
    :class:`NotOrganizer`, :class:`NoSelfKudos`, :class:`TaskCancelled`,
    :class:`TaskNotStarted` (kudos are for work done) or :class:`NotPledged`.
    """
    _require_organizer(by)
    if pledge.membership_id == by.id:
        raise NoSelfKudos()
    task = _lock_task(pledge.task)
    if task.status == TaskStatus.CANCELLED:
        raise TaskCancelled()
    if task.starts_at > utcnow():
        raise TaskNotStarted()
    pledge = db.session.scalar(
        sa.select(Pledge).where(Pledge.id == pledge.id).with_for_update()
        .execution_options(populate_existing=True)
    )
    if pledge.status != PledgeStatus.PLEDGED:
        raise NotPledged()
    now = utcnow()
    pledge.status = PledgeStatus.DONE
    pledge.done_at = now
    pledge.done_by_id = by.id
    award = KudosAward(membership_id=pledge.membership_id, task_id=task.id, pledge_id=pledge.id,
                       kudos=max(1, int(kudos)), awarded_by_id=by.id, created_at=now)
    db.session.add(award)
    db.session.flush()
    result = Completion(award=award)
    group = db.session.get(Group, task.group_id)
    if group.volunteer_thanks_minutes > 0:
        result.thanks, result.thanks_error = _thank(pledge, task, by, group)
        award.thanks_transfer_id = result.thanks.id if result.thanks else None
        db.session.flush()
    record(
        action="volunteering.complete", object_type="volunteer_pledge", object_id=pledge.id,
        actor=by, before={"status": "pledged"},
        after={"status": "done", "member_id": pledge.membership_id, "task_id": task.id,
               "kudos": award.kudos,
               "thanks_transfer_id": award.thanks_transfer_id},
    )
    return result


def _thank(pledge: Pledge, task: VolunteerTask, by: Membership, group: Group):
    """Pay the volunteer the group's thank-you minutes from the pot; (transfer, error)."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from timebank.ledger import service as ledger

    currency = ledger.default_currency()
    if currency is None:
        return None, None
    account = ledger.account_for(pledge.membership, currency)
    if account is None:
        return None, None
    pot = ledger.group_account(currency=currency, locale=group.default_locale)
    amount = group.volunteer_thanks_minutes * currency.subunits_per_unit // 60 or 1
    with force_locale(group.default_locale):
        description = _("Thank you for volunteering: %(title)s", title=task.title)
    try:
        with db.session.begin_nested():
            transfer = ledger.transfer_between(
                payer_account=pot, payee_account=account, amount=amount,
                description=description, starter=by, kind=TransferKind.PAYMENT,
            )
    except LedgerError as error:
        return None, error
    return transfer, None


# --- reading --------------------------------------------------------------------------------


def upcoming_tasks(*, now: datetime | None = None, limit: int = 100) -> list[VolunteerTask]:
    """Open tasks that have not started yet, soonest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        sa.select(VolunteerTask)
        .where(VolunteerTask.status == TaskStatus.OPEN, VolunteerTask.starts_at >= now)
        .order_by(VolunteerTask.starts_at).limit(limit)
    ))


def recent_tasks(*, now: datetime | None = None, limit: int = 30) -> list[VolunteerTask]:
    """Tasks that started already or were cancelled, newest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        sa.select(VolunteerTask)
        .where(sa.or_(VolunteerTask.starts_at < now, VolunteerTask.status == TaskStatus.CANCELLED))
        .order_by(VolunteerTask.starts_at.desc()).limit(limit)
    ))


def place_counts(tasks: list[VolunteerTask]) -> dict[int, int]:
    """Return {task id: places taken} for ``tasks`` in one query."""
    if not tasks:
        return {}
    rows = db.session.execute(
        sa.select(Pledge.task_id, sa.func.count(Pledge.id))
        .where(Pledge.task_id.in_([t.id for t in tasks]),
               Pledge.status.in_([PledgeStatus.PLEDGED, PledgeStatus.DONE]))
        .group_by(Pledge.task_id)
    )
    return dict(rows.all())


def active_pledges(task: VolunteerTask) -> list[Pledge]:
    """Open and done pledges of ``task``, oldest first (members loaded)."""
    return list(db.session.scalars(
        sa.select(Pledge)
        .where(Pledge.task_id == task.id,
               Pledge.status.in_([PledgeStatus.PLEDGED, PledgeStatus.DONE]))
        .options(selectinload(Pledge.membership))  # with its user (joined)
        .order_by(Pledge.created_at, Pledge.id)
    ))


def kudos_total(membership: Membership) -> int:
    """Return ``membership``'s kudos, all time."""
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(KudosAward.kudos), 0))
        .where(KudosAward.membership_id == membership.id)
    ) or 0


def kudos_history(membership: Membership, *, limit: int = 50) -> list[KudosAward]:
    """Return ``membership``'s kudos awards, newest first."""
    return list(db.session.scalars(
        sa.select(KudosAward).where(KudosAward.membership_id == membership.id)
        .options(selectinload(KudosAward.task))
        .order_by(KudosAward.created_at.desc(), KudosAward.id.desc()).limit(limit)
    ))


@dataclass(frozen=True)
class BoardRow:
    membership_id: int
    name: str
    kudos: int


def month_start(*, timezone: str, now: datetime | None = None) -> datetime:
    """Return the start of the current calendar month in ``timezone``, as an aware datetime."""
    local = (now or utcnow()).astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def kudos_board(*, since: datetime | None = None, limit: int = 20) -> list[BoardRow]:
    """Rank the current group's volunteers by kudos (since ``since``, else all time)."""
    query = (
        sa.select(Membership.id, User.name, sa.func.sum(KudosAward.kudos).label("kudos"))
        .join(Membership, Membership.id == KudosAward.membership_id)
        .join(User, User.id == Membership.user_id)
        .group_by(Membership.id, User.name)
        .order_by(sa.desc("kudos"), User.name)
        .limit(limit)
    )
    if since is not None:
        query = query.where(KudosAward.created_at >= since)
    return [BoardRow(row.id, row.name, int(row.kudos)) for row in db.session.execute(query)]
