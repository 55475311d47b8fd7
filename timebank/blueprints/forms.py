"""Form pieces shared by several blueprints."""

import functools
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from babel.numbers import NumberFormatError, format_decimal, parse_decimal
from babel.support import Translations
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectChoice, StringField
from wtforms.i18n import messages_path
from wtforms.validators import ValidationError

from timebank.i18n import current_locale
from timebank.ledger.amounts import AmountError, format_amount, parse_amount

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)  # the days a range may name


class Form(FlaskForm):
    """Every form of the app: Flask-WTF's form (CSRF, request data) whose WTForms messages
    ("This field is required.") come in the user's language from a per-process cache.

    Flask-WTF reads WTForms' catalog from disk again on every request that builds a form
    (about 0.5 ms, a twentieth of a payment's CPU; issue 14); the catalogs never change while
    the process runs. ``tests/test_forms.py`` checks that every form derives from this one.
    """

    class Meta:
        def get_translations(self, form):
            return _wtforms_translations(str(get_locale()))


@functools.cache
def _wtforms_translations(locale: str) -> Translations:
    """WTForms' own messages in ``locale`` (a Babel locale name such as ``pt_BR``), loaded
    once per process and locale."""
    return Translations.load(messages_path(), [locale], domain="wtforms")


class DaysChecked:
    """For a form with ``start`` and ``end`` days (``DateField``, optional): each between
    :data:`FIRST_DAY` and :data:`LAST_DAY`, the end not before the start; errors next to the
    fields. (A day past 9999-12-31 cannot be the end of a range: the day after it does not
    exist.)"""

    @staticmethod
    def _within_bounds(field) -> None:
        if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
            raise ValidationError(_("Choose a day between %(first)s and %(last)s.",
                                    first=format_date(FIRST_DAY), last=format_date(LAST_DAY)))

    def validate_start(self, field) -> None:
        self._within_bounds(field)

    def validate_end(self, field) -> None:
        self._within_bounds(field)
        start = self.start.data
        if field.data is None or start is None or self.start.errors:
            return
        if field.data < start:
            raise ValidationError(_("The end must not be before the start."))


def select_choices(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """Return ``(value, label)`` pairs (what the services return) as a select's options;
    WTForms 3.3 deprecates giving a field its choices as tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


AMOUNT_MESSAGES = {
    "empty": _l("Enter an amount."),
    "negative": _l("Enter a positive amount."),
    "zero": _l("Enter an amount greater than zero."),
    "too_large": _l("This amount is too large."),
    "precision": _l("This amount is more precise than the currency allows."),
    "invalid": _l("Enter an amount like 1:30, 1.5 or 90 min."),
}


class AmountField(StringField):
    """A text field holding an amount; after validation ``.subunits`` is the integer value.

    The form sets ``subunits_per_unit`` (60 for hours) and optionally ``symbol`` before
    validating, or calls :meth:`use_currency`. Input is parsed in the current locale (see
    :mod:`timebank.ledger.amounts`); a problem becomes a field error in the user's language.
    """

    subunits_per_unit = 60
    symbol: str | None = None
    subunits: int | None = None

    def use_currency(self, currency) -> None:
        """Parse amounts of ``currency``: its subunits and its symbol (``1:30 h``)."""
        self.subunits_per_unit = currency.subunits_per_unit
        self.symbol = currency.symbol

    def pre_validate(self, form) -> None:
        locale = current_locale()
        try:
            self.subunits = parse_amount(
                self.data or "",
                subunits_per_unit=self.subunits_per_unit,
                locale=locale,
                symbol=self.symbol,
            )
        except AmountError as error:
            self.subunits = None
            raise ValidationError(str(self.message_for(str(error), locale))) from error

    def message_for(self, reason: str, locale: str):
        """Return the (lazy) error message for an :class:`AmountError` reason."""
        if reason == "invalid" and self.subunits_per_unit != 60:
            # Not counted in minutes: show 1.5 units formatted for the locale (1.50, 1,50).
            example = format_amount(
                self.subunits_per_unit * 3 // 2 or 1,
                subunits_per_unit=self.subunits_per_unit,
                locale=locale,
            )
            return _l("Enter an amount like %(example)s.", example=example)
        return AMOUNT_MESSAGES.get(reason, AMOUNT_MESSAGES["invalid"])


class LimitField(StringField):
    """An optional limit in units (``20``, ``20:30``), stored as ``.subunits`` (None = default).

    With ``ignore_sign`` a leading minus is dropped (a credit limit of ``-20`` and ``20`` both
    mean "20 below zero"); otherwise a negative number is refused.
    """

    subunits_per_unit = 60
    subunits: int | None = None

    def __init__(self, *args, ignore_sign: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ignore_sign = ignore_sign

    def pre_validate(self, form) -> None:
        text = (self.data or "").strip()
        self.subunits = None
        if not text:
            return
        if self.ignore_sign:
            text = text.lstrip("-−")
        try:
            self.subunits = parse_amount(
                text, subunits_per_unit=self.subunits_per_unit, locale=current_locale()
            )
        except AmountError as error:
            if str(error) != "zero":
                raise ValidationError(_l("Enter a number of hours, like 20 or 7:30.")) from error
            self.subunits = 0


def parse_local_decimal(text: str, locale) -> Decimal:
    """Parse ``text`` as a decimal number written in ``locale`` (``2,5`` in German, ``2.5`` in
    English); a number with a plain dot (``2.5``) is accepted in every locale too.

    Spaces (a thousands separator in French) are ignored. Grouping is checked (Babel's strict
    mode), so ``2.5`` is never read as 25 in German. Raises :class:`ValueError`.
    """
    text = "".join(text.split())
    if any(character.isalpha() for character in text):
        raise ValueError(text)  # "1e3", "NaN", "Infinity": not how a person writes a rate
    for reading in (locale or "en", "en"):
        try:
            return parse_decimal(text, locale=reading, strict=True)
        except NumberFormatError:
            continue
    raise ValueError(text)


def format_local_decimal(value: Decimal, locale) -> str:
    """Format ``value`` for ``locale`` with every significant decimal and no trailing zeros
    (``2,5`` in German, ``1`` for ``1.0000``)."""
    value = Decimal(value)
    value = value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return format_decimal(value, locale=locale or "en", decimal_quantization=False)


class LocaleDecimalField(DecimalField):
    """A decimal number typed and shown in the user's locale (flask_babel's
    :func:`~flask_babel.get_locale`): ``2,5`` in de, es, fr, it, nl, pt_BR and ca; the plain
    ``2.5`` everywhere. Garbage is a translated error next to the field, keeping the input."""

    def process_formdata(self, valuelist) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        locale = get_locale()
        try:
            self.data = parse_local_decimal(valuelist[0], locale)
        except ValueError as error:
            self.data = None
            example = format_decimal(Decimal("2.5"), locale=locale or "en")
            raise ValueError(str(_l("Enter a number like %(example)s.", example=example))) from (
                error)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]  # what they typed, as they typed it
        if self.data is None:
            return ""
        return format_local_decimal(self.data, get_locale())
