"""Parse amounts typed by people and format amounts for them, in their locale.

Amounts are integers in subunits (minutes for an hours currency). Formatting goes through Babel
with the locale's CLDR default numbering system (``numbering_system="default"``); hours
(``1:30``) print what Babel's ``0`` and ``00`` patterns would, without calling it (a test holds
them to Babel's output in every shipped locale). For every
shipped locale, ``ar`` included, that is ``latn``: CLDR's default for generic Arabic is Latin
digits (Arabic-Indic ``arab`` is the default only for some regions, e.g. ``ar_EG``), and Babel
formats dates and times with Latin digits too, so amounts and dates agree. Arabic formatting is
then the locale's symbols: in ``ar``, ``-1:30`` prints with a left-to-right mark (U+200E)
before the minus sign, which keeps the sign before the number in right-to-left text. Babel only
swaps symbols, never digits, so a regional locale would print ``1٬234٫50``; the parser reads
that too.

Parsing accepts, in any locale:

* what :func:`format_amount` printed for that locale, with or without the currency symbol
  (``1:30 h``, ``1.234,50 T$`` in de, bidi marks and narrow spaces included);
* ASCII, Arabic-Indic and Extended Arabic-Indic digits, and the Arabic separators ``٫`` ``٬``;
* for a time currency (60 subunits): ``1:30``, ``1.5``, ``1,5``, ``90 min``, ``1h30``,
  ``1 h 30 min``, ``2 h``, and the locale's own unit words (``90 Minuten``, ``2 horas``,
  ``٩٠ د``);
* decimals with the locale's separator. A lone ``.`` or ``,`` is the decimal separator unless
  it is the locale's group separator followed by exactly three digits (``1,500`` is fifteen
  hundred in en, ``1.500`` in de; ``1,5`` is one and a half everywhere). With both, the last
  one is decimal (``1.234,5``, ``1,234.5``). Spaces and apostrophes only group threes.

Signs, exponents, text over 64 characters and more than :data:`MAX_UNITS` units are rejected.
"""

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberPattern,
    get_decimal_symbol,
    get_group_symbol,
    get_minus_sign_symbol,
    parse_pattern,
)

MAX_UNITS = 1_000_000  # no single transfer moves more than a million units (e.g. hours)
MAX_TEXT = 64  # characters; longer input is not an amount a person typed
NUMBERING = "default"  # the locale's CLDR default numbering system (see the module docstring)


class AmountError(ValueError):
    """The text is not a valid positive amount. ``str(error)`` is a key: ``empty``,
    ``negative``, ``zero``, ``too_large``, ``precision`` or ``invalid``."""


# --- formatting --------------------------------------------------------------------------------


def format_amount(
    amount: int, *, subunits_per_unit: int, locale: str = "en", symbol: str | None = None
) -> str:
    """Return ``amount`` (subunits) for display in ``locale``: ``1:30`` for a time currency
    (hours:minutes, 60 subunits), else a grouped decimal (``1,234.50`` en, ``1.234,50`` de).

    Negative amounts start with the locale's minus sign (in ``ar`` a left-to-right mark and
    ``-``). ``symbol`` is appended after a space when given (``1:30 h``). Raises Babel's
    ``UnknownLocaleError`` for a locale it does not know.
    """
    magnitude = abs(amount)
    if subunits_per_unit == 60:
        # Hours and two-digit minutes have no separator a locale could change, and Babel only
        # swaps symbols, never digits (module docstring): its "0" and "00" patterns print what
        # Python does.
        hours, minutes = divmod(magnitude, 60)
        text = f"{hours}:{minutes:02d}"
    else:
        value = Decimal(magnitude) / Decimal(subunits_per_unit)
        text = _decimal_pattern(subunits_per_unit).apply(
            value, _babel_locale(locale), numbering_system=NUMBERING)
    if amount < 0:
        text = _minus_sign(locale) + text
    return f"{text} {symbol}" if symbol else text


# A page formats dozens of amounts: Babel's locale and pattern are parsed once per process, not
# at each call (which cost about as much as the rest of the call).


@lru_cache(maxsize=64)
def _babel_locale(locale: str) -> Locale:
    return Locale.parse(locale)


@lru_cache(maxsize=64)
def _minus_sign(locale: str) -> str:
    return get_minus_sign_symbol(_babel_locale(locale), numbering_system=NUMBERING)


@lru_cache(maxsize=64)
def _decimal_pattern(subunits_per_unit: int) -> NumberPattern:
    """Babel's pattern for ``subunits_per_unit``: grouped, with the fewest decimals that show
    every subunit exactly (4 -> 2 for 0.25; 100 -> 2; 1 -> 0)."""
    decimals = next((d for d in range(7) if 10**d % subunits_per_unit == 0), 6)
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else ""))


# --- parsing -----------------------------------------------------------------------------------

# Marks with no visible width that Babel or a copy-paste may put around numbers.
_INVISIBLE = "\u200e\u200f\u061c\u200b\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufeff"
_TRANSLATE = {ord(char): None for char in _INVISIBLE}
_TRANSLATE.update({ord(char): " " for char in "\u00a0\u202f\u2009\u2007\u2002\u2003\u3000\t"})
_TRANSLATE.update({ord(char): "-" for char in "\u2212\u2010\u2011\u2012\u2013\u2014\ufe63\uff0d"})
_TRANSLATE.update({ord("\uff0b"): "+", ord("\u2019"): "'", ord("\uff0c"): ",", ord("\uff0e"): "."})
_ARABIC_DECIMAL, _ARABIC_GROUP = "\u066b", "\u066c"  # always decimal / always group

# A number: digit runs joined by single separators (grouping and decimal decided later).
_NUMBER = r"\d+(?:[.,' \u066b\u066c]\d+)*"
_SEPARATOR = re.compile(r"([.,' \u066b\u066c])")

_HOUR_WORDS = ("h", "hr", "hrs", "hour", "hours")
_MINUTE_WORDS = ("m", "min", "mins", "minute", "minutes")


def _normalize(text: str) -> str:
    """Return ``text`` with ASCII digits, plain spaces and hyphens, no bidi marks, casefolded."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    chars = []
    for char in text:
        digit = unicodedata.decimal(char, None)
        chars.append(str(digit) if digit is not None and not char.isascii() else char)
    return " ".join("".join(chars).split()).casefold()


def _locale_words(locale: str, unit: str) -> set[str]:
    """Return the locale's CLDR words for ``unit`` (``duration-hour``), e.g. {"std.", "stunden"}."""
    try:
        patterns = Locale.parse(locale)._data["unit_patterns"].get(unit, {})
    except (UnknownLocaleError, ValueError, KeyError):
        return set()
    words = set()
    for length in ("long", "short", "narrow"):
        for count, pattern in dict(patterns.get(length, {})).items():
            if count != "per" and "{0}" in pattern:
                word = _normalize(pattern.replace("{0}", ""))
                if word and not any(char.isdigit() for char in word):
                    words.update({word, word.rstrip(".")})
    return words


def _alternation(words) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")"


@lru_cache(maxsize=256)
def _time_patterns(locale: str, symbol: str) -> tuple[re.Pattern, ...]:
    hour = set(_HOUR_WORDS) | _locale_words(locale, "duration-hour")
    minute = set(_MINUTE_WORDS) | _locale_words(locale, "duration-minute")
    if symbol:
        hour.add(symbol)
    h, m = _alternation(hour), _alternation(minute)
    return (
        re.compile(rf"(\d+):(\d\d)(?: ?{h})?"),  # 1:30, 1:30 h
        re.compile(rf"(\d+) ?{h} ?(\d\d?)(?: ?{m})?"),  # 1h30, 1 h 30 min
        re.compile(rf"({_NUMBER}) ?{m}"),  # 90 min
        re.compile(rf"({_NUMBER})(?: ?{h})?"),  # 1.5, 2 h
    )


@lru_cache(maxsize=256)
def _symbol_pattern(symbol: str) -> re.Pattern:
    s = re.escape(symbol) if symbol else "(?!)"
    return re.compile(rf"(?:{s} ?)?({_NUMBER})(?: ?{s})?")


@lru_cache(maxsize=64)
def _separators(locale: str) -> tuple[str, str]:
    """Return the locale's (decimal, group) symbols, normalized like typed text."""
    try:
        decimal = _normalize(get_decimal_symbol(locale, numbering_system=NUMBERING)) or "."
        group = _normalize(get_group_symbol(locale, numbering_system=NUMBERING)) or " "
    except (UnknownLocaleError, ValueError):
        decimal, group = ".", ","
    return decimal, group


def _to_decimal(number: str, locale: str) -> Decimal:
    """Return the value of a digits-and-separators string (see the module docstring)."""
    parts = _SEPARATOR.split(number)
    digits, separators = parts[0::2], parts[1::2]
    if not separators:
        return Decimal(number)
    decimal_symbol, group_symbol = _separators(locale)
    last = separators[-1]
    if last == _ARABIC_DECIMAL:
        is_decimal = True
    elif last in (_ARABIC_GROUP, " ", "'"):
        is_decimal = False
    elif len(separators) > 1:
        # 1.234,5 / 1,234.5: a last separator unlike the others is decimal; 1.234.567 groups.
        is_decimal = any(separator != last for separator in separators[:-1])
    else:
        is_grouping = (
            last == group_symbol and last != decimal_symbol
            and len(digits[-1]) == 3 and not digits[0].startswith("0")
        )
        is_decimal = not is_grouping
    whole, whole_separators = (digits[:-1], separators[:-1]) if is_decimal else (digits, separators)
    if whole_separators:
        grouped_correctly = (
            len(set(whole_separators)) == 1
            and whole_separators[0] != _ARABIC_DECIMAL
            and 1 <= len(whole[0]) <= 3 and not whole[0].startswith("0")
            and all(len(group) == 3 for group in whole[1:])
        )
        if not grouped_correctly:
            raise AmountError("invalid")
    text = "".join(whole) + ("." + digits[-1] if is_decimal else "")
    try:
        return Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern admits digits only
        raise AmountError("invalid") from error


def _subunits(value: Decimal, per: int) -> int:
    subunits = value * per
    if subunits != subunits.to_integral_value():
        raise AmountError("precision")
    return int(subunits)


def parse_amount(
    text: str, *, subunits_per_unit: int, locale: str = "en", symbol: str | None = None
) -> int:
    """Return the positive amount in subunits that ``text`` denotes.

    ``locale`` decides between decimal and group separators (see the module docstring);
    ``symbol`` (the currency's, e.g. ``h`` or ``T$``) may come before or after the number.
    Raises :class:`AmountError` for empty, negative, zero, non-numeric, finer-than-a-subunit or
    oversized input (``str(error)`` says which).
    """
    raw = _normalize(text or "")
    if not raw:
        raise AmountError("empty")
    if len(raw) > MAX_TEXT:
        raise AmountError("invalid")
    if raw[0] in "-+":
        raise AmountError("negative")
    subunits = _parse(raw, subunits_per_unit, locale, _normalize(symbol or ""))
    if subunits <= 0:
        raise AmountError("zero")
    if subunits > MAX_UNITS * subunits_per_unit:
        raise AmountError("too_large")
    return subunits


def _parse(raw: str, per: int, locale: str, symbol: str) -> int:
    if per != 60:
        match = _symbol_pattern(symbol).fullmatch(raw)
        if match is None:
            raise AmountError("invalid")
        return _subunits(_to_decimal(match.group(1), locale), per)
    clock, hours_minutes, minutes_only, hours_only = _time_patterns(locale, symbol)
    for pattern in (clock, hours_minutes):
        match = pattern.fullmatch(raw)
        if match:
            hours, minutes = int(match.group(1)), int(match.group(2))
            if minutes >= 60:
                raise AmountError("invalid")
            return hours * 60 + minutes
    match = minutes_only.fullmatch(raw)
    if match:
        return _subunits(_to_decimal(match.group(1), locale), 1)
    match = hours_only.fullmatch(raw)
    if match:
        return _subunits(_to_decimal(match.group(1), locale), 60)
    raise AmountError("invalid")


def format_money(amount: int, currency, *, with_symbol: bool = True) -> str:
    """Format ``amount`` subunits of ``currency`` for the current locale (``1:30 h``)."""
    from timebank.i18n import current_locale

    return format_amount(
        amount,
        subunits_per_unit=currency.subunits_per_unit,
        locale=current_locale(),
        symbol=currency.symbol if with_symbol else None,
    )
