"""In Chromium: a logged-in member switches to Arabic; the page turns right-to-left with
Bootstrap's RTL stylesheet, the balance reads in Arabic formatting, and the choice is saved.
"""

import pytest
import sqlalchemy as sa
from babel.support import Translations
from playwright.sync_api import expect

from tests.browser.conftest import normalized_text
from timebank import translations
from timebank.extensions import db
from timebank.ledger.amounts import format_amount
from timebank.models import User

pytestmark = pytest.mark.browser

SLUG = "greenvale"


def arabic(message: str) -> str:
    return Translations.load(str(translations.TRANSLATIONS), ["ar"]).gettext(message)


def test_member_switches_to_arabic(
    live_server, make_group, make_member, make_transfer, new_context, browser_login, screenshot
):
    group = make_group(SLUG)
    ann = make_member(group, name="Ann Archer")
    ben = make_member(group, name="Ben Baker")
    make_transfer(ann, ben, 90, "Fixing the garden gate")

    page = new_context(locale="en-US").new_page()
    browser_login(page, ann.user.email, slug=SLUG)
    page.goto(live_server.url("/dashboard", slug=SLUG))
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    assert normalized_text(page.locator("#balance").inner_text()) == "-1:30 h"

    # The language switcher in the menu: Arabic.
    page.click("#language-menu")
    with page.expect_navigation():
        page.click('button[data-locale="ar"]')

    html = page.locator("html")
    expect(html).to_have_attribute("lang", "ar")
    expect(html).to_have_attribute("dir", "rtl")
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    sheets = page.evaluate("[...document.styleSheets].map(s => s.href || '')")
    assert any(s.endswith("/static/vendor/bootstrap/bootstrap.rtl.min.css") for s in sheets)
    assert page.evaluate("[...document.styleSheets].every(s => s.cssRules.length > 0)")

    # The menu reads from the right: the group's name is right of the language menu.
    brand = page.locator(".navbar-brand").bounding_box()
    menu = page.locator("#language-menu").bounding_box()
    assert brand["x"] > menu["x"]
    expect(page.get_by_role("link", name=arabic("Dashboard")).first).to_be_visible()
    expect(page.locator("h1")).to_contain_text(arabic("Hello %(name)s") % {"name": "Ann Archer"})

    # The balance in Arabic formatting: exactly what Babel prints for "ar" (CLDR), which puts a
    # left-to-right mark before the minus sign so it stays before the number.
    balance = page.locator("#balance").inner_text().strip()
    assert balance == format_amount(-90, subunits_per_unit=60, locale="ar", symbol="h")
    assert balance.startswith("\u200e-")
    assert arabic("Balance") != "Balance"
    expect(page.get_by_text(arabic("Balance"), exact=True).first).to_be_visible()
    number = page.locator("#balance .amount").bounding_box()
    line = page.locator("#balance").bounding_box()
    assert number["x"] + number["width"] >= line["x"] + line["width"] - 2  # starts at the right
    screenshot(page, "dashboard-ar")

    # Saved on the profile: a new browser, after logging in, is in Arabic too.
    with live_server.app.app_context():
        saved = db.session.scalar(sa.select(User.locale).where(User.email == ann.user.email))
    assert saved == "ar"
    other = new_context(locale="en-US").new_page()
    browser_login(other, ann.user.email, slug=SLUG)
    other.goto(live_server.url("/statement", slug=SLUG))
    expect(other.locator("html")).to_have_attribute("dir", "rtl")
    assert other.locator("#balance").inner_text().strip() == balance
