"""Currencies, accounts and transfers over the API: the ledger service, the pages' policy.

Every write calls :mod:`timebank.ledger.service` exactly as the pay, request and transfer pages
do; who may see a transfer is the pages' rule, :func:`timebank.policy.transfers_seen_by`
(:func:`~timebank.policy.sees_transfer` for one transfer).
"""

import sqlalchemy as sa
from flask import g, url_for
from sqlalchemy.orm import selectinload

from timebank.api import schemas
from timebank.api.core import ApiBlueprint, cursor_key, fail, refuse
from timebank.api.idempotency import idempotent
from timebank.api.serialize import transfer_json
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerError
from timebank.models import Account, Currency, Membership, Transfer, TransferState
from timebank.policy import can, sees_transfer, transfers_seen_by

blp = ApiBlueprint("ledger_api", __name__, url_prefix="/api/v1",
                   description="Currencies, accounts and transfers (amounts in subunits)")

IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
    "description": "Send the same key again to get the first answer instead of a second "
                   "effect; the same key with another body is a 422.",
}


def _currency(code: str | None) -> Currency:
    currency = ledger.currency_by_code(code) if code else ledger.default_currency()
    if currency is None or not currency.is_active:
        fail(422, "No active currency has this code in this group.", field="currency")
    return currency


@blp.route("/currencies", methods=["GET"])
@blp.operation("currencies.view")
@blp.response(200, schemas.CurrencySchema(many=True))
def currencies():
    """The group's currencies (active and retired)."""
    return list(db.session.scalars(sa.select(Currency).order_by(Currency.id)))


@blp.route("/accounts", methods=["GET"])
@blp.operation("dashboard.view")
@blp.response(200, schemas.AccountSchema(many=True))
def accounts():
    """Your accounts: balance, pending in and out, limits in force, what you can still spend."""
    return [_position_json(p) for p in ledger.positions(ledger.accounts_of(g.membership))]


def _position_json(position) -> dict:
    return {
        "id": position.account.id, "currency": position.account.currency.code,
        "balance": position.balance, "pending_in": position.pending_in,
        "pending_out": position.pending_out, "min_balance": position.min_balance,
        "max_balance": position.max_balance, "can_still_spend": position.can_still_spend,
        "can_still_earn": position.can_still_earn,
    }


def _transfer_or_404(transfer_id: int) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id)  # tenant-scoped: another group's is None
    if transfer is None or not sees_transfer(g.membership, transfer):
        fail(404)
    return transfer


@blp.route("/transfers", methods=["GET"])
@blp.operation("transfer.view")
@blp.arguments(schemas.TransferQuerySchema, location="query", as_kwargs=True)
@blp.response(200, schemas.TransferPageSchema)
def list_transfers(limit: int = 50, state=None, kind=None, currency=None, counterpart_id=None,
                   cursor=None):
    """Transfers you may see, newest first; ``next_cursor`` leads to the next page."""
    statement = sa.select(Transfer).where(transfers_seen_by(g.membership))
    if state:
        statement = statement.where(Transfer.state == state)
    if kind:
        statement = statement.where(Transfer.kind == kind)
    if currency:
        statement = statement.join(Currency, Currency.id == Transfer.currency_id).where(
            Currency.code == currency)
    if counterpart_id:
        theirs = sa.select(Account.id).where(Account.membership_id == counterpart_id)
        statement = statement.where(sa.or_(Transfer.payer_account_id.in_(theirs),
                                           Transfer.payee_account_id.in_(theirs)))
    if (before := cursor_key(cursor)) is not None:
        statement = statement.where(Transfer.id < before)
    rows = list(db.session.scalars(
        statement.options(selectinload(Transfer.payer_account).selectinload(Account.membership),
                          selectinload(Transfer.payee_account).selectinload(Account.membership),
                          selectinload(Transfer.currency))
        .order_by(Transfer.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [transfer_json(t) for t in rows],
            "next_cursor": str(rows[-1].id) if more else None}


@blp.route("/transfers", methods=["POST"])
@blp.operation("ledger.pay", scope="write")
@idempotent
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@blp.arguments(schemas.TransferCreateSchema)
@blp.response(201, schemas.TransferSchema)
def create_transfer(data: dict):
    """Pay a member (``kind: payment``) or ask a member to pay you (``kind: request``).

    A payment waits for the payee's confirmation when the group asks for it; a request waits
    for the payer's approval.
    """
    me = g.membership
    if data["kind"] == "request" and not can(me, "ledger.request"):
        fail(403, "Your role in this group does not allow this.")
    other = db.session.get(Membership, data["counterpart_id"])
    if other is None:
        fail(422, "No member of this group has this id.", field="counterpart_id")
    currency = _currency(data.get("currency"))
    try:
        if data["kind"] == "payment":
            transfer = ledger.pay(
                payer=me, payee=other, currency=currency, amount=data["amount"],
                description=data["description"], starter=me,
                require_confirmation=g.group.payments_need_confirmation)
        else:
            transfer = ledger.request_payment(
                payer=other, payee=me, currency=currency, amount=data["amount"],
                description=data["description"], starter=me)
    except LedgerError as error:
        refuse(error)
    return transfer_json(transfer), 201, {
        "Location": url_for("ledger_api.get_transfer", transfer_id=transfer.id)}


@blp.route("/transfers/<int(max=2147483647):transfer_id>", methods=["GET"])
@blp.operation("transfer.view")
@blp.response(200, schemas.TransferSchema)
def get_transfer(transfer_id: int):
    """One transfer you may see (404 otherwise)."""
    return transfer_json(_transfer_or_404(transfer_id))


@blp.route("/transfers/<int(max=2147483647):transfer_id>", methods=["PATCH"])
@blp.operation("transfer.view", scope="write")
@blp.arguments(schemas.TransferEditSchema)
@blp.response(200, schemas.TransferSchema)
def edit_transfer(data: dict, transfer_id: int):
    """Change a pending transfer you started (amount in subunits, description)."""
    transfer = _transfer_or_404(transfer_id)
    try:
        transfer = ledger.edit_transfer(transfer=transfer, by=g.membership,
                                        amount=data["amount"], description=data["description"])
    except LedgerError as error:
        refuse(error)
    return transfer_json(transfer)


def _decide(transfer_id: int, action: str, reason: str = ""):
    transfer = _transfer_or_404(transfer_id)
    try:
        if action == "accept":
            transfer = ledger.accept_transfer(transfer=transfer, by=g.membership)
        elif action == "decline":
            transfer = ledger.decline_transfer(transfer=transfer, by=g.membership, reason=reason)
        else:
            transfer = ledger.withdraw_transfer(transfer=transfer, by=g.membership,
                                                reason=reason)
    except LedgerError as error:
        refuse(error)
    return transfer_json(transfer)


@blp.route("/transfers/<int(max=2147483647):transfer_id>/accept", methods=["POST"])
@blp.operation("transfer.view", scope="write")
@blp.response(200, schemas.TransferSchema)
def accept_transfer(transfer_id: int):
    """Accept a transfer waiting for you. If the limits no longer allow it, it is cancelled
    (``state: cancelled`` with the reason), as on the page."""
    return _decide(transfer_id, "accept")


@blp.route("/transfers/<int(max=2147483647):transfer_id>/decline", methods=["POST"])
@blp.operation("transfer.view", scope="write")
@blp.arguments(schemas.ReasonSchema, required=False)
@blp.response(200, schemas.TransferSchema)
def decline_transfer(data: dict, transfer_id: int):
    """Decline a transfer waiting for you, with an optional reason."""
    return _decide(transfer_id, "decline", (data or {}).get("reason", ""))


@blp.route("/transfers/<int(max=2147483647):transfer_id>/withdraw", methods=["POST"])
@blp.operation("transfer.view", scope="write")
@blp.arguments(schemas.ReasonSchema, required=False)
@blp.response(200, schemas.TransferSchema)
def withdraw_transfer(data: dict, transfer_id: int):
    """Withdraw a pending transfer you started, with an optional reason."""
    return _decide(transfer_id, "withdraw", (data or {}).get("reason", ""))


@blp.route("/transfers/<int(max=2147483647):transfer_id>/reverse", methods=["POST"])
@blp.operation("ledger.reverse", scope="write")
@idempotent
@blp.doc(parameters=[IDEMPOTENCY_PARAMETER])
@blp.arguments(schemas.ReverseSchema)
@blp.response(201, schemas.TransferSchema)
def reverse_transfer(data: dict, transfer_id: int):
    """Reverse a completed transfer, once, with a reason (treasurers)."""
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None:
        fail(404)
    try:
        reversal = ledger.reverse_transfer(transfer=transfer, by=g.membership,
                                           reason=data["reason"])
    except LedgerError as error:
        refuse(error)
    return transfer_json(reversal), 201, {
        "Location": url_for("ledger_api.get_transfer", transfer_id=reversal.id)}


__all__ = ["blp", "TransferState"]
