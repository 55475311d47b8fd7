"""Small pieces the ledger views share: choices for selects, the selected currency, errors."""

import sqlalchemy as sa
from flask import abort, request

from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.amounts import format_money
from timebank.ledger.errors import LedgerError
from timebank.models import Currency, Membership, MembershipStatus, Transfer, User
from timebank.policy import current_membership


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


def currency_choices() -> list[tuple[str, str]]:
    return [(c.code, f"{c.name} ({c.symbol})") for c in ledger.active_currencies()]


def selected_currency() -> Currency:
    """The active currency named by ``currency`` in the form or query (default: the first)."""
    code = request.values.get("currency")
    currency = ledger.currency_by_code(code) if code else None
    if currency is None or not currency.is_active:
        currency = ledger.default_currency()
    if currency is None:
        abort(404)
    return currency


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
