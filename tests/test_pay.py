"""Paying hours through the /pay form: credit limits, bad input, double submits, the statement.

Every refusal is checked twice: the person sees why, and nothing was written.
"""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of, ledger_state, row_counts
from tests.group_admin_support import account_id
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import SameAccount
from timebank.models import Entry, Membership, Transfer
from timebank.tenants import group_context


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def ann(group, make_member):
    return make_member(group, name="Ann")


@pytest.fixture
def ben(group, make_member):
    return make_member(group, name="Ben")


def pay(client, payee, amount, *, description="Gardening", key=None):
    data = {"payee": payee.id, "amount": amount, "description": description}
    if key is not None:
        data["idempotency_key"] = key
    return client.post("/pay", data=data)


def balances(app, group, *names):
    state = ledger_state(app, group)
    return tuple(state[name] for name in names)


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_payment_writes_one_transfer_and_two_entries(app, group, ann, ben, client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    response = pay(client, ben, "1:30", description="Fixing the fence")
    assert response.status_code == 302
    assert re.fullmatch(r"/transfers/\d+", response.headers["Location"])
    page = _text(client.get(response.headers["Location"]))
    assert "Fixing the fence" in page and "1:30 h" in page and "Paid 1:30 h to Ben." in page
    with app.app_context(), group_context(group.id):
        transfer = db.session.scalar(sa.select(Transfer))
        entries = db.session.scalars(sa.select(Entry).where(Entry.transfer_id == transfer.id))
        amounts = sorted(entry.amount for entry in entries)
    assert transfer.amount == 90 and transfer.state == "completed"
    assert amounts == [-90, 90]
    assert balances(app, group, "Ann", "Ben") == (-90, 90)


def test_pay_page_says_how_much_is_left(group, ann, ben, client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    assert "You can still spend <span" in _text(client.get("/pay"))
    assert "20:00 h" in _text(client.get("/pay"))
    dashboard = _text(client.get("/dashboard"))
    assert re.search(r'id="can-still-spend"><span[^>]*>20:00 h', dashboard)


def test_over_the_credit_limit_is_refused_with_what_is_left(app, group, ann, ben, client_for,
                                                            login):
    client = login(client_for("greenvale"), ann.user.email)
    assert pay(client, ben, "5:00").status_code == 302
    before = row_counts(app)
    response = pay(client, ben, "15:01")
    assert response.status_code == 200
    assert "below your credit limit" in _text(response)
    assert "You can still spend 15:00 h." in _text(response)
    assert 'value="15:01"' in _text(response)  # what they typed is kept
    assert row_counts(app) == before
    assert balances(app, group, "Ann", "Ben") == (-300, 300)


def test_exact_boundary_is_allowed_then_one_minute_more_is_refused(app, group, ann, ben,
                                                                   client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    assert pay(client, ben, "20:00").status_code == 302
    assert balances(app, group, "Ann", "Ben") == (-1200, 1200)
    before = row_counts(app)
    response = pay(client, ben, "0:01")
    assert response.status_code == 200
    assert "You can still spend 0:00 h." in _text(response)
    assert row_counts(app) == before
    assert balances(app, group, "Ann", "Ben") == (-1200, 1200)


BAD_AMOUNTS = {
    "0": "Enter an amount greater than zero.",
    "0:00": "Enter an amount greater than zero.",
    "-1": "Enter a positive amount.",
    "abc": "Enter an amount like 1:30, 1.5 or 90 min.",
    "1e9": "Enter an amount like 1:30, 1.5 or 90 min.",
    "": "Enter an amount.",
    "   ": "Enter an amount.",
    "99999999": "This amount is too large.",
    "1.001": "This amount is more precise than the currency allows.",
    "1:75": "Enter an amount like 1:30, 1.5 or 90 min.",
    "NaN": "Enter an amount like 1:30, 1.5 or 90 min.",
}


@pytest.mark.parametrize("amount", list(BAD_AMOUNTS))
def test_bad_amounts_are_rejected_and_nothing_is_written(app, group, ann, ben, client_for,
                                                         login, amount):
    client = login(client_for("greenvale"), ann.user.email)
    before = row_counts(app)
    response = pay(client, ben, amount)
    assert response.status_code == 200
    assert BAD_AMOUNTS[amount] in _text(response)
    assert "is-invalid" in _text(response)  # shown next to the field
    assert row_counts(app) == before
    assert balances(app, group, "Ann", "Ben") == (0, 0)


def test_description_is_required(app, group, ann, ben, client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    before = row_counts(app)
    response = pay(client, ben, "1:00", description="")
    assert response.status_code == 200 and "is-invalid" in _text(response)
    assert row_counts(app) == before


def test_paying_yourself_is_refused(app, group, ann, ben, client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    assert "Ann</option>" not in _text(client.get("/pay"))  # not even offered
    before = row_counts(app)
    response = pay(client, ann, "1:00")
    assert response.status_code == 200 and "is-invalid" in _text(response)
    assert row_counts(app) == before
    with app.app_context(), group_context(group.id):
        me = db.session.get(Membership, ann.id)
        with pytest.raises(SameAccount):
            ledger.pay(payer=me, payee=me, currency=ledger.default_currency(), amount=60,
                       description="Me", starter=me)
    assert row_counts(app) == before


@pytest.mark.parametrize("status", ["pending", "suspended"])
def test_paying_an_inactive_member_is_refused(app, group, ann, make_member, client_for, login,
                                              status):
    other = make_member(group, name="Olga", status=status)
    client = login(client_for("greenvale"), ann.user.email)
    before = row_counts(app)
    response = pay(client, other, "1:00")
    assert response.status_code == 200 and "is-invalid" in _text(response)
    assert row_counts(app) == before


def test_paying_a_member_of_another_group_is_refused(app, group, ann, make_group, make_member,
                                                     client_for, login):
    stranger = make_member(make_group("elsewhere"), name="Stranger")
    client = login(client_for("greenvale"), ann.user.email)
    before = row_counts(app)
    response = pay(client, stranger, "1:00")
    assert response.status_code == 200 and "is-invalid" in _text(response)
    assert row_counts(app) == before


def test_double_submitted_form_pays_once(app, group, ann, ben, client_for, login):
    client = login(client_for("greenvale"), ann.user.email)
    key = re.search(r'name="idempotency_key" type="hidden" value="(\w+)"',
                    _text(client.get("/pay"))).group(1)
    first = pay(client, ben, "2:00", key=key)
    second = pay(client, ben, "2:00", key=key)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert balances(app, group, "Ann", "Ben") == (-120, 120)
    assert row_counts(app)["transfers"] == 1
    # A fresh form (a new key) is a new payment.
    assert pay(client, ben, "2:00", key="another-key").status_code == 302
    assert balances(app, group, "Ann", "Ben") == (-240, 240)


def _limits(app, member) -> str:
    return f"/accounts/{account_id(app, member)}/limits"


def test_changed_credit_limit_is_enforced(app, group, ann, ben, client_for, login):
    coordinator = login(client_for("greenvale"), coordinator_of(app, group).user.email)
    response = coordinator.post(_limits(app, ann), data={"min_balance": "1", "max_balance": ""})
    assert response.status_code == 302
    client = login(client_for("greenvale"), ann.user.email)
    refused = pay(client, ben, "1:01")
    assert "You can still spend 1:00 h." in _text(refused)
    assert pay(client, ben, "1:00").status_code == 302
    assert balances(app, group, "Ann", "Ben") == (-60, 60)
    # Raising the limit lets Ann spend again.
    coordinator.post(_limits(app, ann), data={"min_balance": "30", "max_balance": ""})
    assert pay(client, ben, "25:00").status_code == 302
    assert balances(app, group, "Ann", "Ben") == (-1560, 1560)


def test_member_below_a_tightened_limit_can_still_receive(app, group, ann, ben, client_for,
                                                          login):
    client = login(client_for("greenvale"), ann.user.email)
    assert pay(client, ben, "10:00").status_code == 302
    coordinator = login(client_for("greenvale"), coordinator_of(app, group).user.email)
    coordinator.post(_limits(app, ann), data={"min_balance": "5", "max_balance": ""})
    assert "You can still spend 0:00 h." in _text(pay(client, ben, "0:30"))
    ben_client = login(client_for("greenvale"), ben.user.email)
    assert pay(ben_client, ann, "1:00").status_code == 302  # back toward the range: allowed
    assert balances(app, group, "Ann", "Ben") == (-540, 540)


def test_ceiling_refuses_a_payee_that_would_go_above_it(app, group, ann, make_member,
                                                        client_for, login):
    capped = make_member(group, name="Cap", max_balance=120)
    client = login(client_for("greenvale"), ann.user.email)
    response = pay(client, capped, "2:01")
    assert "They can still receive 2:00 h." in _text(response)
    assert pay(client, capped, "2:00").status_code == 302
    assert balances(app, group, "Ann", "Cap") == (-120, 120)


def test_statement_shows_running_balance_and_pages(app, group, ann, ben, make_transfer,
                                                   client_for, login):
    for number in range(1, 28):
        make_transfer(ann, ben, 10, f"Job {number}")
    client = login(client_for("greenvale"), ann.user.email)
    first = _text(client.get("/statement"))
    assert 'id="balance"><span class="amount negative" dir="ltr">-4:30 h' in first
    assert "Job 27" in first and "Job 3<" in first and "Job 2<" not in first
    table = first.split('id="statement"', 1)[1].split("<tbody>", 1)[1].split("</tbody>")[0]
    rows = re.findall(r"<tr>.*?</tr>", table, flags=re.S)
    assert len(rows) == 25
    assert "-4:30 h" in rows[0] and "-4:20 h" in rows[1]  # running balance after each entry
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = _text(client.get(older))
    assert "Job 2<" in second and "Job 1<" in second and "Job 27" not in second
    assert "-0:10 h" in second and 'rel="next"' not in second
    newer = re.search(r'rel="prev" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert _text(client.get(newer)).count("Job ") == 25  # back to the newest page, by key
    assert "Job 27" in _text(login(client_for("greenvale"), ben.user.email).get("/statement"))


def test_statement_query_count_does_not_grow_with_transfers(app, group, ann, ben,
                                                            make_transfer, client_for,
                                                            login, count_queries):
    client = login(client_for("greenvale"), ann.user.email)
    make_transfer(ann, ben, 10, "First")
    client.get("/statement")  # the process keeps the group and the login from now on
    with count_queries() as few:
        assert client.get("/statement").status_code == 200
    for number in range(20):
        make_transfer(ann if number % 2 else ben, ben if number % 2 else ann, 10, f"T{number}")
    client.get("/statement")
    with count_queries() as many:
        assert "T19" in _text(client.get("/statement"))
    assert many.count == few.count, "\n\n".join(many.statements)
    with count_queries() as dashboard:
        assert client.get("/dashboard").status_code == 200
    assert dashboard.count <= few.count


@pytest.mark.parametrize("code", ["NOPE", "OLD"])
def test_an_unknown_or_retired_currency_is_a_form_error_not_the_default(
        app, group, ann, ben, client_for, login, code):
    from tests.trading_support import add_currency, in_group
    from timebank.ledger import currencies

    retired = add_currency(app, group, "OLD")
    with in_group(app, group):
        currencies.retire_currency(currency=db.session.get(type(retired), retired.id))
        db.session.commit()
    client = login(client_for("greenvale"), ann.user.email)
    before = row_counts(app)
    response = client.post("/pay", data={"payee": ben.id, "amount": "1:00",
                                         "description": "Gardening", "currency": code})
    assert response.status_code == 200
    assert "This currency is not in use in this group." in _text(response)
    assert row_counts(app) == before
