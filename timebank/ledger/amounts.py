"""Parse amounts typed by people and format amounts for them.

Amounts are integers in subunits (minutes for an hours currency). Parsing accepts, for a time
currency: ``1:30``, ``1.5``, ``1,5``, ``90 min``, ``1h30``, ``2 h``; for others: ``1.50``,
``1,50``. Exponents, signs, and more than ``MAX_UNITS`` units are rejected. What
:func:`format_amount` prints parses back to the same number of subunits.
"""

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

MAX_UNITS = 1_000_000  # no single transfer moves more than a million units (e.g. hours)


class AmountError(ValueError):
    """The text is not a valid positive amount. ``str(error)`` is a translatable message key."""


_HOURS_MINUTES = re.compile(r"^(\d{1,9}):([0-5]?\d)$")
_H_MIN = re.compile(r"^(?:(\d{1,9})\s*h)?\s*(?:(\d{1,9})\s*(?:m|min|mins|minutes?)?)?$")
_MINUTES_ONLY = re.compile(r"^(\d{1,12})\s*(?:m|min|mins|minutes?)$")
_DECIMAL = re.compile(r"^\d{1,12}(?:[.,]\d+)?$")


def _normalize_digits(text: str) -> str:
    # Arabic-Indic and Eastern Arabic-Indic digits, Arabic separators, odd spaces.
    table = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")}
    table.update({ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")})
    table.update({0x066B: ".", 0x066C: ",", 0x00A0: " ", 0x202F: " ", 0x200F: None, 0x200E: None})
    table.update({0x061C: None})
    return text.translate(table)


def parse_amount(text: str, *, subunits_per_unit: int, locale: str = "en") -> int:
    """Return the positive amount in subunits that ``text`` denotes.

    ``locale`` decides which of ``.``/``,`` is the decimal separator when the text has both
    (``1.234,5`` in de); a lone ``.`` or ``,`` followed by 1-2 digits is always decimal.
    Raises :class:`AmountError` for empty, zero, negative, non-numeric, fractional-subunit or
    oversized input.
    """
    raw = _normalize_digits((text or "").strip().lower())
    raw = re.sub(r"\s*(hours?|hrs?|h)$", " h", raw).strip() if raw else raw
    if not raw:
        raise AmountError("empty")
    if raw.startswith(("-", "−", "+")):
        raise AmountError("negative")
    subunits = _parse(raw, subunits_per_unit, locale)
    if subunits <= 0:
        raise AmountError("zero")
    if subunits > MAX_UNITS * subunits_per_unit:
        raise AmountError("too_large")
    return subunits


def _parse(raw: str, subunits_per_unit: int, locale: str) -> int:
    if subunits_per_unit == 60:
        body = raw[:-2].strip() if raw.endswith(" h") else raw
        match = _HOURS_MINUTES.match(body)
        if match:
            return int(match.group(1)) * 60 + int(match.group(2))
        match = _MINUTES_ONLY.match(raw)
        if match:
            return int(match.group(1))
        compact = raw.replace(" ", "")
        match = re.match(r"^(\d{1,9})h(\d{1,2})(?:m|min)?$", compact)
        if match and int(match.group(2)) < 60:
            return int(match.group(1)) * 60 + int(match.group(2))
        raw = body
    number = _parse_decimal(raw, locale)
    subunits = number * subunits_per_unit
    if subunits != subunits.to_integral_value():
        raise AmountError("precision")
    return int(subunits)


def _parse_decimal(raw: str, locale: str) -> Decimal:
    text = raw.replace(" ", "")
    decimal_symbol = get_decimal_symbol(locale)
    group_symbol = get_group_symbol(locale)
    if "." in text and "," in text:
        # Both present: the locale says which one groups thousands.
        text = text.replace(group_symbol, "").replace(decimal_symbol, ".")
    elif "," in text:
        text = text.replace(",", ".")
    if not _DECIMAL.match(text):
        raise AmountError("invalid")
    try:
        return Decimal(text)
    except InvalidOperation as error:
        raise AmountError("invalid") from error


def _decimals_for(subunits_per_unit: int) -> int:
    """Fewest decimals that show every subunit exactly (4 -> 2 for 0.25; 100 -> 2; 1 -> 0)."""
    for decimals in range(7):
        if 10**decimals % subunits_per_unit == 0:
            return decimals
    return 6


def format_amount(
    amount: int, *, subunits_per_unit: int, locale: str = "en", symbol: str | None = None
) -> str:
    """Return ``amount`` (subunits) for display: ``1:30`` for time, ``1.50`` otherwise.

    Negative amounts get a leading minus sign. ``symbol`` is appended when given (``1:30 h``).
    """
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    if subunits_per_unit == 60:
        hours, minutes = divmod(magnitude, 60)
        text = f"{format_decimal(hours, locale=locale, group_separator=False)}:{minutes:02d}"
    else:
        decimals = _decimals_for(subunits_per_unit)
        value = Decimal(magnitude) / Decimal(subunits_per_unit)
        pattern = "0" if decimals == 0 else "0." + "0" * decimals
        text = format_decimal(value, format=pattern, locale=locale)
    text = sign + text
    return f"{text} {symbol}" if symbol else text
