"""Typed errors raised by the ledger service. Each carries what a person needs to fix it."""

from flask_babel import lazy_gettext as _l


class LedgerError(Exception):
    """Base class: the operation was refused and nothing was written."""

    message = _l("This transfer is not possible.")
    field: str | None = None

    def __str__(self) -> str:
        return str(self.message)


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


class CreditLimitExceeded(LedgerError):
    """The payer would go below its ``min_balance``. ``available`` is in subunits."""

    field = "amount"

    def __init__(self, *, available: int, currency):
        self.available = available
        self.currency = currency
        super().__init__()

    def __str__(self) -> str:
        from timebank.i18n import format_money

        return str(
            _l(
                "This would take the payer below their credit limit. "
                "They can still spend %(available)s.",
                available=format_money(self.available, self.currency),
            )
        )


class CeilingExceeded(LedgerError):
    """The payee would go above its ``max_balance``. ``available`` is in subunits."""

    field = "amount"

    def __init__(self, *, available: int, currency):
        self.available = available
        self.currency = currency
        super().__init__()

    def __str__(self) -> str:
        from timebank.i18n import format_money

        return str(
            _l(
                "This would take the payee above their balance ceiling. "
                "They can still receive %(available)s.",
                available=format_money(self.available, self.currency),
            )
        )
