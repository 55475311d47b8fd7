"""Trade between groups through the pages: a coordinator opens the group to the network, a
member pays a member of another group, both statements and both coordinators' pages show it,
a network admin caps a group; nobody outside reaches these pages."""

import json
import re

import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.trading_support import Network
from timebank.extensions import db
from timebank.models import Account, Group
from timebank.tenants import all_groups


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _clearing_balance(app, group) -> int:
    with app.app_context(), all_groups():
        return db.session.scalar(sa.select(Account.balance).where(
            Account.group_id == group.id, Account.is_clearing))


def test_a_coordinator_opens_the_group_to_the_network(app, make_group, make_member,
                                                      client_for, login):
    group = make_group("alder")
    other = make_group("birch")
    coordinator = coordinator_of(app, group)
    client = login(client_for("alder"), coordinator.user.email)
    page = client.get("/trading")
    assert page.status_code == 200 and "Other timebanks" in _text(page)
    with app.app_context(), all_groups():
        currency_id = db.session.scalar(sa.text(
            "SELECT id FROM currencies WHERE group_id = :g ORDER BY id LIMIT 1"), {"g": group.id})
    response = client.post("/trading", data={
        "trades_with_network": "y", "trades_with_all_groups": "0", "partners": [str(other.id)],
        f"owe_{currency_id}": "12", f"owed_{currency_id}": "8:30",
    })
    assert response.status_code == 302, _text(response)[:3000]
    with app.app_context(), all_groups():
        row = db.session.get(Group, group.id)
        assert row.trades_with_network and not row.trades_with_all_groups
        clearing = db.session.scalar(sa.select(Account).where(
            Account.group_id == group.id, Account.is_clearing))
        assert (clearing.min_balance, clearing.max_balance) == (-510, 720)
    bad = client.post("/trading", data={"trades_with_network": "y",
                                        "trades_with_all_groups": "1",
                                        f"owe_{currency_id}": "lots"})
    assert bad.status_code == 200 and "is-invalid" in bad.get_data(as_text=True)


def test_a_member_pays_a_member_of_another_group(app, make_group, make_member, client_for,
                                                 login):
    net = Network(app, make_group, make_member)
    ann = login(client_for("greenvale"), net.ann.user.email)
    pay_page = ann.get("/pay")
    assert 'id="pay-other-timebank"' in pay_page.get_data(as_text=True)
    form = ann.get("/trading/pay?group=barrio")
    html = form.get_data(as_text=True)
    assert "Luis" in html and "Barrio Timebank" in html
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1)
    response = ann.post("/trading/pay?group=barrio", data={
        "partner": "barrio", "payee": str(net.luis.id), "amount": "1:30",
        "description": "Bike repair", "idempotency_key": key,
    })
    assert response.status_code == 302, _text(response)[:3000]
    again = ann.post("/trading/pay?group=barrio", data={
        "partner": "barrio", "payee": str(net.luis.id), "amount": "1:30",
        "description": "Bike repair", "idempotency_key": key,
    })
    assert again.status_code == 302  # the same key pays once
    assert _clearing_balance(app, net.a) == 90 and _clearing_balance(app, net.b) == -90
    statement = _text(ann.get("/statement"))
    assert "Luis (Barrio Timebank)" in statement
    luis = login(client_for("barrio"), net.luis.user.email)
    assert "Ann (Greenvale Timebank)" in _text(luis.get("/statement"))
    transfer_page = _text(ann.get(response.headers["Location"]))
    assert "Luis (Barrio Timebank)" in transfer_page
    for group, partner_name, seconds in ((net.a, "Barrio Timebank", 5400),
                                         (net.b, "Greenvale Timebank", -5400)):
        coordinator = coordinator_of(app, group)
        client = login(client_for(group.slug), coordinator.user.email)
        page = _text(client.get("/trading"))
        assert partner_name in page and 'id="partner-balances"' in page
        assert "1.5 h" in page
        # The chart's points, from the clearing account's monthly totals: this month's end.
        chart = json.loads(re.search(
            r'<script type="application/json" id="balance-history">(.*?)</script>', page)[1])
        assert [point["balance"] for point in chart["points"]] == [seconds]
        assert chart["points"][0]["day"].endswith("-01")
        dashboard = _text(client.get("/coordinator"))
        assert 'id="network-position"' in dashboard and partner_name in dashboard


def test_a_refusal_is_shown_next_to_the_amount_and_writes_nothing(app, make_group, make_member,
                                                                 client_for, login):
    net = Network(app, make_group, make_member)
    net.set_trading(net.a, owe=30)
    ann = login(client_for("greenvale"), net.ann.user.email)
    response = ann.post("/trading/pay?group=barrio", data={
        "partner": "barrio", "payee": str(net.luis.id), "amount": "1",
        "description": "Too much", "idempotency_key": "k-refused",
    })
    page = _text(response)
    assert response.status_code == 200
    assert "Greenvale Timebank has reached what it may owe other timebanks" in page
    assert "0:30" in page
    assert _clearing_balance(app, net.a) == 0


def test_a_missing_payee_is_flagged_with_the_other_errors(app, make_group, make_member,
                                                          client_for, login):
    """"Choose a member" left selected is an error next to the payee, also when the amount
    and the description are missing too (it was shown only once they were right)."""
    net = Network(app, make_group, make_member)
    ann = login(client_for("greenvale"), net.ann.user.email)
    response = ann.post("/trading/pay?group=barrio", data={
        "partner": "barrio", "payee": "0", "amount": "", "description": "",
        "idempotency_key": "k-empty"})
    page = _text(response)
    payee_field = page[page.index('name="payee"'):]
    assert "This field is required." in payee_field[:payee_field.index('name="amount"')]
    assert _clearing_balance(app, net.a) == 0


def test_a_refused_cap_is_shown_next_to_its_field_with_what_was_typed(
        app, make_group, make_member, make_network_admin, client_for, login):
    net = Network(app, make_group, make_member)
    client = login(client_for(None), make_network_admin().email)
    response = client.post("/network/groups/greenvale/trading-caps",
                           data={"owe_cap": "abc", "owed_cap": "7"})
    assert response.status_code == 422
    form = _text(response).split('id="trading-caps"')[1].split("</form>")[0]
    assert 'id="owe_cap" name="owe_cap" value="abc"' in form
    assert form.count("Enter a number of hours, like 20 or 7:30.") == 1
    assert 'value="7"' in form  # the other field keeps its input too
    with app.app_context(), all_groups():
        row = db.session.get(Group, net.a.id)
        assert (row.network_owe_cap, row.network_owed_cap) == (None, None)  # nothing saved


def test_a_network_admin_caps_a_group(app, make_group, make_member, make_network_admin,
                                      client_for, login):
    net = Network(app, make_group, make_member)
    admin = make_network_admin()
    client = login(client_for(None), admin.email)
    assert 'id="trading-caps"' in client.get("/network/groups/greenvale").get_data(as_text=True)
    response = client.post("/network/groups/greenvale/trading-caps",
                           data={"owe_cap": "2", "owed_cap": ""})
    assert response.status_code == 302
    with app.app_context(), all_groups():
        row = db.session.get(Group, net.a.id)
        assert (row.network_owe_cap, row.network_owed_cap) == (120, None)
        clearing = db.session.scalar(sa.select(Account).where(
            Account.group_id == net.a.id, Account.is_clearing))
        assert clearing.max_balance == 120  # 10 h lowered to the cap


def test_outsiders_reach_no_trading_page(app, make_group, make_member, client_for, login):
    net = Network(app, make_group, make_member)
    visitor = client_for("greenvale")
    for path in ("/trading", "/trading/pay"):
        assert visitor.get(path).status_code == 302  # to the login page
    assert visitor.post("/network/groups/greenvale/trading-caps",
                        data={"owe_cap": "1"}).status_code in (302, 404)
    luis = login(client_for("greenvale"), net.luis.user.email)  # barrio's member, here
    for path in ("/trading", "/trading/pay"):
        response = luis.get(path)  # offered to join, never shown the page
        assert response.status_code in (302, 403, 404)
        assert path not in response.headers.get("Location", "")
    ann = login(client_for("greenvale"), net.ann.user.email)
    assert ann.get("/trading").status_code == 403  # a member, not a coordinator
    assert ann.get("/trading/pay?group=nowhere").status_code == 404
    apex_member = login(client_for(None), net.ann.user.email)
    assert apex_member.post("/network/groups/greenvale/trading-caps",
                            data={"owe_cap": "1"}).status_code in (403, 404)


def test_each_side_is_mailed_in_its_language_naming_the_other_member(app, make_group,
                                                                      make_member):
    from timebank.ledger.notify import deliver_notices
    from timebank.mail import OUTBOX

    net = Network(app, make_group, make_member, b="barrio")
    with app.app_context(), all_groups():
        db.session.get(Group, net.b.id).default_locale = "es"
        db.session.commit()
    OUTBOX.clear()
    net.pay(amount=90)
    with app.test_request_context():
        deliver_notices()
    to_luis = [m for m in OUTBOX if net.luis.user.email in m.recipients]
    assert to_luis, OUTBOX
    assert "Ann (Greenvale Timebank)" in to_luis[0].subject + to_luis[0].body
    assert to_luis[0].subject == "1:30 h de Ann (Greenvale Timebank) a Luis"  # in Spanish


def test_a_treasurer_pays_across_on_a_members_behalf(app, make_group, make_member, client_for,
                                                     login):
    net = Network(app, make_group, make_member)
    treasurer = login(client_for("greenvale"), net.tre_a.user.email)
    html = treasurer.get("/trading/pay?group=barrio").get_data(as_text=True)
    assert 'name="payer"' in html and "Ann" in html
    response = treasurer.post("/trading/pay?group=barrio", data={
        "partner": "barrio", "payer": str(net.ann.id), "payee": str(net.luis.id),
        "amount": "1", "description": "Paper slip", "idempotency_key": "k-behalf",
    })
    assert response.status_code == 302, _text(response)[:2000]
    assert net.balances()["ann"] == -60 and net.balances()["luis"] == 60
    member = login(client_for("greenvale"), net.ann.user.email)
    assert 'name="payer"' not in member.get("/trading/pay?group=barrio").get_data(as_text=True)
