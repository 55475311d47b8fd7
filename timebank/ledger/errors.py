"""Typed errors raised by the ledger service. Each carries what a person needs to fix it."""

from flask_babel import lazy_gettext as _l

from timebank.user_errors import UserError


class LedgerError(UserError):
    """Base class: the operation was refused and nothing was written."""

    message = _l("This transfer is not possible.")


class InvalidAmount(LedgerError):
    field = "amount"
    message = _l("Enter an amount greater than zero.")


class SameAccount(LedgerError):
    field = "payee"
    message = _l("You cannot pay yourself.")


class InactiveParty(LedgerError):
    field = "payee"
    message = _l("Both payer and payee must be active members of this group.")


class CurrencyMismatch(LedgerError):
    message = _l("Both accounts must hold the same currency.")


class InvalidLimits(LedgerError):
    field = "min_balance"
    message = _l("The credit limit must be lower than the ceiling.")


def _is_reader(name: str | None) -> bool:
    """Return whether the person reading this refusal (the logged-in user) is the party named.

    A refusal shown to the payer speaks to them ("you can still spend ..."); mail and jobs,
    with no request, keep the third person.
    """
    from flask import has_request_context
    from flask_login import current_user

    return bool(name) and has_request_context() and current_user.is_authenticated and (
        current_user.name == name
    )


class CreditLimitExceeded(LedgerError):
    """The payer would go below its ``min_balance``. ``available`` is in subunits."""

    field = "amount"

    side = "payer"

    def __init__(self, *, available: int, currency, name: str | None = None):
        self.available = available
        self.currency = currency
        self.name = name
        super().__init__()

    def __str__(self) -> str:
        from timebank.ledger.amounts import format_money

        available = format_money(self.available, self.currency)
        if _is_reader(self.name):
            return str(
                _l(
                    "This would take you below your credit limit. "
                    "You can still spend %(available)s.",
                    available=available,
                )
            )
        if self.name:
            return str(
                _l(
                    "This would take the payer, %(name)s, below their credit limit. "
                    "They can still spend %(available)s.",
                    name=self.name, available=available,
                )
            )
        return str(
            _l(
                "This would take the payer below their credit limit. "
                "They can still spend %(available)s.",
                available=available,
            )
        )


class CeilingExceeded(LedgerError):
    """The payee would go above its ``max_balance``. ``available`` is in subunits."""

    field = "amount"

    side = "payee"

    def __init__(self, *, available: int, currency, name: str | None = None):
        self.available = available
        self.currency = currency
        self.name = name
        super().__init__()

    def __str__(self) -> str:
        from timebank.ledger.amounts import format_money

        available = format_money(self.available, self.currency)
        if _is_reader(self.name):
            return str(
                _l(
                    "This would take you above your balance ceiling. "
                    "You can still receive %(available)s.",
                    available=available,
                )
            )
        if self.name:
            return str(
                _l(
                    "This would take the payee, %(name)s, above their balance ceiling. "
                    "They can still receive %(available)s.",
                    name=self.name, available=available,
                )
            )
        return str(
            _l(
                "This would take the payee above their balance ceiling. "
                "They can still receive %(available)s.",
                available=available,
            )
        )


class LevyBeyondLimit(LedgerError):
    """The payee could not pay its levy on the transfer without going below its credit limit
    (timebank/ledger/sql/ledger_levy_refusal.sql)."""

    field = "amount"

    def __init__(self, *, name: str | None = None):
        self.name = name
        super().__init__()

    def __str__(self) -> str:
        if _is_reader(self.name):
            return str(_l("You could not pay the levy on this transfer without going below "
                          "your credit limit."))
        return str(_l("The payee, %(name)s, could not pay the levy on this transfer without "
                      "going below their credit limit.", name=self.name or ""))


class InvalidLevy(LedgerError):
    """A levy rule out of range (timebank/ledger/levies.py)."""

    field = "percentage"
    message = _l("Enter a percentage from 0 to 100 and amounts of zero or more, with the "
                 "minimum no larger than the maximum.")


class IssuedCurrencyFloor(LedgerError):
    """In an issued currency, only the issuer account may go below zero."""

    field = "min_balance"
    message = _l("In an issued currency only the issuer account may go below zero.")


class KeyReused(LedgerError):
    """An idempotency key already used by someone else (a forged or mixed-up form)."""

    message = _l("This form was already used. Reload the page and try again.")


class NotPending(LedgerError):
    message = _l("This transfer is no longer waiting: it was already completed or cancelled.")


class NotYourTurn(LedgerError):
    """The person acting is not the side the rule names (starter, other side, payer)."""

    message = _l("You cannot do this with this transfer.")


class CannotReverse(LedgerError):
    message = _l("Only a completed transfer that is not itself a reversal can be reversed.")


class ReasonRequired(LedgerError):
    field = "reason"
    message = _l("Give a reason.")


class ReversalWouldOverdraw(LedgerError):
    """Reversing would take a holder of an issued currency below zero."""

    message = _l(
        "This reversal would take an account below zero, which an issued currency never allows."
    )


class InvalidRating(LedgerError):
    field = "rating"
    message = _l("Choose a rating on the group's scale.")


class AlreadyRated(LedgerError):
    field = "rating"
    message = _l("This transfer has already been rated.")


class NotRateable(LedgerError):
    field = "rating"
    message = _l("Only the payer can rate a completed payment.")


class BulkInvalid(LedgerError):
    field = "legs"
    message = _l("List at least one other account, each once, with an amount greater than zero.")


class BulkLegRefused(LedgerError):
    """One leg of a bulk entry was refused; nothing was written. ``error`` says why."""

    field = "legs"

    def __init__(self, *, name: str, error: LedgerError):
        self.name = name
        self.error = error
        super().__init__()

    def __str__(self) -> str:
        return str(_l("%(name)s: %(problem)s", name=self.name, problem=str(self.error)))


class NotIssued(LedgerError):
    message = _l("Only an issued currency can be issued.")


class InactiveCurrency(LedgerError):
    field = "currency"
    message = _l("This currency is retired.")


class CurrencyCodeTaken(LedgerError):
    field = "code"
    message = _l("This group already has a currency with this code.")


class InvalidCurrency(LedgerError):
    field = "code"
    message = _l("Use 1 to 12 capital letters or digits for the code.")


class CurrencyInUse(LedgerError):
    message = _l("This currency has transfers: it can be retired but never deleted.")


class LastActiveCurrency(LedgerError):
    message = _l("A group needs at least one active currency.")


class CannotChangeKind(LedgerError):
    field = "kind"
    message = _l("The kind and subunits of a currency cannot change once it has transfers.")


class LedgerUnavailable(LedgerError):
    """The database connection was lost, or the call timed out, during a ledger operation."""

    message = _l("The ledger could not be reached, so nothing was changed. Please try again.")


class NotTrading(LedgerError):
    """The two groups do not trade with each other (opted out, not partners, suspended)."""

    field = "payee"
    message = _l("Your timebank and theirs do not trade with each other.")


class AmountTooSmall(LedgerError):
    """Converted into the payee's currency, the amount rounds down to nothing."""

    field = "amount"
    message = _l("This amount is too small to reach the other timebank's currency.")


class ClearingLimitExceeded(LedgerError):
    """A group's clearing account would pass its bound: ``owes`` (the payer's group may owe the
    network no more) or the payee's group may be owed no more. ``available`` is in the payer's
    subunits."""

    field = "amount"

    def __init__(self, *, available: int, currency, group_name: str, owes: bool):
        self.available = available
        self.currency = currency
        self.group_name = group_name
        self.owes = owes
        super().__init__()

    def __str__(self) -> str:
        from timebank.ledger.amounts import format_money

        available = format_money(self.available, self.currency)
        if self.owes:
            return str(_l(
                "%(group)s has reached what it may owe other timebanks. "
                "At most %(available)s can be sent now.",
                group=self.group_name, available=available,
            ))
        return str(_l(
            "%(group)s has reached what other timebanks may owe it. "
            "At most %(available)s can be sent now.",
            group=self.group_name, available=available,
        ))


class HourValueFixed(LedgerError):
    field = "hour_value"
    message = _l("This currency has been traded with other timebanks: its value in hours "
                 "can no longer change.")
