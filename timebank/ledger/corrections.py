"""Treasurer's ledger work: reversals, bulk entries, issuance; and the payer's rating.

Rules enforced here (issue 4); amounts are integers in subunits:

* completed transfers are immutable: a treasurer corrects one by reversing it with a reason,
  which writes a linked opposite transfer (``reverses_id``). Limits do not block a reversal,
  except that in an issued currency no holder but the issuer may go below zero. A transfer is
  reversed at most once (a unique index), and a reversal is never itself reversed;
* a bulk entry (one-to-many or many-to-one: a workshop, a work party, a membership fee) is
  checked leg by leg against running balances, then written at once: all legs or none;
* issuance moves an issued currency from its issuer account (no floor) to a holder, by a
  treasurer; the holder's ceiling still applies;
* on completion the payer may rate the work once, on the group's scale.

Functions take keyword-only arguments, raise :class:`~timebank.ledger.errors.LedgerError`
subclasses (nothing written), and never commit.
"""

import uuid

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger import notify
from timebank.ledger.accounts import issuer_account, lock_accounts
from timebank.ledger.errors import (
    AlreadyRated,
    BulkInvalid,
    BulkLegRefused,
    CannotReverse,
    CurrencyMismatch,
    InactiveCurrency,
    InvalidRating,
    LedgerError,
    NotIssued,
    NotRateable,
    NotYourTurn,
    ReasonRequired,
    ReversalWouldOverdraw,
)
from timebank.ledger.limits import check_limits, pending_totals
from timebank.ledger.transfers import complete_locked, find_by_key, validate_amount
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    CurrencyKind,
    Group,
    Membership,
    Role,
    Transfer,
    TransferKind,
    TransferState,
    utcnow,
)

RATEABLE_KINDS = (TransferKind.PAYMENT, TransferKind.REQUEST, TransferKind.ON_BEHALF)


def _require_treasurer(membership: Membership) -> None:
    if membership is None or not membership.has_role(Role.TREASURER):
        raise NotYourTurn()


def reversal_of(transfer: Transfer) -> Transfer | None:
    """Return the reversal of ``transfer``, or None."""
    return db.session.scalar(sa.select(Transfer).where(Transfer.reverses_id == transfer.id))


def reverse_transfer(
    *, transfer: Transfer, by: Membership, reason: str, idempotency_key: str | None = None
) -> Transfer:
    """Reverse a completed transfer ``by`` a treasurer, with ``reason``; return the reversal.

    The reversal moves the same amount back from the payee to the payer, ignoring limits
    (DESIGN.md: corrections are reversals). Reversing again returns the first reversal.
    Raises :class:`NotYourTurn` (not a treasurer), :class:`ReasonRequired`,
    :class:`CannotReverse` (not completed, or itself a reversal) or
    :class:`ReversalWouldOverdraw` (issued currency).
    """
    _require_treasurer(by)
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    if transfer.state != TransferState.COMPLETED or transfer.kind == TransferKind.REVERSAL:
        raise CannotReverse()
    accounts = lock_accounts([transfer.payer_account_id, transfer.payee_account_id])
    # Under the locks, so a concurrent twin finds this one (the unique index backs it up).
    existing = reversal_of(transfer) or find_by_key(idempotency_key, starter=by)
    if existing is not None:
        return existing
    payer = accounts[transfer.payee_account_id]  # the original payee pays back
    payee = accounts[transfer.payer_account_id]
    if (
        payer.currency.kind == CurrencyKind.ISSUED
        and not payer.is_issuer
        and payer.balance - transfer.amount < 0
    ):
        raise ReversalWouldOverdraw()
    reversal = complete_locked(
        payer=payer, payee=payee, amount=transfer.amount, description=reason, starter=by,
        kind=TransferKind.REVERSAL, reverses_id=transfer.id,
        idempotency_key=idempotency_key,
    )
    notify.transfer_event(reversal, notify.REVERSED)
    return reversal


def batch(batch_key: str) -> list[Transfer]:
    """Return the legs of the bulk entry ``batch_key``, in the order they were written."""
    return list(
        db.session.scalars(
            sa.select(Transfer).where(Transfer.batch_key == batch_key).order_by(Transfer.id)
        )
    )


def bulk_transfer(
    *,
    counterpart: Account,
    legs: list[tuple[Account, int]],
    collect: bool,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
) -> list[Transfer]:
    """Write a bulk entry at once: ``counterpart`` pays every leg account its amount
    (one-to-many), or with ``collect`` every leg account pays ``counterpart`` (many-to-one).

    ``legs`` is ``[(account, amount in subunits), ...]``. Each leg is checked against the
    balances the earlier legs left (pending transfers counted); if any leg is refused nothing
    is written. Returns the legs; with a repeated ``idempotency_key`` the legs first written.
    Raises :class:`NotYourTurn` (not a treasurer), :class:`BulkInvalid`,
    :class:`CurrencyMismatch`, :class:`InactiveCurrency`, :class:`InvalidAmount` or
    :class:`BulkLegRefused` (naming the leg, wrapping the limit error).
    """
    _require_treasurer(starter)
    ids = [account.id for account, _ in legs]
    if not legs or counterpart.id in ids or len(set(ids)) != len(ids):
        raise BulkInvalid()
    currency = counterpart.currency
    if not currency.is_active:
        raise InactiveCurrency()
    for account, amount in legs:
        if account.currency_id != counterpart.currency_id:
            raise CurrencyMismatch()
        validate_amount(amount, currency)
    locked = lock_accounts([counterpart.id, *ids])
    if idempotency_key:
        existing = batch(idempotency_key)
        if existing:
            return existing
    totals = pending_totals(locked)
    # Check every leg against running balances before writing anything.
    simulated = {account_id: account.balance for account_id, account in locked.items()}
    for account, amount in legs:
        payer = locked[counterpart.id] if not collect else locked[account.id]
        payee = locked[account.id] if not collect else locked[counterpart.id]
        try:
            check_limits(
                payer=_Shadow(payer, simulated[payer.id]),
                payee=_Shadow(payee, simulated[payee.id]),
                amount=amount,
                payer_pending_out=totals[payer.id][0],
                payee_pending_in=totals[payee.id][1],
            )
        except LedgerError as error:
            raise BulkLegRefused(name=locked[account.id].display_name, error=error) from error
        simulated[payer.id] -= amount
        simulated[payee.id] += amount
    key = idempotency_key or uuid.uuid4().hex
    when = utcnow()
    written = []
    for account, amount in legs:
        payer = locked[counterpart.id] if not collect else locked[account.id]
        payee = locked[account.id] if not collect else locked[counterpart.id]
        written.append(
            complete_locked(
                payer=payer, payee=payee, amount=amount, description=description,
                starter=starter, kind=TransferKind.BULK, batch_key=key, occurred_at=when,
            )
        )
    for transfer in written:
        notify.transfer_event(transfer, notify.COMPLETED)
    return written


class _Shadow:
    """An account seen with a simulated balance (for checking bulk legs before writing)."""

    def __init__(self, account: Account, balance: int):
        self._account = account
        self.balance = balance

    def __getattr__(self, name):
        return getattr(self._account, name)


def issue(
    *,
    currency: Currency,
    payee_account: Account,
    amount: int,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
    locale: str | None = None,
) -> Transfer:
    """Issue ``amount`` subunits of an issued ``currency`` from its issuer account to
    ``payee_account``, by a treasurer; return the completed issuance.

    The issuer account is opened on first issuance (named in ``locale``). Raises
    :class:`NotYourTurn`, :class:`NotIssued`, :class:`InactiveCurrency`,
    :class:`CurrencyMismatch`, :class:`InvalidAmount` or :class:`CeilingExceeded`.
    """
    _require_treasurer(starter)
    if currency.kind != CurrencyKind.ISSUED:
        raise NotIssued()
    if not currency.is_active:
        raise InactiveCurrency()
    if payee_account.currency_id != currency.id or payee_account.is_issuer:
        raise CurrencyMismatch()
    validate_amount(amount, currency)
    issuer = issuer_account(currency=currency, locale=locale)
    locked = lock_accounts([issuer.id, payee_account.id])
    existing = find_by_key(idempotency_key, starter=starter)
    if existing is not None:
        return existing
    payer, payee = locked[issuer.id], locked[payee_account.id]
    totals = pending_totals([payer.id, payee.id])
    check_limits(
        payer=payer, payee=payee, amount=amount,
        payer_pending_out=totals[payer.id][0], payee_pending_in=totals[payee.id][1],
    )
    transfer = complete_locked(
        payer=payer, payee=payee, amount=amount, description=description, starter=starter,
        kind=TransferKind.ISSUANCE, idempotency_key=idempotency_key,
    )
    notify.transfer_event(transfer, notify.COMPLETED)
    return transfer


def rate_transfer(*, transfer: Transfer, by: Membership, rating: int) -> Transfer:
    """Record the payer's ``rating`` (1..the group's ``rating_scale``) of a completed payment.

    Raises :class:`NotRateable` (not the payer, not completed, or a correction),
    :class:`InvalidRating` or :class:`AlreadyRated`.
    """
    if (
        transfer.state != TransferState.COMPLETED
        or transfer.kind not in RATEABLE_KINDS
        or transfer.payer_account.kind != AccountKind.MEMBER
        or transfer.payer_account.membership_id != by.id
    ):
        raise NotRateable()
    scale = db.session.get(Group, transfer.group_id).rating_scale
    if not isinstance(rating, int) or not 1 <= rating <= scale:
        raise InvalidRating()
    if transfer.rating is not None:
        if transfer.rating == rating:
            return transfer  # a repeated submission
        raise AlreadyRated()
    transfer.rating = rating
    transfer.rated_at = utcnow()
    db.session.flush()
    return transfer


def average_rating(membership: Membership) -> tuple[float | None, int]:
    """Return (average rating, number of ratings) of work ``membership`` was paid for.

    Reversed transfers do not count.
    """
    reversal = sa.orm.aliased(Transfer)
    row = db.session.execute(
        sa.select(sa.func.avg(Transfer.rating), sa.func.count(Transfer.rating))
        .join(Account, Account.id == Transfer.payee_account_id)
        .where(
            Account.membership_id == membership.id,
            Transfer.rating.is_not(None),
            ~sa.exists().where(reversal.reverses_id == Transfer.id),
        )
    ).one()
    average, count = row
    return (float(average) if average is not None else None), int(count)
