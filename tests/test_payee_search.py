"""The payee (and payer) field searches members as one types: /pay lists only favourites,
recent counterparts and the chosen member; /pay/members answers the search; without
JavaScript the "Find a member" form and a submitted id still work."""

import re

import pytest

from timebank.extensions import db
from timebank.marketplace import service as marketplace
from timebank.models import Membership, MembershipStatus
from timebank.tenants import group_context


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(group, make_member):
    return {name: make_member(group, name=name)
            for name in ("Ann", "Ben Brown", "Cai", "Dora Diaz", "Eve")}


def options(page: str) -> set[str]:
    return set(re.findall(r'<option[^>]*value="[1-9]\d*"[^>]*>([^<]+)</option>', page))


def test_pay_lists_favourites_and_recent_counterparts_only(app, group, people, make_transfer,
                                                           client_for, login):
    ann = people["Ann"]
    make_transfer(ann, people["Ben Brown"], 30)
    with app.app_context(), group_context(group.id):
        marketplace.toggle_favourite_member(membership=db.session.get(Membership, ann.id),
                                            member=db.session.get(Membership, people["Cai"].id))
        db.session.commit()
    client = login(client_for("greenvale"), ann.user.email)
    page = client.get("/pay").get_data(as_text=True)
    assert options(page) == {"Ben Brown", "Cai"}
    assert 'data-search-url="/pay/members"' in page
    assert "js/member_search.js" in page and not re.search(r"<script(?![^>]*\bsrc=)", page)
    linked = client.get(f"/pay?to={people['Eve'].id}").get_data(as_text=True)
    assert options(linked) == {"Ben Brown", "Cai", "Eve"}
    found = client.get("/pay?find=diaz").get_data(as_text=True)
    assert "Dora Diaz" in options(found)


def test_search_answers_twenty_active_members_of_the_group(app, group, people, make_group,
                                                          make_member, client_for, login):
    for number in range(25):
        make_member(group, name=f"Dan {number:02d}")
    make_member(group, name="Dani Suspended", status="suspended")
    make_member(make_group("otherton"), name="Dana Elsewhere")
    client = login(client_for("greenvale"), people["Dora Diaz"].user.email)
    found = client.get("/pay/members", query_string={"q": "da"}).get_json()["members"]
    assert len(found) == 20
    assert [m["name"] for m in found] == sorted(m["name"] for m in found)
    names = {m["name"] for m in found}
    assert "Dora Diaz" not in names  # not the caller
    assert not any("Suspended" in n or "Elsewhere" in n for n in names)
    assert client.get("/pay/members", query_string={"q": "bro"}).get_json()["members"] == [
        {"id": people["Ben Brown"].id, "name": "Ben Brown"}]
    assert client.get("/pay/members", query_string={"q": "%"}).get_json()["members"] == []
    assert client.get("/pay/members").get_json()["members"] == []


def test_search_needs_a_login(group, people, client_for):
    response = client_for("greenvale").get("/pay/members?q=ben")
    assert response.status_code == 302 and "login" in response.headers["Location"]


def test_paying_and_asking_someone_found_by_search(app, group, people, client_for, login):
    client = login(client_for("greenvale"), people["Ann"].user.email)
    dora = people["Dora Diaz"]
    response = client.post("/pay", data={"payee": dora.id, "amount": "0:30",
                                         "description": "Gardening"})
    assert response.status_code == 302, response.get_data(as_text=True)
    response = client.post("/request", data={"payer": people["Eve"].id, "amount": "0:15",
                                             "description": "Lift"})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_member_of_another_group_is_not_a_choice(app, group, people, make_group, make_member,
                                                   client_for, login):
    stranger = make_member(make_group("otherton"), name="Stranger")
    client = login(client_for("greenvale"), people["Ann"].user.email)
    response = client.post("/pay", data={"payee": stranger.id, "amount": "0:30",
                                         "description": "Gardening"})
    assert response.status_code == 200


def _account_id(app, group, membership) -> int:
    from timebank.ledger import service as ledger
    with app.app_context(), group_context(group.id):
        member = db.session.get(Membership, membership.id)
        return ledger.account_for(member, ledger.default_currency()).id


def test_statement_with_filter_lists_recent_counterparts_and_searches_the_rest(
        app, group, people, make_transfer, make_group, make_member, client_for, login):
    """The statement's "with" select names the recent counterparts only (not the whole group,
    however long the history); /statement/accounts searches the others by name, past members
    included, never another group's; without JavaScript, ?find= adds them to the select."""
    ann = people["Ann"]
    make_transfer(people["Ben Brown"], ann, 30)
    make_transfer(people["Dora Diaz"], people["Ben Brown"], 10)  # an account, not Ann's trade
    left = make_member(group, name="Dario Left")
    make_transfer(left, ann, 15)
    with app.app_context(), group_context(group.id):
        db.session.get(Membership, left.id).status = MembershipStatus.LEFT
        db.session.commit()
    make_member(make_group("otherton"), name="Dana Elsewhere")
    client = login(client_for("greenvale"), ann.user.email)
    page = client.get("/statement").get_data(as_text=True)
    assert options(page) == {"Ben Brown", "Dario Left"}
    assert 'data-search-url="/statement/accounts?currency=' in page
    assert 'id="member-find"' in page

    found = client.get("/statement/accounts", query_string={"q": "d"}).get_json()["members"]
    assert [m["name"] for m in found] == ["Dario Left", "Dora Diaz"]
    assert found[1]["id"] == _account_id(app, group, people["Dora Diaz"])
    assert client.get("/statement/accounts", query_string={"q": "ann"}).get_json() == {
        "members": []}  # not the statement's own account
    assert client.get("/statement/accounts", query_string={"q": "%_"}).get_json() == {
        "members": []}
    assert client.get("/statement/accounts?q=da&currency=NOPE").status_code == 200

    dario = _account_id(app, group, left)
    filtered = client.get(f"/statement?counterparty={dario}&start=2020-01-01")
    assert "Dario Left" in options(filtered.get_data(as_text=True))
    no_js = client.get("/statement?find=dora&state=pending").get_data(as_text=True)
    assert options(no_js) == {"Ben Brown", "Dario Left", "Dora Diaz"}
    assert '<input type="hidden" name="state" value="pending">' in no_js


def test_statement_search_needs_a_login(group, people, client_for):
    response = client_for("greenvale").get("/statement/accounts?q=da")
    assert response.status_code == 302 and "login" in response.headers["Location"]
