"""Every page a role may use is a click away (issue 17): the links on the dashboard and in the
menus, the way back to the network, and joining a second group."""

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
