"""What a page costs, so that a slow page fails CI (issue 14): each main page's statement count
is pinned and does not grow with the data; long histories are read by key and bounded.

The budgets are today's counts. When a page legitimately needs one more statement, raise its
budget here in the same commit and say why.
"""

import csv
import io
import os
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger import reports
from timebank.ledger import service as ledger
from timebank.models import Account, Entry, Membership
from timebank.tenants import group_context

# Statements a page may run once the session's first request has warmed up: from then on the
# process keeps the group, its currencies and the login with its membership
# (timebank.tenants.cache; session 9: the login read left every page). The dashboard's
# accounts come with the kept currencies (ledger.accounts_of).
BUDGETS = {
    "/dashboard": 8,
    "/statement": 10,
    "/statement.csv": 6,
    "/pay": 4,
    "/marketplace/": 4,  # the unread count once, for the bar and the marketplace menu
    "/members/": 2,
}
# Without Redis a process keeps no login (timebank.tenants.cache): each page reads it.
KEEPS_LOGINS = bool(os.environ.get("REDIS_URL"))
if not KEEPS_LOGINS:
    BUDGETS = {path: budget + 1 for path, budget in BUDGETS.items()}


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def ann(group, make_member):
    return make_member(group, name="Ann")


@pytest.fixture
def ben(group, make_member):
    return make_member(group, name="Ben")


def _text(response) -> str:
    return response.get_data(as_text=True)


def _trade(make_transfer, ann, ben, count: int) -> None:
    for number in range(count):
        payer, payee = (ann, ben) if number % 2 else (ben, ann)
        make_transfer(payer, payee, 10 + number, f"Job {number}")


@pytest.mark.parametrize("path", sorted(BUDGETS))
def test_main_pages_keep_their_statement_count(app, group, ann, ben, make_member, make_transfer,
                                               client_for, login, count_queries, path):
    client = login(client_for("greenvale"), ann.user.email)
    _trade(make_transfer, ann, ben, 2)
    client.get("/dashboard")  # warm up: session, locale, caches
    with count_queries() as few:
        response = client.get(path)
        assert response.status_code == 200
        response.get_data()
    others = [make_member(group, name=f"Member {number}") for number in range(6)]
    _trade(make_transfer, ann, ben, 30)
    for other in others:  # the newest rows, each with another member: no name read per row
        make_transfer(other, ann, 5, f"From {other.user.name}")
    client.get(path).get_data()  # new members: the process reads the login again, once
    with count_queries() as many:
        response = client.get(path)
        assert response.status_code == 200
        response.get_data()  # a streamed body runs its queries as it is read
    assert many.count == few.count, "\n\n".join(many.statements)
    assert many.count <= BUDGETS[path], "\n\n".join(many.statements)


def test_accounts_come_with_the_kept_currencies_in_one_statement(app, group, ann,
                                                                 count_queries):
    from timebank.ledger.currencies import create_currency, retire_currency

    with app.app_context(), group_context(group.id):
        create_currency(code="LETS", name="Lets", symbol="L", subunits_per_unit=100)
        retire_currency(currency=create_currency(code="OLD", name="Old", symbol="O"))
        db.session.commit()
    with app.app_context(), group_context(group.id):
        ledger.active_currencies()  # the process keeps them from now on
    with app.app_context(), group_context(group.id):  # a new session: nothing loaded yet
        member = db.session.get(Membership, ann.id)
        with count_queries() as counter:
            accounts = ledger.accounts_of(member)
            codes = [account.currency.code for account in accounts]
    # Active currencies only (the retired one's account is left out), oldest first; reading
    # each account's currency loads nothing.
    assert codes == ["HOUR", "LETS"]
    assert counter.count == 1, "\n\n".join(counter.statements)


def test_the_dashboard_lists_pending_transfers_and_possible_trades_within_its_budget(
        app, group, ann, ben, make_member, client_for, login, count_queries):
    from tests.marketplace_support import make_ad

    others = [ben] + [make_member(group, name=f"Member {number}") for number in range(3)]
    with app.app_context(), group_context(group.id):
        me, currency = db.session.get(Membership, ann.id), ledger.default_currency()
        for number, other in enumerate(others):
            them = db.session.get(Membership, other.id)
            ledger.pay(payer=them, payee=me, currency=currency, amount=30 + number,
                       starter=them, description=f"Waiting for Ann ({them.user.name})",
                       require_confirmation=True)
            ledger.request_payment(payer=them, payee=me, currency=currency, amount=20 + number,
                                   starter=me, description=f"Asked of {them.user.name}")
        db.session.commit()
    make_ad(app, ann, "Homemade bread", kind="offer")
    for other in others:
        make_ad(app, other, f"Looking for bread ({other.user.name})", kind="want")
    client = login(client_for("greenvale"), ann.user.email)
    client.get("/dashboard")  # warm up: session, locale, caches
    with count_queries() as counter:
        page = _text(client.get("/dashboard"))
    for other in others:
        name = other.user.name
        assert f"Waiting for Ann ({name})" in page and f"Asked of {name}" in page
        assert f"Looking for bread ({name})" in page and f"— {name}" in page
    assert "matches your offer “Homemade bread”" in page
    # Both lists, with everyone's names and the currency, cost no statement per row: the
    # pending transfers' two sides are one statement more than the budget (which has none).
    assert counter.count <= BUDGETS["/dashboard"] + 1, "\n\n".join(counter.statements)


@pytest.mark.skipif(not KEEPS_LOGINS, reason="a process keeps logins only with Redis")
def test_group_user_and_membership_come_in_one_statement_then_none(
        app, group, ann, client_for, login, count_queries):
    client = login(client_for("greenvale"), ann.user.email)
    with count_queries() as first:
        assert client.get("/dashboard").status_code == 200
    login_read = next(s for s in first.statements if "login_sessions" in s)
    assert "JOIN users" in login_read and "JOIN memberships" in login_read
    # From the second request on, the process keeps all three (timebank.tenants.cache).
    with count_queries() as counter:
        assert client.get("/dashboard").status_code == 200
    for statement in counter.statements:
        assert "FROM groups" not in statement and "login_sessions" not in statement
        assert not re.search(r"WHERE memberships\.user_id = ", statement), statement


def _statements_of_request(app, count_queries, send) -> list[str]:
    """The statements ``send()`` runs until its response is ready: the jobs that run after
    it in tests (in production on a worker) are left out."""
    from flask import request_finished

    ended = []
    with count_queries() as counter:
        with request_finished.connected_to(lambda *a, **k: ended.append(counter.count), app):
            send()
    return counter.statements[:ended[0]]


@pytest.mark.skipif(not KEEPS_LOGINS, reason="a process keeps logins only with Redis")
def test_a_payment_reads_only_what_it_needs(app, group, ann, ben, client_for, login,
                                            count_queries):
    client = login(client_for("greenvale"), ann.user.email)
    client.get("/pay")  # the process keeps the group, its currencies and the login from now on
    responses = []

    def pay(key):
        return lambda: responses.append(client.post("/pay", data={
            "currency": "HOUR", "payee": ben.id, "amount": "1:30", "description": "Garden",
            "idempotency_key": key}))

    first = _statements_of_request(app, count_queries, pay("pay-once"))
    second = _statements_of_request(app, count_queries, pay("pay-twice"))
    assert [response.status_code for response in responses] == [302, 302]
    # The first payment to Ben reads him (with his user); the second finds him kept. The
    # ledger call (ledger_transfer) goes through the driver's cursor, one round trip more.
    # The confirmation ("Paid 1:30 to Ben.") is made of these: no statement after the call.
    assert len(first) == 1 and "FROM memberships" in first[0], "\n\n".join(first)
    assert second == [], "\n\n".join(second)
    page = _text(client.get(responses[1].headers["Location"]))
    assert "Paid" in page and "Ben" in page


def test_each_entry_stores_the_balance_after_it(app, group, ann, ben, make_transfer):
    _trade(make_transfer, ann, ben, 5)
    with app.app_context(), group_context(group.id):
        account_id = db.session.scalar(
            sa.select(Account.id).where(Account.membership_id == ann.id))
        rows = db.session.execute(
            sa.select(Entry.amount, Entry.balance_after)
            .where(Entry.account_id == account_id).order_by(Entry.id)).all()
    running = 0
    for amount, balance_after in rows:
        running += amount
        assert balance_after == running
    assert len(rows) == 5


def test_the_chart_has_a_bounded_number_of_points(app, group, ann, ben):
    from timebank.ledger.transfers import post_transfer
    from timebank.models import Membership, TransferKind

    now = datetime.now(UTC)
    with app.app_context(), group_context(group.id):
        payer, payee = db.session.get(Membership, ann.id), db.session.get(Membership, ben.id)
        currency = ledger.default_currency()
        # Four years of history, a transfer every 10 days.
        for days in range(1460, 0, -10):
            post_transfer(amount=1, description="old", starter=payer, payer=payer, payee=payee,
                          currency=currency, kind=TransferKind.PAYMENT,
                          occurred_at=now - timedelta(days=days))
        account = ledger.account_for(payer, currency)
        years = reports.balance_history(account, timezone="Europe/Madrid", days=365 * 4)
        year = reports.balance_history(account, timezone="UTC", days=365)
        month = reports.balance_history(account, timezone="UTC", days=30)
    assert 40 <= len(years) <= 50  # a point a month
    assert 30 <= len(year) <= 54  # a point a week (with a change)
    assert len(month) <= 4  # a point a day with a change, plus the balance carried in
    for points in (years, year, month):
        assert points[-1]["balance"] == account.balance
        assert [p["day"] for p in points] == sorted(p["day"] for p in points)
    assert -4 <= years[0]["balance"] <= -1  # the first month's closing balance


def test_statement_pages_by_key_and_the_csv_streams(app, group, ann, ben, make_transfer,
                                                    client_for, login):
    _trade(make_transfer, ann, ben, 7)
    client = login(client_for("greenvale"), ann.user.email)
    with app.app_context(), group_context(group.id):
        account = db.session.scalar(sa.select(Account).where(Account.membership_id == ann.id))
        flt = reports.StatementFilter()
        first = reports.statement_rows(account, flt, timezone="UTC", limit=3)
        second = reports.statement_rows(account, flt, timezone="UTC", limit=3,
                                        before=first.before)
        last = reports.statement_rows(account, flt, timezone="UTC", limit=3,
                                      before=second.before)
        back = reports.statement_rows(account, flt, timezone="UTC", limit=3, after=last.after)
        chunks = list(reports.statement_chunks(account, flt, timezone="UTC", first=2, size=3))
    assert [len(p.rows) for p in (first, second, last)] == [3, 3, 1]
    assert first.after is None and last.before is None
    assert [row[0].id for row in back.rows] == [row[0].id for row in second.rows]
    assert [len(chunk) for chunk in chunks] == [2, 3, 2]  # a small first chunk, then larger
    response = client.get("/statement.csv")
    assert response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 8 and rows[0][0] == "date"
    assert [row[5] for row in rows[1:]] == [f"Job {n}" for n in range(6, -1, -1)]
    page = _text(client.get("/statement"))
    assert not re.search(r'rel="(next|prev)"', page)  # one page: no pager


def test_a_kept_payee_who_is_suspended_is_refused_at_once(app, group, ann, ben, client_for,
                                                          login):
    from timebank.models import Membership, MembershipStatus

    client = login(client_for("greenvale"), ann.user.email)

    def pay(key):
        return client.post("/pay", data={"currency": "HOUR", "payee": ben.id, "amount": "0:30",
                                         "description": "Garden", "idempotency_key": key})

    assert pay("first").status_code == 302
    assert pay("second").status_code == 302  # Ben is kept by the process now
    with app.app_context(), group_context(group.id):
        db.session.get(Membership, ben.id).status = MembershipStatus.SUSPENDED
        db.session.commit()
    response = pay("third")
    assert response.status_code == 200 and "Not a valid choice" in _text(response)
