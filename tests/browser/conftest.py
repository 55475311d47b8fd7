"""Browser fixtures: the real app on a free port, driven by Debian's Chromium through Playwright.

* ``live_server`` (session): the app built by :func:`timebank.create_app` with the test settings,
  but with CSRF on (the real forms are exercised) and ``BASE_DOMAIN = "localhost:<port>"``, served
  by werkzeug in a background thread on 127.0.0.1. Chromium resolves ``*.localhost`` to loopback,
  so ``live_server.url("/pay", slug="greenvale")`` is ``http://greenvale.localhost:<port>/pay``.
* Every test here commits for real: the server thread cannot see the root conftest's rolled-back
  transaction. The autouse ``_browser_test`` fixture requests ``committing_app``, which opts out
  of that transaction, verifies the ledger and truncates every table after the test. The root
  ``make_group``/``make_member`` factories therefore commit for real here too.
* ``new_context()`` is one person's browser (cookies are host-only, so use one per person);
  ``page`` is a page in a fresh context. Pages still open when a test fails are saved as
  screenshots under ``test-results/``; ``screenshot(page, name)`` saves one on purpose.
* Helpers to import: ``Person``, ``normalized_text`` (compare amounts whatever the bidi marks
  and spaces), ``watch_assets`` (catch a stylesheet or script that fails to load).
* Without ``/usr/bin/chromium`` the tests are skipped, unless ``CI`` is set: then they fail.
"""

import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, got_request_exception
from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from timebank import create_app
from timebank.config import TestConfig
from timebank.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
TIMEOUT_MS = 15_000
HERE = Path(__file__).resolve().parent
_REPORTS = pytest.StashKey[dict]()


# --- marking, failure reports ------------------------------------------------------------------


def pytest_collection_modifyitems(config, items) -> None:
    """Mark every test under tests/browser with ``browser`` (select with ``-m browser``)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def has_failed(node) -> bool:
    """Return whether ``node``'s setup or call phase failed."""
    reports = node.stash.get(_REPORTS, {})
    return any(report.failed for report in reports.values())


# --- Chromium or skip --------------------------------------------------------------------------


def _unavailable_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """Return Debian's Chromium; skip if missing, but fail when ``CI`` is set."""
    reason = _unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    return CHROMIUM


# --- the live server ---------------------------------------------------------------------------


@dataclass
class LiveServer:
    """The app served on ``127.0.0.1:<port>``; reach it as ``localhost:<port>``."""

    app: Flask
    port: int
    errors: list[BaseException] = field(default_factory=list)

    @property
    def base_domain(self) -> str:
        return f"localhost:{self.port}"

    def url(self, path: str = "/", *, slug: str | None = None) -> str:
        """Return the absolute URL of ``path`` on the apex, or on group ``slug``'s site."""
        host = f"{slug}.{self.base_domain}" if slug else self.base_domain
        return f"http://{host}{path}"


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    """Serve a real app (CSRF on, real commits) on a free port until the session ends.

    Depends on the root ``app`` fixture, which migrates the test database. Exceptions raised
    inside requests are collected in ``live_server.errors``; a test with any of them fails.
    """
    settings = {name: getattr(TestConfig, name) for name in dir(TestConfig) if name.isupper()}
    settings.update(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        DATABASE_URL=app.config.get("DATABASE_URL"),
        REDIS_URL=app.config.get("REDIS_URL"),
        WTF_CSRF_ENABLED=True,
        JOBS_SYNC=True,
        BASE_DOMAIN="localhost",  # replaced below, once the port is known
    )
    served = create_app(settings)
    server = make_server("127.0.0.1", 0, served, threaded=True)
    live = LiveServer(app=served, port=server.server_port)
    # Read per request (tenant resolution, cross-host links), so setting it now is enough.
    served.config["BASE_DOMAIN"] = live.base_domain

    def record(sender, exception, **extra):
        live.errors.append(exception)

    got_request_exception.connect(record, served, weak=False)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, served)
        with served.app_context():
            db.engine.dispose()


# --- Playwright and Chromium -------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium_executable: Path):
    """A headless Debian Chromium (``playwright.sync_api.Browser``) shared by the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(autouse=True)
def _browser_test(chromium_executable, committing_app, live_server) -> Iterator[None]:
    """Every browser test commits for real (``committing_app`` truncates and verifies after)
    and fails if the server raised while handling any of its requests."""
    live_server.errors.clear()
    yield
    errors, live_server.errors[:] = list(live_server.errors), []
    assert not errors, "the server raised during the test: " + "; ".join(map(repr, errors))


@pytest.fixture
def new_context(browser, live_server: LiveServer, request) -> Iterator[Callable]:
    """``new_context(locale="ar", **options)`` opens one person's browser (own cookies).

    ``locale`` sets ``Accept-Language`` and ``navigator.language`` (default ``en-US``); other
    keyword arguments go to ``Browser.new_context``. Contexts are closed after the test (before
    the tables are truncated); when the test failed, each open page is screenshotted first.
    """
    contexts = []

    def make(**options):
        options.setdefault("locale", "en-US")
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    failed = has_failed(request.node)
    for number, context in enumerate(contexts, start=1):
        if failed:
            for page_number, page in enumerate(context.pages, start=1):
                try:
                    take_screenshot(page, f"{request.node.name}-FAILED-{number}-{page_number}")
                except Exception:  # a crashed page must not hide the real failure
                    pass
        context.close()


@pytest.fixture
def page(new_context):
    """A page in a fresh browser context (one anonymous visitor)."""
    return new_context().new_page()


def take_screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as ``test-results/<name>.png`` and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / (re.sub(r"[^\w.-]+", "_", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Callable:
    """``screenshot(page, "dashboard")`` saves ``test-results/dashboard.png``."""
    return take_screenshot


# --- people and logging in ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    password: str = PASSWORD


@pytest.fixture
def network_admin(live_server: LiveServer) -> Person:
    """A network admin, committed (as ``flask network create-admin`` would)."""
    from timebank.provisioning.service import make_network_admin

    person = Person(name="Nora Network", email="nora@network.example.org")
    with live_server.app.app_context():
        make_network_admin(email=person.email, name=person.name, password=person.password)
        db.session.commit()
    return person


@pytest.fixture
def browser_login(live_server: LiveServer) -> Callable:
    """``browser_login(page, email, password=PASSWORD, slug=None)`` logs in through the real
    form on the apex (or on group ``slug``'s site) and asserts it worked; returns ``page``."""

    def login(page, email: str, password: str = PASSWORD, *, slug: str | None = None):
        page.goto(live_server.url("/login", slug=slug))
        page.fill("#email", email)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("#submit")
        if urlsplit(page.url).path == "/login":
            problems = page.locator(".invalid-feedback, .alert").all_inner_texts()
            raise AssertionError(f"login as {email} failed at {page.url}: {problems}")
        return page

    return login


# --- reading the page ---

ASSET_TYPES = frozenset({"stylesheet", "script", "image", "font"})


def watch_assets(page) -> list[str]:
    """Return a list that collects ``"<status> <url>"`` for every stylesheet, script, image or
    font ``page`` fails to load from now on (call it before ``page.goto``)."""
    broken: list[str] = []

    def check(response) -> None:
        if response.status >= 400 and response.request.resource_type in ASSET_TYPES:
            broken.append(f"{response.status} {response.url}")

    page.on("response", check)
    return broken


_INVISIBLE = dict.fromkeys(
    map(ord, "\u200e\u200f\u061c\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e")
)


def normalized_text(text: str) -> str:
    """Return ``text`` as a test compares it: bidi marks dropped, odd spaces made plain,
    Unicode minus made ``-``, runs of white space collapsed (``"−1:30\u00a0h"`` → ``"-1:30 h"``).
    """
    text = unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).replace("\u2212", "-")
    return re.sub(r"\s+", " ", text).strip()


def open_menu(page, name: str) -> None:
    """Open the main menu's dropdown whose button starts with ``name`` (the account menu is the
    person's name). Waits for the page's ``load`` first: a click that lands before Bootstrap's
    script has run opens nothing."""
    button = page.get_by_role("button", name=re.compile(f"^{re.escape(name)}"))
    button.wait_for()
    page.wait_for_load_state()
    button.click()


def choose_member(page, label: str, name: str) -> None:
    """Pick member ``name`` in the payment field labelled ``label``: type the name into the
    search box ``static/js/member_search.js`` makes of the select, then click the result."""
    page.locator("select[data-search-url][hidden]").wait_for(state="attached")  # script ran
    page.get_by_label(label).fill(name)
    page.locator("[id$='-results'] button", has_text=name).first.click()
