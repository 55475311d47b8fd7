"""Transfers: payments, requests (invoices), on-behalf entries, and their two-step life.

The rules live in the database functions under ``timebank/ledger/sql/`` (README "Ledger
rules"): ``ledger_transfer`` writes a new transfer, ``ledger_accept``, ``ledger_edit`` and
``ledger_cancel`` move a pending one. Each locks the accounts in one global order, re-reads
balances and checks the parties and the limits (pending amounts counted, except on acceptance)
in the caller's transaction. This module asks who may act (the starter edits or withdraws; the
other side accepts or declines), validates the amount at the form's edge, calls the function
and turns a refusal into a typed error. Amounts are integers in subunits.

* a payment completes at once unless the group asks the payee to confirm it; a request
  (invoice) by the payee waits for the payer's approval. States ``pending -> completed |
  cancelled``;
* accepting re-checks the rules; if they no longer allow the transfer it is cancelled with the
  reason (a refusal that is kept, not raised);
* an idempotency key makes a retried submission return the first transfer; repeating an
  accept, decline or withdraw that already happened returns the transfer unchanged;
* both sides are emailed after the transaction commits (the functions write an outbox row,
  :mod:`.notify`).

Functions take keyword-only arguments, raise :class:`~timebank.ledger.errors.LedgerError`
subclasses (nothing written), and never commit.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached

from timebank.audit.ledger_hooks import record_written_transfer
from timebank.extensions import db
from timebank.ledger import notify
from timebank.ledger.amounts import MAX_UNITS
from timebank.ledger.errors import InactiveParty, InvalidAmount, NotPending, NotYourTurn
from timebank.ledger.functions import call, refusal_error
from timebank.models import (
    Account,
    AccountKind,
    Currency,
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


def expire_balances(account_ids) -> None:
    """Forget the session's copies of these accounts' balances, and of every group account's
    (the community pot a levy went to): a ledger function moved them."""
    session = db.session()
    for account_id in account_ids:
        cached = session.identity_map.get(session.identity_key(Account, account_id))
        if cached is not None:
            session.expire(cached, ["balance"])
    for cached in list(session.identity_map.values()):
        if isinstance(cached, Account) and cached.__dict__.get("kind") == AccountKind.GROUP:
            session.expire(cached, ["balance"])


def intergroup():
    """The inter-group payments module (imported late: it builds on this one)."""
    from timebank.ledger import intergroup

    return intergroup


def crossing_for(transfer: Transfer):
    """The inter-group payment ``transfer`` is a leg of, or None: its two legs move together,
    through :mod:`timebank.ledger.intergroup`."""
    if transfer.payer_account.is_clearing or transfer.payee_account.is_clearing:
        return intergroup().crossing_of(transfer)
    return None


def _leg_of(crossing, transfer: Transfer) -> Transfer:
    """This group's leg of ``crossing`` (the one ``transfer`` is)."""
    leg = crossing.payer_leg if crossing.payer_leg.id == transfer.id else crossing.payee_leg
    return reload_transfer(leg.id)


def reload_transfer(transfer_id: int) -> Transfer:
    """Return the transfer as a ledger function left it (one query)."""
    return db.session.get(Transfer, transfer_id, populate_existing=True)


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
    """Write a completed transfer between two accounts (group accounts included), with every
    rule of :func:`pay`; amounts in subunits. ``occurred_at`` backdates it (imports and the
    demo seed only). Raises as :func:`pay` does."""
    validate_amount(amount, payer_account.currency)
    return post_transfer(
        payer_account=payer_account, payee_account=payee_account, amount=amount,
        description=description, starter=starter, kind=kind, idempotency_key=idempotency_key,
        occurred_at=occurred_at,
    )


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
    """Write a new transfer with the database function ``ledger_transfer`` (one round trip).

    Give the parties as members (``payer``, ``payee`` and ``currency``) or as accounts
    (``payer_account``, ``payee_account``). The function locks both accounts, returns the
    first transfer made with ``idempotency_key`` if there is one, checks the parties and the
    limits with the other pending transfers counted, and writes the transfer: ``state``
    pending, or completed with its two entries and both cached balances moved. Amounts in
    subunits, already validated. Rules: ``timebank/ledger/sql/ledger_transfer.sql``.

    Raises :class:`SameAccount`, :class:`InactiveParty`, :class:`InactiveCurrency`,
    :class:`CurrencyMismatch`, :class:`KeyReused`, :class:`CreditLimitExceeded` or
    :class:`CeilingExceeded` (nothing written; the transaction stays usable). A new transfer
    is announced to both sides; an idempotent repeat is not.
    """
    by_member = payer is not None
    group_id = payer.group_id if by_member else payer_account.group_id
    description = _clean(description, DESCRIPTION_MAX)
    starter_id = starter.id if starter else None
    key = idempotency_key or None
    when = occurred_at or utcnow()
    (transfer_id, created, refusal, available, refused_account_id, payer_account_id,
     payee_account_id) = call(
        "ledger_transfer", group_id,
        payer.id if by_member else None, payee.id if by_member else None,
        currency.id if by_member else None,
        None if by_member else payer_account.id, None if by_member else payee_account.id,
        amount, description, kind.value, state.value, starter_id, key, when,
    )
    if refusal is not None:
        raise refusal_error(refusal, available=available, account_id=refused_account_id)
    expire_balances((payer_account_id, payee_account_id))
    if not created:  # the first transfer made with this idempotency key
        return db.session.get(Transfer, transfer_id)
    completed = state == TransferState.COMPLETED
    transfer = _as_persistent({
        "id": transfer_id, "group_id": group_id,
        "currency_id": currency.id if by_member else payer_account.currency_id,
        "payer_account_id": payer_account_id, "payee_account_id": payee_account_id,
        "amount": amount, "description": description, "state": state, "kind": kind,
        "starter_id": starter_id, "completer_id": starter_id if completed else None,
        "reverses_id": None, "levied_on_id": None, "idempotency_key": key, "batch_key": None,
        "cancel_code": None,
        "cancel_reason": None, "cancelled_by_id": None, "rating": None, "rated_at": None,
        "created_at": when, "completed_at": when if completed else None,
        "cancelled_at": None,
    })
    record_written_transfer(transfer)  # an on-behalf entry or issuance is on the audit trail
    notify.request_delivery()  # the function wrote the notice (completed or started)
    return transfer


def _as_persistent(row: dict) -> Transfer:
    """Put a transfer the database function has just written into the session as it is,
    without reading it back. ``row`` holds every column; the values go straight into the
    new instance's state, as a query's loading does (no change events), and relationships
    load when first used."""
    transfer = _TRANSFER_MANAGER.new_instance()
    transfer.__dict__.update(row)
    make_transient_to_detached(transfer)
    db.session.add(transfer)
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
    :class:`InactiveCurrency`, :class:`CurrencyMismatch`, :class:`KeyReused`,
    :class:`CreditLimitExceeded` or :class:`CeilingExceeded`; on any error nothing has been
    written.
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
    """Whether ``membership`` may accept or decline ``transfer`` now (the side asked)."""
    return transfer.is_pending and acts_for(membership, acceptor_account(transfer))


def may_change(membership: Membership | None, transfer: Transfer) -> bool:
    """Whether ``membership`` may edit or withdraw ``transfer`` (its starter, while pending)."""
    return transfer.is_pending and _is_starter(membership, transfer)


def _is_starter(membership: Membership | None, transfer: Transfer) -> bool:
    return (
        membership is not None and membership.is_active and transfer.starter_id == membership.id
    )


def _is_asked(membership: Membership | None, transfer: Transfer) -> bool:
    return acts_for(membership, acceptor_account(transfer))


def edit_transfer(
    *, transfer: Transfer, by: Membership, amount: int, description: str
) -> Transfer:
    """Change the amount (subunits) and description of a pending transfer ``by`` its starter.

    A larger amount must fit the payer's and payee's room (other pending transfers counted;
    ``ledger_edit.sql``). Raises :class:`NotPending`, :class:`NotYourTurn`,
    :class:`InvalidAmount`, :class:`CreditLimitExceeded` or :class:`CeilingExceeded`.
    """
    if not _is_starter(by, transfer) or crossing_for(transfer):
        raise NotYourTurn()  # a payment to another group is withdrawn, not edited
    validate_amount(amount, transfer.currency)
    outcome, available, refused_account_id = call(
        "ledger_edit", transfer.group_id, transfer.id, amount, _clean(description, DESCRIPTION_MAX)
    )
    if outcome != "edited":
        raise refusal_error(outcome, available=available, account_id=refused_account_id)
    notify.request_delivery()
    return reload_transfer(transfer.id)


def withdraw_transfer(*, transfer: Transfer, by: Membership, reason: str = "") -> Transfer:
    """Cancel a pending transfer ``by`` its starter; ``reason`` is optional.

    Repeating a withdrawal returns the transfer unchanged. Raises :class:`NotPending` or
    :class:`NotYourTurn`.
    """
    if crossing := crossing_for(transfer):
        return _leg_of(intergroup().cancel_across(crossing=crossing, by=by, reason=reason),
                       transfer)
    if not _is_starter(by, transfer):
        raise NotYourTurn()
    return _cancel(transfer, by=by, code=CancelCode.WITHDRAWN, reason=reason)


def decline_transfer(*, transfer: Transfer, by: Membership, reason: str = "") -> Transfer:
    """Cancel a pending transfer ``by`` the side that was asked to accept it.

    Repeating a decline returns the transfer unchanged. Raises :class:`NotPending` or
    :class:`NotYourTurn`.
    """
    if crossing := crossing_for(transfer):
        return _leg_of(intergroup().cancel_across(crossing=crossing, by=by, reason=reason),
                       transfer)
    if not _is_asked(by, transfer):
        raise NotYourTurn()
    return _cancel(transfer, by=by, code=CancelCode.DECLINED, reason=reason)


def _cancel(transfer: Transfer, *, by: Membership | None, code: CancelCode,
            reason: str = "") -> Transfer:
    """Cancel ``transfer`` with ``code`` through ``ledger_cancel``; the caller asked who may."""
    (outcome,) = call(
        "ledger_cancel", transfer.group_id, transfer.id, by.id if by else None, code.value,
        _clean(reason, REASON_MAX), utcnow(),
    )
    if outcome == "not_pending":
        raise NotPending()
    notify.request_delivery()
    return reload_transfer(transfer.id)


def cancel_refused(transfer: Transfer, *, code: CancelCode) -> Transfer:
    """Cancel a pending transfer the ledger no longer allows (a retired currency, say), with
    ``code``; both sides are told. Raises :class:`NotPending`."""
    return _cancel(transfer, by=None, code=code)


def accept_transfer(*, transfer: Transfer, by: Membership) -> Transfer:
    """Complete a pending transfer ``by`` the side that was asked (payee of a payment, payer
    of a request).

    The rules are checked again under the locks (``ledger_accept.sql``). If the limits or a
    retired currency no longer allow the transfer it is cancelled with the reason
    (``cancel_code`` ``refused_credit_limit``, ``refused_ceiling`` or
    ``refused_inactive_currency``) and returned cancelled — a refusal, not an error, so the
    caller commits it and both sides are told. Repeating an acceptance returns the completed
    transfer. Raises :class:`NotPending`, :class:`NotYourTurn` or :class:`InactiveParty`.
    """
    if crossing := crossing_for(transfer):
        return _leg_of(intergroup().accept_across(crossing=crossing, by=by), transfer)
    if not _is_asked(by, transfer):
        raise NotYourTurn()
    (outcome,) = call("ledger_accept", transfer.group_id, transfer.id, by.id, utcnow())
    if outcome == "not_pending":
        raise NotPending()
    if outcome == "inactive_party":
        raise InactiveParty()
    expire_balances((transfer.payer_account_id, transfer.payee_account_id))
    if outcome != "already":
        notify.request_delivery()
    return reload_transfer(transfer.id)
