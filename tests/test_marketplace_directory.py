"""The marketplace reads as finished (issue 17): a heading, whole filter labels, categories in
the reader's alphabetical order, a category directory with counts, empty states that help."""

import pytest

from tests.ledger_support import in_group
from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.marketplace import service as marketplace


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def ann(group, make_member):
    return make_member(group, name="Ann")


@pytest.fixture
def client(ann, client_for, login):
    return login(client_for("greenvale"), ann.user.email)


def _body(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_browse_has_a_heading_and_alphabetical_categories(app, group, client):
    with in_group(app, group):
        for name in ("zoology", "Ébénisterie", "apples"):
            marketplace.create_category(name=name)
        db.session.commit()
    page = _body(client.get("/marketplace/"))
    assert '<h1 class="h3">Marketplace</h1>' in page
    options = page.split('id="category"', 1)[1].split("</select>", 1)[0]
    positions = [options.index(name) for name in ("apples", "Ébénisterie", "zoology")]
    assert positions == sorted(positions)


def test_the_directory_lists_categories_a_to_z_with_counts(app, group, ann, client):
    with in_group(app, group):
        marketplace.create_category(name="Bicycles")
        db.session.commit()
    make_ad(app, ann, title="Fix a puncture", category="Bicycles")
    page = _body(client.get("/marketplace/directory"))
    directory = page.split('id="category-directory"', 1)[1]
    assert "Bicycles" in directory and "(1 ad)" in directory
    assert 'href="/marketplace/directory"' in _body(client.get("/marketplace/"))


def test_an_empty_search_offers_a_way_on(client):
    page = _body(client.get("/marketplace/?q=nothingmatchesthis"))
    empty = page.split('id="no-results"', 1)[1]
    assert 'href="/marketplace/new"' in empty and 'href="/marketplace/directory"' in empty
