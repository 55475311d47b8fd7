"""Credit limits and ceilings: where accounts stand, and changing the limits.

The rules themselves are SQL, in one place (``timebank/ledger/sql/``; DESIGN.md "Ledger"):
``ledger_floor`` and ``ledger_ceiling`` give the limits in force, ``ledger_positions`` the
room left with pending amounts counted, and ``ledger_limit_refusal`` the check every transfer
operation runs under its locks. This module reads positions for pages and records limit
changes; amounts are integers in subunits.

* a completed transfer never takes the payer below its floor (``min_balance``, the credit
  limit) nor the payee above its ceiling (``max_balance``); a move back toward the range is
  always allowed;
* pending outgoing amounts count against what an account can still spend, pending incoming
  ones against what it can still earn; on acceptance only the hard limits are checked again;
* every change of an account's limits, or of a currency's defaults, is recorded in
  ``limit_changes`` (who, when, old -> new), which ``flask ledger verify`` reads.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger.accounts import lock_accounts
from timebank.ledger.errors import InvalidLimits, IssuedCurrencyFloor
from timebank.models import Account, Currency, CurrencyKind, Membership, utcnow
from timebank.models.ledger import LimitChange


@dataclass(frozen=True)
class Position:
    """Where an account stands, as ``ledger_positions`` computes it (all in subunits):
    balance, pending amounts, the limits in force (None = no limit) and the room left."""

    account: Account
    balance: int
    pending_out: int
    pending_in: int
    min_balance: int | None
    max_balance: int | None
    can_still_spend: int | None  # None = no floor
    can_still_earn: int | None  # None = no ceiling

    @property
    def is_below_floor(self) -> bool:
        return self.min_balance is not None and self.balance < self.min_balance

    @property
    def is_above_ceiling(self) -> bool:
        return self.max_balance is not None and self.balance > self.max_balance


_POSITIONS = sa.text(
    "SELECT account_id, balance, pending_out, pending_in, floor, ceiling, can_still_spend,"
    " can_still_earn FROM ledger_positions(:ids)"
)


def positions(accounts: list[Account]) -> list[Position]:
    """Return the :class:`Position` of each account, in order (one query however many)."""
    if not accounts:
        return []
    rows = {
        row[0]: row[1:]
        for row in db.session.execute(_POSITIONS, {"ids": [account.id for account in accounts]})
    }
    return [Position(account, *rows[account.id]) for account in accounts]


def position(account: Account) -> Position:
    """Return ``account``'s :class:`Position` (as committed; a ledger function locks first)."""
    return positions([account])[0]


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
    db.session.expire(locked, ["effective_min_balance", "effective_max_balance"])
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
