"""Small pieces the ledger views share: choices for selects, the selected currency, errors."""

import sqlalchemy as sa
from flask import abort, request

from timebank.extensions import db
from timebank.ledger import reports
from timebank.ledger import service as ledger
from timebank.ledger.amounts import format_money
from timebank.ledger.errors import LedgerError
from timebank.models import (
    Account,
    Currency,
    Entry,
    FavouriteMember,
    Membership,
    MembershipStatus,
    Transfer,
    User,
)
from timebank.policy import current_membership
from timebank.tenants import current_group_id
from timebank.tenants.cache import kept_while_unchanged


def money(amount: int, currency: Currency, *, with_symbol: bool = True) -> str:
    return format_money(amount, currency, with_symbol=with_symbol)


def member_choices(*, exclude: Membership | None = None) -> list[tuple[int, str]]:
    """Active members of the group as (membership id, name), by name."""
    query = (
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE)
        .order_by(User.name)
    )
    if exclude is not None:
        query = query.where(Membership.id != exclude.id)
    return [(row.id, row.name) for row in db.session.execute(query)]


MEMBERS_FOUND = 20
RECENT_TRANSFERS = 30


def name_starts_with(prefix: str) -> sa.ColumnElement[bool]:
    """SQL: the user's name, or one of its words, starts with ``prefix`` (any case)."""
    return reports.word_starts_with(User.name, prefix)


def find_members(prefix: str, *, exclude: Membership | None = None,
                 limit: int = MEMBERS_FOUND) -> list[tuple[int, str]]:
    """Active members of the group whose name (or a word of it) starts with ``prefix``, as
    (membership id, name) by name, at most ``limit``; none for an empty prefix."""
    if not prefix.strip():
        return []
    query = (
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE, name_starts_with(prefix))
        .order_by(User.name, Membership.id)
        .limit(limit)
    )
    if exclude is not None:
        query = query.where(Membership.id != exclude.id)
    return [(row.id, row.name) for row in db.session.execute(query)]


def counterpart_choices(
    *, me: Membership, account_id: int | None, selected: int | None = None, find: str = "",
) -> list[tuple[int, str]]:
    """The members a payment form offers without listing the whole group, in one statement:
    ``me``'s favourite members, the other side of the last ``RECENT_TRANSFERS`` transfers of
    account ``account_id``, member ``selected`` (from a link or a submitted form) and at most
    ``MEMBERS_FOUND`` whose name starts with ``find`` (the search without JavaScript); active
    members only, not ``me``, as (membership id, name) by name."""
    wanted = [Membership.id.in_(sa.select(FavouriteMember.favourite_id)
                                .where(FavouriteMember.membership_id == me.id))]
    if account_id is not None:
        recent = (sa.select(Entry.transfer_id).where(Entry.account_id == account_id)
                  .order_by(Entry.id.desc()).limit(RECENT_TRANSFERS).scalar_subquery())
        other_account = sa.case((Transfer.payer_account_id == account_id,
                                 Transfer.payee_account_id), else_=Transfer.payer_account_id)
        wanted.append(Membership.id.in_(
            sa.select(Account.membership_id)
            .where(Account.id.in_(sa.select(other_account).where(Transfer.id.in_(recent))))))
    if selected:
        wanted.append(Membership.id == selected)
    if find.strip():
        wanted.append(Membership.id.in_(_found_ids(find, me)))
    query = (
        sa.select(Membership.id, User.name)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE, Membership.id != me.id,
               sa.or_(*wanted))
        .order_by(User.name, Membership.id)
    )
    return [(row.id, row.name) for row in db.session.execute(query)]


def _found_ids(find: str, me: Membership) -> sa.Select:
    return (
        sa.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.status == MembershipStatus.ACTIVE, Membership.id != me.id,
               name_starts_with(find))
        .order_by(User.name, Membership.id)
        .limit(MEMBERS_FOUND)
    )


def currency_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.name} ({c.symbol})") for c in ledger.active_currencies()]


def selected_currency() -> Currency:
    """The active currency named by ``currency`` in the form or query (default: the group's
    first active one), from the group's kept currencies; 404 when the group has none."""
    code = (request.values.get("currency") or "").upper()
    currencies = ledger.active_currencies()
    if not currencies:
        abort(404)
    return next((c for c in currencies if c.code == code), currencies[0])


def active_member(membership_id: int | None, *, exclude: Membership) -> Membership | None:
    """Return the group's active member ``membership_id`` (not ``exclude``), with their
    user, or None (one query, or none when this process keeps them:
    :func:`timebank.tenants.cache.kept_while_unchanged`)."""
    if not membership_id or membership_id == exclude.id:
        return None

    def read() -> list:
        member = db.session.scalar(
            sa.select(Membership).where(Membership.id == membership_id,
                                        Membership.status == MembershipStatus.ACTIVE))
        return [member.user, member] if member else []

    rows = kept_while_unchanged(("member", current_group_id(), membership_id), read)
    return rows[1] if rows else None


def my_account(currency: Currency | None = None):
    currency = currency or ledger.default_currency()
    return ledger.account_for(current_membership(), currency) if currency else None


def transfer_or_404(transfer_id: int) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        abort(404)
    return transfer


def field_error(form, error: LedgerError, *, fallback: str = "amount") -> None:
    """Show a service error next to the field it names (or the fallback field)."""
    field = getattr(form, error.field or fallback, None) or getattr(form, fallback, None)
    if field is None:
        form.form_errors.append(str(error))
    else:
        field.errors = list(field.errors) + [str(error)]
