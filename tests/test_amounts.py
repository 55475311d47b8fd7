"""Parsing amounts people type and formatting amounts for them (integers in subunits)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from timebank.ledger.amounts import MAX_UNITS, AmountError, format_amount, parse_amount


def hours(text: str, locale: str = "en") -> int:
    return parse_amount(text, subunits_per_unit=60, locale=locale)


@pytest.mark.parametrize("text,minutes", [
    ("1:30", 90), ("1.5", 90), ("1,5", 90), ("90 min", 90), ("90min", 90), ("90 minutes", 90),
    ("1h30", 90), ("1 h 30", 90), ("1h30min", 90), ("1:30 h", 90), ("2 h", 120), ("2h", 120),
    ("2 hours", 120), ("2", 120), ("0:01", 1), ("0.25", 15), ("00:45", 45), ("  3:05  ", 185),
    ("1.5 h", 90), ("10:00", 600), ("١:٣٠", 90), ("۱٫۵", 90),
])
def test_hours_parse_to_minutes(text, minutes):
    assert hours(text) == minutes


@pytest.mark.parametrize("text,locale,minutes", [
    ("1,5", "de", 90), ("1.5", "de", 90), ("1,25", "fr", 75), ("1.234,5", "de", 74070),
    ("1,234.5", "en", 74070),
])
def test_locale_decides_between_decimal_and_group_separators(text, locale, minutes):
    assert hours(text, locale) == minutes


@pytest.mark.parametrize("text,reason", [
    ("", "empty"), ("   ", "empty"), ("0", "zero"), ("0:00", "zero"), ("0 min", "zero"),
    ("-1", "negative"), ("−1", "negative"), ("+1", "negative"),
    ("abc", "invalid"), ("1e9", "invalid"), ("1E2", "invalid"), ("NaN", "invalid"),
    ("inf", "invalid"), ("1:60", "invalid"), ("1:5:0", "invalid"), ("1..5", "invalid"),
    ("1.5.5", "invalid"), ("0x10", "invalid"), ("h", "invalid"),
    ("1.001", "precision"), ("0.3333", "precision"),
    ("99999999", "too_large"), (f"{MAX_UNITS + 1}", "too_large"),
    (f"{MAX_UNITS * 60 + 1} min", "too_large"),
])
def test_junk_is_rejected_with_a_reason(text, reason):
    with pytest.raises(AmountError) as error:
        hours(text)
    assert str(error.value) == reason


def test_largest_amount_is_accepted():
    assert hours(str(MAX_UNITS)) == MAX_UNITS * 60


@pytest.mark.parametrize("text,subunits_per_unit,subunits", [
    ("1.50", 100, 150), ("1,5", 100, 150), ("0.25", 4, 1), ("3", 4, 12), ("7", 1, 7),
])
def test_other_currencies_parse_decimals(text, subunits_per_unit, subunits):
    assert parse_amount(text, subunits_per_unit=subunits_per_unit) == subunits


def test_other_currencies_reject_finer_than_a_subunit():
    with pytest.raises(AmountError, match="precision"):
        parse_amount("0.1", subunits_per_unit=4)
    with pytest.raises(AmountError, match="invalid"):
        parse_amount("1:30", subunits_per_unit=100)


@pytest.mark.parametrize("subunits,subunits_per_unit,text", [
    (90, 60, "1:30"), (-90, 60, "-1:30"), (0, 60, "0:00"), (5, 60, "0:05"),
    (60_000, 60, "1000:00"), (150, 100, "1.50"), (-1, 4, "-0.25"), (7, 1, "7"),
])
def test_format_amount(subunits, subunits_per_unit, text):
    assert format_amount(subunits, subunits_per_unit=subunits_per_unit) == text


def test_format_amount_with_symbol_and_locale():
    assert format_amount(90, subunits_per_unit=60, symbol="h") == "1:30 h"
    assert format_amount(150, subunits_per_unit=100, locale="de") == "1,50"


@given(
    subunits=st.integers(min_value=1, max_value=MAX_UNITS * 60),
    locale=st.sampled_from(["en", "de", "fr", "es", "ca", "it", "pt_BR", "nl", "ar"]),
)
def test_what_is_shown_parses_back_to_the_same_hours(subunits, locale):
    text = format_amount(subunits, subunits_per_unit=60, locale=locale)
    assert parse_amount(text, subunits_per_unit=60, locale=locale) == subunits


@given(
    subunits=st.integers(min_value=1, max_value=MAX_UNITS * 100),
    locale=st.sampled_from(["en", "de", "fr", "es", "ca", "it", "pt_BR", "nl", "ar"]),
    subunits_per_unit=st.sampled_from([1, 4, 100]),
)
def test_what_is_shown_parses_back_for_decimal_currencies(subunits, locale, subunits_per_unit):
    subunits = min(subunits, MAX_UNITS * subunits_per_unit)
    text = format_amount(subunits, subunits_per_unit=subunits_per_unit, locale=locale)
    assert parse_amount(text, subunits_per_unit=subunits_per_unit, locale=locale) == subunits


def test_thousands_separator_followed_by_three_digits_groups():
    """A lone separator before three digits groups thousands in a locale that groups with it
    (``1,500`` in en, ``1.500`` in de); it is never read as one and a half."""
    assert parse_amount("1,500", subunits_per_unit=100, locale="en") == 150_000
    assert parse_amount("1.500", subunits_per_unit=100, locale="de") == 150_000


def test_space_between_hours_and_minutes_is_not_read_as_a_thousands_group():
    """``1 30`` (meant as 1 h 30) must not become 130 hours: spaces only group threes."""
    with pytest.raises(AmountError):
        hours("1 30")
    assert hours("1 234", "fr") == 1234 * 60
