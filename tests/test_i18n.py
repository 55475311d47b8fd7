"""Every member in their own language: which language a page is in, the switcher, the group's
language settings, right-to-left Arabic, dates in the group's time zone, and email in the
recipient's language.

The order (timebank/i18n.py): saved preference, then the visitor's switcher cookie, then the
group's default language, then Accept-Language; only languages the site offers count.
"""

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from babel.support import Translations
from flask import g
from flask_babel import force_locale, format_datetime

from tests.conftest import coordinator_of
from timebank import translations
from timebank.extensions import db
from timebank.i18n import LANGUAGES, html_lang, locale_for_user, text_direction
from timebank.models import Currency, Group, User
from timebank.tenants import group_context

PAGES = {"/dashboard": "Dashboard", "/statement": "Statement", "/pay": "Pay"}


def translated(locale: str, message: str) -> str:
    return Translations.load(str(translations.TRANSLATIONS), [locale]).gettext(message)


def html_attributes(page: str) -> dict[str, str]:
    tag = re.search(r"<html([^>]*)>", page).group(1)
    return dict(re.findall(r'(\w+)="([^"]*)"', tag))


def title(page: str) -> str:
    return re.search(r"<title>(.*?)</title>", page, re.S).group(1).strip()


def set_languages(app, group: Group, languages: list[str], default: str) -> None:
    with app.app_context():
        row = db.session.get(Group, group.id)
        row.languages, row.default_locale = languages, default
        db.session.commit()


def saved_locale(app, email: str) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(User.locale).where(User.email == email))


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def ann(group, make_member):
    return make_member(group, name="Ann")


# --- each shipped language renders the member's pages ------------------------------------------


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_each_language_renders_dashboard_statement_and_pay(
    locale, group, ann, make_member, make_transfer, client_for, login
):
    ben = make_member(group, name="Ben")
    make_transfer(ann, ben, 90, "Gardening")
    client = login(client_for("greenvale"), ann.user.email)
    assert client.post(f"/language/{locale}?next=/dashboard").status_code == 302
    for path, message in PAGES.items():
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        attributes = html_attributes(page)
        assert attributes["lang"] == html_lang(locale)
        assert attributes["dir"] == ("rtl" if locale == "ar" else "ltr")
        expected = translated(locale, message)
        assert title(page).startswith(f"{expected} ·"), (path, title(page))
        if locale != "en":
            assert expected != message, f"{message!r} is not translated to {locale}"
        rtl_css = "vendor/bootstrap/bootstrap.rtl.min.css" in page
        assert rtl_css == (locale == "ar")


def test_arabic_pages_are_right_to_left_with_arabic_numbers(group, ann, make_member,
                                                            make_transfer, client_for, login):
    ben = make_member(group, name="Ben")
    make_transfer(ann, ben, 90, "Gardening")
    client = login(client_for("greenvale"), ann.user.email)
    client.post("/language/ar")
    page = client.get("/dashboard").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    # The balance in Arabic formatting: CLDR's Arabic minus sign (a left-to-right mark first).
    assert "\u200e-1:30 h" in page
    assert translated("ar", "Balance") in page
    css = client.get("/static/vendor/bootstrap/bootstrap.rtl.min.css")
    assert css.status_code == 200 and b"Bootstrap  v5.3.8" in css.data


# --- which language wins -----------------------------------------------------------------------


def test_apex_follows_accept_language(client_for):
    page = client_for(None).get("/", headers={"Accept-Language": "de-AT,de;q=0.9,en;q=0.5"})
    assert html_attributes(page.get_data(as_text=True))["lang"] == "de"
    page = client_for(None).get("/", headers={"Accept-Language": "pt-PT,en;q=0.5"})
    assert html_attributes(page.get_data(as_text=True))["lang"] == "pt-BR"
    page = client_for(None).get("/", headers={"Accept-Language": "zh-CN"})
    assert html_attributes(page.get_data(as_text=True))["lang"] == "en"


def test_group_default_beats_accept_language(make_group, client_for):
    make_group("barrio", locale="es")
    page = client_for("barrio").get("/", headers={"Accept-Language": "de"})
    assert html_attributes(page.get_data(as_text=True))["lang"] == "es"


def test_visitor_cookie_beats_group_default_and_accept_language(make_group, client_for):
    make_group("barrio", locale="es")
    client = client_for("barrio")
    response = client.post("/language/ca?next=/", headers={"Accept-Language": "de"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "locale=ca" in response.headers["Set-Cookie"]
    assert "HttpOnly" in response.headers["Set-Cookie"]
    assert "Domain" not in response.headers["Set-Cookie"]  # host-only: this group's site
    page = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert html_attributes(page)["lang"] == "ca"
    # Another group's site does not see it.
    make_group("river", locale="fr")
    other = client_for("river").get("/").get_data(as_text=True)
    assert html_attributes(other)["lang"] == "fr"


def test_saved_preference_beats_cookie_group_default_and_accept_language(
    app, make_group, make_member, client_for, login
):
    group = make_group("barrio", locale="es")
    member = make_member(group, name="Marta")
    client = client_for("barrio")
    client.post("/language/fr")  # as a visitor: cookie only
    login(client, member.user.email)
    assert html_attributes(client.get("/dashboard").get_data(as_text=True))["lang"] == "fr"
    client.post("/language/it")  # logged in: saved on the profile
    assert saved_locale(app, member.user.email) == "it"
    other_browser = login(client_for("barrio"), member.user.email)
    page = other_browser.get("/dashboard", headers={"Accept-Language": "de"})
    assert html_attributes(page.get_data(as_text=True))["lang"] == "it"


def test_member_without_preference_gets_the_group_default(make_group, make_member, client_for,
                                                          login):
    group = make_group("barrio", locale="es")
    member = make_member(group, name="Marta")
    client = login(client_for("barrio"), member.user.email)
    page = client.get("/dashboard", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert html_attributes(page)["lang"] == "es"


def test_only_languages_the_group_offers_are_used(app, make_group, make_member, client_for,
                                                   login):
    group = make_group("barrio", locale="es")
    member = make_member(group, name="Marta")
    client = login(client_for("barrio"), member.user.email)
    client.post("/language/ar")
    assert saved_locale(app, member.user.email) == "ar"
    set_languages(app, group, ["ca", "es"], "ca")
    page = client.get("/dashboard").get_data(as_text=True)
    assert html_attributes(page)["lang"] == "ca"  # "ar" is not offered: the default
    switcher = re.findall(r'data-locale="([^"]+)"', page)
    assert switcher == ["es", "ca"]
    assert client.post("/language/de").status_code == 404
    assert saved_locale(app, member.user.email) == "ar"  # kept for groups that offer it
    # The network site offers every shipped language.
    apex = login(client_for(None), member.user.email).get("/").get_data(as_text=True)
    assert html_attributes(apex)["lang"] == "ar"
    assert re.findall(r'data-locale="([^"]+)"', apex) == list(LANGUAGES)


def test_switcher_is_on_every_page_for_visitors_too(group, client_for):
    for path in ("/", "/login", "/signup"):
        page = client_for("greenvale").get(path).get_data(as_text=True)
        assert re.findall(r'data-locale="([^"]+)"', page) == list(LANGUAGES), path
    page = client_for(None).get("/login").get_data(as_text=True)
    assert 'action="/language?next=' in page and 'name="code" value="ar"' in page
    assert 'action="/language?next=/login"' in page  # no stray "?" when there is no query
    page = client_for(None).get("/login?x=1").get_data(as_text=True)
    assert 'action="/language?next=/login?x%3D1"' in page  # a query goes along


def test_switcher_refuses_unknown_codes_and_foreign_next(group, client_for):
    client = client_for("greenvale")
    assert client.post("/language/xx").status_code == 404
    response = client.post("/language/de?next=//evil.example.org/")
    assert response.status_code == 302
    assert "evil" not in response.headers["Location"]
    assert client.post("/language", data={"code": "xx"}).status_code == 404
    assert client.post("/language").status_code == 404


def test_the_menus_one_form_switches_to_the_button_pressed(group, client_for):
    """The menu posts its one form with the pressed button's ``code``."""
    client = client_for("greenvale")
    response = client.post("/language?next=/login", data={"code": "fr"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    page = client.get("/login").get_data(as_text=True)
    assert html_attributes(page)["lang"] == "fr"


# --- the coordinator's language settings -------------------------------------------------------


def test_coordinator_chooses_languages_and_default(app, group, ann, client_for, login):
    coordinator = coordinator_of(app, group)
    client = login(client_for("greenvale"), coordinator.user.email)
    page = client.get("/settings/languages").get_data(as_text=True)
    assert 'id="languages-form"' in page and "settings/languages" in page
    assert 'id="language-settings"' in client.get("/dashboard").get_data(as_text=True)
    response = client.post(
        "/settings/languages", data={"languages": ["nl", "de", "en"], "default_locale": "nl"}
    )
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(Group, group.id)
        assert (row.languages, row.default_locale) == (["en", "de", "nl"], "nl")
    page = client.get("/settings/languages").get_data(as_text=True)
    assert html_attributes(page)["lang"] == "en"  # provisioning saved the coordinator's "en"
    member = login(client_for("greenvale"), ann.user.email)  # no saved preference
    page = member.get("/dashboard", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert html_attributes(page)["lang"] == "nl"
    assert re.findall(r'data-locale="([^"]+)"', page) == ["en", "de", "nl"]


def test_default_language_must_be_offered(app, group, client_for, login):
    coordinator = coordinator_of(app, group)
    client = login(client_for("greenvale"), coordinator.user.email)
    client.post("/language/es")
    response = client.post(
        "/settings/languages", data={"languages": ["en", "fr"], "default_locale": "de"}
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    with app.test_request_context(), force_locale("es"):
        from flask_babel import gettext

        message = gettext(
            "The default language must be one of the languages the group offers."
        )
    assert message in page
    response = client.post("/settings/languages", data={"default_locale": "en"})
    assert response.status_code == 200
    with app.app_context():
        row = db.session.get(Group, group.id)
        assert row.languages == list(LANGUAGES) and row.default_locale == "en"


def test_members_cannot_change_languages(group, ann, client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    assert client.get("/settings/languages").status_code == 403
    assert client.post("/settings/languages", data={"languages": ["en"],
                                                    "default_locale": "en"}).status_code == 403
    assert 'id="language-settings"' not in client.get("/dashboard").get_data(as_text=True)


def test_database_refuses_a_default_language_not_offered(app, group):
    import sqlalchemy.exc

    with app.app_context():
        row = db.session.get(Group, group.id)
        row.languages = ["en"]
        row.default_locale = "fr"
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


# --- provisioning, time zone, email ------------------------------------------------------------


def test_provisioning_offers_every_language_and_names_content_in_the_default(app, make_group):
    group = make_group("zeitbank", locale="de")
    from timebank.models.marketplace import Category

    with app.app_context(), group_context(group.id):
        row = db.session.get(Group, group.id)
        assert row.languages == list(LANGUAGES)
        names = db.session.scalars(sa.select(Currency.name)).all()
        categories = set(db.session.scalars(sa.select(Category.name)))
    assert names == [translated("de", "Hours")] and names != ["Hours"]
    assert translated("de", "Home and garden") in categories
    assert "Home and garden" not in categories


def test_times_are_shown_in_the_group_time_zone(app, group):
    with app.app_context():
        row = db.session.get(Group, group.id)
        row.timezone = "Asia/Tokyo"
        db.session.flush()
        with app.test_request_context(), force_locale("de"):
            g.group = row
            text = format_datetime(datetime(2026, 1, 5, 0, 30, tzinfo=UTC), "short")
        db.session.rollback()
    assert text == "05.01.26, 09:30"


def test_email_is_in_the_recipients_language_not_the_senders(app, make_group, make_member,
                                                             client_for, outbox):
    group = make_group("barrio", locale="fr")
    member = make_member(group, name="Marta")
    # The request comes from a Spanish-speaking browser on the network site.
    client = client_for(None)
    client.post("/language/es")
    client.post("/password/forgot", data={"email": member.user.email},
                headers={"Accept-Language": "es"})
    assert len(outbox) == 1
    subject = translated("fr", "Reset your password")
    assert outbox[0].subject == subject and subject != "Reset your password"
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == member.user.email))
        user.locale = "de"
        db.session.commit()
    outbox.clear()
    client.post("/password/forgot", data={"email": member.user.email})
    assert outbox[0].subject == translated("de", "Reset your password")


def test_mail_language_rule(app, make_group):
    group = make_group("barrio", locale="fr")
    set_languages(app, group, ["fr", "nl"], "fr")
    with app.app_context():
        row = db.session.get(Group, group.id)
        assert locale_for_user(User(locale="nl"), row) == "nl"
        assert locale_for_user(User(locale="ar"), row) == "fr"  # not offered: group default
        assert locale_for_user(User(locale=None), row) == "fr"
        assert locale_for_user(User(locale="ar"), None) == "ar"


def test_text_direction():
    assert [code for code in LANGUAGES if text_direction(code) == "rtl"] == ["ar"]


@pytest.mark.parametrize("locale,symbol", [("en", "h"), ("es", "h"), ("nl", "u"), ("ar", "س")])
def test_hours_symbol_is_in_the_default_language(app, make_group, locale, symbol):
    group = make_group(f"symbol-{locale.lower()}", locale=locale)
    with app.app_context(), group_context(group.id):
        assert db.session.scalars(sa.select(Currency.symbol)).all() == [symbol]
