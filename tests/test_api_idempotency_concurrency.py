"""Two requests with one Idempotency-Key at the same moment: one effect, one answer (issue 19).
Commits for real (marker ``concurrency``)."""

import threading

import pytest
import sqlalchemy as sa

from tests.api_support import bearer, token_for
from timebank.extensions import db
from timebank.models import Transfer
from timebank.tenants import group_context

pytestmark = pytest.mark.concurrency


def test_two_concurrent_requests_with_one_key_pay_once(committing_app, make_group, make_member,
                                                       client_for):
    app = committing_app
    group = make_group("idemrace")
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    raw = token_for(app, ann)
    body = {"kind": "payment", "counterpart_id": ben.id, "amount": 30, "description": "Race"}
    headers = {**bearer(raw), "Idempotency-Key": "same-key"}
    barrier = threading.Barrier(4)
    answers, errors = [], []

    def post():
        try:
            client = client_for(group.slug)
            barrier.wait(timeout=10)
            response = client.post("/api/v1/transfers", headers=headers, json=body)
            answers.append((response.status_code, response.get_json()))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    created = [answer for status, answer in answers if status == 201]
    assert created, answers
    assert all(status in (201, 409) for status, _ in answers), answers
    assert all(answer == created[0] for answer in created)
    with app.app_context(), group_context(group.id):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
    assert count == 1
