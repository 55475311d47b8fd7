"""Accounts: finding, opening and locking them.

A member has one account per currency; the group itself holds accounts too (the community pot,
and the issuer account of an issued currency). Locks are taken with ``SELECT ... FOR NO KEY
UPDATE`` in ascending id order: the fixed order keeps two transfers over the same accounts
from deadlocking, and the "no key" strength still lets other transactions insert rows that
merely reference a locked account (their foreign-key check takes ``FOR KEY SHARE``).
"""

from collections.abc import Iterable

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from timebank.extensions import db
from timebank.models import Account, AccountKind, Currency, Membership, MembershipStatus
from timebank.tenants import cache as group_cache


def default_currency() -> Currency | None:
    """Return the current group's first active currency (the one members trade in by default)."""
    currencies = active_currencies()
    return currencies[0] if currencies else None


def active_currencies() -> list[Currency]:
    """Return the current group's active currencies, oldest first (kept by the process between
    changes: :mod:`timebank.tenants.cache`)."""
    return group_cache.active_currencies()


def currency_by_code(code: str | None) -> Currency | None:
    """Return the current group's currency with ``code`` (any case), or None."""
    if not code:
        return None
    return db.session.scalar(sa.select(Currency).where(Currency.code == code.upper()))


def open_account(*, membership: Membership, currency: Currency) -> Account:
    """Return ``membership``'s account in ``currency``, creating it at balance 0 if missing."""
    account = account_for(membership, currency)
    if account is None:
        account = Account(
            membership_id=membership.id,
            currency_id=currency.id,
            currency=currency,
            kind=AccountKind.MEMBER,
            group_id=membership.group_id,
        )
        db.session.add(account)
        db.session.flush()
    return account


def open_accounts_for_members(*, currency: Currency) -> int:
    """Open an account in ``currency`` for every active member who lacks one; return how many."""
    memberships = db.session.scalars(
        sa.select(Membership).where(
            Membership.status == MembershipStatus.ACTIVE,
            ~sa.exists().where(
                Account.membership_id == Membership.id, Account.currency_id == currency.id
            ),
        )
    ).all()
    for membership in memberships:
        db.session.add(
            Account(
                membership_id=membership.id, currency_id=currency.id, currency=currency,
                kind=AccountKind.MEMBER, group_id=membership.group_id,
            )
        )
    db.session.flush()
    return len(memberships)


def account_for(membership: Membership, currency: Currency) -> Account | None:
    """Return ``membership``'s account in ``currency``, or None."""
    return db.session.scalar(
        sa.select(Account).where(
            Account.membership_id == membership.id, Account.currency_id == currency.id
        )
    )


# Built once, the member and currencies bind parameters: building it on every dashboard cost
# more CPU than running it. (The tenant hook still scopes it each time it runs.)
_ACCOUNTS_OF = (
    sa.select(Account)
    .where(Account.membership_id == sa.bindparam("membership_id", type_=sa.Integer),
           Account.currency_id.in_(sa.bindparam("currency_ids", expanding=True)))
    .order_by(Account.currency_id)
)


def accounts_of(membership: Membership) -> list[Account]:
    """Return ``membership``'s accounts in the group's active currencies, oldest currency first,
    each with its currency attached (one statement; the currencies are the ones the process
    keeps, :func:`active_currencies`, so ``account.currency`` runs no query)."""
    currencies = {currency.id: currency for currency in active_currencies()}
    if not currencies:
        return []
    accounts = list(db.session.scalars(
        _ACCOUNTS_OF, {"membership_id": membership.id, "currency_ids": list(currencies)}))
    for account in accounts:
        set_committed_value(account, "currency", currencies[account.currency_id])
    return accounts


def group_account(*, currency: Currency, locale: str | None = None) -> Account:
    """Return the group's community pot in ``currency``, opening it if missing.

    ``locale`` names a new pot in that language (the group's default language).
    """
    account = db.session.scalar(
        sa.select(Account)
        .where(
            Account.currency_id == currency.id,
            Account.kind == AccountKind.GROUP,
            Account.is_issuer.is_(False),
            Account.is_clearing.is_(False),
        )
        .order_by(Account.id)
        .limit(1)
    )
    if account is None:
        with force_locale(locale or "en"):
            name = _("Community pot")
        account = Account(
            currency_id=currency.id, currency=currency, kind=AccountKind.GROUP, name=name,
            group_id=currency.group_id,
        )
        db.session.add(account)
        db.session.flush()
    return account


def issuer_account(*, currency: Currency, locale: str | None = None) -> Account:
    """Return the issuer account of an issued ``currency``, opening it if missing.

    The issuer has no floor of its own: its negative balance is what has been issued and not
    yet returned.
    """
    account = db.session.scalar(
        sa.select(Account).where(Account.currency_id == currency.id, Account.is_issuer)
    )
    if account is None:
        with force_locale(locale or "en"):
            name = _("Issuer")
        account = Account(
            currency_id=currency.id, currency=currency, kind=AccountKind.GROUP, name=name,
            is_issuer=True, group_id=currency.group_id,
        )
        db.session.add(account)
        db.session.flush()
    return account


def lock_accounts(account_ids: Iterable[int]) -> dict[int, Account]:
    """Lock the given accounts in ascending id order and return them fresh, by id.

    ``populate_existing`` makes the balances the ones committed before the lock was granted.
    The lock is ``FOR NO KEY UPDATE`` (see the module docstring).
    """
    ids = sorted(set(account_ids))
    rows = db.session.scalars(
        sa.select(Account)
        .where(Account.id.in_(ids))
        .order_by(Account.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {account.id: account for account in rows}
