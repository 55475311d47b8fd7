"""End to end in Chromium (issue 6): a coordinator approves a join request and makes a member
organizer; the organizer posts a volunteer task; a member pledges; the organizer marks it
done; the member's kudos rise on their profile. Every step is audited.

Each person has their own browser context (own cookies), as they would have their own browser.
"""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import Person, open_menu, watch_assets
from tests.conftest import coordinator_of
from timebank.extensions import db
from timebank.models import AuditEvent, VolunteerTask, utcnow
from timebank.tenants import group_context

pytestmark = pytest.mark.browser

SLUG = "willowbrook"
OLIVE = Person(name="Olive Organizer", email="olive@willowbrook.example.org")
MIA = Person(name="Mia Member", email="mia@willowbrook.example.org")


def test_approve_promote_post_pledge_complete_and_kudos(
    app, live_server, new_context, make_group, make_member, browser_login, screenshot
):
    group = make_group(SLUG)
    coordinator_email = coordinator_of(app, group).user.email
    olive = make_member(group, name=OLIVE.name, email=OLIVE.email)
    mia = make_member(group, name=MIA.name, email=MIA.email, status="pending")

    # The coordinator approves Mia's join request, with a word of welcome.
    cora = new_context().new_page()
    cora_assets = watch_assets(cora)
    browser_login(cora, coordinator_email, slug=SLUG)
    open_menu(cora, "Manage")
    cora.get_by_role("link", name=re.compile("^Join requests")).click()
    row = cora.locator("tr", has_text=MIA.name)
    row.get_by_placeholder("Message to the person (optional)").fill("Welcome to Willowbrook!")
    row.get_by_role("button", name="Approve").click()
    expect(cora.locator(".alert-success")).to_contain_text(f"{MIA.name} is now a member")

    # ... and makes Olive an organizer from her profile.
    cora.goto(live_server.url(f"/members/{olive.id}", slug=SLUG))
    cora.select_option("#role-form select", label="Organizer (volunteer tasks and kudos)")
    cora.locator("#role-form").get_by_role("button", name="Change role").click()
    expect(cora.locator(".alert-success")).to_contain_text(f"{OLIVE.name} is now Organizer")

    # Olive posts a volunteer task.
    organizer = new_context().new_page()
    browser_login(organizer, OLIVE.email, slug=SLUG)
    organizer.locator("#nav-volunteering").click()
    organizer.locator("#new-task").click()
    organizer.fill("#title", "Plant the orchard")
    organizer.fill("#description", "Spades provided. Meet at the gate.")
    organizer.fill("#date", "2999-03-21")
    organizer.fill("#time", "09:30")
    organizer.fill("#volunteers_needed", "4")
    organizer.click("#submit")
    expect(organizer).to_have_url(re.compile(r"/volunteering/\d+$"))
    expect(organizer.locator(".alert-success")).to_contain_text("Task posted.")
    task_url = organizer.url

    # Mia sees it, checks her kudos (none yet) and pledges.
    member = new_context().new_page()
    member_assets = watch_assets(member)
    browser_login(member, MIA.email, slug=SLUG)
    member.goto(live_server.url(f"/members/{mia.id}", slug=SLUG))
    expect(member.locator("#kudos-total")).to_have_text("0")
    member.locator("#nav-volunteering").click()
    member.get_by_role("link", name=re.compile("Plant the orchard")).click()
    member.locator("#pledge").click()
    expect(member.locator(".alert-success")).to_contain_text("You pledged to help.")
    expect(member.get_by_text("1 of 4 volunteers")).to_be_visible()

    # Kudos are for work done: before the task begins there is nothing to mark.
    organizer.goto(task_url)
    volunteer = organizer.locator("#volunteers tr", has_text=MIA.name)
    expect(volunteer).to_contain_text("Can be marked done once the task has begun.")
    expect(volunteer.get_by_role("button", name="Mark done")).to_have_count(0)

    # The day comes (the task's start moved into the past), and Olive marks Mia's part done.
    with live_server.app.app_context(), group_context(group.id):
        db.session.execute(sa.update(VolunteerTask).values(starts_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    organizer.goto(task_url)
    volunteer = organizer.locator("#volunteers tr", has_text=MIA.name)
    volunteer.get_by_role("button", name="Mark done").click()
    expect(organizer.locator(".alert-success")).to_contain_text(f"Kudos to {MIA.name}!")
    expect(organizer.locator("#volunteers tr", has_text=MIA.name)).to_contain_text("done")

    # Mia's kudos rose on her profile, with the task in her history.
    member.goto(live_server.url(f"/members/{mia.id}", slug=SLUG))
    expect(member.locator("#kudos-total")).to_have_text("1")
    expect(member.locator("#kudos-history")).to_contain_text("Plant the orchard")
    member.goto(live_server.url("/kudos", slug=SLUG))
    expect(member.locator("#board-month")).to_contain_text(MIA.name)
    screenshot(member, "group-admin-kudos")

    # The coordinator finds every administrative act on the audit trail.
    cora.goto(live_server.url("/audit", slug=SLUG))
    for action in ("members.approve", "members.role", "volunteering.complete"):
        expect(cora.locator(f'#audit-events tr[data-action="{action}"]')).to_have_count(1)
    screenshot(cora, "group-admin-audit")
    assert cora_assets == [] and member_assets == [], "pages loaded without their assets"

    with live_server.app.app_context(), group_context(group.id):
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["members.approve", "members.role", "volunteering.complete"]


def test_suspending_a_member_asks_first(app, live_server, new_context, make_group, make_member,
                                        browser_login):
    """A one-click action that cannot be undone in one click asks before it submits
    (``static/js/confirm.js``): answering no leaves the member active, yes suspends them."""
    group = make_group(SLUG)
    coordinator_email = coordinator_of(app, group).user.email
    mia = make_member(group, name=MIA.name, email=MIA.email)
    cora = new_context().new_page()
    browser_login(cora, coordinator_email, slug=SLUG)
    cora.goto(live_server.url(f"/members/{mia.id}", slug=SLUG))
    asked = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    cora.once("dialog", lambda dialog: answer(dialog, False))
    cora.get_by_role("button", name="Suspend").click()
    assert asked == [f"Suspend {MIA.name}? They cannot trade until a coordinator reactivates "
                     "them."]
    expect(cora.get_by_role("button", name="Suspend")).to_be_visible()  # not submitted
    cora.once("dialog", lambda dialog: answer(dialog, True))
    with cora.expect_navigation():
        cora.get_by_role("button", name="Suspend").click()
    expect(cora.get_by_role("button", name="Reactivate")).to_be_visible()
