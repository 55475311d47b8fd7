"""The members directory: a group's active members by name, a page at a time, or those whose
name starts with the words a member typed.

A group's size, not its history, bounds this list, so it pages by number (``OFFSET``): a page
of 1,000 members took 50 ms of CPU to render, one of 50 (``MEMBERS_PER_PAGE``) takes a few.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger.reports import word_starts_with
from timebank.models import Membership, MembershipStatus, User

# Beyond any group's size; keeps OFFSET within PostgreSQL's bigint whatever the address says.
LAST_PAGE = 100_000


@dataclass
class DirectoryPage:
    """One page of the directory: its active members (each with its user loaded), by name;
    ``number`` counts from 1; ``has_next`` says whether a later page has members."""

    members: list[Membership]
    number: int
    has_next: bool


def directory_page(*, per_page: int, number: int = 1, find: str = "") -> DirectoryPage:
    """Return page ``number`` (clamped to 1..:data:`LAST_PAGE`) of ``per_page`` of the
    current group's active members by name (then id), only those whose name or one of its
    words starts with ``find`` when it is not blank (any case, its first 60 characters).
    One statement."""
    number = min(max(number, 1), LAST_PAGE)
    query = (
        sa.select(Membership)
        .join(Membership.user)
        .options(sa.orm.contains_eager(Membership.user))
        .where(Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.name, Membership.id)
        .offset((number - 1) * per_page)
        .limit(per_page + 1)
    )
    if find.strip():
        query = query.where(word_starts_with(User.name, find))
    members = list(db.session.scalars(query))
    return DirectoryPage(members=members[:per_page], number=number,
                         has_next=len(members) > per_page)
