"""Credit limits and ceilings: checking them, counting pending amounts, changing them.

Rules (DESIGN.md "Ledger", issue 4 "Limits"); amounts are integers in subunits:

* a completed transfer never takes the payer below its floor (``min_balance``, the credit
  limit) nor the payee above its ceiling (``max_balance``);
* a move back toward the range is always allowed: only the payer's floor and the payee's
  ceiling are checked, so an account left outside a lowered limit can still move back;
* pending outgoing amounts count against what an account can still spend, pending incoming
  ones against what it can still earn, so two pending payments cannot both be promised beyond
  the limit; when a pending transfer is accepted, only the hard limits are checked again;
* every change of an account's limits, or of a currency's defaults, is recorded in
  ``limit_changes`` (who, when, old -> new), which ``flask ledger verify`` reads.

A new transfer (payment, request, on-behalf entry) is checked by the database function
``ledger_transfer`` with the same rules (see :func:`timebank.ledger.transfers.post_transfer`);
:func:`check_limits` serves acceptances, edits, bulk entries and issuance. The table-driven
tests in ``tests/test_ledger_rules.py`` go through both.
"""

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger.accounts import lock_accounts
from timebank.ledger.errors import (
    CeilingExceeded,
    CreditLimitExceeded,
    InvalidLimits,
    IssuedCurrencyFloor,
)
from timebank.models import (
    Account,
    Currency,
    CurrencyKind,
    Membership,
    Transfer,
    TransferState,
    utcnow,
)
from timebank.models.ledger import LimitChange


@dataclass(frozen=True)
class Position:
    """Where an account stands: balance, pending amounts and headroom (all in subunits)."""

    account: Account
    balance: int
    pending_out: int
    pending_in: int
    min_balance: int | None
    max_balance: int | None

    @property
    def can_still_spend(self) -> int | None:
        """What the account may still pay out, pending payments counted (None = no floor)."""
        if self.min_balance is None:
            return None
        return max(0, self.balance - self.pending_out - self.min_balance)

    @property
    def can_still_earn(self) -> int | None:
        """What the account may still receive, pending receipts counted (None = no ceiling)."""
        if self.max_balance is None:
            return None
        return max(0, self.max_balance - self.balance - self.pending_in)

    @property
    def is_below_floor(self) -> bool:
        return self.min_balance is not None and self.balance < self.min_balance

    @property
    def is_above_ceiling(self) -> bool:
        return self.max_balance is not None and self.balance > self.max_balance


def pending_totals(
    account_ids: Iterable[int], *, exclude_transfer_id: int | None = None
) -> dict[int, tuple[int, int]]:
    """Return ``{account id: (pending out, pending in)}`` in subunits, for the given accounts.

    ``exclude_transfer_id`` leaves one transfer out (the one being edited or accepted). One
    query (it runs in every write, under the account locks).
    """
    ids = list(set(account_ids))
    if not ids:
        return {}
    pending = Transfer.state == TransferState.PENDING
    if exclude_transfer_id is not None:
        pending = sa.and_(pending, Transfer.id != exclude_transfer_id)
    legs = sa.union_all(
        sa.select(Transfer.payer_account_id.label("account_id"),
                  Transfer.amount.label("outgoing"), sa.literal(0).label("incoming"))
        .where(pending, Transfer.payer_account_id.in_(ids)),
        sa.select(Transfer.payee_account_id, sa.literal(0), Transfer.amount)
        .where(pending, Transfer.payee_account_id.in_(ids)),
    ).subquery()
    totals = {account_id: (0, 0) for account_id in ids}
    rows = db.session.execute(
        sa.select(legs.c.account_id, sa.func.sum(legs.c.outgoing), sa.func.sum(legs.c.incoming))
        .group_by(legs.c.account_id)
    )
    for account_id, outgoing, incoming in rows:
        totals[account_id] = (int(outgoing or 0), int(incoming or 0))
    return totals


def position(account: Account, *, exclude_transfer_id: int | None = None) -> Position:
    """Return ``account``'s :class:`Position` (balance as loaded; lock first to be exact)."""
    out, incoming = pending_totals([account.id], exclude_transfer_id=exclude_transfer_id)[
        account.id
    ]
    return Position(
        account=account, balance=account.balance, pending_out=out, pending_in=incoming,
        min_balance=account.effective_min_balance, max_balance=account.effective_max_balance,
    )


def positions(accounts: list[Account]) -> list[Position]:
    """Return the :class:`Position` of each account (two queries however many accounts)."""
    totals = pending_totals([account.id for account in accounts])
    return [
        Position(
            account=account, balance=account.balance,
            pending_out=totals[account.id][0], pending_in=totals[account.id][1],
            min_balance=account.effective_min_balance, max_balance=account.effective_max_balance,
        )
        for account in accounts
    ]


def check_limits(
    *,
    payer: Account,
    payee: Account,
    amount: int,
    payer_pending_out: int = 0,
    payee_pending_in: int = 0,
) -> None:
    """Raise if moving ``amount`` subunits from ``payer`` to ``payee`` breaks a limit.

    ``payer_pending_out`` / ``payee_pending_in`` (subunits) are the other pending transfers
    that already hold part of the room. Raises :class:`CreditLimitExceeded` (payer would fall
    below ``min_balance``) or :class:`CeilingExceeded` (payee would rise above
    ``max_balance``), each with ``available`` = the most that could still move. A payer already
    below its floor, or a payee already above its ceiling, moves further out and is refused; the
    other side moving back toward its range is never checked.
    """
    floor = payer.effective_min_balance
    if floor is not None and payer.balance - payer_pending_out - amount < floor:
        raise CreditLimitExceeded(
            available=max(0, payer.balance - payer_pending_out - floor),
            currency=payer.currency, name=payer.display_name,
        )
    ceiling = payee.effective_max_balance
    if ceiling is not None and payee.balance + payee_pending_in + amount > ceiling:
        raise CeilingExceeded(
            available=max(0, ceiling - payee.balance - payee_pending_in),
            currency=payee.currency, name=payee.display_name,
        )


def _check_ordered(min_balance: int | None, max_balance: int | None) -> None:
    if min_balance is not None and max_balance is not None and min_balance > max_balance:
        raise InvalidLimits()


def set_limits(
    *,
    account: Account,
    min_balance: int | None,
    max_balance: int | None,
    changed_by: Membership | None = None,
    reason: str = "",
) -> Account:
    """Set an account's credit limit and ceiling (subunits; None = currency default).

    Limits may be set on either side of the current balance: an account outside its range can
    then only move back toward it. The change is recorded (who, when, old -> new) when anything
    changed. Raises :class:`InvalidLimits` if the floor is above the ceiling, and
    :class:`IssuedCurrencyFloor` for a negative floor on a non-issuer account of an issued
    currency.
    """
    _check_ordered(min_balance, max_balance)
    if (
        account.currency.kind == CurrencyKind.ISSUED
        and not account.is_issuer
        and min_balance is not None
        and min_balance < 0
    ):
        raise IssuedCurrencyFloor()
    # Lock first, so the recorded time orders correctly against transfers on this account.
    locked = lock_accounts([account.id])[account.id]
    old = (locked.min_balance, locked.max_balance)
    if old == (min_balance, max_balance):
        return locked
    locked.min_balance = min_balance
    locked.max_balance = max_balance
    db.session.add(
        LimitChange(
            group_id=locked.group_id, currency_id=locked.currency_id, account_id=locked.id,
            changed_by_id=changed_by.id if changed_by else None,
            old_min_balance=old[0], old_max_balance=old[1],
            new_min_balance=min_balance, new_max_balance=max_balance,
            reason=(reason or "").strip()[:500], created_at=utcnow(),
        )
    )
    db.session.flush()
    return locked


def set_currency_defaults(
    *,
    currency: Currency,
    default_min_balance: int | None,
    default_max_balance: int | None,
    changed_by: Membership | None = None,
    reason: str = "",
) -> Currency:
    """Set the default floor and ceiling of ``currency`` (subunits; None = unbounded).

    Accounts without limits of their own follow the defaults. Recorded like
    :func:`set_limits`. Raises :class:`InvalidLimits` or :class:`IssuedCurrencyFloor` (an
    issued currency's default floor must be zero or more).
    """
    _check_ordered(default_min_balance, default_max_balance)
    if currency.kind == CurrencyKind.ISSUED and (
        default_min_balance is None or default_min_balance < 0
    ):
        raise IssuedCurrencyFloor()
    old = (currency.default_min_balance, currency.default_max_balance)
    if old == (default_min_balance, default_max_balance):
        return currency
    currency.default_min_balance = default_min_balance
    currency.default_max_balance = default_max_balance
    db.session.add(
        LimitChange(
            group_id=currency.group_id, currency_id=currency.id, account_id=None,
            changed_by_id=changed_by.id if changed_by else None,
            old_min_balance=old[0], old_max_balance=old[1],
            new_min_balance=default_min_balance, new_max_balance=default_max_balance,
            reason=(reason or "").strip()[:500], created_at=utcnow(),
        )
    )
    db.session.flush()
    return currency


def limit_history(account: Account, *, limit: int = 50) -> list[LimitChange]:
    """Return the recorded limit changes of ``account`` and of its currency's defaults,
    newest first."""
    return list(
        db.session.scalars(
            sa.select(LimitChange)
            .where(
                LimitChange.currency_id == account.currency_id,
                sa.or_(LimitChange.account_id == account.id, LimitChange.account_id.is_(None)),
            )
            .order_by(LimitChange.created_at.desc(), LimitChange.id.desc())
            .limit(limit)
        )
    )
