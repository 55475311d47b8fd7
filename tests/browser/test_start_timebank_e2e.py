"""End to end in Chromium: a visitor starts a timebank on the apex (live address check, email
confirmation), a network admin approves it, and the visitor lands on the new group's subdomain
as its coordinator, without logging in again. Driven by visible labels (issue 17): the
status texts are read by their ids, but every step is a labelled field, link or button."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import Person, open_menu, watch_assets
from timebank.extensions import db
from timebank.mail import OUTBOX
from timebank.models import Group, Membership, Role
from timebank.tenants import group_context

pytestmark = pytest.mark.browser

WANDA = Person(name="Wanda Green", email="wanda@greenvale.example.org")


def _confirmation_link() -> str:
    for message in reversed(OUTBOX):
        match = re.search(r"https?://\S+/start/confirm/\S+", message.body)
        if match:
            return match.group(0)
    raise AssertionError("no confirmation email: " + repr([m.subject for m in OUTBOX]))


def test_visitor_starts_a_timebank_and_arrives_as_its_coordinator(
        app, live_server, new_context, network_admin, browser_login, make_group, screenshot):
    make_group("taken")
    visitor = new_context(locale="en-GB", timezone_id="Europe/London").new_page()
    broken = watch_assets(visitor)
    visitor.goto(live_server.url("/"))
    visitor.get_by_role("link", name="Start a timebank").first.click()
    expect(visitor).to_have_url(live_server.url("/start"))
    visitor.wait_for_load_state("load")  # the deferred slug_check.js is listening from here on

    # The address is checked as it is typed: reserved, taken (with suggestions), then free.
    address = visitor.get_by_label("Address (subdomain)")
    visitor.get_by_label("Name of the timebank").fill("Greenvale Timebank")
    expect(address).to_have_value("greenvale-timebank")
    address.fill("admin")
    expect(visitor.locator("#slug-status")).to_contain_text("reserved")
    address.fill("taken")
    expect(visitor.locator("#slug-status")).to_contain_text("already taken")
    expect(visitor.locator("#slug-suggestions button").first).to_be_visible()
    address.fill("greenvale")
    expect(visitor.locator("#slug-status")).to_have_text("This address is free.")
    expect(address).to_have_class(re.compile(r"\bis-valid\b"))

    visitor.get_by_label("Default language").select_option(label="English")
    # The time zone starts on this device's zone, and can be searched.
    zone = visitor.get_by_role("combobox", name="Time zone")
    expect(zone).to_have_value("Europe/London")
    visitor.get_by_role("searchbox", name="Search time zones").fill("lisbon")
    expect(zone).to_have_value("Europe/Lisbon")
    visitor.get_by_role("searchbox", name="Search time zones").fill("London")
    expect(zone).to_have_value("Europe/London")
    visitor.get_by_label("Place").fill("Greenvale")
    visitor.get_by_label("Your name").fill(WANDA.name)
    visitor.get_by_label("Your email").fill(WANDA.email)
    visitor.get_by_label("Password", exact=True).fill(WANDA.password)
    visitor.get_by_label("Repeat password").fill(WANDA.password)
    visitor.get_by_role("button", name="Start my timebank").click()
    expect(visitor.locator("#request-status")).to_contain_text("Open the link we sent")
    status_url = visitor.url

    # The email link confirms the address and logs Wanda in on the apex.
    visitor.goto(_confirmation_link())
    expect(visitor).to_have_url(status_url)
    expect(visitor.locator("#request-status")).to_contain_text("waiting for a network admin")

    # A network admin approves the request in the console.
    admin = new_context().new_page()
    browser_login(admin, network_admin.email, network_admin.password)
    admin.goto(live_server.url("/network/"))
    admin.get_by_role("link", name=re.compile("request waits for a decision")).click()
    card = admin.locator(".card", has_text="Greenvale Timebank")
    card.locator("textarea").fill("Welcome to the network!")
    card.get_by_role("button", name="Approve").click()
    expect(admin.locator(".alert-success")).to_contain_text("is being created")

    # Wanda's status page follows the job and offers the way in.
    visitor.goto(status_url)
    expect(visitor.locator("#request-status")).to_contain_text("is ready", timeout=20_000)
    visitor.get_by_role("button", name="Go to Greenvale Timebank").click()
    expect(visitor).to_have_url(live_server.url("/dashboard", slug="greenvale"))
    expect(visitor.locator("h1")).to_contain_text(f"Hello {WANDA.name}")
    open_menu(visitor, "Manage")  # coordinator's menu
    expect(visitor.get_by_role("link", name="Join requests")).to_be_visible()
    screenshot(visitor, "new-timebank-dashboard")
    assert broken == [], broken

    with live_server.app.app_context():
        group = db.session.scalar(sa.select(Group).where(Group.slug == "greenvale"))
        assert group.place == "Greenvale" and group.timezone == "Europe/London"
        with group_context(group.id):
            (membership,) = db.session.scalars(sa.select(Membership)).all()
            assert membership.user.email == WANDA.email
            assert membership.role == Role.COORDINATOR and membership.is_active

    # "My timebanks" on the apex lists it, with a way back in.
    visitor.goto(live_server.url("/my"))
    expect(visitor.locator("#my-timebanks")).to_contain_text("Greenvale Timebank")
