"""Standing orders and scheduled charges through the pages: reachable by clicking, created and
cancelled by their payer (or a treasurer), invisible to other members, other groups and
visitors; the fee and demurrage settings; statement lines and the dashboard's next charge."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.ledger_support import in_group
from timebank.extensions import db
from timebank.models import Currency, Membership, MembershipStatus, StandingOrder
from timebank.schedules import jobs


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(app, group, make_member):
    return {"ann": make_member(group, name="Ann Baker"), "ben": make_member(group, name="Ben"),
            "cat": make_member(group, name="Cat"),
            "tre": make_member(group, name="Tess Treasurer", role="treasurer"),
            "coo": coordinator_of(app, group)}


@pytest.fixture
def as_(client_for, login, people):
    def make(name):
        return login(client_for("greenvale"), people[name].user.email)
    return make


def form_of(client, path: str) -> dict:
    """The hidden CSRF token of the form on ``path``, if the test config asks for one."""
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    return {"csrf_token": found.group(1)} if found else {}


def today() -> date:
    return date.today()  # the test group's time zone is UTC


def new_order(client, people, *, payee="ben", amount="1:00", starts_on=None, **extra):
    data = form_of(client, "/standing-orders/new")
    payee_id = people[payee].id if isinstance(payee, str) else payee
    data.update({"payee": payee_id, "currency": "HOUR", "amount": amount,
                 "description": "Allotment rent", "interval": "month",
                 "starts_on": (starts_on or today()).isoformat(), "ends_on": "", **extra})
    return client.post("/standing-orders/new", data=data)


def orders(app, group) -> list[StandingOrder]:
    with in_group(app, group):
        rows = db.session.scalars(sa.select(StandingOrder).order_by(StandingOrder.id)).all()
        db.session.expunge_all()
        return rows


def test_a_member_finds_sets_up_sees_and_cancels_an_order(app, group, people, as_):
    ann = as_("ann")
    for path in ("/dashboard", "/statement"):
        assert 'href="/standing-orders"' in ann.get(path).get_data(as_text=True), path
    assert 'href="/standing-orders/new"' in ann.get("/pay").get_data(as_text=True)
    page = ann.get("/standing-orders/new").get_data(as_text=True)
    assert 'name="payer"' not in page  # a member pays from their own account only
    response = new_order(ann, people)
    assert response.status_code == 302, response.get_data(as_text=True)
    (order,) = orders(app, group)
    assert (order.payer_membership_id, order.payee_membership_id, order.amount) == (
        people["ann"].id, people["ben"].id, 60)
    listing = ann.get("/standing-orders").get_data(as_text=True)
    assert "Allotment rent" in listing and 'id="orders-paying"' in listing
    assert "Allotment rent" in as_("ben").get("/standing-orders").get_data(as_text=True)
    page = ann.get(f"/standing-orders/{order.id}").get_data(as_text=True)
    assert 'id="cancel-order"' in page
    assert 'id="cancel-order"' not in as_("ben").get(f"/standing-orders/{order.id}").get_data(
        as_text=True)  # the payee sees it but does not cancel it
    data = form_of(ann, f"/standing-orders/{order.id}")
    assert ann.post(f"/standing-orders/{order.id}/cancel", data=data).status_code == 302
    assert orders(app, group)[0].cancelled_at is not None
    assert 'data-state="cancelled"' in ann.get(f"/standing-orders/{order.id}").get_data(
        as_text=True)


@pytest.mark.parametrize("change,field_error", [
    ({"starts_on": "2001-01-01"}, "Choose today or a later day."),
    ({"starts_on": "9999-12-31"}, "Choose a day at most 10 years from today."),
    ({"amount": "abc"}, "Enter an amount like"),
    ({"amount": "0"}, "greater than zero"),
    ({"ends_on": "2001-01-01"}, "on or after the first payment"),
    ({"payee": 0}, "This field is required."),
    ({"interval": "daily"}, "Not a valid choice"),
])
def test_bad_input_is_a_form_error(app, group, people, as_, change, field_error):
    data = {}
    if "starts_on" in change:
        data["starts_on"] = date.fromisoformat(change.pop("starts_on"))
    response = new_order(as_("ann"), people, **data, **change)
    assert response.status_code == 422
    assert field_error in response.get_data(as_text=True)
    assert orders(app, group) == []


def test_a_treasurer_sets_up_and_cancels_for_a_member(app, group, people, as_):
    tre = as_("tre")
    dashboard = tre.get("/dashboard").get_data(as_text=True)
    assert 'id="nav-standing-orders"' in dashboard and 'id="nav-charges"' in dashboard
    assert '<select' in tre.get("/standing-orders/new").get_data(as_text=True).split(
        'name="payer"')[0][-300:]  # the payer is a choice
    response = new_order(tre, people, payer=people["cat"].id)
    assert response.status_code == 302
    (order,) = orders(app, group)
    assert order.payer_membership_id == people["cat"].id
    assert order.created_by_id == people["tre"].id
    assert "Allotment rent" in tre.get("/standing-orders").get_data(as_text=True)
    data = form_of(tre, f"/standing-orders/{order.id}")
    assert tre.post(f"/standing-orders/{order.id}/cancel", data=data).status_code == 302


def test_a_member_cannot_pay_from_someone_else(app, group, people, as_):
    response = new_order(as_("ann"), people, payer=people["cat"].id)
    assert response.status_code in (302, 422)
    for order in orders(app, group):
        assert order.payer_membership_id == people["ann"].id


def test_others_cannot_see_or_touch_an_order(app, group, people, as_, make_group, make_member,
                                             client_for, login):
    new_order(as_("ann"), people)
    (order,) = orders(app, group)
    path = f"/standing-orders/{order.id}"
    cat = as_("cat")  # a member of the group, neither payer nor payee
    assert cat.get(path).status_code == 404
    assert cat.post(f"{path}/cancel", data=form_of(cat, "/standing-orders")).status_code == 404
    assert "Allotment rent" not in cat.get("/standing-orders").get_data(as_text=True)
    visitor = client_for("greenvale")
    assert visitor.get(path).status_code == 302
    assert "/login" in visitor.get(path).headers["Location"]
    assert visitor.post(f"{path}/cancel").status_code in (302, 400)
    other = make_group("hillside")
    stranger = make_member(other, name="Sam", role="treasurer")
    at_home = login(client_for("hillside"), stranger.user.email)
    assert at_home.get(path).status_code == 404  # the id means nothing in another group
    assert at_home.post(f"{path}/cancel",
                        data=form_of(at_home, "/standing-orders")).status_code == 404
    visiting = login(client_for("greenvale"), stranger.user.email)
    assert visiting.get(path).status_code == 302  # not a member: sent to the join page
    assert orders(app, group)[0].cancelled_at is None


def test_treasurer_sets_charges_and_members_see_lines_and_next_demurrage(
        app, group, people, as_, make_transfer):
    member = as_("ann")
    assert member.get("/currencies/HOUR/charges").status_code == 403
    tre = as_("tre")
    assert 'href="/currencies/HOUR/charges"' in tre.get("/currencies/").get_data(as_text=True)
    data = form_of(tre, "/currencies/HOUR/charges")
    bad = tre.post("/currencies/HOUR/charges", data={**data, "fee_interval": "month",
                                                      "fee_policy": "skip",
                                                      "demurrage_rate": "1.234"})
    assert bad.status_code == 422 and "two decimals" in bad.get_data(as_text=True)
    response = tre.post("/currencies/HOUR/charges", data={
        **data, "fee_amount": "0:30", "fee_interval": "month", "fee_policy": "partial",
        "demurrage_rate": "2", "demurrage_threshold": "10"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with in_group(app, group):
        currency = db.session.scalar(sa.select(Currency))
        assert (currency.fee_amount, currency.fee_policy, currency.demurrage_rate,
                currency.demurrage_threshold) == (30, "partial", 200, 600)
        starts = currency.demurrage_starts_on
    make_transfer(people["tre"], people["ann"], 900)  # Ann holds 15 h: 5 h above 10 h
    page = member.get("/dashboard").get_data(as_text=True)
    assert 'id="next-demurrage"' in page and "0:06" in page  # 2 % of 5 h
    with app.app_context():
        jobs.run_demurrage(starts.isoformat())
        jobs.run_fees(starts.isoformat())
    statement = member.get("/statement").get_data(as_text=True)
    assert 'data-kind="demurrage"' in statement and 'data-kind="fee"' in statement
    assert "membership fee" in statement
    ledger_page = tre.get("/ledger?kind=fee").get_data(as_text=True)
    assert "membership fee" in ledger_page


def test_next_payment_and_refusal_on_the_order_page(app, group, people, as_):
    ann = as_("ann")
    new_order(ann, people, amount="30:00")  # beyond Ann's 20 h credit limit
    (order,) = orders(app, group)
    with app.app_context():
        jobs.run_standing_orders((today() + timedelta(days=1)).isoformat())
    page = ann.get(f"/standing-orders/{order.id}").get_data(as_text=True)
    assert 'id="last-refusal"' in page and "credit limit" in page
    assert 'data-outcome="refused"' in page and 'id="next-payment"' in page


def test_an_order_ended_because_the_payer_left_shows_why(app, group, people, as_):
    new_order(as_("ann"), people, amount="0:30")
    (order,) = orders(app, group)
    with in_group(app, group):
        db.session.get(Membership, people["ann"].id).status = MembershipStatus.LEFT
        db.session.commit()
    with app.app_context():
        jobs.run_standing_orders(today().isoformat())
    ben = as_("ben")
    listing = ben.get("/standing-orders").get_data(as_text=True)
    assert 'data-ended="payer_left"' in listing and "Ann Baker, left the group" in listing
    assert 'data-state="ended-payer_left"' in listing
    page = ben.get(f"/standing-orders/{order.id}").get_data(as_text=True)
    assert 'id="ended-because"' in page and 'id="cancel-order"' not in page
    assert 'data-outcome="refused"' not in page
