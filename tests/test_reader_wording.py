"""Messages speak to the reader (issue 17): a refusal addresses the payer as "you", each side of
a request gets its own mail subject, the on-behalf form offers others as payers, and the
dashboard's recent transfers name the other side and what a reversal reverses."""

import re

import pytest
import sqlalchemy as sa

from tests.conftest import coordinator_of
from tests.ledger_support import deferred_constraints_hold, in_group  # noqa: F401
from timebank.extensions import db
from timebank.models import Transfer

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")


@pytest.fixture
def group(make_group):
    return make_group("greenvale")


@pytest.fixture
def people(app, group, make_member):
    return {
        "ann": make_member(group, name="Ann Baker"),
        "dan": make_member(group, name="Dan Evans", min_balance=-30),
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


def test_a_refusal_speaks_to_the_payer(people, as_):
    response = as_("dan").post("/pay", data={"payee": people["ann"].id, "amount": "1:00",
                                             "description": "Too much"})
    assert "This would take you below your credit limit. You can still spend 0:30 h." in text(
        response)


def test_a_treasurer_reads_the_payer_by_name(people, as_):
    response = as_("tre").post("/on-behalf", data={
        "payer": people["dan"].id, "payee": people["ann"].id, "amount": "1:00",
        "description": "Too much"})
    assert "This would take the payer, Dan Evans, below their credit limit" in text(response)


def test_each_side_of_a_request_gets_its_own_subject(people, as_, outbox):
    ann = as_("ann")
    key = re.search(r'name="idempotency_key" type="hidden" value="(\w+)"',
                    text(ann.get("/request"))).group(1)
    assert ann.post("/request", data={"payer": people["dan"].id, "amount": "0:25",
                                      "description": "Lesson", "idempotency_key": key}
                    ).status_code == 302
    subjects = {m.recipients[0]: m.subject for m in outbox}
    assert subjects[people["dan"].user.email] == "Ann Baker asks you to pay 0:25 h"
    assert subjects[people["ann"].user.email] == "You asked Dan Evans to pay you 0:25 h"


def test_the_on_behalf_form_does_not_offer_the_treasurer_as_payer(people, as_):
    page = text(as_("tre").get("/on-behalf"))
    payer = page.split('id="payer"', 1)[1].split("</select>", 1)[0]
    payee = page.split('id="payee"', 1)[1].split("</select>", 1)[0]
    assert "Tess Treasurer" not in payer and "Dan Evans" in payer
    assert "Tess Treasurer" in payee


def test_recent_transfers_name_the_other_side_and_what_a_reversal_reverses(app, group, people,
                                                                            as_):
    ann = as_("ann")
    assert ann.post("/pay", data={"payee": people["dan"].id, "amount": "0:20",
                                  "description": "Soup"}).status_code == 302
    with in_group(app, group):
        transfer_id = db.session.scalar(sa.select(sa.func.max(Transfer.id)))
    assert as_("tre").post(f"/transfers/{transfer_id}/reverse",
                           data={"reason": "Paid twice"}).status_code == 302
    recent = text(ann.get("/dashboard")).split('id="recent-transfers"', 1)[1]
    assert "to Dan Evans" in recent and "from Dan Evans" in recent
    assert re.search(r"Reversal of “Soup” \([^)]*\): Paid twice", recent)
