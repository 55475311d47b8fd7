"""Transfers: payments, requests (invoices), on-behalf entries, and their two-step life.

Rules enforced here (DESIGN.md "Ledger", issue 4 "Transfers"); amounts are integers in subunits:

* amounts are positive, at most ``MAX_UNITS`` units; payer and payee are different, active, in
  this group, and hold the same active currency;
* a payment completes at once unless the group asks the payee to confirm it; a request
  (invoice) by the payee waits for the payer's approval. States ``pending -> completed |
  cancelled``. While pending, the starter may edit the amount and description or withdraw it,
  and the other side may accept or decline it;
* creating or enlarging a pending transfer counts the other pending transfers against the
  payer's floor and the payee's ceiling; accepting re-checks the hard limits and, if they no
  longer allow it, cancels the transfer with the reason (the refusal is kept, not raised);
* every write locks the accounts in ascending id order (a pending transfer's own row first)
  and re-reads balances before checking, all in the caller's database transaction;
* an idempotency key makes a retried submission return the first transfer; repeating an
  accept, decline or withdraw that already happened returns the transfer unchanged;
* both sides are emailed after the transaction commits (an outbox row, :mod:`.notify`).

A new transfer (payment, request, on-behalf entry, :func:`transfer_between`) is written by the
database function ``ledger_transfer`` in one round trip (:func:`post_transfer`), which applies
the rules above in the same order; accepting, editing and cancelling run here in Python.

Functions take keyword-only arguments, raise :class:`~timebank.ledger.errors.LedgerError`
subclasses (nothing written), and never commit.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from timebank.audit.ledger_hooks import record_written_transfer
from timebank.extensions import db
from timebank.ledger import notify
from timebank.ledger.accounts import lock_accounts
from timebank.ledger.amounts import MAX_UNITS
from timebank.ledger.errors import (
    CeilingExceeded,
    CreditLimitExceeded,
    CurrencyMismatch,
    InactiveCurrency,
    InactiveParty,
    InvalidAmount,
    KeyReused,
    NotPending,
    NotYourTurn,
    SameAccount,
)
from timebank.ledger.hot_path import call_ledger_transfer
from timebank.ledger.limits import check_limits, pending_totals
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    Entry,
    Membership,
    Role,
    Transfer,
    TransferKind,
    TransferState,
    utcnow,
)
from timebank.models.ledger import CancelCode

DESCRIPTION_MAX = 500
REASON_MAX = 500


def validate_amount(amount: int, currency: Currency) -> None:
    """Raise :class:`InvalidAmount` unless ``amount`` is a positive int of at most
    ``MAX_UNITS`` units of ``currency`` (in subunits)."""
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or amount <= 0
        or amount > MAX_UNITS * currency.subunits_per_unit
    ):
        raise InvalidAmount()


def _clean(text: str | None, limit: int) -> str:
    return (text or "").strip()[:limit]


def find_by_key(idempotency_key: str | None, *, starter: Membership | None) -> Transfer | None:
    """Return the current group's transfer made with ``idempotency_key``, or None.

    A key is its starter's: another person's key raises :class:`KeyReused` rather than showing
    them someone else's transfer.
    """
    if not idempotency_key:
        return None
    existing = db.session.scalar(
        sa.select(Transfer).where(Transfer.idempotency_key == idempotency_key)
    )
    if existing is not None and existing.starter_id != (starter.id if starter else None):
        raise KeyReused()
    return existing


def lock_transfer(transfer_id: int) -> Transfer:
    """Lock a transfer's row (``FOR NO KEY UPDATE``) and return it fresh.

    Taken before any account lock, so the order is always "one transfer row, then accounts
    by ascending id". Raises :class:`NotPending` if the transfer is not in this group.
    """
    transfer = db.session.scalar(
        sa.select(Transfer)
        .where(Transfer.id == transfer_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if transfer is None:
        raise NotPending()
    return transfer


def _check_pair(payer_account: Account, payee_account: Account, amount: int) -> None:
    if payer_account.id == payee_account.id:
        raise SameAccount()
    if payer_account.currency_id != payee_account.currency_id:
        raise CurrencyMismatch()
    validate_amount(amount, payer_account.currency)


def _party_is_active(account: Account) -> bool:
    return account.kind != AccountKind.MEMBER or account.membership.is_active


def write_entries(
    *, transfer: Transfer, payer: Account, payee: Account, when: datetime
) -> None:
    """Write the two entries of ``transfer`` and move both cached balances (accounts locked)."""
    db.session.add_all(
        [
            Entry(group_id=transfer.group_id, transfer_id=transfer.id, account_id=payer.id,
                  amount=-transfer.amount, created_at=when),
            Entry(group_id=transfer.group_id, transfer_id=transfer.id, account_id=payee.id,
                  amount=transfer.amount, created_at=when),
        ]
    )
    payer.balance -= transfer.amount
    payee.balance += transfer.amount


def complete_locked(
    *,
    payer: Account,
    payee: Account,
    amount: int,
    description: str,
    starter: Membership | None,
    kind: TransferKind,
    idempotency_key: str | None = None,
    reverses_id: int | None = None,
    batch_key: str | None = None,
    occurred_at: datetime | None = None,
) -> Transfer:
    """Write a completed transfer between two accounts the caller has locked (no checks)."""
    when = occurred_at or utcnow()
    transfer = Transfer(
        group_id=payer.group_id,
        currency_id=payer.currency_id,
        payer_account_id=payer.id,
        payee_account_id=payee.id,
        amount=amount,
        description=_clean(description, DESCRIPTION_MAX),
        state=TransferState.COMPLETED,
        kind=kind,
        starter_id=starter.id if starter else None,
        completer_id=starter.id if starter else None,
        reverses_id=reverses_id,
        idempotency_key=idempotency_key or None,
        batch_key=batch_key,
        created_at=when,
        completed_at=when,
    )
    db.session.add(transfer)
    db.session.flush()
    write_entries(transfer=transfer, payer=payer, payee=payee, when=when)
    db.session.flush()
    return transfer


def transfer_between(
    *,
    payer_account: Account,
    payee_account: Account,
    amount: int,
    description: str,
    starter: Membership | None,
    kind: TransferKind,
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
) -> Transfer:
    """Lock both accounts, check limits (pending counted) and write a completed transfer.

    The low-level step under :func:`pay`; amounts in subunits. Raises as :func:`pay` does.
    ``occurred_at`` backdates the transfer (imports and the demo seed only).
    """
    _check_pair(payer_account, payee_account, amount)
    return post_transfer(
        payer_account=payer_account, payee_account=payee_account, amount=amount,
        description=description, starter=starter, kind=kind, idempotency_key=idempotency_key,
        occurred_at=occurred_at,
    )


_REFUSALS = {
    "same_account": SameAccount,
    "inactive_party": InactiveParty,
    "inactive_currency": InactiveCurrency,
    "currency_mismatch": CurrencyMismatch,
    "key_reused": KeyReused,
}
_LIMIT_REFUSALS = {"credit_limit": CreditLimitExceeded, "ceiling": CeilingExceeded}
_TRANSFER_MANAGER = sa.inspect(Transfer).class_manager


def post_transfer(
    *,
    amount: int,
    description: str,
    starter: Membership | None,
    kind: TransferKind,
    state: TransferState = TransferState.COMPLETED,
    payer: Membership | None = None,
    payee: Membership | None = None,
    currency: Currency | None = None,
    payer_account: Account | None = None,
    payee_account: Account | None = None,
    idempotency_key: str | None = None,
    occurred_at: datetime | None = None,
) -> Transfer:
    """Write a new transfer in one round trip to the database function ``ledger_transfer``.

    Give the parties as members (``payer``, ``payee`` and ``currency``: both must be active,
    the currency active) or as accounts (``payer_account``, ``payee_account``). In the
    caller's transaction the function locks both accounts in ascending id order, returns the
    first transfer made with ``idempotency_key`` if there is one, checks the payer's floor and
    the payee's ceiling with the other pending transfers counted, and writes the transfer:
    ``state`` pending, or completed with its two entries and both cached balances moved.
    Amounts in subunits, already validated. The function's source, with every rule it
    enforces, is ``migrations/versions/da1b2c3d4e5f_ledger_entries_are_legs.py``; the call
    itself is :func:`timebank.ledger.hot_path.call_ledger_transfer`.

    Raises :class:`SameAccount`, :class:`InactiveParty`, :class:`InactiveCurrency`,
    :class:`CurrencyMismatch`, :class:`KeyReused`, :class:`CreditLimitExceeded` or
    :class:`CeilingExceeded` (nothing written; the transaction stays usable). A new transfer
    is announced to both sides (the function writes its notice, see :mod:`.notify`); an
    idempotent repeat is not.
    """
    by_member = payer is not None
    group_id = payer.group_id if by_member else payer_account.group_id
    description = _clean(description, DESCRIPTION_MAX)
    starter_id = starter.id if starter else None
    key = idempotency_key or None
    when = occurred_at or utcnow()
    session = db.session()
    row = call_ledger_transfer(session, (
        group_id,
        payer.id if by_member else None, payee.id if by_member else None,
        currency.id if by_member else None,
        None if by_member else payer_account.id, None if by_member else payee_account.id,
        amount, description, kind.value, state.value, starter_id, key, when,
    ))
    if row.refusal in _LIMIT_REFUSALS:
        account = session.get(Account, row.refused_account_id)
        raise _LIMIT_REFUSALS[row.refusal](
            available=row.available, currency=account.currency, name=account.display_name
        )
    if row.refusal is not None:
        raise _REFUSALS[row.refusal]()
    # Balances moved in the database: ORM copies of the two accounts must be read again.
    for account_id in (row.payer_account_id, row.payee_account_id):
        cached = session.identity_map.get(session.identity_key(Account, account_id))
        if cached is not None:
            session.expire(cached, ["balance"])
    if not row.created:  # the first transfer made with this idempotency key
        return session.get(Transfer, row.transfer_id)
    completed = state == TransferState.COMPLETED
    transfer = _as_persistent(session, {
        "id": row.transfer_id, "group_id": group_id,
        "currency_id": currency.id if by_member else payer_account.currency_id,
        "payer_account_id": row.payer_account_id, "payee_account_id": row.payee_account_id,
        "amount": amount, "description": description, "state": state, "kind": kind,
        "starter_id": starter_id, "completer_id": starter_id if completed else None,
        "reverses_id": None, "idempotency_key": key, "batch_key": None, "cancel_code": None,
        "cancel_reason": None, "cancelled_by_id": None, "rating": None, "rated_at": None,
        "created_at": when, "completed_at": when if completed else None,
        "cancelled_at": None,
    })
    record_written_transfer(transfer)  # an on-behalf entry is on the audit trail
    notify.request_delivery()  # the function wrote the notice (completed or started)
    return transfer


def _as_persistent(session, row: dict) -> Transfer:
    """Put a transfer the database function has just written into the session as it is,
    without reading it back. ``row`` holds every column; the values go straight into the
    new instance's state, as a query's loading does (no change events), and relationships
    load when first used."""
    transfer = _TRANSFER_MANAGER.new_instance()
    transfer.__dict__.update(row)
    make_transient_to_detached(transfer)
    session.add(transfer)
    return transfer


def pay(
    *,
    payer: Membership,
    payee: Membership,
    currency: Currency,
    amount: int,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
    require_confirmation: bool = False,
    occurred_at: datetime | None = None,
) -> Transfer:
    """Move ``amount`` subunits of ``currency`` from ``payer`` to ``payee``.

    Completes at once and returns the completed :class:`Transfer` — unless
    ``require_confirmation`` (the group's ``payments_need_confirmation``) asks the payee to
    accept it first: then the transfer is returned pending. A ``starter`` other than the payer
    records an on-behalf entry (a treasurer's; never waits). For a repeated
    ``idempotency_key`` returns the transfer first made with it. Raises
    :class:`InvalidAmount`, :class:`SameAccount`, :class:`InactiveParty`,
    :class:`InactiveCurrency`, :class:`CurrencyMismatch`, :class:`CreditLimitExceeded` or
    :class:`CeilingExceeded`; on any error nothing has been written.
    """
    validate_amount(amount, currency)
    on_behalf = starter is not None and starter.id != payer.id
    waits = require_confirmation and not on_behalf
    return post_transfer(
        payer=payer, payee=payee, currency=currency, amount=amount, description=description,
        starter=starter,
        kind=TransferKind.ON_BEHALF if on_behalf else TransferKind.PAYMENT,
        state=TransferState.PENDING if waits else TransferState.COMPLETED,
        idempotency_key=idempotency_key, occurred_at=occurred_at,
    )


def record_on_behalf(
    *,
    payer: Membership,
    payee: Membership,
    currency: Currency,
    amount: int,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
) -> Transfer:
    """Record a completed payment between two members, entered by ``starter`` (a treasurer or
    coordinator, for members without internet). Limits apply as for :func:`pay`.

    Raises :class:`NotYourTurn` if ``starter`` is not a treasurer, or as :func:`pay` does.
    """
    if not starter.has_role(Role.TREASURER) or starter.id == payer.id:
        raise NotYourTurn()
    return pay(
        payer=payer, payee=payee, currency=currency, amount=amount, description=description,
        starter=starter, idempotency_key=idempotency_key,
    )


def request_payment(
    *,
    payer: Membership,
    payee: Membership,
    currency: Currency,
    amount: int,
    description: str,
    starter: Membership,
    idempotency_key: str | None = None,
) -> Transfer:
    """Ask ``payer`` to pay ``amount`` subunits to ``payee`` (an invoice); returns it pending.

    The starter is the payee. The amount already counts against what the payer can still spend
    and the payee can still earn, so a request beyond either limit is refused now. Raises
    :class:`NotYourTurn` if the starter is not the payee, or as :func:`pay` does.
    """
    if starter.id != payee.id:
        raise NotYourTurn()
    validate_amount(amount, currency)
    return post_transfer(
        payer=payer, payee=payee, currency=currency, amount=amount, description=description,
        starter=starter, kind=TransferKind.REQUEST, state=TransferState.PENDING,
        idempotency_key=idempotency_key,
    )


def acceptor_account(transfer: Transfer) -> Account:
    """Return the account whose owner accepts ``transfer``: the payer for a request, else the
    payee."""
    return transfer.payer_account if transfer.kind == TransferKind.REQUEST else (
        transfer.payee_account
    )


def acts_for(membership: Membership | None, account: Account) -> bool:
    """Whether ``membership`` speaks for ``account``: its owner, or a treasurer for a group
    account."""
    if membership is None or not membership.is_active:
        return False
    if account.kind == AccountKind.MEMBER:
        return account.membership_id == membership.id
    return membership.has_role(Role.TREASURER)


def may_accept(membership: Membership | None, transfer: Transfer) -> bool:
    return transfer.is_pending and acts_for(membership, acceptor_account(transfer))


def may_change(membership: Membership | None, transfer: Transfer) -> bool:
    """Whether ``membership`` may edit or withdraw ``transfer`` (its starter, while pending)."""
    return (
        transfer.is_pending
        and membership is not None
        and membership.is_active
        and transfer.starter_id == membership.id
    )


def edit_transfer(
    *, transfer: Transfer, by: Membership, amount: int, description: str
) -> Transfer:
    """Change the amount (subunits) and description of a pending transfer ``by`` its starter.

    A larger amount must fit the payer's and payee's room (other pending transfers counted).
    Raises :class:`NotPending`, :class:`NotYourTurn`, :class:`InvalidAmount`,
    :class:`CreditLimitExceeded` or :class:`CeilingExceeded`.
    """
    locked = lock_transfer(transfer.id)
    if locked.state != TransferState.PENDING:
        raise NotPending()
    if not may_change(by, locked):
        raise NotYourTurn()
    validate_amount(amount, locked.currency)
    if amount > locked.amount:
        accounts = lock_accounts([locked.payer_account_id, locked.payee_account_id])
        payer, payee = accounts[locked.payer_account_id], accounts[locked.payee_account_id]
        totals = pending_totals([payer.id, payee.id], exclude_transfer_id=locked.id)
        check_limits(
            payer=payer, payee=payee, amount=amount,
            payer_pending_out=totals[payer.id][0], payee_pending_in=totals[payee.id][1],
        )
    changed = (locked.amount, locked.description) != (amount, _clean(description, 500))
    locked.amount = amount
    locked.description = _clean(description, DESCRIPTION_MAX)
    db.session.flush()
    if changed:
        notify.transfer_event(locked, notify.EDITED)
    return locked


def _cancel(
    transfer: Transfer, *, code: CancelCode, by: Membership | None, reason: str | None
) -> Transfer:
    transfer.state = TransferState.CANCELLED
    transfer.cancel_code = code.value
    transfer.cancel_reason = _clean(reason, REASON_MAX) or None
    transfer.cancelled_by_id = by.id if by else None
    transfer.cancelled_at = utcnow()
    db.session.flush()
    notify.transfer_event(transfer, notify.CANCELLED)
    return transfer


def _already(transfer: Transfer, code: CancelCode, by: Membership) -> bool:
    return (
        transfer.state == TransferState.CANCELLED
        and transfer.cancel_code == code.value
        and transfer.cancelled_by_id == by.id
    )


def withdraw_transfer(*, transfer: Transfer, by: Membership, reason: str = "") -> Transfer:
    """Cancel a pending transfer ``by`` its starter; ``reason`` is optional.

    Repeating a withdrawal returns the transfer unchanged. Raises :class:`NotPending` or
    :class:`NotYourTurn`.
    """
    return _cancel_pending(transfer, by=by, code=CancelCode.WITHDRAWN, allowed=may_change,
                           reason=reason)


def decline_transfer(*, transfer: Transfer, by: Membership, reason: str = "") -> Transfer:
    """Cancel a pending transfer ``by`` the side that was asked to accept it.

    Repeating a decline returns the transfer unchanged. Raises :class:`NotPending` or
    :class:`NotYourTurn`.
    """
    return _cancel_pending(transfer, by=by, code=CancelCode.DECLINED, allowed=may_accept,
                           reason=reason)


def _cancel_pending(transfer: Transfer, *, by: Membership, code: CancelCode, allowed,
                    reason: str) -> Transfer:
    """Lock ``transfer`` and cancel it with ``code`` if ``allowed(by, transfer)``; a repeat of
    the same cancellation returns it unchanged."""
    locked = lock_transfer(transfer.id)
    if _already(locked, code, by):
        return locked
    if locked.state != TransferState.PENDING:
        raise NotPending()
    if not allowed(by, locked):
        raise NotYourTurn()
    return _cancel(locked, code=code, by=by, reason=reason)


def accept_transfer(*, transfer: Transfer, by: Membership) -> Transfer:
    """Complete a pending transfer ``by`` the side that was asked (payee of a payment, payer
    of a request).

    Limits are checked again under the account locks. If they no longer allow the transfer it
    is cancelled with the reason (``cancel_code`` ``refused_credit_limit`` or
    ``refused_ceiling``) and returned cancelled — a refusal, not an error, so the caller
    commits it and both sides are told. Repeating an acceptance returns the completed transfer.
    Raises :class:`NotPending`, :class:`NotYourTurn` or :class:`InactiveParty`.
    """
    locked = lock_transfer(transfer.id)
    if locked.state == TransferState.COMPLETED and locked.completer_id == by.id:
        return locked
    if locked.state != TransferState.PENDING:
        raise NotPending()
    if not may_accept(by, locked):
        raise NotYourTurn()
    accounts = lock_accounts([locked.payer_account_id, locked.payee_account_id])
    payer, payee = accounts[locked.payer_account_id], accounts[locked.payee_account_id]
    if not (_party_is_active(payer) and _party_is_active(payee)):
        raise InactiveParty()
    try:
        # The hard limits only: other pending transfers are promises, not balances.
        check_limits(payer=payer, payee=payee, amount=locked.amount)
    except CreditLimitExceeded:
        return _cancel(locked, code=CancelCode.REFUSED_CREDIT_LIMIT, by=None, reason=None)
    except CeilingExceeded:
        return _cancel(locked, code=CancelCode.REFUSED_CEILING, by=None, reason=None)
    when = utcnow()
    locked.state = TransferState.COMPLETED
    locked.completer_id = by.id
    locked.completed_at = when
    db.session.flush()
    write_entries(transfer=locked, payer=payer, payee=payee, when=when)
    db.session.flush()
    notify.transfer_event(locked, notify.ACCEPTED)
    return locked
