"""The base of every refusal a person can act on.

Services raise subclasses (``LedgerError``, ``PeopleError``, …); routes show ``str(error)`` in
the user's language next to ``error.field`` (a form field name) or as a flash message. Raising
one means nothing was written.
"""

from flask_babel import lazy_gettext as _l


class UserError(Exception):
    """A refused operation: ``message`` is translatable, ``field`` names the form field or None."""

    message = _l("That is not possible.")
    field: str | None = None

    def __str__(self) -> str:
        return str(self.message)
