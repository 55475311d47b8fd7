"""Every page a role may use is a click away (issue 17): the links on the dashboard and in the
menus, the way back to the network, and joining a second group."""

import re

import pytest

from tests.conftest import coordinator_of


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(app, group, make_member):
    return {
        "ann": make_member(group, name="Ann"),
        "tre": make_member(group, name="Tess Treasurer", role="treasurer"),
        "coo": coordinator_of(app, group),
    }


@pytest.fixture
def as_(client_for, login, people):
    def make(name):
        return login(client_for("greenvale"), people[name].user.email)
    return make


def page(client, path="/dashboard") -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_treasurer_finds_group_ledger_and_accounts(as_):
    html = page(as_("tre"))
    assert 'href="/ledger"' in html and 'href="/accounts"' in html
    assert 'href="/on-behalf"' in html and 'href="/bulk"' in html


def test_member_sees_no_treasurer_links(as_):
    html = page(as_("ann"))
    assert 'href="/ledger"' not in html and 'href="/accounts"' not in html
    assert 'href="/on-behalf"' not in html


def test_coordinator_finds_the_export(as_):
    assert 'href="/export"' in page(as_("coo"), "/coordinator")


def test_every_page_has_a_skip_link_and_a_way_to_the_network(as_):
    html = page(as_("ann"))
    assert 'href="#main"' in html and 'id="main"' in html
    assert 'id="nav-my-timebanks"' in html and 'id="nav-network"' in html


def test_manage_menu_holds_the_coordinators_pages(as_, make_member, group):
    make_member(group, name="Nia Newcomer", status="pending")
    html = page(as_("coo"))
    for path in ("/coordinator", "/members/pending", "/ledger", "/accounts", "/settings",
                 "/audit", "/export", "/marketplace/categories"):
        assert f'href="{path}"' in html, path
    assert 'id="manage-badge"' in html


def test_a_logged_in_non_member_is_offered_to_join(app, make_group, make_member, client_for,
                                                   login, people):
    other = make_group("hillside")
    stranger = make_member(other, name="Sam Stranger")
    client = login(client_for("greenvale"), stranger.user.email)
    html = page(client, "/")
    assert 'id="not-a-member"' in html and 'href="/join"' in html
    assert 'id="nav-join"' in html


def test_signup_with_an_existing_address_guides_to_log_in_and_join(client_for, people, outbox):
    # The page answers as for a new address (issue 15: the form reveals no account); the
    # guidance goes to the address's owner by email.
    client = client_for("greenvale")
    page(client, "/signup")
    response = client.post("/signup", data={
        "name": "Ann again", "email": people["ann"].user.email, "password": "a long password 1",
        "password2": "a long password 1", "confirm": "a long password 1"})
    assert response.status_code == 302
    mail = outbox[-1]
    assert mail.recipients == [people["ann"].user.email]
    assert re.search(r"/login\?\S*next=%2Fjoin|/login\?\S*next=/join", mail.body)
