"""The ledger through the browser's eyes: dashboard figures, two-step transfers with their
emails, corrections by a treasurer, limits history, statements with filters and CSV,
currencies and issuance."""

import csv
import html
import io
import re

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.models import Account, Currency, Group, Transfer
from timebank.models.ledger import LimitChange

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(app, group, make_member):
    return {
        "ann": make_member(group, name="Ann"),
        "ben": make_member(group, name="Ben"),
        "tre": make_member(group, name="Tess Treasurer", role="treasurer"),
        "coo": coordinator_of(app, group),
    }


@pytest.fixture
def as_(client_for, login, people):
    def make(name):
        return login(client_for("greenvale"), people[name].user.email)
    return make


def text(response) -> str:
    return response.get_data(as_text=True)


def key_of(page: str) -> str:
    return re.search(r'name="idempotency_key" type="hidden" value="(\w+)"', page).group(1)


def set_confirmation(app, group, value=True):
    with app.app_context():
        db.session.get(Group, group.id).payments_need_confirmation = value
        db.session.commit()


def transfer_row(app, group, transfer_id) -> Transfer:
    with in_group(app, group):
        transfer = db.session.get(Transfer, transfer_id)
        db.session.expunge(transfer)
        return transfer


def latest_transfer_id(app, group) -> int:
    with in_group(app, group):
        return db.session.scalar(sa.select(sa.func.max(Transfer.id)))


def test_dashboard_shows_balance_pending_and_room(app, group, people, as_):
    set_confirmation(app, group)
    ann = as_("ann")
    assert ann.post("/pay", data={"payee": people["ben"].id, "amount": "2:00",
                                  "description": "Garden"}).status_code == 302
    page = text(ann.get("/dashboard"))
    assert re.search(r'id="balance"><span[^>]*>0:00 h', page)
    assert re.search(r'id="pending-out"><span[^>]*>2:00 h', page)
    assert re.search(r'id="can-still-spend"><span[^>]*>18:00 h', page)  # 20 h - 2 h pending
    assert re.search(r'id="can-still-earn">no limit', page)
    assert "Waiting for others" in page and "Garden" in page
    ben_page = text(as_("ben").get("/dashboard"))
    assert re.search(r'id="pending-in"><span[^>]*>2:00 h', ben_page)
    assert "Waiting for you" in ben_page and "Garden" in ben_page


def test_the_dashboard_lists_a_few_pending_asking_me_first_and_links_to_the_rest(
        app, group, people, as_, monkeypatch):
    """However many transfers wait, a dashboard lists a few (issue 14: nothing on a page grows
    without bound): those asking the member first, then the oldest, and a link to the
    statement filtered to pending ones."""
    monkeypatch.setitem(app.config, "PENDING_ON_DASHBOARD", 2)
    set_confirmation(app, group)
    ann, ben = as_("ann"), as_("ben")
    for n in range(1, 4):  # the oldest: Ben's, waiting for Ann
        assert ben.post("/pay", data={"payee": people["ann"].id, "amount": "0:10",
                                      "description": f"Errand {n}"}).status_code == 302
    for n in range(4, 6):  # then Ann's, waiting for Ben
        assert ann.post("/pay", data={"payee": people["ben"].id, "amount": "0:10",
                                      "description": f"Errand {n}"}).status_code == 302
    page = text(ben.get("/dashboard"))
    assert re.findall(r"Errand (\d)", page) == ["4", "5"]  # waiting for him, not the oldest
    assert 'id="nothing-waiting"' not in page
    link = re.search(r'id="pending-not-shown">\s*<p><a href="([^"]+)">… and 3 more\.</a>', page)
    assert link and html.unescape(link[1]) == "/statement?state=pending&currency=HOUR"
    statement = text(ben.get(html.unescape(link[1])))
    assert all(f"Errand {n}" in statement for n in range(1, 6))
    assert re.findall(r"Errand (\d)", text(ann.get("/dashboard"))) == ["1", "2"]
    assert 'id="pending-not-shown"' not in text(as_("tre").get("/dashboard"))


def test_the_pending_not_listed_are_linked_per_currency(app, group, people, as_, monkeypatch):
    """With transfers pending in two currencies and more than the dashboard lists, each
    currency with some left out links to its own statement of pending transfers."""
    from tests.trading_support import add_currency

    monkeypatch.setitem(app.config, "PENDING_ON_DASHBOARD", 1)
    set_confirmation(app, group)
    add_currency(app, group, "LETS")
    ben = as_("ben")
    for currency, count in (("HOUR", 2), ("LETS", 3)):
        for n in range(count):
            assert ben.post("/pay", data={"payee": people["ann"].id, "currency": currency,
                                          "amount": "0:10", "description": f"{currency} {n}"}
                            ).status_code == 302
    page = text(as_("ann").get("/dashboard"))
    assert len(re.findall(r"(HOUR|LETS) \d", page)) == 1  # the oldest: HOUR 0
    links = re.findall(r'<a href="(/statement\?state=pending&amp;currency=\w+)">… and (\d) more',
                       page)
    assert links == [("/statement?state=pending&amp;currency=HOUR", "1"),
                     ("/statement?state=pending&amp;currency=LETS", "3")]
    statement = text(as_("ann").get("/statement?state=pending&currency=LETS"))
    assert all(f"LETS {n}" in statement for n in range(3)) and "HOUR 0" not in statement


def test_payment_waits_for_the_payee_then_completes_and_both_are_told(app, group, people, as_,
                                                                      outbox):
    from timebank.ledger import settings as ledger_settings

    with in_group(app, group):
        ledger_settings.update_settings(group=db.session.get(Group, group.id),
                                        payments_need_confirmation=True, rating_scale=5)
        db.session.commit()
    ann = as_("ann")
    response = ann.post("/pay", data={"payee": people["ben"].id, "amount": "1:30",
                                      "description": "Bike repair", "idempotency_key": "p1"})
    assert response.status_code == 302
    transfer_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert transfer_row(app, group, transfer_id).state == "pending"
    assert {m.recipients[0] for m in outbox} == {people["ann"].user.email,
                                                  people["ben"].user.email}
    assert any("wants to pay you 1:30 h" in m.subject for m in outbox)
    outbox.clear()
    # The payer cannot accept their own payment; the payee can.
    assert "id=\"decision\"" not in text(ann.get(f"/transfers/{transfer_id}"))
    ben = as_("ben")
    page = text(ben.get(f"/transfers/{transfer_id}"))
    assert 'id="decision"' in page
    response = ben.post(f"/transfers/{transfer_id}/decision", data={"accept": "1"})
    assert response.status_code == 302
    transfer = transfer_row(app, group, transfer_id)
    assert transfer.state == "completed" and transfer.completer_id == people["ben"].id
    assert len(outbox) == 2 and all("Transfer completed" in m.subject for m in outbox)
    page = text(ben.get(f"/transfers/{transfer_id}"))
    assert 'id="starter">Ann' in page and 'id="completer">Ben' in page


def test_request_declined_with_a_reason(app, group, people, as_, outbox):
    ben = as_("ben")
    page = text(ben.get("/request"))
    response = ben.post("/request", data={"payer": people["ann"].id, "amount": "1",
                                          "description": "Lesson",
                                          "idempotency_key": key_of(page)})
    assert response.status_code == 302
    transfer_id = latest_transfer_id(app, group)
    assert any("asks you to pay 1:00 h" in m.subject for m in outbox)
    ann = as_("ann")
    assert "Lesson" in text(ann.get("/dashboard"))
    ann.post(f"/transfers/{transfer_id}/decision", data={"decline": "1", "reason": "Not me"})
    transfer = transfer_row(app, group, transfer_id)
    assert (transfer.state, transfer.cancel_code, transfer.cancel_reason) == (
        "cancelled", "declined", "Not me")
    page = text(ben.get(f"/transfers/{transfer_id}"))
    assert "Declined." in page and "Not me" in page
    assert any("Reason given: Not me" in m.body for m in outbox)


def test_request_form_submitted_twice_asks_once(app, group, people, as_):
    ben = as_("ben")
    data = {"payer": people["ann"].id, "amount": "1", "description": "Lesson",
            "idempotency_key": "same"}
    first, second = ben.post("/request", data=data), ben.post("/request", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    with in_group(app, group):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == 1


def test_starter_edits_and_withdraws_the_other_side_cannot(app, group, people, as_):
    ben = as_("ben")
    ben.post("/request", data={"payer": people["ann"].id, "amount": "1",
                               "description": "Lesson"})
    transfer_id = latest_transfer_id(app, group)
    ann = as_("ann")
    assert ann.get(f"/transfers/{transfer_id}/edit").status_code == 403
    ann.post(f"/transfers/{transfer_id}/decision", data={"withdraw": "1"})
    assert transfer_row(app, group, transfer_id).state == "pending"
    assert ben.get(f"/transfers/{transfer_id}/edit").status_code == 200
    response = ben.post(f"/transfers/{transfer_id}/edit",
                        data={"amount": "0:45", "description": "Shorter lesson"})
    assert response.status_code == 302
    transfer = transfer_row(app, group, transfer_id)
    assert (transfer.amount, transfer.description) == (45, "Shorter lesson")
    ben.post(f"/transfers/{transfer_id}/decision", data={"withdraw": "1"})
    assert transfer_row(app, group, transfer_id).cancel_code == "withdrawn"


def test_acceptance_refused_by_a_lowered_limit_shows_why(app, group, people, as_, outbox):
    ben = as_("ben")
    ben.post("/request", data={"payer": people["ann"].id, "amount": "3", "description": "Sofa"})
    transfer_id = latest_transfer_id(app, group)
    tre = as_("tre")
    with in_group(app, group):
        account_id = ledger.account_for(fresh(people["ann"]), ledger.default_currency()).id
    assert tre.post(f"/accounts/{account_id}/limits",
                    data={"min_balance": "1", "max_balance": "", "reason": "New member"}
                    ).status_code == 302
    ann = as_("ann")
    response = ann.post(f"/transfers/{transfer_id}/decision", data={"accept": "1"},
                        follow_redirects=True)
    assert "limits no longer allow it" in text(response)
    assert "credit limit no longer allows it" in text(response)
    transfer = transfer_row(app, group, transfer_id)
    assert (transfer.state, transfer.cancel_code) == ("cancelled", "refused_credit_limit")


def test_limits_page_records_who_changed_what(app, group, people, as_):
    with in_group(app, group):
        account_id = ledger.account_for(fresh(people["ann"]), ledger.default_currency()).id
    tre = as_("tre")
    tre.post(f"/accounts/{account_id}/limits", data={"min_balance": "5", "max_balance": "40"})
    tre.post(f"/accounts/{account_id}/limits", data={"min_balance": "2", "max_balance": "40",
                                                     "reason": "Asked to"})
    page = text(tre.get(f"/accounts/{account_id}/limits"))
    history = page.split('id="limit-history"')[1]
    assert history.count("Tess Treasurer") == 2 and "Asked to" in history
    with in_group(app, group):
        changes = db.session.scalars(sa.select(LimitChange).order_by(LimitChange.id)).all()
        assert [(c.old_min_balance, c.new_min_balance, c.changed_by_id) for c in changes] == [
            (None, -300, people["tre"].id), (-300, -120, people["tre"].id)]
    assert as_("ann").get(f"/accounts/{account_id}/limits").status_code == 403


def test_treasurer_reverses_with_links_both_ways(app, group, people, as_, make_transfer):
    transfer_id = make_transfer(people["ann"], people["ben"], 60, "Mistake")
    assert as_("ann").post(f"/transfers/{transfer_id}/reverse",
                           data={"reason": "x"}).status_code == 403
    tre = as_("tre")
    assert 'id="reverse"' in text(tre.get(f"/transfers/{transfer_id}"))
    response = tre.post(f"/transfers/{transfer_id}/reverse", data={"reason": "Entered twice"})
    assert response.status_code == 302
    reversal_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert f'id="reverses-link" href="/transfers/{transfer_id}"' in text(
        tre.get(f"/transfers/{reversal_id}"))
    original = text(as_("ann").get(f"/transfers/{transfer_id}"))
    assert f'id="reversal-link" href="/transfers/{reversal_id}"' in original
    assert "Entered twice" in original


def test_on_behalf_and_bulk_entries(app, group, people, as_):
    tre = as_("tre")
    assert as_("ann").get("/on-behalf").status_code == 403
    response = tre.post("/on-behalf", data={"payer": people["ann"].id, "payee": people["ben"].id,
                                            "amount": "2", "description": "Paper slip"})
    assert response.status_code == 302
    page = text(tre.get(response.headers["Location"]))
    assert "on behalf of the payer" in page and 'id="starter">Tess Treasurer' in page
    with in_group(app, group):
        pot = ledger.group_account(currency=ledger.default_currency())
        db.session.commit()
        pot_id = pot.id
    response = tre.post("/bulk", data={
        "direction": "collect", "counterpart": pot_id, "description": "Membership fee",
        "legs": "Ann, 0:30\nBen, 0:30\n"})
    assert response.status_code == 302, text(response)
    with in_group(app, group):
        assert db.session.get(Account, pot_id).balance == 60
    # A leg over the limit: nothing is written, the form says who.
    with in_group(app, group):
        ledger.set_limits(account=ledger.account_for(fresh(people["ann"]),
                                                     ledger.default_currency()),
                          min_balance=-160, max_balance=None)
        db.session.commit()
    response = tre.post("/bulk", data={
        "direction": "collect", "counterpart": pot_id, "description": "Second fee",
        "legs": "Ann, 0:30\nBen, 0:30\n"})
    assert response.status_code == 200
    assert "Ann: This would take the payer, Ann, below their credit limit" in text(response)
    with in_group(app, group):
        assert db.session.get(Account, pot_id).balance == 60


def test_payer_rates_and_the_average_counts(app, group, people, as_, make_transfer):
    first = make_transfer(people["ann"], people["ben"], 60, "Job one")
    second = make_transfer(people["ann"], people["ben"], 60, "Job two")
    ann = as_("ann")
    assert 'id="rate"' not in text(as_("ben").get(f"/transfers/{first}"))
    ann.post(f"/transfers/{first}/rate", data={"rating": "5"})
    ann.post(f"/transfers/{second}/rate", data={"rating": "4"})
    assert 'id="rating">5 / 5' in text(ann.get(f"/transfers/{first}"))
    with in_group(app, group):
        assert ledger.average_rating(fresh(people["ben"])) == (4.5, 2)


@pytest.mark.parametrize("path", ["/statement", "/ledger"])
def test_statement_dates_out_of_bounds_or_reversed_are_errors_next_to_the_field(
        app, group, people, as_, make_transfer, path):
    """The last day a date picker offers (9999-12-31) was a bare 400 page (the day after it
    does not exist), and an end before the start an empty list with no hint."""
    make_transfer(people["ann"], people["ben"], 30, "Shopping")
    client = as_("ann") if path == "/statement" else as_("tre")
    far = client.get(f"{path}?end=9999-12-31")
    assert far.status_code == 200
    assert "Choose a day between" in text(far) and "Shopping" in text(far)  # the end ignored
    reversed_ = text(client.get(f"{path}?start=2030-01-10&end=2030-01-01"))
    assert "The end must not be before the start." in reversed_
    assert client.get(f"{path}.csv?start=0001-01-01&end=9999-12-31").status_code == 200


def test_statement_filters_and_csv(app, group, people, as_, make_transfer):
    make_transfer(people["ann"], people["ben"], 30, "=HYPERLINK(evil)")
    make_transfer(people["tre"], people["ann"], 90, "Cooking")
    ann = as_("ann")
    page = text(ann.get(f"/statement?counterparty={_account(app, group, people['tre'])}"))
    assert "Cooking" in page and "HYPERLINK" not in page
    assert 'id="balance-chart"' in page and "chart.umd.min.js" in page
    assert "Month by month" in page
    assert "Cooking" not in text(ann.get("/statement?start=2000-01-01&end=2000-01-31"))
    response = ann.get("/statement.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0][:3] == ["date", "transfer", "state"]
    by_description = {row[5]: row for row in rows[1:]}
    assert by_description["Cooking"][6:9] == ["1.5", "90", "1"]
    assert "'=HYPERLINK(evil)" in by_description  # a spreadsheet will not run it
    assert by_description["'=HYPERLINK(evil)"][6:9] == ["-0.5", "-30", "-0.5"]


def test_statement_shows_pending_and_cancelled(app, group, people, as_):
    ben = as_("ben")
    ben.post("/request", data={"payer": people["ann"].id, "amount": "1", "description": "Open"})
    ann = as_("ann")
    assert "Open" in text(ann.get("/statement?state=pending"))
    assert "Open" not in text(ann.get("/statement"))


def test_group_ledger_is_for_treasurers(app, group, people, as_, make_transfer):
    make_transfer(people["ann"], people["ben"], 30, "Visible to treasurers")
    assert as_("ann").get("/ledger").status_code == 403
    tre = as_("tre")
    assert "Visible to treasurers" in text(tre.get("/ledger"))
    assert "Visible to treasurers" not in text(tre.get("/ledger?kind=reversal"))
    assert "Visible to treasurers" in text(tre.get("/ledger.csv"))
    assert "Ann" in text(tre.get("/accounts"))


def test_currencies_managed_by_coordinators(app, group, people, as_):
    ann = as_("ann")
    assert ann.get("/currencies/").status_code == 200
    assert ann.get("/currencies/new").status_code == 403
    coo = as_("coo")
    form = {"code": "seeds", "name": "Seeds", "symbol": "✿", "purpose": "Garden swaps",
            "kind": "mutual_credit", "subunits_per_unit": "100", "display_format": "decimal",
            "default_min_balance": "50", "default_max_balance": "", "hour_value": "0.5"}
    response = coo.post("/currencies/new", data=form)
    assert response.status_code == 302, text(response)
    with in_group(app, group):
        seeds = ledger.currency_by_code("SEEDS")
        assert (seeds.default_min_balance, seeds.hour_value) == (-5000, 0.5)
        assert ledger.account_for(fresh(people["ann"]), seeds) is not None
    page = text(ann.get("/dashboard"))
    assert 'data-currency="SEEDS"' in page and "Seeds" in page
    assert ann.post("/pay", data={"currency": "SEEDS", "payee": people["ben"].id,
                                  "amount": "2.50", "description": "Tomatoes"}
                    ).status_code == 302
    # A credit limit may be typed with its minus sign, as on the account and settings pages.
    response = coo.post("/currencies/SEEDS/edit",
                        data={**form, "code": "SEEDS", "default_min_balance": "-20"})
    assert response.status_code == 302, text(response)
    with in_group(app, group):
        assert ledger.currency_by_code("SEEDS").default_min_balance == -2000
    # Used: it can be retired, never deleted.
    coo.post("/currencies/SEEDS/action", data={"delete": "1"})
    with in_group(app, group):
        assert ledger.currency_by_code("SEEDS") is not None
    coo.post("/currencies/SEEDS/action", data={"retire": "1"})
    with in_group(app, group):
        assert ledger.currency_by_code("SEEDS").is_active is False
    # The last active currency cannot be retired; an unused one can be deleted.
    coo.post("/currencies/HOUR/action", data={"retire": "1"})
    with in_group(app, group):
        assert ledger.currency_by_code("HOUR").is_active is True
    coo.post("/currencies/new", data={
        "code": "TMP", "name": "Tmp", "symbol": "t", "kind": "mutual_credit",
        "subunits_per_unit": "1", "display_format": "decimal", "hour_value": "1"})
    coo.post("/currencies/TMP/action", data={"delete": "1"})
    with in_group(app, group):
        assert ledger.currency_by_code("TMP") is None


def test_issued_currency_public_page_and_issuance(app, group, people, as_, client_for):
    coo = as_("coo")
    coo.post("/currencies/new", data={
        "code": "VOUCH", "name": "Vouchers", "symbol": "V", "kind": "issued",
        "subunits_per_unit": "1", "display_format": "decimal", "hour_value": "1"})
    tre = as_("tre")
    page = text(tre.get("/currencies/VOUCH/issuance"))
    assert 'id="issue"' in page
    ann_account = _account(app, group, people["ann"], "VOUCH")
    response = tre.post("/currencies/VOUCH/issue", data={
        "payee": ann_account, "amount": "40", "description": "Spring batch"})
    assert response.status_code == 302
    assert as_("ann").post("/currencies/VOUCH/issue", data={
        "payee": ann_account, "amount": "40", "description": "Me"}).status_code == 403
    public = text(client_for("greenvale").get("/currencies/VOUCH/issuance"))
    assert re.search(r'id="total-issued"><span[^>]*>40 V', public)
    assert re.search(r'id="in-circulation"><span[^>]*>40 V', public)
    assert "Spring batch" in public and "Ann" not in public
    # Holders are floored at zero.
    response = as_("ann").post("/pay", data={"currency": "VOUCH", "payee": people["ben"].id,
                                             "amount": "41", "description": "Too much"})
    assert "You can still spend 40 V." in text(response)


def _account(app, group, membership, code=None) -> int:
    with in_group(app, group):
        currency = ledger.currency_by_code(code) if code else ledger.default_currency()
        return ledger.account_for(fresh(membership), currency).id


def test_currency_rows_belong_to_their_group(app, group, people):
    with in_group(app, group):
        assert db.session.scalars(sa.select(Currency.code)).all() == ["HOUR"]


def test_decisions_never_redirect_off_site(app, group, people, as_):
    ben = as_("ben")
    ben.post("/request", data={"payer": people["ann"].id, "amount": "1", "description": "x"})
    transfer_id = latest_transfer_id(app, group)
    response = as_("ann").post(f"/transfers/{transfer_id}/decision",
                               data={"decline": "1", "next": "//evil.example.org/"})
    assert response.headers["Location"] == f"/transfers/{transfer_id}"


def test_the_community_pot_opens_when_first_used(app, group, people, as_):
    tre = as_("tre")
    page = text(tre.get("/bulk"))
    assert '<option value="-1">Community pot</option>' in page
    response = tre.post("/bulk", data={"direction": "pay", "counterpart": "-1",
                                       "description": "Thank-you hours", "legs": "Ann, 1"})
    assert response.status_code == 302, text(response)
    with in_group(app, group):
        pot = ledger.group_account(currency=ledger.default_currency())
        assert (pot.name, pot.balance) == ("Community pot", -60)
    assert '<option value="-1">' not in text(tre.get("/bulk"))
