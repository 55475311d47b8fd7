"""Standing orders by clicking (issue 20): a member goes from the dashboard to a new standing
order, sets it up, reads it and cancels it; the pages pass axe-core and fit a phone."""

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility_e2e import AXE, axe_problems, sideways
from timebank.extensions import db
from timebank.models import StandingOrder
from timebank.tenants import group_context

pytestmark = pytest.mark.browser
SLUG = "greenvale"


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (see .ci/run)")
def test_a_member_sets_up_and_cancels_a_standing_order_by_clicking(
        app, live_server, new_context, browser_login, make_group, make_member, screenshot):
    group = make_group(SLUG)
    ann = make_member(group, name="Ann Baker", email="ann@greenvale.example.org")
    make_member(group, name="Ben Carter", email="ben@greenvale.example.org")
    problems, too_wide = {}, {}
    for width in (1280, 390):
        page = browser_login(new_context(viewport={"width": width, "height": 900}).new_page(),
                             ann.user.email, slug=SLUG)
        page.goto(live_server.url("/dashboard", slug=SLUG))
        page.locator("#dashboard-standing-orders").click()
        expect(page.locator("h1")).to_have_text("Standing orders")
        page.locator("#new-standing-order").click()
        page.get_by_label("Pay to").select_option(label="Ben Carter")
        page.get_by_label("Amount each time").fill("1:30")
        page.get_by_label("What for").fill(f"Allotment share {width}")
        page.get_by_label("How often").select_option("week")
        found = axe_problems(page)
        if found:
            problems[f"{width} new"] = found
        with page.expect_navigation():
            page.get_by_role("button", name="Set up standing order").click()
        expect(page.locator("#order-details")).to_contain_text("Ben Carter")
        expect(page.locator("#next-payment")).to_be_visible()
        found = axe_problems(page)
        if found:
            problems[f"{width} order"] = found
        if sideways(page) > 0:
            too_wide[f"{width} order"] = sideways(page)
        if width == 1280:
            screenshot(page, "standing-order")
        with page.expect_navigation():
            page.locator("#cancel-order").click()
        expect(page.locator("[data-state=cancelled]")).to_be_visible()
        page.goto(live_server.url("/standing-orders", slug=SLUG))
        found = axe_problems(page)
        if found:
            problems[f"{width} list"] = found
        if sideways(page) > 0:
            too_wide[f"{width} list"] = sideways(page)
    assert not problems, problems
    assert not too_wide, too_wide
    with app.app_context(), group_context(group.id):
        orders = db.session.scalars(db.select(StandingOrder)).all()
        assert len(orders) == 2 and all(o.cancelled_at is not None for o in orders)
        assert {o.amount for o in orders} == {90}
