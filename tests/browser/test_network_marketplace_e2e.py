"""End to end in Chromium (issue 18): Ann (greenvale) finds Luis's offer (barrio) on the
network marketplace through a misspelled word, writes to him without seeing his address, and
pays for it from the ad on her own group's site, across groups."""

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.marketplace_support import make_ad, requires_trigram
from tests.trading_support import Network
from timebank.extensions import db
from timebank.models import Ad, NetworkMessage
from timebank.tenants import all_groups

pytestmark = pytest.mark.browser


def test_ann_finds_luiss_offer_by_a_typo_and_pays_across_groups(
    app, live_server, new_context, browser_login, make_group, make_member, screenshot,
):
    requires_trigram(app)
    net = Network(app, make_group, make_member)
    ann_email = "ann@greenvale.example.org"
    with app.app_context(), all_groups():
        from timebank.models import User

        db.session.execute(sa.update(User).where(User.id == net.ann.user_id)
                           .values(email=ann_email))
        db.session.commit()
    ad_id = make_ad(app, net.luis, "Bicycle repair", body="Brakes, gears and punctures.",
                    price=90)
    make_ad(app, net.luis, "Sourdough lessons")  # not published to the network
    with app.app_context(), all_groups():
        db.session.execute(sa.update(Ad).where(Ad.id == ad_id).values(network_published=True))
        db.session.commit()

    page = browser_login(new_context().new_page(), ann_email)
    page.goto(live_server.url("/"))
    page.click("#nav-network-marketplace")
    page.fill("#q", "bicycel")
    page.click("#search-submit")
    result = page.locator(".ad-card", has_text="Bicycle repair")
    expect(result).to_have_count(1)
    expect(page.locator(".ad-card")).to_have_count(1)
    expect(result).to_contain_text("Barrio Timebank")
    screenshot(page, "network-marketplace-typo")
    result.get_by_role("link", name="Bicycle repair").click()
    expect(page.locator("#ad-title")).to_have_text("Bicycle repair")

    # She writes to Luis; no address is shown either way.
    page.fill("#message-form #body", "Hello Luis, could you look at my brakes?")
    page.click("#message-form #submit")
    expect(page.locator("#messages")).to_contain_text("could you look at my brakes")
    assert "@" not in page.locator("main, #messages").first.inner_text()

    # Pay for this: on greenvale's own site (a separate login: cookies are per host).
    page.goto(live_server.url(f"/marketplace/network/ads/{ad_id}"))
    expect(page.locator("#ad-title")).to_have_text("Bicycle repair")
    page.locator(".pay-link").click()
    if "/login" in page.url:  # she logs in there, and the login brings her back
        page.fill("#email", ann_email)
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("#submit")
    assert page.url.startswith(live_server.url("/trading/pay", slug="greenvale")), page.url
    expect(page.locator("#payee")).to_have_value(str(net.luis.id))
    assert page.input_value("#amount") == "1:30"
    assert page.input_value("#description") == "Bicycle repair"
    screenshot(page, "network-marketplace-pay")
    page.click("#submit")
    expect(page.locator(".alert").first).to_contain_text("Luis")

    assert net.balances() == {"ann": -90, "luis": 90, "a": 90, "b": -90}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(NetworkMessage.id))) == 1

    # Both statements show it, naming the member and group on the other side.
    page.click("a.nav-link:has-text(\"Statement\")")
    expect(page.locator("main")).to_contain_text("Luis (Barrio Timebank)")
    luis_page = browser_login(new_context().new_page(), net.luis.user.email, slug="barrio")
    luis_page.goto(live_server.url("/statement", slug="barrio"))
    expect(luis_page.locator("main")).to_contain_text("Ann (Greenvale Timebank)")
    # Both coordinators see their group's balance with the network and with the other group.
    for group, partner in ((net.a, "Barrio Timebank"), (net.b, "Greenvale Timebank")):
        coordinator = net.coordinator_email(group)
        coordinator_page = browser_login(new_context().new_page(), coordinator, slug=group.slug)
        coordinator_page.goto(live_server.url("/dashboard", slug=group.slug))
        coordinator_page.click("#manage-menu")
        coordinator_page.click("#nav-trading")
        expect(coordinator_page.locator("#partner-balances")).to_contain_text(partner)
        expect(coordinator_page.locator("#partner-balances")).to_contain_text("1.5 h")
