"""Shared column helpers, the tenant mixin, and aliases shared between threads."""

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased, declared_attr, mapped_column


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime (stored as ``timestamptz``)."""
    return datetime.now(UTC)


def shared_alias(entity: type, name: str | None = None):
    """Return ``aliased(entity, name=name)`` ready to be shared by every thread of a process:
    for an alias built once at import and used by statements that requests build.

    SQLAlchemy adapts an alias's columns the first time each is used: it fills the alias's
    column collection, then an index of which table column each one stands for, then each
    attribute's expression. Two threads doing that first at the same moment could see the
    index half built, and the statement then named the table where it meant the alias
    (``JOIN ads AS other ON ads.group_id …``): PostgreSQL refuses it, and the process kept the
    wrong expression for good. So every column attribute is adapted here, while the module is
    imported, before any request thread exists (``tests/test_marketplace_stored_matches.py``).
    """
    alias = aliased(entity, name=name)
    for column in sa.inspect(entity).column_attrs:
        getattr(alias, column.key).__clause_element__()
    return alias


class TenantMixin:
    """Marks a table as owned by one group.

    Queries on such tables are filtered to the current group automatically and new rows are
    stamped with it (see :mod:`timebank.tenants.scoping`). Tables that other tenant tables point
    at also carry a ``(group_id, id)`` unique key, so foreign keys can include ``group_id`` and
    no row can point across groups.
    """

    @declared_attr
    def group_id(cls) -> Mapped[int]:
        return mapped_column(
            sa.ForeignKey("groups.id", ondelete="CASCADE"), index=True, nullable=False
        )


def tenant_fk(column: str, target: str, *, ondelete: str | None = None,
              also: str | None = None) -> sa.ForeignKeyConstraint:
    """Return a composite foreign key ``(group_id, column) -> target(group_id, id)``.

    ``target`` is a table name, e.g. ``"accounts"``. ``also`` names one more column that must
    match, on both sides (e.g. ``"currency_id"``): the key is then
    ``(group_id, also, column) -> target(group_id, also, id)``.
    """
    local, remote = ["group_id", column], [f"{target}.group_id", f"{target}.id"]
    if also:
        local.insert(1, also)
        remote.insert(1, f"{target}.{also}")
    return sa.ForeignKeyConstraint(local, remote, ondelete=ondelete)


def created_at_column() -> Mapped[datetime]:
    return mapped_column(sa.DateTime(timezone=True), default=utcnow, nullable=False)
