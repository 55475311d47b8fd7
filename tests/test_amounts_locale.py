"""Amounts in every shipped locale: what the app prints parses back to the same subunits, what a
person types in their locale's way is understood, and junk is a form error in their language.
"""

import pytest
from flask_babel import force_locale
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from timebank.blueprints.forms import AMOUNT_MESSAGES, AmountField
from timebank.i18n import LANGUAGES
from timebank.ledger.amounts import MAX_UNITS, AmountError, format_amount, parse_amount

# Shipped locales, plus regional variants whose CLDR symbols differ (Arabic separators ٫ ٬,
# narrow spaces, apostrophes): the parser must read whatever Babel prints.
LOCALES = [*LANGUAGES, "ar_EG", "fr_CH", "de_CH", "pt_PT", "es_MX"]
SUBUNITS = [60, 100, 4, 1, 1000]
SYMBOLS = [None, "h", "T$", "€", "ساعة"]


@settings(max_examples=400, deadline=None)
@given(
    locale=st.sampled_from(LOCALES),
    subunits_per_unit=st.sampled_from(SUBUNITS),
    units=st.integers(min_value=0, max_value=MAX_UNITS),
    fraction=st.integers(min_value=0, max_value=999),
    symbol=st.sampled_from(SYMBOLS),
)
def test_what_is_printed_parses_back(locale, subunits_per_unit, units, fraction, symbol):
    subunits = min(units * subunits_per_unit + fraction % subunits_per_unit,
                   MAX_UNITS * subunits_per_unit)
    if subunits == 0:
        subunits = 1
    text = format_amount(subunits, subunits_per_unit=subunits_per_unit, locale=locale,
                         symbol=symbol)
    parsed = parse_amount(text, subunits_per_unit=subunits_per_unit, locale=locale, symbol=symbol)
    assert parsed == subunits, text


@settings(max_examples=300, deadline=None)
@given(locale=st.sampled_from(LOCALES), minutes=st.integers(min_value=1, max_value=10**6 * 60))
def test_hours_printed_without_the_symbol_parse_back(locale, minutes):
    text = format_amount(minutes, subunits_per_unit=60, locale=locale)
    assert parse_amount(text, subunits_per_unit=60, locale=locale) == minutes


@settings(max_examples=300, deadline=None)
@given(locale=st.sampled_from(LOCALES), minutes=st.integers(min_value=-(10**6) * 60,
                                                             max_value=10**6 * 60))
def test_hours_are_printed_as_babel_prints_them(locale, minutes):
    """Hours skip Babel for speed (``format_amount``): its "0" and "00" patterns must print the
    same, sign included, in every locale we print for."""
    from babel.numbers import format_decimal, get_minus_sign_symbol

    hours, rest = divmod(abs(minutes), 60)
    babel = (format_decimal(hours, format="0", locale=locale, numbering_system="default") + ":"
             + format_decimal(rest, format="00", locale=locale, numbering_system="default"))
    if minutes < 0:
        babel = get_minus_sign_symbol(locale, numbering_system="default") + babel
    assert format_amount(minutes, subunits_per_unit=60, locale=locale) == babel


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=80), locale=st.sampled_from(LOCALES),
       subunits_per_unit=st.sampled_from(SUBUNITS))
def test_any_text_is_an_amount_or_an_amount_error(text, locale, subunits_per_unit):
    try:
        value = parse_amount(text, subunits_per_unit=subunits_per_unit, locale=locale)
    except AmountError as error:
        assert str(error) in AMOUNT_MESSAGES
    else:
        assert 0 < value <= MAX_UNITS * subunits_per_unit


@pytest.mark.parametrize("locale,text,minutes", [
    ("es", "1,5", 90), ("es", "1.5", 90), ("de", "1,5", 90), ("fr", "1,5", 90),
    ("it", "1,25", 75), ("pt_BR", "0,5", 30), ("nl", "2,75", 165), ("ca", "1,5", 90),
    ("en", "1.5", 90), ("en", "1,5", 90), ("ar", "1.5", 90), ("ar", "١٫٥", 90),
    ("ar", "١:٣٠", 90), ("ar", "۱:۳۰", 90),
    ("en", "1:30", 90), ("de", "1:30", 90), ("ar", "1:30", 90),
    ("en", "90 min", 90), ("fr", "90 min", 90), ("ar", "90 min", 90),
    ("de", "90 Minuten", 90), ("de", "1,5 Std.", 90), ("de", "2 Stunden", 120),
    ("es", "2 horas", 120), ("es", "90 minutos", 90), ("ca", "2 hores", 120),
    ("fr", "2 heures", 120), ("it", "2 ore", 120), ("pt_BR", "45 minutos", 45),
    ("nl", "2 uur", 120), ("nl", "90 minuten", 90), ("ar", "٩٠ دقيقة", 90),
    ("ar", "2 ساعات", 120), ("ar", "٢ س", 120),
    ("en", "1h30", 90), ("fr", "1 h 30", 90), ("es", "1 h 30 min", 90),
])
def test_typed_the_local_way(locale, text, minutes):
    assert parse_amount(text, subunits_per_unit=60, locale=locale) == minutes


@pytest.mark.parametrize("locale,text,subunits", [
    ("en", "1,500", 150_000), ("en", "1.50", 150), ("de", "1.500", 150_000),
    ("de", "1,50", 150), ("de", "1.234,50", 123_450), ("fr", "1\u202f234,50", 123_450),
    ("fr", "1 234,50", 123_450), ("es", "1.234,5", 123_450), ("ar", "1,234.50", 123_450),
    ("ar_EG", "١٬٢٣٤٫٥٠", 123_450), ("de_CH", "1’234.50", 123_450), ("en", "0,50", 50),
])
def test_decimal_currencies_by_locale(locale, text, subunits):
    assert parse_amount(text, subunits_per_unit=100, locale=locale) == subunits


@pytest.mark.parametrize("text", ["1 30", "1,5,5", "12,34,567", "1.2.3", "1:30:00", "0x1",
                                  "1e3", "½", "1/2", "١:٣", "1:7", "dos horas", "h30"])
def test_ambiguous_or_malformed_is_refused(text):
    with pytest.raises(AmountError):
        parse_amount(text, subunits_per_unit=60, locale="en")


def test_arabic_formatting_follows_cldr():
    # CLDR's default numbering for "ar" is Latin digits; negative amounts carry a
    # left-to-right mark so the minus sign stays before the number in right-to-left text.
    assert format_amount(90, subunits_per_unit=60, locale="ar", symbol="h") == "1:30 h"
    assert format_amount(-90, subunits_per_unit=60, locale="ar") == "\u200e-1:30"
    assert format_amount(123456, subunits_per_unit=100, locale="ar") == "1,234.56"
    assert format_amount(123456, subunits_per_unit=100, locale="de") == "1.234,56"
    assert format_amount(123456, subunits_per_unit=100, locale="fr") == "1\u202f234,56"


# --- junk is a field error in the person's language --------------------------------------------


class _AmountForm(FlaskForm):
    class Meta:
        csrf = False

    amount = AmountField("Amount")


def _form_errors(app, locale: str, text: str, subunits_per_unit: int = 60):
    with app.test_request_context(method="POST", data={"amount": text}), force_locale(locale):
        form = _AmountForm()
        form.amount.subunits_per_unit = subunits_per_unit
        valid = form.validate()
        expected = {reason: str(message) for reason, message in AMOUNT_MESSAGES.items()}
        return valid, list(form.amount.errors), expected, form.amount.subunits


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40), locale=st.sampled_from(list(LANGUAGES)))
def test_junk_gives_a_form_error_in_that_language(app, text, locale):
    try:
        parse_amount(text, subunits_per_unit=60, locale=locale)
    except AmountError as error:
        reason = str(error)
    else:
        return  # a real amount: nothing to complain about
    valid, errors, expected, subunits = _form_errors(app, locale, text)
    assert not valid and subunits is None
    assert errors == [expected[reason]]


@pytest.mark.parametrize("locale", [code for code in LANGUAGES if code != "en"])
def test_amount_errors_are_translated(app, locale):
    valid, errors, _, _ = _form_errors(app, locale, "abc")
    assert not valid
    with app.test_request_context(), force_locale("en"):
        english = str(AMOUNT_MESSAGES["invalid"])
    assert errors and errors[0] != english
    valid, errors, _, _ = _form_errors(app, locale, "abc", subunits_per_unit=100)
    example = format_amount(150, subunits_per_unit=100, locale=locale)
    assert example in errors[0]


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_junk_on_the_pay_page_is_a_field_error_never_a_500(
    locale, app, make_group, make_member, client_for, login
):
    group = make_group("greenvale")
    ann = make_member(group, name="Ann")
    ben = make_member(group, name="Ben")
    client = login(client_for("greenvale"), ann.user.email)
    client.post(f"/language/{locale}")
    for junk in ["abc", "-1", "1e9", "1:75", "٫", "9" * 70, "\u202eabc"]:
        response = client.post("/pay", data={"payee": ben.id, "amount": junk,
                                             "description": "Help", "idempotency_key": junk})
        assert response.status_code == 200, junk
        page = response.get_data(as_text=True)
        with app.test_request_context(), force_locale(locale):
            messages = [str(escape(message)) for message in AMOUNT_MESSAGES.values()]
        assert any(message in page for message in messages), junk
