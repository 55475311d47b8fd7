"""Decimal form fields (a demurrage rate, a currency's value in network hours) are typed and
shown in the user's locale: ``2,5`` where the comma is the decimal sign, ``2.5`` everywhere;
garbage is a translated error next to the field, never a 500 and never a silent 25."""

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.ledger_support import in_group
from timebank.blueprints.forms import format_local_decimal, parse_local_decimal
from timebank.extensions import db
from timebank.models import Currency

COMMA_LOCALES = ["de", "es", "fr", "it", "nl", "pt_BR", "ca"]


@pytest.mark.parametrize("locale", COMMA_LOCALES)
def test_comma_locales_read_the_decimal_comma_and_the_plain_dot(locale):
    assert parse_local_decimal("2,5", locale) == Decimal("2.5")
    assert parse_local_decimal(" 2.5 ", locale) == Decimal("2.5")  # never 25
    assert parse_local_decimal("0,01", locale) == Decimal("0.01")
    assert format_local_decimal(Decimal("2.50"), locale) == "2,5"


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_dot_locales_read_the_dot_and_refuse_a_comma(locale):
    assert parse_local_decimal("2.5", locale) == Decimal("2.5")
    with pytest.raises(ValueError):
        parse_local_decimal("2,5", locale)  # 25 or 2.5? Neither is guessed.
    assert format_local_decimal(Decimal("1.0000"), locale) == "1"


@pytest.mark.parametrize("text", ["abc", "2,5,5", "1e3", "--2", "½"])
def test_garbage_is_refused(text):
    for locale in ("en", "de", "fr"):
        with pytest.raises(ValueError):
            parse_local_decimal(text, locale)


def test_french_spaces_between_thousands():
    assert parse_local_decimal("1 234,5", "fr") == Decimal("1234.5")
    assert parse_local_decimal(format_local_decimal(Decimal("1234.5"), "fr"), "fr") == (
        Decimal("1234.5")
    )


@pytest.fixture
def treasurer(make_group, make_member, client_for, login):
    group = make_group("greenvale")
    tess = make_member(group, name="Tess", role="treasurer")
    return group, login(client_for("greenvale"), tess.user.email)


def _form(client, path: str) -> dict:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    return {"csrf_token": found.group(1)} if found else {}


def _charges(client, rate: str):
    data = {
        **_form(client, "/currencies/HOUR/charges"),
        "fee_interval": "month",
        "fee_policy": "skip",
        "demurrage_rate": rate,
    }
    return client.post("/currencies/HOUR/charges", data=data)


def _rate(app, group) -> int | None:
    with in_group(app, group):
        return db.session.scalar(sa.select(Currency.demurrage_rate))


def test_a_german_treasurer_types_a_decimal_comma_and_sees_it_again(app, treasurer):
    group, client = treasurer
    assert client.post("/language/de").status_code == 302
    response = _charges(client, "2,5")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _rate(app, group) == 250  # basis points: 2.5 %
    page = client.get("/currencies/HOUR/charges").get_data(as_text=True)
    assert re.search(r'name="demurrage_rate"[^>]*value="2,5"', page)
    garbage = _charges(client, "zwei")
    html = garbage.get_data(as_text=True)
    assert garbage.status_code == 422 and "Gib eine Zahl wie 2,5 ein." in html
    assert 'value="zwei"' in html  # what they typed stays
    assert _rate(app, group) == 250


def test_an_english_treasurer_types_a_dot_and_a_comma_is_an_error(app, treasurer):
    group, client = treasurer
    assert _charges(client, "1.25").status_code == 302
    assert _rate(app, group) == 125
    page = client.get("/currencies/HOUR/charges").get_data(as_text=True)
    assert re.search(r'name="demurrage_rate"[^>]*value="1.25"', page)
    refused = _charges(client, "2,5")
    assert refused.status_code == 422
    assert "Enter a number like 2.5." in refused.get_data(as_text=True)
    assert _rate(app, group) == 125
