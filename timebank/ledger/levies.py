"""Levies on transfers: a currency's levy, set by a treasurer, paid to the community pot.

The rule (``timebank/ledger/sql/ledger_levy.sql``; README "Levies"): on each completed
transfer between two members — a payment, a request, an on-behalf entry, a bulk leg — the
levy is ``levy_basis_points`` of the amount (100 basis points = 1 %) ROUNDED DOWN to the
subunit, plus ``levy_fixed``, then raised to ``levy_minimum`` and cut to ``levy_maximum``
(subunits; None: no floor / no cap). It is paid by the payer, the payee, or each of them in
full (``levy_charged_to``), to the group's community pot, as its own completed transfer of
kind ``levy`` linked to the transfer (``levied_on_id``), written by the same database
function in the same transaction. Rounding down means the pot never receives more than the
exact percentage; a levy moves value and never creates any.

No levy on reversals, issuance, levies, transfers to or from a group account (the pot, an
issuer, a settlement), nor on the legs of a payment between groups. The payer's limit check
counts its levy; a payee who could not pay its levy within its credit limit refuses the
transfer (:class:`~timebank.ledger.errors.LevyBeyondLimit`). A pending transfer pays the levy
in force when it is accepted. Reversing a transfer reverses its levies.
"""

from timebank.audit.service import changes, record
from timebank.extensions import db
from timebank.ledger.accounts import group_account
from timebank.ledger.amounts import MAX_UNITS
from timebank.ledger.errors import InvalidLevy
from timebank.models import Currency, Membership, Transfer, TransferKind

CHARGED_TO = ("payer", "payee", "both")
FULL_RATE = 10_000  # basis points in 100 %


def _levy_fields(currency: Currency) -> dict:
    return {
        "levy_basis_points": currency.levy_basis_points, "levy_fixed": currency.levy_fixed,
        "levy_minimum": currency.levy_minimum, "levy_maximum": currency.levy_maximum,
        "levy_charged_to": currency.levy_charged_to,
    }


def set_levy(
    *,
    currency: Currency,
    basis_points: int,
    fixed: int,
    minimum: int | None,
    maximum: int | None,
    charged_to: str,
    changed_by: Membership | None,
    locale: str | None = None,
) -> Currency:
    """Set ``currency``'s levy on transfers (``basis_points`` 0..10,000 of the amount; the
    amounts in subunits) and open the community pot it is paid to (named in ``locale``).

    A levy of 0 % and 0 with no minimum turns it off. The change applies to transfers
    completed from now on (a pending one pays the levy in force when accepted) and is on the
    audit trail. Raises :class:`InvalidLevy` for a value out of range (a rate above 100 %, a
    negative or huge amount, a minimum above the maximum, an unknown side).
    """
    largest = MAX_UNITS * currency.subunits_per_unit
    amounts = [fixed] + [value for value in (minimum, maximum) if value is not None]
    if (
        not 0 <= basis_points <= FULL_RATE
        or any(not 0 <= value <= largest for value in amounts)
        or (minimum is not None and maximum is not None and minimum > maximum)
        or charged_to not in CHARGED_TO
    ):
        raise InvalidLevy()
    before = _levy_fields(currency)
    currency.levy_basis_points = basis_points
    currency.levy_fixed = fixed
    currency.levy_minimum = minimum
    currency.levy_maximum = maximum
    currency.levy_charged_to = charged_to
    if currency.has_levy:
        group_account(currency=currency, locale=locale)  # where the levies go
    old, new = changes(before, _levy_fields(currency))
    if new:
        record(action="ledger.levy", object_type="currency", object_id=currency.id,
               actor=changed_by, before=old, after=new)
    db.session.flush()
    return currency


def levy_on(currency: Currency, amount: int) -> int:
    """Return the levy, in subunits, on a transfer of ``amount`` subunits of ``currency``
    under its rule now, for each side that pays it (the database's own ``ledger_levy``)."""
    return db.session.scalar(db.func.ledger_levy(
        amount, currency.levy_basis_points, currency.levy_fixed, currency.levy_minimum,
        currency.levy_maximum).select())


def levies_of(transfer: Transfer) -> list[Transfer]:
    """Return the levies charged on ``transfer`` (none for a levy itself), oldest first."""
    if transfer.kind == TransferKind.LEVY:
        return []
    return list(transfer.levies)
