"""Journeys of issue 17, driven by visible labels only: from the dashboard, by what a person
reads on the screen (link and button names, field labels, menu names), never by typing a URL.

* overspend: a member with a credit limit pays more than they can, and is told so in the
  second person, with what they can still spend;
* invoice and reversal: a member requests a payment, the payer approves it from the
  dashboard, and the treasurer finds it in the group ledger and reverses it;
* moving between groups: a member of two timebanks goes from one to the other through
  "My timebanks", and a timebank they do not belong to offers "Join this timebank" first;
* join and trade: a newcomer signs up (the emailed link), finds an ad with a misspelt search
  and pays for it from the ad;
* volunteering and kudos: a task posted from the Manage menu, a pledge, the part marked done
  once the task has begun, the kudos board;
* Spanish and Arabic: a payment typed with a decimal comma by the Spanish labels, then the
  dashboard in Arabic, right to left.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import choose_member, normalized_text, open_menu
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

SLUG = "journeyvale"


def log_in(page, email: str) -> None:
    """Log in through the form the "Log in" link opens, by its labels."""
    page.get_by_role("link", name="Log in", exact=True).first.click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def journeyvale(make_group, make_member):
    group = make_group(SLUG, join_policy="approval")
    return {
        "group": group,
        "ann": make_member(group, name="Ann Baker", email="ann@journeyvale.example.org"),
        "dan": make_member(group, name="Dan Evans", email="dan@journeyvale.example.org",
                           min_balance=-30),
        "tess": make_member(group, name="Tess Treasurer", role="treasurer",
                            email="tess@journeyvale.example.org"),
    }


def test_overspending_is_refused_in_the_second_person(live_server, new_context, journeyvale):
    dan = new_context().new_page()
    dan.goto(live_server.url("/", slug=SLUG))
    log_in(dan, journeyvale["dan"].user.email)
    expect(dan.get_by_role("heading", name="Hello Dan Evans")).to_be_visible()
    dan.get_by_role("link", name="Pay someone").click()
    choose_member(dan, "Pay to", "Ann Baker")
    dan.get_by_label("Amount").fill("1:00")
    dan.get_by_label("What for").fill("Sewing")
    dan.get_by_role("button", name="Pay").click()
    refusal = normalized_text(dan.locator("main").inner_text())
    assert "This would take you below your credit limit. You can still spend 0:30" in refusal
    assert "Dan Evans" not in refusal.split("credit limit")[0]
    expect(dan.get_by_label("Amount")).to_have_value("1:00")  # kept what he typed
    # Within the limit, it goes through.
    dan.get_by_label("Amount").fill("0:30")
    dan.get_by_role("button", name="Pay").click()
    expect(dan.locator(".alert-success")).to_be_visible()


def test_an_invoice_is_approved_then_reversed_by_the_treasurer(live_server, new_context,
                                                               journeyvale):
    ann = new_context().new_page()
    ann.goto(live_server.url("/", slug=SLUG))
    log_in(ann, journeyvale["ann"].user.email)
    ann.get_by_role("link", name="Request a payment").click()
    choose_member(ann, "Ask", "Dan Evans")
    ann.get_by_label("Amount").fill("0:15")
    ann.get_by_label("What for").fill("Window cleaning")
    ann.get_by_role("button", name="Send request").click()
    expect(ann.locator(".alert-success")).to_be_visible()

    dan = new_context().new_page()
    dan.goto(live_server.url("/", slug=SLUG))
    log_in(dan, journeyvale["dan"].user.email)
    waiting = dan.get_by_role("listitem").filter(has_text="Window cleaning")
    waiting.get_by_role("button", name="Accept").click()
    expect(dan.get_by_text("Nothing is waiting for you.")).to_be_visible()
    expect(dan.get_by_role("row", name=re.compile("Window cleaning"))).to_contain_text(
        "to Ann Baker")

    tess = new_context().new_page()
    tess.goto(live_server.url("/", slug=SLUG))
    log_in(tess, journeyvale["tess"].user.email)
    open_menu(tess, "Manage")
    tess.get_by_role("list", name="Manage").get_by_role("link", name="Group ledger").click()
    tess.get_by_role("row", name=re.compile("Window cleaning")).get_by_role("link").first.click()
    tess.get_by_text("Reverse this transfer (treasurer)").click()
    tess.get_by_label("Reason").fill("Charged twice")
    tess.get_by_role("button", name="Reverse this transfer").click()
    expect(tess.locator(".alert-success")).to_be_visible()

    # Dan sees the reversal on his dashboard, by what it reverses.
    dan.reload()
    reversal = dan.get_by_role("row", name=re.compile("Reversal of “Window cleaning”"))
    expect(reversal).to_contain_text("from Ann Baker")


def test_moving_between_timebanks(live_server, new_context, journeyvale, make_group,
                                  make_member):
    other = make_group("riverside")
    make_member(other, name="Ann Baker", email="ann@journeyvale.example.org")
    make_group("hilltop", join_policy="approval")

    ann = new_context().new_page()
    ann.goto(live_server.url("/", slug=SLUG))
    log_in(ann, journeyvale["ann"].user.email)
    open_menu(ann, "Ann Baker")
    ann.get_by_role("list", name="Ann Baker").get_by_role("link", name="My timebanks").click()
    # Logins are per site (host-only cookies): the network site asks once.
    expect(ann.get_by_role("heading", name="Log in")).to_be_visible()
    ann.get_by_label("Email").fill(journeyvale["ann"].user.email)
    ann.get_by_label("Password").fill(PASSWORD)
    ann.get_by_role("button", name="Log in").click()
    expect(ann.get_by_role("heading", name="My timebanks")).to_be_visible()
    ann.get_by_role("row", name=re.compile("Riverside")).get_by_role("button",
                                                                      name="Open").click()
    expect(ann.get_by_role("heading", name="Hello Ann Baker")).to_be_visible()
    assert ann.url.startswith(live_server.url("/", slug="riverside"))

    # Back on the network site, a timebank she does not belong to offers to join first.
    open_menu(ann, "Ann Baker")
    ann.get_by_role("list", name="Ann Baker").get_by_role("link", name="Timebank network").click()
    ann.get_by_role("link", name=re.compile("Hilltop")).first.click()
    log_in(ann, journeyvale["ann"].user.email)
    ann.get_by_role("link", name="Join this timebank").first.click()
    ann.get_by_role("button", name="Ask to join").click()
    expect(ann.get_by_text("Your request to join is waiting for a coordinator.")).to_be_visible()


def test_join_and_trade_from_an_ad_found_with_a_typo(app, live_server, new_context, make_group,
                                                     make_member):
    """A newcomer signs up (confirming the email by its link), finds an ad with a misspelt
    search, and pays for it from the ad."""
    from tests.marketplace_support import make_ad, requires_trigram
    from timebank.mail import OUTBOX

    requires_trigram(app)
    group = make_group("openvale", join_policy="open")
    ann = make_member(group, name="Ann Baker", email="ann@openvale.example.org")
    make_ad(app, ann, title="Bike repairs", body="Punctures and brakes.", price=60)

    zoe = new_context().new_page()
    zoe.goto(live_server.url("/", slug="openvale"))
    zoe.get_by_role("link", name="Sign up").first.click()
    zoe.get_by_label("Your name").fill("Zoe Young")
    zoe.get_by_label("Email").fill("zoe@example.org")
    zoe.get_by_label("Password", exact=True).fill("walnut-orchard-7")
    zoe.get_by_label("Repeat password").fill("walnut-orchard-7")
    zoe.get_by_role("button", name="Sign up").click()
    mail = next(m for m in reversed(OUTBOX) if "zoe@example.org" in m.recipients)
    zoe.goto(re.search(r"https?://\S+/signup/confirm/\S+", mail.body).group(0))  # her inbox
    expect(zoe.get_by_role("heading", name="Hello Zoe Young")).to_be_visible()

    zoe.get_by_role("link", name="Marketplace").click()
    zoe.get_by_role("searchbox", name="Search").fill("bike repiars")
    zoe.get_by_role("button", name="Search").click()
    zoe.get_by_role("link", name="Bike repairs").click()
    zoe.get_by_role("link", name="Pay for this").click()
    # The ad chose the payee; "Pay to" now labels the member search box that stands for the
    # select (member_search.js), so read the select itself.
    chosen = zoe.locator("select#payee").evaluate("select => select.selectedOptions[0].text")
    assert "Ann Baker" in chosen
    if not zoe.get_by_label("Amount").input_value():
        zoe.get_by_label("Amount").fill("1:00")
    if not zoe.get_by_label("What for").input_value():
        zoe.get_by_label("What for").fill("Bike repairs")
    zoe.get_by_role("button", name="Pay").click()
    expect(zoe.locator(".alert-success")).to_contain_text("Ann Baker")
    zoe.get_by_role("navigation", name="Main menu").get_by_role("link", name="Statement").click()
    expect(zoe.get_by_role("row", name=re.compile("Bike repairs"))).to_contain_text("-1:00")
    # The statement's "With" filter is a search box too (a long history lists no one); the
    # box is made by member_search.js (deferred), which then labels it "With".
    search = zoe.locator("#counterparty-search")
    search.fill("bak")
    zoe.get_by_role("button", name="Ann Baker").click()
    zoe.get_by_role("button", name="Show").click()
    expect(zoe.get_by_label("With")).to_have_value("Ann Baker")
    expect(zoe.get_by_role("row", name=re.compile("Bike repairs"))).to_be_visible()


def test_volunteering_and_kudos(app, live_server, new_context, journeyvale, make_member):
    """An organizer posts a task from the Manage menu, a member pledges from Volunteering;
    once the task has begun the organizer marks her part done and her kudos rise."""
    from datetime import timedelta

    import sqlalchemy as sa

    from timebank.extensions import db
    from timebank.models import VolunteerTask, utcnow
    from timebank.tenants import group_context

    make_member(journeyvale["group"], name="Olive Organizer", role="organizer",
                email="olive@journeyvale.example.org")
    olive = new_context().new_page()
    olive.goto(live_server.url("/", slug=SLUG))
    log_in(olive, "olive@journeyvale.example.org")
    open_menu(olive, "Manage")
    olive.get_by_role("link", name="New volunteer task").click()
    olive.get_by_label("Title").fill("Plant the orchard")
    olive.get_by_label("What is it, where, what to bring").fill("Spades provided.")
    olive.get_by_label("Date").fill((utcnow() + timedelta(days=2)).date().isoformat())
    olive.get_by_label("Start time").fill("09:30")
    olive.get_by_label("How many volunteers").fill("4")
    olive.get_by_role("button", name="Post task").click()
    expect(olive.locator(".alert-success")).to_contain_text("Task posted.")

    ann = new_context().new_page()
    ann.goto(live_server.url("/", slug=SLUG))
    log_in(ann, journeyvale["ann"].user.email)
    ann.get_by_role("link", name="Volunteering").click()
    ann.get_by_role("link", name=re.compile("Plant the orchard")).click()
    ann.get_by_role("button", name="I'll help").click()
    expect(ann.locator(".alert-success")).to_contain_text("You pledged to help.")

    # The day comes: the task's start moves into the past.
    with app.app_context(), group_context(journeyvale["group"].id):
        db.session.execute(sa.update(VolunteerTask).values(starts_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    olive.get_by_role("link", name="Volunteering").click()
    olive.get_by_role("link", name=re.compile("Plant the orchard")).click()
    olive.get_by_role("row", name=re.compile("Ann Baker")).get_by_role(
        "button", name="Mark done").click()
    expect(olive.locator(".alert-success")).to_contain_text("Kudos to Ann Baker!")

    ann.get_by_role("link", name="Volunteering").click()
    ann.get_by_role("link", name="Kudos board").click()
    expect(ann.locator("main")).to_contain_text("Ann Baker")


def translated(locale: str, message: str) -> str:
    """``message`` as the shipped catalog of ``locale`` says it (what the reader sees)."""
    from babel.support import Translations

    from timebank import translations

    return Translations.load(str(translations.TRANSLATIONS), [locale]).gettext(message)


def test_spanish_then_arabic(live_server, new_context, make_group, make_member):
    """A member of a Spanish timebank pays in Spanish (a decimal comma), then reads her
    dashboard in Arabic, right to left, every step by the labels of her language."""
    group = make_group("barrio", locale="es")
    lucia = make_member(group, name="Lucía López", email="lucia@barrio.example.org")
    make_member(group, name="Mateo Martín", email="mateo@barrio.example.org")
    es = lambda message: translated("es", message)  # noqa: E731

    page = new_context(locale="es-ES").new_page()
    page.goto(live_server.url("/", slug="barrio"))
    page.get_by_role("link", name=es("Log in"), exact=True).first.click()
    page.get_by_label(es("Email")).fill(lucia.user.email)
    page.get_by_label(es("Password")).fill(PASSWORD)
    page.get_by_role("button", name=es("Log in")).click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lucía López")
    page.get_by_role("link", name=es("Pay someone")).click()
    choose_member(page, es("Pay to"), "Mateo Martín")
    page.get_by_label(es("Amount")).fill("1,5")
    page.get_by_label(es("What for")).fill("Clases de guitarra")
    page.get_by_role("button", name=es("Pay"), exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("Mateo Martín")
    page.get_by_role("navigation").get_by_role("link", name=es("Dashboard")).click()
    assert normalized_text(page.locator("#balance").inner_text()).startswith("-1:30")

    # Arabic, from the language menu (named by the language now shown).
    page.wait_for_load_state()  # Bootstrap's dropdowns are live
    page.get_by_role("button", name=re.compile("Español")).click()
    with page.expect_navigation():
        page.get_by_role("button", name="العربية").click()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        translated("ar", "Hello %(name)s") % {"name": "Lucía López"})
    row = page.get_by_role("row", name=re.compile("Clases de guitarra"))
    expect(row).to_contain_text("Mateo Martín")
