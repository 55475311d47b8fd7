"""The treasurer's levy page (issue 20): set through the form, reached by clicking, closed to
members, other groups and visitors, bad input a form error; the levy on statements."""

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.models import AuditEvent, Currency, Transfer, TransferKind
from timebank.tenants import group_context

LEVY = {"percentage": "2", "fixed": "", "minimum": "", "maximum": "", "charged_to": "payer"}


def _currency(app, group) -> Currency:
    with app.app_context(), group_context(group.id):
        currency = db.session.scalar(sa.select(Currency).order_by(Currency.id).limit(1))
        db.session.expunge(currency)
        return currency


def _levy(app, group) -> tuple:
    currency = _currency(app, group)
    return (currency.levy_basis_points, currency.levy_fixed, currency.levy_minimum,
            currency.levy_maximum, currency.levy_charged_to)


@pytest.fixture
def alder(app, make_group, make_member):
    group = make_group("alder")
    return group, make_member(group, name="Tess Treasurer", role="treasurer"), make_member(
        group, name="Ann Alder"), make_member(group, name="Amy Alder")


def test_a_treasurer_sets_a_levy_by_clicking(app, alder, client_for, login):
    group, treasurer, ann, amy = alder
    client = login(client_for("alder"), treasurer.user.email)
    code = _currency(app, group).code
    assert 'href="/currencies/"' in client.get("/dashboard").get_data(as_text=True)  # the menu
    page = client.get("/currencies/").get_data(as_text=True)
    assert f'href="/currencies/{code}/levy"' in page and "No levy on transfers." in page
    assert client.get(f"/currencies/{code}/levy").status_code == 200
    response = client.post(f"/currencies/{code}/levy",
                           data={**LEVY, "percentage": "2,5", "minimum": "0:01",
                                 "maximum": "1:00", "charged_to": "both"},
                           follow_redirects=True)
    assert "Levy saved for" in response.get_data(as_text=True)
    assert _levy(app, group) == (250, 0, 1, 60, "both")
    page = client.get("/currencies/").get_data(as_text=True)
    assert "Paid by the payer and again by the payee." in page and "2.5%" in page
    with app.app_context(), group_context(group.id):
        assert db.session.scalar(sa.select(AuditEvent.action).where(
            AuditEvent.action == "ledger.levy")) == "ledger.levy"


def test_both_statements_show_the_levy_line(app, alder, client_for, login):
    group, treasurer, ann, amy = alder
    code = _currency(app, group).code
    login(client_for("alder"), treasurer.user.email).post(f"/currencies/{code}/levy", data=LEVY)
    payer = login(client_for("alder"), ann.user.email)
    form = payer.get("/pay").get_data(as_text=True)
    assert "name=\"payee\"" in form
    response = payer.post("/pay", data={"currency": code, "payee": amy.id, "amount": "1:00",
                                        "description": "Gardening"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context(), group_context(group.id):
        paid, levy = db.session.scalars(sa.select(Transfer).order_by(Transfer.id)).all()
        assert (levy.kind, levy.levied_on_id, levy.amount) == (TransferKind.LEVY, paid.id, 1)
    statement = payer.get("/statement").get_data(as_text=True)
    assert f"levy on #{paid.id}" in statement and "Community pot" in statement
    assert "-0:01" in statement or "−0:01" in statement
    csv = payer.get("/statement.csv").get_data(as_text=True)
    assert ",levy,Community pot,Gardening," in csv and csv.splitlines()[0].endswith("levy_on")
    # The payee's statement shows the payment, and the transfer page names its levy.
    page = login(client_for("alder"), amy.user.email).get(f"/transfers/{paid.id}")
    assert 'id="levies"' in page.get_data(as_text=True)
    ledger_csv = login(client_for("alder"), treasurer.user.email).get("/ledger.csv")
    assert f",{paid.id}" in ledger_csv.get_data(as_text=True).splitlines()[-1]


def test_members_other_groups_and_visitors_cannot_see_or_change_it(app, alder, make_group,
                                                                   make_member, client_for,
                                                                   login):
    group, treasurer, ann, amy = alder
    code = _currency(app, group).code
    birch = make_group("birch")
    stranger = make_member(birch, name="Bo Birch", role="treasurer")
    before = _levy(app, group)
    member = login(client_for("alder"), ann.user.email)
    assert member.get(f"/currencies/{code}/levy").status_code == 403
    assert member.post(f"/currencies/{code}/levy", data=LEVY).status_code == 403
    assert f"/currencies/{code}/levy" not in member.get("/currencies/").get_data(as_text=True)
    visitor = client_for("alder")
    for response in (visitor.get(f"/currencies/{code}/levy"),
                     visitor.post(f"/currencies/{code}/levy", data=LEVY)):
        assert response.status_code in (302, 401, 403)
        assert "/login" in response.headers.get("Location", "/login")
    # Birch's treasurer, on Alder's host, is no member there; on Birch's host, Birch's
    # currencies are all there is.
    outsider = client_for("alder")
    outsider.post("/login", data={"email": stranger.user.email, "password": PASSWORD})
    assert outsider.get(f"/currencies/{code}/levy").status_code in (302, 403, 404)
    assert outsider.post(f"/currencies/{code}/levy", data=LEVY).status_code in (302, 403, 404)
    own = login(client_for("birch"), stranger.user.email)
    assert own.post(f"/currencies/{_currency(app, birch).code}/levy", data=LEVY,
                    ).status_code == 302
    assert _levy(app, group) == before
    assert _levy(app, birch)[0] == 200


@pytest.mark.parametrize("field, value", [
    ("percentage", "100.01"), ("percentage", "-1"), ("percentage", "1e9"),
    ("percentage", "99999999999999999999999"), ("percentage", "2.555"), ("percentage", "a\x00b"),
    ("percentage", "NaN"), ("fixed", "-5"), ("fixed", "99999999999999999999999"),
    ("minimum", "a\x00b"), ("maximum", "-1"), ("charged_to", "nobody"),
])
def test_bad_input_is_a_form_error_and_changes_nothing(app, alder, client_for, login, field,
                                                       value):
    group, treasurer, ann, amy = alder
    code = _currency(app, group).code
    client = login(client_for("alder"), treasurer.user.email)
    before = _levy(app, group)
    response = client.post(f"/currencies/{code}/levy", data={**LEVY, field: value})
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 200:
        assert "invalid-feedback" in response.get_data(as_text=True)
    assert _levy(app, group) == before


def test_a_minimum_above_the_maximum_is_refused_next_to_the_field(app, alder, client_for, login):
    group, treasurer, ann, amy = alder
    code = _currency(app, group).code
    client = login(client_for("alder"), treasurer.user.email)
    response = client.post(f"/currencies/{code}/levy",
                           data={**LEVY, "minimum": "2:00", "maximum": "1:00"})
    assert response.status_code == 200
    assert "the minimum no larger than the maximum" in response.get_data(as_text=True)
    assert _levy(app, group)[0] == 0
