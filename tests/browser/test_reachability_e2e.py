"""Every page by clicks (issue 17; STYLE.md "every page reachable by clicks").

For each role (member, organizer, treasurer, coordinator, and the network admin on the apex) a
browser starts at the dashboard (the console) and follows links and menus only: it reads the
``href`` of every link a person can see or open (a link inside a closed dropdown, a collapsed
menu or a ``<details>`` counts: one click opens it), goes there, and so on. The test fails when
a page that role may use was never reached, or when a link led to an error.

"A page that role may use" comes from the code, not from a list kept by hand: every GET route
of ``app.url_map`` on that host whose required action :func:`timebank.policy.can` grants the
role (public group routes count for everyone), and whose URL holds only ids of things the
scenario creates (a member, a transfer, an ad, a task, a currency code, an account). A token,
a file name or an export id is something the person cannot know: those routes are left out.
The few remaining exceptions are listed below, each with its reason.
"""

import re
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from tests.conftest import coordinator_of
from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.models import Membership
from timebank.policy import PUBLIC_ENDPOINTS, can
from timebank.tenants import group_context

pytestmark = pytest.mark.browser

SLUG = "reachvale"

# URL variables the scenario gives a value the person can find (an id they see on a page).
KNOWABLE = {"membership_id", "transfer_id", "ad_id", "task_id", "code", "account_id", "slug"}

# Group pages no role is expected to reach by clicking, each with its reason.
GROUP_EXCEPTIONS = {
    "auth.login": "for people who are logged out",
    "auth.signup": "for people who are logged out",
    "auth.forgot_password": "for people who are logged out (linked from the login page)",
    "auth.join": "for logged-in people who are not members yet",
    "security.login_code": "only in the middle of a login, after the password",
    "settings.logo": "an image, shown only when the group has a logo",
    "marketplace.photo": "an image, shown only when an ad has a photo",
    "ledger.issuance": "the public record of an issued currency (the scenario has none)",
    "ledger.edit": "only the starter of a pending transfer edits it (none here)",
    "marketplace.edit_ad": "only the author edits an ad (reached in the marketplace test)",
    "marketplace.conversation": "needs a conversation of one's own (none here)",
    "members.limits": "an old address: it redirects to the account's limits page",
    "activitypub.webfinger": "machine-readable (fediverse), opt-in",
    "activitypub.actor": "machine-readable (fediverse), opt-in",
    "activitypub.outbox": "machine-readable (fediverse), opt-in",
    "activitypub.note": "machine-readable (fediverse), opt-in",
    "activitypub.followers": "machine-readable (fediverse), opt-in",
    "ledger.find_counterpart": "JSON the pay and request pages' member search asks as one types",
    "ledger.find_statement_counterparty": "JSON the statement's \"with\" search asks as one types",
}

# Public group pages a visitor (logged out) is not expected to reach, each with its reason.
VISITOR_EXCEPTIONS = {
    "auth.profile": "one's own account: login required",
    "auth.change_password": "one's own account: login required",
    "security.two_factor": "one's own account: login required",
    "auth.join": "for logged-in people who are not members yet",
}

# Apex pages the network admin is not expected to reach by clicking, each with its reason.
APEX_EXCEPTIONS = {
    "auth.login": "for people who are logged out",
    "auth.signup": "for people who are logged out",
    "auth.forgot_password": "for people who are logged out (linked from the login page)",
    "security.login_code": "only in the middle of a login, after the password",
    "network.check_slug": "JSON, asked by the start form's script",
    "network.delete_group": "offered only once a group is archived (none here)",
    "network.marketplace_ad": "needs an ad published to the network (none here)",
    "network.marketplace_conversation": "needs a conversation of one's own (none here)",
}

# Reached by a link, but not opened: files, not pages.
NOT_OPENED_SUFFIXES = ("_csv", "download", "photo", "logo", "static")
MAX_VISITS_PER_ENDPOINT = 10  # each member's page, each transfer... of a small scenario

# The hrefs of every link a person can see, or open with one click on a menu.
LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]'))
  .filter(a => a.getClientRects().length > 0
               || a.closest('.dropdown-menu, .collapse, details'))
  .map(a => a.href)"""


def _ignored(rule, view, exceptions: dict[str, str]) -> bool:
    """Whether ``rule`` is no page to click to: an exception, the JSON API, static files."""
    return (rule.endpoint in exceptions or getattr(view, "policy_scope", None) == "api"
            or rule.rule.startswith("/api/") or rule.endpoint in ("static", "bootstrap.static"))


def group_pages(app, membership: Membership) -> set[str]:
    """The group endpoints ``membership`` may use and could find (see the module's doc)."""
    wanted = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or _ignored(rule, view, GROUP_EXCEPTIONS):
            continue
        if not set(rule.arguments) <= KNOWABLE:
            continue
        action = getattr(view, "required_action", None)
        if action is not None:
            if getattr(view, "policy_scope", None) == "group" and can(membership, action):
                wanted.add(rule.endpoint)
        elif rule.endpoint in PUBLIC_ENDPOINTS:
            wanted.add(rule.endpoint)
    return wanted


def visitor_pages(app) -> set[str]:
    """The public group endpoints a logged-out visitor could find."""
    wanted = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if ("GET" not in rule.methods or rule.endpoint not in PUBLIC_ENDPOINTS
                or _ignored(rule, view, {**GROUP_EXCEPTIONS, **VISITOR_EXCEPTIONS})):
            continue
        if set(rule.arguments) <= KNOWABLE:
            wanted.add(rule.endpoint)
    return wanted | {"ledger.issuance", "auth.login", "auth.signup", "auth.forgot_password"}


def apex_pages(app) -> set[str]:
    """The apex endpoints a network admin may use and could find."""
    wanted = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "GET" not in rule.methods or _ignored(rule, view, APEX_EXCEPTIONS):
            continue
        if rule.arguments - KNOWABLE:
            continue
        if getattr(view, "policy_scope", None) == "apex" or (
                rule.endpoint in PUBLIC_ENDPOINTS and not rule.arguments
                and rule.endpoint not in GROUP_ONLY_PUBLIC):
            wanted.add(rule.endpoint)
    return wanted


# Public endpoints that exist only on a group's site (group_only or group data).
GROUP_ONLY_PUBLIC = {"settings.logo", "auth.join", "ledger.issuance", "members.invitation",
                     "activitypub.webfinger", "activitypub.actor", "activitypub.outbox",
                     "activitypub.note", "activitypub.inbox", "activitypub.followers"}


def crawl(page, app, start_url: str) -> tuple[dict[str, str], list[str]]:
    """Follow every link from ``start_url`` on its host; return ({endpoint: first href},
    [problems: links that answered with an error])."""
    host = urlsplit(start_url).netloc
    adapter = app.url_map.bind(host)
    reached: dict[str, str] = {}
    problems: list[str] = []
    queue, queued, visits = [start_url], {urlsplit(start_url).path}, Counter()
    while queue:
        url = queue.pop(0)
        response = page.goto(url)
        if response is not None and response.status >= 400:
            problems.append(f"{url} answered {response.status}")
            continue
        if urlsplit(page.url).netloc != host:
            continue
        for href in page.evaluate(LINKS_JS):
            parts = urlsplit(href)
            if parts.netloc != host or parts.scheme not in ("http", "https"):
                continue
            path = parts.path
            try:
                endpoint, _ = adapter.match(path, method="GET")
            except RequestRedirect as redirect:
                path = urlsplit(redirect.new_url).path
                endpoint, _ = adapter.match(path, method="GET")
            except (NotFound, MethodNotAllowed):
                problems.append(f"{page.url} links to {href}, which is no page")
                continue
            reached.setdefault(endpoint, href)
            if path in queued or endpoint.endswith(NOT_OPENED_SUFFIXES):
                continue
            if visits[endpoint] >= MAX_VISITS_PER_ENDPOINT:
                continue
            visits[endpoint] += 1
            queued.add(path)
            queue.append(urlunsplit((parts.scheme, parts.netloc, path, parts.query, "")))
    return reached, problems


@pytest.fixture
def reachvale(app, make_group, make_member, make_transfer):
    """A group with a person of each role, a transfer, an ad, a volunteer task; it trades
    with the network (so paying another timebank is offered)."""
    from datetime import timedelta

    from timebank.models import utcnow
    from timebank.trading import service as trading
    from timebank.volunteering import service as volunteering

    group = make_group(SLUG, join_policy="approval")
    people = {
        "member": make_member(group, name="Mona Member", email="mona@reachvale.example.org"),
        "organizer": make_member(group, name="Otto Organizer", role="organizer",
                                 email="otto@reachvale.example.org"),
        "treasurer": make_member(group, name="Tara Treasurer", role="treasurer",
                                 email="tara@reachvale.example.org"),
        "coordinator": coordinator_of(app, group),
    }
    make_member(group, name="Pat Pending", status="pending")
    make_transfer(people["member"], people["organizer"], 60, description="Ironing")
    make_ad(app, people["organizer"], title="Sewing lessons", body="Buttons and hems.")
    with app.test_request_context(), group_context(group.id):
        organizer = db.session.get(Membership, people["organizer"].id)
        volunteering.post_task(title="Litter pick", description="Bags provided.",
                               starts_at=utcnow() + timedelta(days=3), volunteers_needed=3,
                               by=organizer)
        coordinator = db.session.get(Membership, people["coordinator"].id)
        trading.set_trading(group=coordinator.group, trades_with_network=True,
                            trades_with_all_groups=True, partner_ids=[], bounds={},
                            by=coordinator)
        db.session.commit()
    return {"group": group, **people}


@pytest.mark.parametrize("role", ["member", "organizer", "treasurer", "coordinator"])
def test_every_page_a_role_may_use_is_reachable_by_clicks(
        role, app, live_server, new_context, browser_login, reachvale):
    membership = reachvale[role]
    with live_server.app.app_context(), group_context(reachvale["group"].id):
        row = db.session.get(Membership, membership.id)
        wanted = group_pages(live_server.app, row)
    page = browser_login(new_context().new_page(), membership.user.email, slug=SLUG)
    reached, problems = crawl(page, live_server.app, live_server.url("/dashboard", slug=SLUG))
    missing = sorted(wanted - set(reached))
    assert not problems, f"{role}: broken links:\n" + "\n".join(problems)
    assert not missing, f"{role} cannot reach by clicks: {missing} (of {sorted(wanted)})"


def test_a_visitor_reaches_the_public_pages_by_clicks(app, live_server, new_context,
                                                      reachvale):
    """From the network's landing page to the group's public page, then its links: signing
    up, logging in, a forgotten password, and the public record of an issued currency."""
    from timebank.ledger.currencies import create_currency
    from timebank.models import CurrencyKind

    with app.test_request_context(), group_context(reachvale["group"].id):
        create_currency(code="ACORN", name="Acorns", symbol="A", kind=CurrencyKind.ISSUED,
                        subunits_per_unit=100)
        db.session.commit()
    page = new_context().new_page()
    page.goto(live_server.url("/"))
    page.get_by_role("link", name=re.compile("Reachvale")).first.click()
    assert urlsplit(page.url).netloc == f"{SLUG}.{live_server.base_domain}"
    wanted = visitor_pages(live_server.app)
    reached, problems = crawl(page, live_server.app, page.url)
    missing = sorted(wanted - set(reached))
    assert not problems, "visitor: broken links:\n" + "\n".join(problems)
    assert not missing, f"a visitor cannot reach by clicks: {missing} (of {sorted(wanted)})"


def test_every_console_page_is_reachable_by_clicks(live_server, new_context, browser_login,
                                                   network_admin, make_group):
    make_group("elsewhere")
    wanted = apex_pages(live_server.app)
    page = browser_login(new_context().new_page(), network_admin.email)
    reached, problems = crawl(page, live_server.app, live_server.url("/network/"))
    missing = sorted(wanted - set(reached))
    assert not problems, "network admin: broken links:\n" + "\n".join(problems)
    assert not missing, f"the network admin cannot reach by clicks: {missing} (of {sorted(wanted)})"


def test_the_exceptions_name_real_pages(live_server):
    """An exception for a page that no longer exists would hide nothing: drop it."""
    endpoints = set(live_server.app.view_functions)
    stale = (set(GROUP_EXCEPTIONS) | set(APEX_EXCEPTIONS) | set(VISITOR_EXCEPTIONS)
             | GROUP_ONLY_PUBLIC) - endpoints
    assert not stale, f"exceptions for pages that do not exist: {sorted(stale)}"
