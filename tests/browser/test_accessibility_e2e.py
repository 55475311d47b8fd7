"""Readable by everyone, on any phone, without typing a URL (issue 17).

* axe-core (installed from npm by ``.ci/run`` into ``tests/browser/.node``) finds no critical
  or serious violation on the main pages, and none of them scrolls sideways at 390 px;
* the treasurer reaches the group ledger from the dashboard through the menu and reverses a
  transfer by clicking, driven by visible labels only.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import coordinator_of
from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.models import Group

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / ".node" / "node_modules" / "axe-core" / "axe.min.js"
SLUG = "greenvale"


def axe_problems(page) -> list[str]:
    """Run axe-core on ``page``; return its critical and serious violations, one line each."""
    page.evaluate(AXE.read_text())  # evaluated by the DevTools protocol: the CSP allows it
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})")
    return [f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}: "
            f"{v['nodes'][0]['target']})"
            for v in result["violations"] if v["impact"] in ("critical", "serious")]


def sideways(page) -> int:
    """Return how many pixels ``page`` would scroll sideways (0: it fits)."""
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def choose_language(page, code: str) -> None:
    """Pick ``code`` in the language menu, opening the collapsed menu first on a phone."""
    if page.locator(".navbar-toggler").is_visible():
        page.locator(".navbar-toggler").click()
        expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("#language-menu").click()
    with page.expect_navigation():
        page.locator(f"[data-locale={code}]").click()
    expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{code}"))


@pytest.fixture
def greenvale(app, make_group, make_member, make_transfer):
    group = make_group(SLUG, join_policy="open")
    with app.app_context():
        row = db.session.get(Group, group.id)
        row.description, row.place, row.ads_public = "Neighbours trading hours.", "Frome", True
        db.session.commit()
    ann = make_member(group, name="Ann Baker", email="ann@greenvale.example.org")
    ben = make_member(group, name="Ben Carter", email="ben@greenvale.example.org")
    tess = make_member(group, name="Tess Treasurer", email="tess@greenvale.example.org",
                       role="treasurer")
    make_transfer(ann, ben, 90, description="Garden help")
    ad_id = make_ad(app, ann, title="Bike repairs", body="Punctures and brakes.")
    return {"group": group, "ann": ann, "ben": ben, "tess": tess, "ad_id": ad_id,
            "coordinator": coordinator_of(app, group)}


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed (see .ci/run)")
def test_main_pages_have_no_serious_violations_and_fit_a_phone(
        live_server, new_context, browser_login, greenvale, network_admin):
    pages = {
        None: ["/", "/start"],
        SLUG: ["/"],
    }
    member = [("/dashboard", "dashboard"), ("/pay", "pay"), ("/statement", "statement"),
              ("/marketplace/", "marketplace"), (f"/marketplace/ads/{greenvale['ad_id']}", "ad"),
              ("/members/", "members")]
    coordinator = [("/coordinator", "coordinator dashboard"), ("/settings", "settings")]
    problems, too_wide = {}, {}

    def check(page, label):
        found = axe_problems(page)
        if found:
            problems[label] = found
        extra = sideways(page)
        if extra > 0:
            too_wide[label] = extra

    for width in (1280, 390):
        context = new_context(viewport={"width": width, "height": 900})
        visitor = context.new_page()
        for slug, paths in pages.items():
            for path in paths:
                visitor.goto(live_server.url(path, slug=slug))
                check(visitor, f"{width} {slug or 'apex'}{path}")
        admin = browser_login(new_context(viewport={"width": width, "height": 900}).new_page(),
                              network_admin.email)
        admin.goto(live_server.url("/network/"))
        check(admin, f"{width} network console")
        ann = browser_login(new_context(viewport={"width": width, "height": 900}).new_page(),
                            greenvale["ann"].user.email, slug=SLUG)
        for path, label in member:
            ann.goto(live_server.url(path, slug=SLUG))
            check(ann, f"{width} {label}")
        cora = browser_login(new_context(viewport={"width": width, "height": 900}).new_page(),
                             greenvale["coordinator"].user.email, slug=SLUG)
        for path, label in coordinator:
            cora.goto(live_server.url(path, slug=SLUG))
            check(cora, f"{width} {label}")
        # The Arabic dashboard, right to left; then back to English (a saved preference, so
        # the next round would otherwise start in Arabic).
        choose_language(ann, "ar")
        ann.goto(live_server.url("/dashboard", slug=SLUG))
        check(ann, f"{width} Arabic dashboard")
        choose_language(ann, "en")
    assert not problems, problems
    assert not too_wide, too_wide


def test_the_treasurer_reverses_a_transfer_by_clicking(live_server, new_context, browser_login,
                                                       greenvale):
    page = browser_login(new_context().new_page(), greenvale["tess"].user.email, slug=SLUG)
    page.goto(live_server.url("/dashboard", slug=SLUG))
    page.get_by_role("button", name="Manage").click()
    page.get_by_role("list", name="Manage").get_by_role("link", name="Group ledger").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("row", name="Garden help").get_by_role("link").first.click()
    page.get_by_text("Reverse this transfer (treasurer)").click()
    page.get_by_label("Reason").fill("Entered twice")
    page.get_by_role("button", name="Reverse this transfer").click()
    expect(page.locator(".alert-success")).to_be_visible()
    page.goto(live_server.url("/dashboard", slug=SLUG))
    expect(page.locator("#manage-menu")).to_be_visible()
