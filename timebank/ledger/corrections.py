"""Treasurer's ledger work: reversals, bulk entries, issuance; and the payer's rating.

The rules live in the database functions ``ledger_reverse``, ``ledger_bulk`` and
``ledger_transfer`` (``timebank/ledger/sql/``); this module asks the policy (a treasurer),
calls them and maps refusals to typed errors. Amounts are integers in subunits.

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

from timebank.audit.ledger_hooks import record_written_transfer
from timebank.extensions import db
from timebank.ledger import notify
from timebank.ledger.accounts import issuer_account
from timebank.ledger.errors import (
    AlreadyRated,
    BulkInvalid,
    BulkLegRefused,
    CurrencyMismatch,
    InvalidRating,
    NotIssued,
    NotRateable,
    NotYourTurn,
    ReasonRequired,
)
from timebank.ledger.functions import call, refusal_error
from timebank.ledger.transfers import (
    DESCRIPTION_MAX,
    crossing_for,
    expire_balances,
    intergroup,
    post_transfer,
    reload_transfer,
    validate_amount,
)
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
from timebank.models.base import shared_alias

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

    The reversal moves the same amount back from the payee to the payer, ignoring limits and a
    suspended member (DESIGN.md: corrections are reversals; ``ledger_reverse.sql``). Reversing
    again returns the first reversal. Raises :class:`NotYourTurn` (not a treasurer),
    :class:`ReasonRequired`, :class:`CannotReverse` (not completed, or itself a reversal),
    :class:`InactiveCurrency`, :class:`KeyReused` or :class:`ReversalWouldOverdraw` (issued
    currency).
    """
    _require_treasurer(by)
    crossing = crossing_for(transfer)
    if crossing is not None:  # a payment between groups is reversed as a pair
        reversal = intergroup().reverse_across(crossing=crossing, by=by, reason=reason)
        leg = reversal.payee_leg if reversal.payee_leg.group_id == by.group_id else (
            reversal.payer_leg)
        return reload_transfer(leg.id)
    reason = (reason or "").strip()[:DESCRIPTION_MAX]
    if not reason:
        raise ReasonRequired()
    reversal_id, created, refusal = call(
        "ledger_reverse", transfer.group_id, transfer.id, by.id, reason,
        idempotency_key or None, utcnow(),
    )
    if refusal is not None:
        raise refusal_error(refusal)
    if not created:
        return db.session.get(Transfer, reversal_id)
    expire_balances((transfer.payer_account_id, transfer.payee_account_id))
    return _written(reversal_id)


def _written(transfer_id: int) -> Transfer:
    """Load a transfer a ledger function has just written; put it on the audit trail and ask
    for its notice's delivery."""
    transfer = reload_transfer(transfer_id)
    record_written_transfer(transfer)
    notify.request_delivery()
    return transfer


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

    ``legs`` is ``[(account, amount in subunits), ...]``. Each leg follows the rules of a new
    transfer, checked against the balances the earlier legs left (pending transfers counted);
    if any leg is refused nothing is written (``ledger_bulk.sql``). Returns the legs; with a
    repeated ``idempotency_key`` the legs first written. Raises :class:`NotYourTurn` (not a
    treasurer), :class:`BulkInvalid`, :class:`InvalidAmount` or :class:`BulkLegRefused`
    (naming the leg, wrapping the rule's error: a limit, a suspended member, a retired or
    mismatched currency).
    """
    _require_treasurer(starter)
    ids = [account.id for account, _ in legs]
    if not legs or counterpart.id in ids or len(set(ids)) != len(ids):
        raise BulkInvalid()
    for _, amount in legs:
        validate_amount(amount, counterpart.currency)
    key = idempotency_key or uuid.uuid4().hex
    transfer_ids, created, refusal, refused_leg, available, refused_account_id = call(
        "ledger_bulk", counterpart.group_id, counterpart.id, ids,
        [amount for _, amount in legs], collect, (description or "").strip()[:DESCRIPTION_MAX],
        starter.id, key, utcnow(),
    )
    if refusal == "inactive_currency":  # every leg's currency: no one leg to name
        raise refusal_error(refusal)
    if refusal is not None:
        error = refusal_error(refusal, available=available, account_id=refused_account_id)
        raise BulkLegRefused(name=legs[refused_leg - 1][0].display_name, error=error)
    if not created:
        return batch(key)
    expire_balances([counterpart.id, *ids])
    return [_written(transfer_id) for transfer_id in transfer_ids]


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

    The issuer account is opened on first issuance (named in ``locale``); it has no floor, and
    the rules of a new transfer apply (``ledger_transfer.sql``). Raises :class:`NotYourTurn`,
    :class:`NotIssued`, :class:`InactiveCurrency`, :class:`CurrencyMismatch`,
    :class:`InactiveParty`, :class:`InvalidAmount`, :class:`KeyReused` or
    :class:`CeilingExceeded`.
    """
    _require_treasurer(starter)
    if currency.kind != CurrencyKind.ISSUED:
        raise NotIssued()
    if payee_account.currency_id != currency.id or payee_account.is_issuer:
        raise CurrencyMismatch()
    validate_amount(amount, currency)
    issuer = issuer_account(currency=currency, locale=locale)
    return post_transfer(
        payer_account=issuer, payee_account=payee_account, amount=amount,
        description=description, starter=starter, kind=TransferKind.ISSUANCE,
        idempotency_key=idempotency_key,
    )


def settle_account(
    *, account: Account, pot: Account, by: Membership, description: str
) -> Transfer | None:
    """Move a leaving member's whole balance in ``account`` to or from the group account
    ``pot``, by a treasurer: the balance read under the lock, a positive one paid to the pot, a
    negative one paid off by it (``ledger_settle.sql``; a suspended member may be settled).
    Returns the transfer, or None when the balance is zero. Raises :class:`NotYourTurn`,
    :class:`CurrencyMismatch`, :class:`InactiveCurrency`, :class:`CreditLimitExceeded` or
    :class:`CeilingExceeded` (the pot's limits).
    """
    _require_treasurer(by)
    transfer_id, refusal, available, refused_account_id = call(
        "ledger_settle", account.group_id, account.id, pot.id, by.id,
        (description or "").strip()[:DESCRIPTION_MAX], utcnow(),
    )
    if refusal is not None:
        raise refusal_error(refusal, available=available, account_id=refused_account_id)
    if transfer_id is None:
        return None
    expire_balances((account.id, pot.id))
    return _written(transfer_id)


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


_REVERSAL = shared_alias(Transfer)  # built once: see marketplace.matching's aliases
# Built once, the member a bind parameter: building this statement on every dashboard cost
# more CPU than running it. (The tenant hook still scopes it each time it runs.)
_RATING = (
    sa.select(sa.func.avg(Transfer.rating), sa.func.count(Transfer.rating))
    .join(Account, Account.id == Transfer.payee_account_id)
    .where(
        Account.membership_id == sa.bindparam("membership_id", type_=sa.Integer),
        Transfer.rating.is_not(None),
        ~sa.exists().where(_REVERSAL.reverses_id == Transfer.id),
    )
)


def average_rating(membership: Membership) -> tuple[float | None, int]:
    """Return (average rating, number of ratings) of work ``membership`` was paid for.

    Reversed transfers do not count.
    """
    row = db.session.execute(_RATING, {"membership_id": membership.id}).one()
    average, count = row
    return (float(average) if average is not None else None), int(count)
