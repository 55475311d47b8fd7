"""Every page a person reaches has one main heading (``<h1>``), so a screen reader's "next
heading" and the document outline start at the page's subject (WCAG 2.4.6, 1.3.1)."""

import re

import pytest

from tests.conftest import coordinator_of

SKIPPED = {"/logout", "/healthz", "/readyz", "/metrics"}


def _html_pages(app, client) -> dict[str, str]:
    pages = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.rule in SKIPPED:
            continue
        if rule.rule.startswith(("/api/", "/ap/", "/static", "/.well-known")):
            continue
        response = client.get(rule.rule)
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[rule.rule] = response.get_data(as_text=True)
    return pages


@pytest.mark.parametrize("who", ["visitor", "member", "coordinator", "admin"])
def test_every_page_has_one_main_heading(app, make_group, make_member, make_network_admin,
                                         client_for, login, who):
    group = make_group("holly")
    member = make_member(group, name="Mia")
    if who == "visitor":
        client = client_for("holly")
    elif who == "admin":
        client = login(client_for(None), make_network_admin().email)
    else:
        person = member if who == "member" else coordinator_of(app, group)
        client = login(client_for("holly"), person.user.email)
    pages = _html_pages(app, client)
    assert len(pages) > (3 if who == "visitor" else 10)
    missing = sorted(path for path, html in pages.items()
                     if len(re.findall(r"<h1[\s>]", html)) != 1)
    assert not missing, missing


def test_pages_name_their_icon_and_it_is_served(make_group, client_for):
    """Browsers asked for /favicon.ico on every first visit (a 404 in every log)."""
    make_group("holly")
    page = client_for("holly").get("/login").get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon
    response = client_for("holly").get(icon[1])
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
