"""Helpers shared by the ledger tests (tests/test_ledger_*.py)."""

from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Membership
from timebank.tenants import group_context


@contextmanager
def in_group(app, group):
    """Run a block as ``group`` in a request context (error messages need a locale)."""
    with app.test_request_context(), group_context(group.id):
        yield


def fresh(membership: Membership) -> Membership:
    """Return ``membership`` loaded in the current session (fixtures hand out detached rows)."""
    return db.session.get(Membership, membership.id)


@pytest.fixture
def deferred_constraints_hold(app):
    """At the end of the test, fire the deferred constraint triggers (the test transaction is
    rolled back, never committed, so they would otherwise never run)."""
    yield
    with app.app_context():
        db.session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
