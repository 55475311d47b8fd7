"""Each account's monthly totals, kept by the ledger with its entries (``account_months``):
the statement's "Month by month" in the group's time zone, across a month boundary and a
change of time zone; the rows after a levy, a payment between groups and a reversal; who may
see them; and ``flask ledger verify`` reporting a row that disagrees with the entries."""

import re
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from tests.test_ledger_verify import tampered
from tests.trading_support import Network
from timebank.extensions import db
from timebank.ledger import levies
from timebank.ledger import service as ledger
from timebank.ledger.verify import verify_ledger
from timebank.models import Account, AccountMonth, Group, Membership, TransferKind
from timebank.settings import general
from timebank.tenants import group_context

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")

H = 60
MONTHLY = re.compile(r'<table class="table table-sm" id="monthly">.*?</table>', re.S)
ROW = re.compile(r'<tr class="month"><td>([^<]+)</td>\s*<td class="amount">(.*?)</td>\s*'
                 r'<td class="amount">(.*?)</td></tr>', re.S)


def _figures(page: str) -> list[tuple[str, str, str]]:
    """The "Month by month" rows as (label, in, out), amounts without markup."""
    table = MONTHLY.search(page)
    if table is None:
        return []
    return [(label, re.sub(r"<[^>]+>", "", incoming).strip(),
             re.sub(r"<[^>]+>", "", outgoing).strip())
            for label, incoming, outgoing in ROW.findall(table.group(0))]


def _months(app, group, membership=None, *, account_id=None) -> dict:
    """{month: (incoming, outgoing, entry_count)} of an account, read as the group."""
    with in_group(app, group):
        if account_id is None:
            account_id = ledger.account_for(fresh(membership), ledger.default_currency()).id
        rows = db.session.scalars(
            sa.select(AccountMonth).where(AccountMonth.account_id == account_id))
        return {row.month: (row.incoming, row.outgoing, row.entry_count) for row in rows}


@pytest.fixture
def greenvale(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(greenvale, make_member):
    return {"ann": make_member(greenvale, name="Ann"), "ben": make_member(greenvale, name="Ben"),
            "tre": make_member(greenvale, name="Tess", role="treasurer")}


def _pay_at(app, group, payer, payee, amount, when):
    """A completed transfer written at ``when`` (as an import or the demo seed backdates)."""
    with in_group(app, group):
        currency = ledger.default_currency()
        ledger.transfer_between(
            payer_account=ledger.account_for(fresh(payer), currency),
            payee_account=ledger.account_for(fresh(payee), currency), amount=amount,
            description="Backdated", starter=None, kind=TransferKind.ON_BEHALF,
            occurred_at=when)
        db.session.commit()


def _set_time_zone(app, group, zone):
    """Change the group's time zone the way its settings page does."""
    coordinator = coordinator_of(app, group)
    with in_group(app, group):
        row = db.session.get(Group, group.id)
        settings = general.current_settings(row)
        general.update_general_settings(group=row, settings=replace(settings, timezone=zone),
                                        by=fresh(coordinator))
        db.session.commit()


def test_month_by_month_follows_the_groups_time_zone_and_its_change(
        app, greenvale, people, client_for, login):
    # Two payments an hour either side of midnight UTC starting last month: in New York
    # (UTC-4 or -5) the first falls on the last evening of the month before.
    today = datetime.now(UTC)
    boundary = (today.replace(day=1) - timedelta(days=1)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    before = (boundary - timedelta(days=1)).replace(day=1)
    _set_time_zone(app, greenvale, "America/New_York")
    _pay_at(app, greenvale, people["ann"], people["ben"], 90, boundary + timedelta(hours=2))
    _pay_at(app, greenvale, people["ben"], people["ann"], 15, boundary + timedelta(hours=12))
    ann = login(client_for("greenvale"), people["ann"].user.email)
    last, earlier = f"{boundary:%B %Y}", f"{before:%B %Y}"
    assert _figures(ann.get("/statement").get_data(as_text=True)) == [
        (last, "0:15 h", "0:00 h"), (earlier, "0:00 h", "1:30 h")]
    assert _months(app, greenvale, people["ann"]) == {
        boundary.date(): (15, 0, 1), before.date(): (0, 90, 1)}

    _set_time_zone(app, greenvale, "UTC")  # both now fall in last month
    assert _figures(ann.get("/statement").get_data(as_text=True)) == [
        (last, "0:15 h", "1:30 h")]
    assert _months(app, greenvale, people["ben"]) == {boundary.date(): (90, 15, 2)}

    _set_time_zone(app, greenvale, "America/New_York")  # and back, with a payment meanwhile
    _pay_at(app, greenvale, people["ann"], people["ben"], 30, boundary + timedelta(hours=3))
    assert _figures(ann.get("/statement").get_data(as_text=True)) == [
        (last, "0:15 h", "0:00 h"), (earlier, "0:00 h", "2:00 h")]
    with app.app_context():
        assert verify_ledger(group_id=greenvale.id) == []


def test_a_statement_with_no_transfers_has_no_months(app, greenvale, people, client_for,
                                                     login):
    page = login(client_for("greenvale"), people["ann"].user.email).get("/statement")
    month_by_month = page.get_data(as_text=True).split("Month by month")[1].split("</div>")[0]
    assert 'id="monthly"' not in month_by_month and "No transfers yet." in month_by_month


def test_only_the_last_twelve_months_are_read(app, greenvale, people):
    from timebank.ledger import reports

    now = datetime.now(UTC)
    _pay_at(app, greenvale, people["ann"], people["ben"], 5, now - timedelta(days=400))
    _pay_at(app, greenvale, people["ann"], people["ben"], 7, now)
    with in_group(app, greenvale):
        account = ledger.account_for(fresh(people["ann"]), ledger.default_currency())
        rows = reports.monthly_totals(account, timezone="UTC")
    assert rows == [{"month": now.date().replace(day=1), "incoming": 0, "outgoing": 7}]
    assert len(_months(app, greenvale, people["ann"])) == 2  # the old month is still kept


def test_a_levy_and_a_reversal_are_counted_in_their_month(app, greenvale, people):
    with in_group(app, greenvale):
        tre = fresh(people["tre"])
        levies.set_levy(currency=ledger.default_currency(), basis_points=1000, fixed=0,
                        minimum=None, maximum=None, charged_to="payer", changed_by=tre)
        paid = ledger.pay(payer=fresh(people["ann"]), payee=fresh(people["ben"]),
                          currency=ledger.default_currency(), amount=H, description="Work",
                          starter=fresh(people["ann"]))
        ledger.reverse_transfer(transfer=paid, by=tre, reason="Mistake")
        pot = ledger.group_account(currency=ledger.default_currency()).id
        db.session.commit()
    month = datetime.now(UTC).date().replace(day=1)  # the group's zone is UTC
    # Ann paid 60 and a 6 levy, and got both back; Ben was paid 60 and gave it back.
    assert _months(app, greenvale, people["ann"]) == {month: (66, 66, 4)}
    assert _months(app, greenvale, people["ben"]) == {month: (60, 60, 2)}
    assert _months(app, greenvale, account_id=pot) == {month: (6, 6, 2)}
    with app.app_context():
        assert verify_ledger(group_id=greenvale.id) == []


def test_a_payment_between_groups_is_counted_on_both_sides(app, make_group, make_member):
    network = Network(app, make_group, make_member)
    network.pay(network.ann, network.luis, 2 * H)
    month = datetime.now(UTC).date().replace(day=1)
    assert _months(app, network.a, network.ann) == {month: (0, 2 * H, 1)}
    assert _months(app, network.b, network.luis) == {month: (2 * H, 0, 1)}
    for group in (network.a, network.b):
        with in_group(app, group):
            clearing = db.session.scalar(sa.select(Account.id).where(Account.is_clearing))
        incoming = 2 * H if group is network.a else 0
        assert _months(app, group, account_id=clearing) == {
            month: (incoming, 2 * H - incoming, 1)}
    with app.app_context():
        assert verify_ledger() == []


def test_only_the_member_sees_their_figures(app, greenvale, people, make_group, make_member,
                                            make_transfer, client_for, login):
    make_transfer(people["ann"], people["ben"], 433, "Roof")  # 7:13 h out this month
    ann = login(client_for("greenvale"), people["ann"].user.email)
    assert "7:13 h" in MONTHLY.search(ann.get("/statement").get_data(as_text=True)).group(0)
    response = client_for("greenvale").get("/statement")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    luis = make_member(make_group("barrio"), name="Luis")
    for host in ("greenvale", "barrio"):
        response = login(client_for(host), luis.user.email).get("/statement")
        assert "7:13" not in response.get_data(as_text=True), host
    with app.app_context():  # with no group in context, the rows are fenced off
        assert db.session.execute(sa.text("SELECT count(*) FROM account_months")).scalar() == 0


def test_verify_reports_monthly_totals_that_disagree_with_the_entries(app, greenvale, people,
                                                                      make_transfer):
    make_transfer(people["ann"], people["ben"], 30, "Work")
    with in_group(app, greenvale):
        account = ledger.account_for(fresh(people["ann"]), ledger.default_currency()).id
    rule = "each account's monthly totals equal its entries' sums by month"
    with tampered(app, "UPDATE account_months SET outgoing = outgoing + 1 WHERE account_id = :a",
                  "UPDATE account_months SET outgoing = outgoing - 1 WHERE account_id = :a",
                  a=account):
        with app.app_context():
            problems = [str(p) for p in verify_ledger() if p.rule == rule]
        assert len(problems) == 1 and "kept in 0, out 31, 1 entries" in problems[0]
    with tampered(app, "DELETE FROM account_months WHERE account_id = :a",
                  "INSERT INTO account_months (group_id, account_id, month, incoming, outgoing,"
                  " entry_count) VALUES (:g, :a, date_trunc('month', now() AT TIME ZONE 'UTC'),"
                  " 0, 30, 1)", a=account, g=greenvale.id):
        with app.app_context():
            assert rule in {p.rule for p in verify_ledger(group_id=greenvale.id)}


@pytest.mark.concurrency
@pytest.mark.parametrize("first", ["time zone change", "payment"])
def test_a_payment_racing_a_time_zone_change_lands_in_the_new_zones_month(
        committing_app, make_group, make_member, first):
    """The rebuild locks the group's accounts in the ledger's order: a payment that waits for
    it reads the new zone; one that got there first is rebuilt with the rest. Either way the
    payment lands in its New York month (the evening before the UTC month starts)."""
    app = committing_app
    group = make_group("racing")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    coordinator = coordinator_of(app, group)
    boundary = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    holding = threading.Event()
    errors = []

    def change_time_zone():
        try:
            with app.test_request_context(), group_context(group.id):
                if first == "payment":
                    holding.wait(timeout=10)
                row = db.session.get(Group, group.id)
                general.update_general_settings(
                    group=row, by=db.session.get(Membership, coordinator.id),
                    settings=replace(general.current_settings(row), timezone="America/New_York"))
                if first == "time zone change":
                    holding.set()
                    time.sleep(0.5)  # the payment is now waiting for the accounts
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    def pay():
        try:
            with app.test_request_context(), group_context(group.id):
                if first == "time zone change":
                    holding.wait(timeout=10)
                currency = ledger.default_currency()
                ledger.transfer_between(
                    payer_account=ledger.account_for(db.session.get(Membership, ann.id),
                                                     currency),
                    payee_account=ledger.account_for(db.session.get(Membership, ben.id),
                                                     currency),
                    amount=45, description="Late evening", starter=None,
                    kind=TransferKind.ON_BEHALF, occurred_at=boundary + timedelta(hours=2))
                if first == "payment":
                    holding.set()
                    time.sleep(0.5)  # the rebuild is now waiting for the accounts
                db.session.commit()
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=change_time_zone), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    new_york_month = (boundary - timedelta(days=1)).date().replace(day=1)
    assert _months(app, group, ann) == {new_york_month: (0, 45, 1)}
    with app.app_context():
        assert verify_ledger(group_id=group.id) == []
