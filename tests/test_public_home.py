"""A group's public page and its regional formats (issue 17): visitors read the description,
place, how to join, the public issuance record and — when the group allows it — its offers and
wants; a group names its country, so an English group in Britain writes British dates, and
the time-zone picker offers the country's zones first."""

from datetime import UTC, datetime

import pytest

from tests.conftest import coordinator_of
from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.models import Group
from timebank.templating import format_regional_datetime

SETTINGS = {
    "name": "Quince Circle", "description": "Neighbours helping neighbours.",
    "place": "Frome", "country": "GB",
    "timezone": "Europe/London", "join_policy": "approval",
    "members_see_all_transfers": "own", "default_min_balance": "10", "default_max_balance": "",
    "ad_lifetime_days": "45", "rating_scale": "5", "volunteer_thanks": "0",
    "ads_public": "y",
}


@pytest.fixture
def group(make_group):
    return make_group("quince")


def _body(response) -> str:
    return response.get_data(as_text=True)


def test_a_coordinator_sets_country_place_and_public_ads(app, group, make_member, client_for,
                                                         login):
    client = login(client_for("quince"), coordinator_of(app, group).user.email)
    page = _body(client.get("/settings"))
    assert 'data-timezone-picker' in page and "js/timezone_picker.js" in page
    response = client.post("/settings", data=SETTINGS)
    assert response.status_code == 302, _body(response)[:3000]
    with app.app_context():
        row = db.session.get(Group, group.id)
        assert (row.country, row.place, row.ads_public) == ("GB", "Frome", True)
    page = _body(client.get("/settings"))
    likely = page.split("<optgroup", 2)[1]
    assert "Europe/London" in likely.split("</optgroup>")[0]
    assert "United Kingdom" in page
    # An unknown country is refused next to the field.
    response = client.post("/settings", data=SETTINGS | {"country": "ZZ"})
    assert "Not a valid choice" in _body(response)

    ann = make_member(group, name="Ann")
    make_ad(app, ann, title="Sourdough lessons")
    visitor = _body(client_for("quince").get("/"))
    assert 'id="group-place">Frome' in visitor and "Neighbours helping" in visitor
    assert 'id="how-to-join"' in visitor and "a coordinator looks at each request" in visitor
    assert "Sourdough lessons" in visitor.split('id="public-ads"', 1)[1]


def test_ads_stay_private_unless_the_group_allows(app, group, make_member, client_for):
    make_ad(app, make_member(group, name="Ann"), title="Sourdough lessons")
    visitor = _body(client_for("quince").get("/"))
    assert "Sourdough lessons" not in visitor and 'id="public-ads"' not in visitor


def test_an_english_group_in_britain_writes_british_dates(app, group):
    moment = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    with app.test_request_context("/", headers={"Host": "quince.localhost"}):
        from flask import g

        g.group = db.session.get(Group, group.id)
        g.group.country = None
        g.group.timezone = "UTC"
        american = format_regional_datetime(moment, "short")
        g.group.country = "GB"
        british = format_regional_datetime(moment, "short")
        db.session.rollback()
    assert american.startswith("12/6/26")
    assert british.startswith("06/12/2026")
