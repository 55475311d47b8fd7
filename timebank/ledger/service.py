"""Ledger writes: opening accounts and moving value between them.

Rules enforced here (DESIGN.md, "Ledger"):

* amounts are positive integers in subunits, at most ``MAX_UNITS`` units;
* payer and payee are different, active, in this group, and hold the same currency;
* a completed transfer never takes the payer below its credit limit (``min_balance``) nor the
  payee above its ceiling (``max_balance``); a move back toward the range is always allowed;
* both accounts are locked with ``SELECT ... FOR UPDATE`` in ascending id order and re-read
  before the check, so concurrent transfers cannot overspend;
* a transfer and its two entries (summing to zero) and both cached balances are written in the
  caller's transaction; the caller (request, job or CLI command) commits once;
* an idempotency key makes a retried submission return the first transfer instead of paying twice.

Functions take keyword-only arguments, raise :class:`~timebank.ledger.errors.LedgerError`
subclasses, and never commit.
"""

from collections.abc import Iterable

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger.amounts import MAX_UNITS
from timebank.ledger.errors import (
    CeilingExceeded,
    CreditLimitExceeded,
    CurrencyMismatch,
    InactiveParty,
    InvalidAmount,
    InvalidLimits,
    SameAccount,
)
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    Entry,
    Membership,
    Transfer,
    TransferKind,
    TransferState,
    utcnow,
)

DESCRIPTION_MAX = 500


def default_currency() -> Currency | None:
    """Return the current group's first active currency (the one members trade in by default)."""
    return db.session.scalar(
        sa.select(Currency).where(Currency.is_active).order_by(Currency.id).limit(1)
    )


def open_account(*, membership: Membership, currency: Currency) -> Account:
    """Return ``membership``'s account in ``currency``, creating it at balance 0 if missing."""
    account = db.session.scalar(
        sa.select(Account).where(
            Account.membership_id == membership.id, Account.currency_id == currency.id
        )
    )
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


def account_for(membership: Membership, currency: Currency) -> Account | None:
    """Return ``membership``'s account in ``currency``, or None."""
    return db.session.scalar(
        sa.select(Account).where(
            Account.membership_id == membership.id, Account.currency_id == currency.id
        )
    )


def lock_accounts(account_ids: Iterable[int]) -> dict[int, Account]:
    """Lock the given accounts ``FOR UPDATE`` in ascending id order and return them fresh.

    The fixed order is what keeps two transfers over the same accounts from deadlocking;
    ``populate_existing`` makes the balances the ones committed before the lock was granted.
    """
    ids = sorted(set(account_ids))
    rows = db.session.scalars(
        sa.select(Account)
        .where(Account.id.in_(ids))
        .order_by(Account.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {account.id: account for account in rows}


def check_limits(*, payer: Account, payee: Account, amount: int) -> None:
    """Raise if moving ``amount`` subunits from ``payer`` to ``payee`` breaks a limit.

    Raises :class:`CreditLimitExceeded` (payer would fall below ``min_balance``) or
    :class:`CeilingExceeded` (payee would rise above ``max_balance``). A payer already below its
    floor, or a payee already above its ceiling, moves further out and is refused; the other side
    moving back toward its range is never checked.
    """
    floor = payer.effective_min_balance
    if floor is not None and payer.balance - amount < floor:
        raise CreditLimitExceeded(available=max(0, payer.balance - floor), currency=payer.currency)
    ceiling = payee.effective_max_balance
    if ceiling is not None and payee.balance + amount > ceiling:
        raise CeilingExceeded(available=max(0, ceiling - payee.balance), currency=payee.currency)


def _validate_amount(amount: int, currency: Currency) -> None:
    if (
        not isinstance(amount, int)
        or amount <= 0
        or amount > MAX_UNITS * currency.subunits_per_unit
    ):
        raise InvalidAmount()


def pay(
    *,
    payer: Membership,
    payee: Membership,
    currency: Currency,
    amount: int,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
) -> Transfer:
    """Move ``amount`` subunits of ``currency`` from ``payer`` to ``payee`` and complete it.

    Returns the completed :class:`Transfer` (or, for a repeated ``idempotency_key``, the
    transfer first made with it). Raises :class:`InvalidAmount`, :class:`SameAccount`,
    :class:`InactiveParty`, :class:`CurrencyMismatch`, :class:`CreditLimitExceeded` or
    :class:`CeilingExceeded`; on any error nothing has been written.
    """
    _validate_amount(amount, currency)
    if payer.id == payee.id:
        raise SameAccount()
    if not (payer.is_active and payee.is_active):
        raise InactiveParty()
    payer_account = account_for(payer, currency)
    payee_account = account_for(payee, currency)
    if payer_account is None or payee_account is None:
        raise CurrencyMismatch()
    return transfer_between(
        payer_account=payer_account,
        payee_account=payee_account,
        amount=amount,
        description=description,
        starter=starter,
        kind=TransferKind.PAYMENT,
        idempotency_key=idempotency_key,
    )


def transfer_between(
    *,
    payer_account: Account,
    payee_account: Account,
    amount: int,
    description: str,
    starter: Membership | None,
    kind: TransferKind,
    idempotency_key: str | None = None,
) -> Transfer:
    """Lock both accounts, check limits and write a completed transfer with its two entries.

    The low-level step under :func:`pay`; amounts in subunits. Raises as :func:`pay` does.
    """
    if payer_account.id == payee_account.id:
        raise SameAccount()
    if payer_account.currency_id != payee_account.currency_id:
        raise CurrencyMismatch()
    _validate_amount(amount, payer_account.currency)
    accounts = lock_accounts([payer_account.id, payee_account.id])
    if idempotency_key:
        # Checked under the payer's lock: a concurrent twin waits, then finds the first one.
        existing = db.session.scalar(
            sa.select(Transfer).where(Transfer.idempotency_key == idempotency_key)
        )
        if existing is not None:
            return existing
    payer, payee = accounts[payer_account.id], accounts[payee_account.id]
    check_limits(payer=payer, payee=payee, amount=amount)

    now = utcnow()
    transfer = Transfer(
        group_id=payer.group_id,
        currency_id=payer.currency_id,
        payer_account_id=payer.id,
        payee_account_id=payee.id,
        amount=amount,
        description=description.strip()[:DESCRIPTION_MAX],
        state=TransferState.COMPLETED,
        kind=kind,
        starter_id=starter.id if starter else None,
        completer_id=starter.id if starter else None,
        idempotency_key=idempotency_key or None,
        created_at=now,
        completed_at=now,
    )
    db.session.add(transfer)
    db.session.flush()
    db.session.add_all(
        [
            Entry(group_id=payer.group_id, transfer_id=transfer.id, account_id=payer.id,
                  amount=-amount, created_at=now),
            Entry(group_id=payer.group_id, transfer_id=transfer.id, account_id=payee.id,
                  amount=amount, created_at=now),
        ]
    )
    payer.balance -= amount
    payee.balance += amount
    db.session.flush()
    return transfer


def set_limits(
    *, account: Account, min_balance: int | None, max_balance: int | None
) -> Account:
    """Set an account's credit limit and ceiling (subunits; None = currency default).

    Limits may be set on either side of the current balance: an account outside its range can
    then only move back toward it. Raises :class:`InvalidLimits` if the floor is above the
    ceiling.
    """
    if min_balance is not None and max_balance is not None and min_balance > max_balance:
        raise InvalidLimits()
    account.min_balance = min_balance
    account.max_balance = max_balance
    db.session.flush()
    return account
