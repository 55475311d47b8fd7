"""Issue 20 in a browser, by visible labels only: a treasurer sets a 2 % levy on the
currency (Manage → Currencies → Levy), a member pays another through the pay form, and both
members' statements show the levy as a line of its own, paid to the community pot. Then the
coordinator opens the activity report, sees this month's hour in the chart (the levies are not
trades) and downloads the PDF."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import choose_member, normalized_text, open_menu
from tests.browser.test_journeys_e2e import log_in
from tests.browser.test_reports_e2e import download_the_pdf, open_the_report
from tests.conftest import coordinator_of

pytestmark = pytest.mark.browser

SLUG = "levyvale"


@pytest.fixture
def levyvale(make_group, make_member):
    group = make_group(SLUG)
    return {
        "group": group,
        "ann": make_member(group, name="Ann Baker", email="ann@levyvale.example.org"),
        "dan": make_member(group, name="Dan Evans", email="dan@levyvale.example.org"),
        "tess": make_member(group, name="Tess Treasurer", role="treasurer",
                            email="tess@levyvale.example.org"),
    }


def test_a_two_percent_levy_shows_on_both_statements_and_the_report(app, live_server,
                                                                    new_context, levyvale):
    tess = new_context().new_page()
    tess.goto(live_server.url("/", slug=SLUG))
    log_in(tess, levyvale["tess"].user.email)
    open_menu(tess, "Manage")
    tess.get_by_role("list", name="Manage").get_by_role("link", name="Currencies").click()
    tess.get_by_role("link", name="Levy", exact=True).first.click()
    tess.get_by_label("Percentage of each transfer").fill("2")
    tess.get_by_label("each of them", exact=False).check()
    tess.get_by_role("button", name="Save levy").click()
    expect(tess.locator(".alert-success")).to_be_visible()
    summary = normalized_text(tess.locator("#currencies").inner_text())
    assert "Levy on each transfer: 2%. Paid by the payer and again by the payee." in summary

    ann = new_context().new_page()
    ann.goto(live_server.url("/", slug=SLUG))
    log_in(ann, levyvale["ann"].user.email)
    ann.get_by_role("link", name="Pay someone").click()
    choose_member(ann, "Pay to", "Dan Evans")
    ann.get_by_label("Amount").fill("1:00")
    ann.get_by_label("What for").fill("Gardening")
    ann.get_by_role("button", name="Pay").click()
    expect(ann.locator(".alert-success")).to_be_visible()

    dan = new_context().new_page()
    dan.goto(live_server.url("/", slug=SLUG))
    log_in(dan, levyvale["dan"].user.email)
    for person, balance in ((ann, "-1:01"), (dan, "0:59")):
        person.get_by_role("link", name="Statement", exact=True).click()
        levy = person.locator("#statement tbody tr").filter(has_text=re.compile("levy on #"))
        expect(levy).to_have_count(1)
        row = normalized_text(levy.inner_text())
        assert "Community pot" in row and "Gardening" in row and "-0:01" in row, row
        assert balance in normalized_text(person.locator("#statement").inner_text())

    cora = new_context(accept_downloads=True).new_page()
    cora.goto(live_server.url("/", slug=SLUG))
    log_in(cora, coordinator_of(app, levyvale["group"]).user.email)
    open_the_report(cora, "Levyvale Timebank", hours=1.0, shown="1:00 h")
    download_the_pdf(cora, SLUG)
