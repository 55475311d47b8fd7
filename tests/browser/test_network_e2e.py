"""End to end in Chromium: provision a group, sign up, approve, pay, and see it on both sides.

Each person has their own browser context (own cookies), as they would have their own browser.
"""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import Person, choose_member, normalized_text, watch_assets
from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.mail import OUTBOX
from timebank.models import Account, Entry, Group, Membership, Transfer, User
from timebank.tenants import group_context

pytestmark = pytest.mark.browser

SLUG = "greenvale"
CORA = Person(name="Cora Coordinator", email="cora@greenvale.example.org")
ANN = Person(name="Ann Archer", email="ann@greenvale.example.org")
BEN = Person(name="Ben Baker", email="ben@greenvale.example.org")


def _sign_up(page, live_server, person: Person) -> None:
    page.goto(live_server.url("/signup", slug=SLUG))
    page.fill("#name", person.name)
    page.fill("#email", person.email)
    page.fill("#password", person.password)
    page.fill("#confirm", person.password)
    page.click("#submit")
    expect(page.locator(".alert-info").first).to_contain_text("Check your email")
    page.goto(_signup_link(person.email))  # the emailed link creates the account (issue 15)
    expect(page.locator(".alert-info").first).to_contain_text("A coordinator will look")
    expect(page.get_by_text("Your request to join is waiting for a coordinator.")).to_be_visible()


def _signup_link(email: str) -> str:
    for message in reversed(OUTBOX):
        found = re.search(r"https?://\S+/signup/confirm/\S+", message.body)
        if found and message.recipients == [email]:
            return found.group(0)
    raise AssertionError("no sign-up email for " + email)


def _approve(coordinator, live_server, person: Person) -> None:
    coordinator.goto(live_server.url("/members/pending", slug=SLUG))
    row = coordinator.locator("tr", has_text=person.name)
    row.get_by_role("button", name="Approve").click()
    expect(coordinator.locator(".alert-success")).to_contain_text(f"{person.name} is now a member")
    expect(coordinator.locator("tr", has_text=person.name)).to_have_count(0)


def _balance(page) -> str:
    return normalized_text(page.locator("#balance").inner_text())


def _balances_in_db(app, slug: str) -> tuple[dict[str, int], dict[int, int], list[int]]:
    """Return ({member name: balance}, {currency id: sum of balances}, [entry amounts of the
    group's one transfer]) read straight from the database."""
    with app.app_context():
        group_id = db.session.scalar(sa.select(Group.id).where(Group.slug == slug))
        with group_context(group_id):
            by_name = dict(
                db.session.execute(
                    sa.select(User.name, Account.balance)
                    .join(Membership, Membership.id == Account.membership_id)
                    .join(User, User.id == Membership.user_id)
                ).all()
            )
            per_currency = dict(
                db.session.execute(
                    sa.select(Account.currency_id, sa.func.sum(Account.balance)).group_by(
                        Account.currency_id
                    )
                ).all()
            )
            transfer_id = db.session.scalars(sa.select(Transfer.id)).one()
            entries = db.session.scalars(
                sa.select(Entry.amount).where(Entry.transfer_id == transfer_id)
            ).all()
    return by_name, per_currency, sorted(entries)


def test_provision_join_approve_pay_and_see_it(
    app, live_server, new_context, network_admin, browser_login, screenshot
):
    # A network admin provisions the group on the apex.
    admin = new_context().new_page()
    admin_assets = watch_assets(admin)
    browser_login(admin, network_admin.email, network_admin.password)
    admin.goto(live_server.url("/network/groups/new"))
    admin.fill("#name", "Greenvale Timebank")
    admin.fill("#slug", SLUG)
    admin.select_option("#default_locale", "en")
    admin.select_option("#join_policy", "approval")
    admin.fill("#coordinator_name", CORA.name)
    admin.fill("#coordinator_email", CORA.email)
    admin.fill("#coordinator_password", CORA.password)
    admin.click("#submit")
    expect(admin).to_have_url(live_server.url("/network/"))
    expect(admin.locator(".alert-success")).to_contain_text("Greenvale Timebank created")
    expect(admin.get_by_role("link", name=SLUG)).to_have_attribute(
        "href", live_server.url("/", slug=SLUG)
    )

    # The first coordinator logs in at the group's own subdomain.
    coordinator = new_context().new_page()
    browser_login(coordinator, CORA.email, CORA.password, slug=SLUG)
    expect(coordinator).to_have_url(live_server.url("/dashboard", slug=SLUG))
    expect(coordinator.locator("h1")).to_contain_text(f"Hello {CORA.name}")

    # Two people sign up (pending: the join policy is "approval"), and the coordinator approves.
    ann = new_context().new_page()
    ann_assets = watch_assets(ann)
    _sign_up(ann, live_server, ANN)
    ben = new_context().new_page()
    _sign_up(ben, live_server, BEN)
    _approve(coordinator, live_server, ANN)
    _approve(coordinator, live_server, BEN)

    # Ann pays Ben an hour and a half, choosing him by name.
    ann.goto(live_server.url("/pay", slug=SLUG))
    choose_member(ann, "Pay to", BEN.name)
    ann.fill("#amount", "1:30")
    ann.fill("#description", "Fixing the garden gate")
    ann.click("#submit")
    expect(ann).to_have_url(re.compile(r"/transfers/\d+$"))
    expect(ann.locator(".alert-success")).to_contain_text(BEN.name)

    # Both statements show the transfer; the balances are -1:30 h and 1:30 h.
    for page, other, balance in ((ann, BEN, "-1:30 h"), (ben, ANN, "1:30 h")):
        page.goto(live_server.url("/statement", slug=SLUG))
        row = page.locator("#statement tbody tr", has_text="Fixing the garden gate")
        expect(row).to_have_count(1)
        expect(row).to_contain_text(other.name)
        assert _balance(page) == balance
        page.goto(live_server.url("/dashboard", slug=SLUG))
        assert _balance(page) == balance
        expect(page.get_by_role("link", name="Fixing the garden gate")).to_be_visible()
    screenshot(ann, "dashboard")
    assert admin_assets == [] and ann_assets == [], "pages loaded without their styles or scripts"

    # And in the database: one transfer of two entries summing to zero, balances sum to zero.
    by_name, per_currency, entries = _balances_in_db(app, SLUG)
    assert by_name == {CORA.name: 0, ANN.name: -90, BEN.name: 90}
    assert list(per_currency.values()) == [0]
    assert entries == [-90, 90]


def test_unknown_subdomain_shows_a_friendly_404(live_server, page):
    response = page.goto(live_server.url("/", slug="nowhere"))
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    expect(page.get_by_text("There is no timebank at this address.")).to_be_visible()
    expect(page.get_by_role("link", name="See all timebanks of the network")).to_have_attribute(
        "href", live_server.url("/")
    )


def test_the_unknown_subdomain_page_is_styled(live_server, page):
    broken = watch_assets(page)
    page.goto(live_server.url("/", slug="nowhere"))
    assert broken == []


def test_login_at_one_group_is_not_a_login_at_another(
    live_server, new_context, make_group, make_member, browser_login
):
    alpha, beta = make_group("alpha"), make_group("beta")
    ann = make_member(alpha, name="Ann Alpha", email="ann@example.org")
    make_member(beta, email="ann@example.org")  # the same person, a member of both groups
    context = new_context()
    page = context.new_page()
    browser_login(page, ann.user.email, PASSWORD, slug=alpha.slug)
    expect(page).to_have_url(live_server.url("/dashboard", slug=alpha.slug))

    # Same browser, other group: anonymous there, sent to log in.
    page.goto(live_server.url("/dashboard", slug=beta.slug))
    beta_login = live_server.url("/login", slug=beta.slug)
    expect(page).to_have_url(re.compile("^" + re.escape(beta_login)))
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_text("Ann Alpha")).to_have_count(0)

    # Still logged in at alpha; every cookie is host-only on alpha's host.
    page.goto(live_server.url("/dashboard", slug=alpha.slug))
    expect(page.locator("h1")).to_contain_text("Hello Ann Alpha")
    domains = {cookie["domain"] for cookie in context.cookies()}
    assert domains <= {f"{alpha.slug}.localhost", f"{beta.slug}.localhost"}, domains
    assert f"{alpha.slug}.localhost" in domains
