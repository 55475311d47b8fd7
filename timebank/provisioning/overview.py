"""Reads across groups for the network site: the console's groups table, the public list of
groups on the landing page, and a user's "my timebanks".

Each is a fixed number of queries whatever the number of groups. The groups table reads the
per-group figures from ``group_figures``, which :func:`refresh_figures` (rq cron, every 10
minutes) recomputes, so sorting by any figure is an index scan however many groups and
transfers there are; one group's page (:func:`group_row`) computes them live, as correlated
subqueries. These reads cross tenants on purpose, inside :func:`~timebank.tenants.all_groups`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from timebank.extensions import db
from timebank.models import (
    Account,
    Currency,
    Entry,
    Group,
    GroupFigures,
    GroupRequest,
    GroupRequestStatus,
    GroupStatus,
    LedgerCheck,
    Membership,
    MembershipStatus,
    Transfer,
    TransferKind,
    TransferState,
    User,
    utcnow,
)
from timebank.tenants import all_groups

ACTIVITY_DAYS = 30
PER_PAGE = 50


@dataclass(frozen=True)
class GroupRow:
    """One line of the console's groups table (amounts: ``hours`` in network hours)."""

    id: int
    name: str
    slug: str
    place: str
    status: GroupStatus
    created_at: datetime
    members: int
    active_members: int
    transfers: int
    hours: Decimal
    checked_at: datetime | None
    problem_count: int | None


def _figures(since: datetime) -> dict[str, sa.ColumnElement]:
    """The per-group figures as correlated scalar subqueries on ``groups``."""
    members = (
        sa.select(sa.func.count(Membership.id))
        .where(Membership.group_id == Group.id, Membership.status == MembershipStatus.ACTIVE)
        .scalar_subquery()
    )
    active = (
        sa.select(sa.func.count(sa.distinct(Account.membership_id)))
        .select_from(Entry)
        .join(Account, Account.id == Entry.account_id)
        .where(Entry.group_id == Group.id, Entry.created_at >= since,
               Account.membership_id.is_not(None))
        .scalar_subquery()
    )
    recent = sa.and_(
        Transfer.group_id == Group.id,
        Transfer.created_at >= since,
        Transfer.state == TransferState.COMPLETED,
        Transfer.kind.not_in((TransferKind.REVERSAL, TransferKind.LEVY)),  # not trades
    )
    transfers = sa.select(sa.func.count(Transfer.id)).where(recent).scalar_subquery()
    hours = (
        sa.select(sa.func.coalesce(sa.func.sum(
            Transfer.amount * Currency.hour_value / Currency.subunits_per_unit), 0))
        .select_from(Transfer)
        .join(Currency, Currency.id == Transfer.currency_id)
        .where(recent)
        .scalar_subquery()
    )
    return {
        "members": sa.func.coalesce(members, 0),
        "active_members": sa.func.coalesce(active, 0),
        "transfers": sa.func.coalesce(transfers, 0),
        "hours": sa.func.coalesce(hours, 0),
    }


FIGURES = ("members", "active_members", "transfers", "hours")


def refresh_figures() -> None:
    """Job (rq cron, every 10 minutes): recompute every group's ``group_figures`` row in one
    statement (members, members active, transfers and network hours in the last
    ``ACTIVITY_DAYS`` days)."""
    figures = _figures(utcnow() - timedelta(days=ACTIVITY_DAYS))
    columns = ["group_id", *FIGURES, "refreshed_at"]
    statement = insert(GroupFigures).from_select(
        columns,
        sa.select(Group.id, *(figures[name] for name in FIGURES), sa.func.now()),
    )
    statement = statement.on_conflict_do_update(
        index_elements=["group_id"],
        set_={name: statement.excluded[name] for name in columns[1:]},
    )
    with all_groups():
        db.session.execute(statement)


def _stored_figures() -> dict[str, sa.ColumnElement]:
    return {name: getattr(GroupFigures, name) for name in FIGURES}


SORTS = ("name", "slug", "status", "created", "members", "active_members", "transfers",
         "hours", "health")


def _rows_query(figures: dict[str, sa.ColumnElement]) -> sa.Select:
    return (
        sa.select(Group.id, Group.name, Group.slug, Group.place, Group.status,
                  Group.created_at, *(column.label(name) for name, column in figures.items()),
                  LedgerCheck.checked_at, LedgerCheck.problem_count)
        .join(LedgerCheck, LedgerCheck.group_id == Group.id)  # every group has its row
    )


def group_row(group_id: int) -> GroupRow | None:
    """Return the console's figures for one group (one query)."""
    figures = _figures(utcnow() - timedelta(days=ACTIVITY_DAYS))
    with all_groups():
        row = db.session.execute(_rows_query(figures).where(Group.id == group_id)).first()
    return GroupRow(**row._mapping) if row is not None else None


def groups_page(
    *,
    search: str = "",
    status: str | None = None,
    sort: str = "created",
    descending: bool = True,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> tuple[list[GroupRow], int]:
    """Return one page of the console's groups table and the number of matching groups.

    ``search`` matches name, slug or place (case-insensitive); ``status`` one
    :class:`GroupStatus` value; ``sort`` one of :data:`SORTS`. Two queries.
    """
    figures = _stored_figures()
    where = []
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(Group.name).like(pattern),
                            sa.func.lower(Group.slug).like(pattern),
                            sa.func.lower(Group.place).like(pattern)))
    if status in {s.value for s in GroupStatus}:
        where.append(Group.status == status)
    order_by = {
        "name": sa.func.lower(Group.name), "slug": Group.slug, "status": Group.status,
        "created": Group.created_at, "health": LedgerCheck.problem_count,
        **figures,
    }.get(sort, Group.created_at)
    # (column, id) both ways: a scan of the column's index. Health: a group never checked
    # (null) counts below a sound one (0), as its index orders them.
    tie = (GroupFigures.group_id if sort in FIGURES
           else LedgerCheck.group_id if sort == "health" else Group.id)
    if sort == "health":
        order = ((order_by.desc().nulls_last(), tie.desc()) if descending
                 else (order_by.asc().nulls_first(), tie.asc()))
    else:
        order = ((order_by.desc(), tie.desc()) if descending
                 else (order_by.asc(), tie.asc()))
    query = (
        _rows_query(figures)
        .join(GroupFigures, GroupFigures.group_id == Group.id)
        .where(*where)
        .order_by(*order)
        .limit(per_page)
        .offset((max(page, 1) - 1) * per_page)
    )
    with all_groups():  # the network console reads every group's figures
        total = db.session.scalar(sa.select(sa.func.count(Group.id)).where(*where))
        rows = [GroupRow(**row._mapping) for row in db.session.execute(query)]
    return rows, total or 0


def public_groups(*, search: str = "", page: int = 1,
                  per_page: int = PER_PAGE) -> tuple[list[Group], int]:
    """Return one page of active groups for the landing page (by name) and their count;
    ``search`` matches name or place. Two queries."""
    where = [Group.status == GroupStatus.ACTIVE]
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        where.append(sa.or_(sa.func.lower(Group.name).like(pattern),
                            sa.func.lower(Group.place).like(pattern)))
    total = db.session.scalar(sa.select(sa.func.count(Group.id)).where(*where))
    groups = db.session.scalars(
        sa.select(Group).where(*where).order_by(sa.func.lower(Group.name), Group.id)
        .limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(groups), total or 0


@dataclass(frozen=True)
class MyGroup:
    """One of a user's groups: their membership there and their balance in its first active
    currency (``balance`` in subunits; None without an account)."""

    group: Group
    membership: Membership
    currency: Currency | None
    balance: int | None


def my_groups(user: User) -> list[MyGroup]:
    """Return ``user``'s groups (active or pending memberships, in groups that are not
    archived), by group name, with their balances. One query."""
    first_account = (
        sa.select(Account.id)
        .join(Currency, Currency.id == Account.currency_id)
        .where(Account.membership_id == Membership.id, Currency.is_active)
        .order_by(Currency.id)
        .limit(1)
        .scalar_subquery()
        .correlate(Membership)
    )
    query = (
        sa.select(Group, Membership, Currency, Account.balance)
        .join(Membership, Membership.group_id == Group.id)
        .outerjoin(Account, Account.id == first_account)
        .outerjoin(Currency, Currency.id == Account.currency_id)
        .where(
            Membership.user_id == user.id,
            Membership.status.in_((MembershipStatus.ACTIVE, MembershipStatus.PENDING)),
            Group.status != GroupStatus.ARCHIVED,
        )
        .order_by(sa.func.lower(Group.name), Group.id)
    )
    with all_groups():  # a user's memberships span groups
        rows = db.session.execute(query).all()
    return [MyGroup(group=g, membership=m, currency=c, balance=b) for g, m, c, b in rows]


def requests_page(*, status: str | None = None, page: int = 1,
                  per_page: int = PER_PAGE) -> tuple[list[GroupRequest], int]:
    """Return group requests for the console (``status`` filter; default: all but
    unconfirmed), newest first, and their count. Two queries."""
    if status in {s.value for s in GroupRequestStatus}:
        where = [GroupRequest.status == status]
    else:
        where = [GroupRequest.status != GroupRequestStatus.UNCONFIRMED]
    total = db.session.scalar(sa.select(sa.func.count(GroupRequest.id)).where(*where))
    requests = db.session.scalars(
        sa.select(GroupRequest).where(*where)
        .order_by(GroupRequest.created_at.desc(), GroupRequest.id.desc())
        .limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).all()
    return list(requests), total or 0


def pending_request_count() -> int:
    """Return how many requests wait for a network admin's decision."""
    return db.session.scalar(
        sa.select(sa.func.count(GroupRequest.id))
        .where(GroupRequest.status == GroupRequestStatus.PENDING)
    ) or 0
