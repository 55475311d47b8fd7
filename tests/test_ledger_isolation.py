"""Nothing of another group's ledger can be seen or touched, and nothing private without logging
in: transfers, pending items, limits and their recorded changes, currencies, issuance, statements
and the group ledger. (The issuance page of an issued currency is public on purpose.)"""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.ledger_support import fresh, in_group
from timebank.extensions import db
from timebank.ledger import currencies
from timebank.ledger import service as ledger
from timebank.models import CurrencyKind, Transfer
from timebank.models.ledger import LimitChange
from timebank.tenants import all_groups

SECRETS = ("Birch secret job", "Birch invoice", "Bob Birch", "Bea Birch", "Seeds of Birch",
           "Birch limit reason")


@pytest.fixture
def birch(app, make_group, make_member):
    """Group birch with a completed transfer, a pending request, a recorded limit change, a
    second currency and an issued one; group alder next door."""
    alder, birch = make_group("alder"), make_group("birch")
    ann = make_member(alder, name="Ann Alder")
    alder_treasurer = make_member(alder, name="Tom Alder", role="treasurer")
    bob, bea = make_member(birch, name="Bob Birch"), make_member(birch, name="Bea Birch")
    birch_treasurer = make_member(birch, name="Tia Birch", role="treasurer")
    with in_group(app, birch):
        hours = ledger.default_currency()
        paid = ledger.pay(payer=fresh(bob), payee=fresh(bea), currency=hours, amount=60,
                          description="Birch secret job", starter=fresh(bob))
        pending = ledger.request_payment(payer=fresh(bob), payee=fresh(bea), currency=hours,
                                         amount=30, description="Birch invoice",
                                         starter=fresh(bea))
        account = ledger.account_for(fresh(bob), hours)
        ledger.set_limits(account=account, min_balance=-600, max_balance=None,
                          changed_by=fresh(birch_treasurer), reason="Birch limit reason")
        currencies.create_currency(code="SEEDS", name="Seeds of Birch", symbol="s",
                                   subunits_per_unit=1)
        vouchers = currencies.create_currency(code="VOUCH", name="Vouchers", symbol="V",
                                              kind=CurrencyKind.ISSUED, subunits_per_unit=1)
        ledger.issue(currency=vouchers,
                     payee_account=ledger.account_for(fresh(bea), vouchers), amount=5,
                     description="Issued in Birch", starter=fresh(birch_treasurer))
        db.session.commit()
        ids = SimpleNamespace(paid=paid.id, pending=pending.id, account=account.id)
    return SimpleNamespace(alder=alder, birch=birch, ann=ann, alder_treasurer=alder_treasurer,
                           alder_coordinator=coordinator_of(app, alder), bob=bob, ids=ids)


def _clean(body: str) -> None:
    for secret in SECRETS:
        assert secret not in body, secret


def test_another_groups_ledger_is_404_even_for_its_treasurer(birch, client_for, login):
    client = login(client_for("alder"), birch.alder_coordinator.user.email)
    ids = birch.ids
    for path in (f"/transfers/{ids.paid}", f"/transfers/{ids.pending}",
                 f"/transfers/{ids.pending}/edit", f"/accounts/{ids.account}/limits",
                 "/currencies/SEEDS/edit", "/currencies/VOUCH/issuance"):
        response = client.get(path)
        assert response.status_code == 404, path
        _clean(response.get_data(as_text=True))
    for path, data in (
        (f"/transfers/{ids.pending}/decision", {"accept": "1"}),
        (f"/transfers/{ids.pending}/decision", {"withdraw": "1"}),
        (f"/transfers/{ids.pending}/edit", {"amount": "1", "description": "x"}),
        (f"/transfers/{ids.paid}/rate", {"rating": "1"}),
        (f"/transfers/{ids.paid}/reverse", {"reason": "steal"}),
        (f"/accounts/{ids.account}/limits", {"min_balance": "99", "max_balance": ""}),
        ("/currencies/SEEDS/action", {"retire": "1"}),
        ("/currencies/VOUCH/issue", {"payee": ids.account, "amount": "5",
                                     "description": "x"}),
    ):
        assert client.post(path, data=data).status_code == 404, path


def test_lists_and_exports_show_only_this_group(birch, client_for, login):
    client = login(client_for("alder"), birch.alder_coordinator.user.email)
    for path in ("/dashboard", "/statement", "/statement.csv", "/statement?state=pending",
                 f"/statement?counterparty={birch.ids.account}", "/statement?find=b",
                 "/statement/accounts?q=b", "/ledger", "/ledger.csv",
                 "/ledger?state=all", "/accounts", "/currencies/", "/pay", "/request",
                 "/on-behalf", "/bulk"):
        response = client.get(path)
        assert response.status_code == 200, path
        _clean(response.get_data(as_text=True))


def test_forms_cannot_reach_into_another_group(app, birch, client_for, login):
    tom = login(client_for("alder"), birch.alder_treasurer.user.email)
    before = _counts(app)
    response = tom.post("/request", data={"payer": birch.bob.id, "amount": "1",
                                          "description": "x"})
    assert response.status_code == 200 and "is-invalid" in response.get_data(as_text=True)
    response = tom.post("/on-behalf", data={"payer": birch.bob.id, "payee": birch.ann.id,
                                            "amount": "1", "description": "x"})
    assert response.status_code == 200
    response = tom.post("/bulk", data={"direction": "pay", "counterpart": birch.ids.account,
                                       "legs": "Ann Alder, 1", "description": "x"})
    assert response.status_code == 200
    response = tom.post("/bulk", data={"direction": "pay", "counterpart": 0,
                                       "legs": "Bob Birch, 1", "description": "x"})
    assert response.status_code == 200
    assert _counts(app) == before


def _counts(app) -> dict:
    with app.app_context(), all_groups():
        return {table: db.session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()
                for table in ("transfers", "entries", "limit_changes", "currencies")}


@pytest.mark.parametrize("path", [
    "/dashboard", "/pay", "/request", "/statement", "/statement.csv", "/ledger", "/ledger.csv",
    "/accounts", "/on-behalf", "/bulk", "/currencies/", "/currencies/new",
    "/currencies/SEEDS/edit", "/settings", "TRANSFER", "LIMITS",
])
def test_a_logged_out_visitor_is_sent_to_log_in(birch, client_for, path):
    path = {"TRANSFER": f"/transfers/{birch.ids.paid}",
            "LIMITS": f"/accounts/{birch.ids.account}/limits"}.get(path, path)
    response = client_for("birch").get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    _clean(response.get_data(as_text=True))


def test_a_logged_out_visitor_cannot_write(app, birch, client_for):
    client = client_for("birch")
    before = _counts(app)
    for path, data in (
        (f"/transfers/{birch.ids.pending}/decision", {"accept": "1"}),
        (f"/transfers/{birch.ids.paid}/reverse", {"reason": "x"}),
        (f"/accounts/{birch.ids.account}/limits", {"min_balance": "1"}),
        ("/currencies/SEEDS/action", {"delete": "1"}),
        ("/currencies/VOUCH/issue", {"payee": birch.ids.account, "amount": "1"}),
        ("/settings", {"rating_scale": "3"}),
    ):
        response = client.post(path, data=data)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert _counts(app) == before


def test_the_issuance_page_is_public_but_names_no_one(birch, client_for):
    body = client_for("birch").get("/currencies/VOUCH/issuance").get_data(as_text=True)
    assert "Issued in Birch" in body
    assert "Bea Birch" not in body and 'id="issue"' not in body


def test_limit_changes_are_scoped_to_their_group(app, birch):
    with in_group(app, birch.alder):
        assert db.session.scalars(sa.select(LimitChange)).all() == []
        assert db.session.get(Transfer, birch.ids.paid) is None
    with in_group(app, birch.birch):
        [change] = db.session.scalars(sa.select(LimitChange)).all()
        assert change.reason == "Birch limit reason"


def test_the_database_function_refuses_parties_of_another_group(app, birch):
    """``ledger_transfer`` checks every party against the group it is called for: a member or
    an account of another group is refused and nothing is written."""
    from timebank.ledger.errors import CurrencyMismatch, InactiveParty
    from timebank.ledger.transfers import post_transfer
    from timebank.models import Account, Membership, TransferKind

    with in_group(app, birch.alder):
        ann = fresh(birch.ann)
        hours = ledger.default_currency()
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
        # Forged objects: only their ids travel to the database, which has the last word.
        stranger = Membership(id=birch.bob.id, group_id=ann.group_id)
        with pytest.raises(InactiveParty):
            ledger.pay(payer=ann, payee=stranger, currency=hours, amount=30,
                       description="across", starter=ann)
        alder_account = ledger.account_for(ann, hours)
        birch_account = Account(id=birch.ids.account, group_id=alder_account.group_id,
                                currency_id=alder_account.currency_id)
        with pytest.raises(CurrencyMismatch):
            post_transfer(payer_account=alder_account, payee_account=birch_account, amount=30,
                          description="across", starter=ann, kind=TransferKind.PAYMENT)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == before
