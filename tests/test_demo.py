"""The seeded demo network: two groups in two languages, members, weeks of trade, ads."""

import sqlalchemy as sa

from timebank.demo import GROUPS, seed_demo
from timebank.extensions import db
from timebank.models import (
    Ad,
    Group,
    IntergroupPayment,
    Membership,
    Role,
    StandingOrder,
    Transfer,
)
from timebank.tenants import group_context


def test_demo_seeds_two_groups_with_trade_and_is_idempotent(app):
    with app.app_context():
        lines = list(seed_demo())
        assert any("greenvale.localhost" in line for line in lines)
        list(seed_demo())  # a second run changes nothing
        groups = db.session.scalars(sa.select(Group).order_by(Group.id)).all()
        assert [g.slug for g in groups] == [spec["slug"] for spec in GROUPS]
        assert {g.default_locale for g in groups} == {"en", "es"}
        for group, spec in zip(groups, GROUPS, strict=True):
            with group_context(group.id):
                members = db.session.scalars(sa.select(Membership)).all()
                assert len(members) == 1 + len(spec["members"])
                assert sum(m.role == Role.COORDINATOR for m in members) == 1
                assert db.session.scalar(sa.select(sa.func.count(Transfer.id))) >= 5
                assert db.session.scalar(sa.select(sa.func.count(Ad.id))) == len(spec["ads"])
        # The two groups trade with each other: one payment across, both legs completed.
        payments = db.session.scalars(sa.select(IntergroupPayment)).all()
        assert len(payments) == 1
        assert all(g.trades_with_network for g in groups)
        with group_context(groups[0].id):  # Ann pays Ben by standing order every month
            (order,) = db.session.scalars(sa.select(StandingOrder)).all()
            assert order.description == "Allotment share" and order.is_running


def test_the_demo_console_shows_its_groups_activity_and_checked_ledgers(app):
    """The quick start runs no scheduler: the seed computes the console's figures and ledger
    checks, so the console does not show zeros and "not checked" beside groups that trade."""
    from timebank.models import GroupFigures, LedgerCheck
    from timebank.tenants import all_groups

    with app.app_context():
        list(seed_demo())
        with all_groups():
            figures = db.session.scalars(sa.select(GroupFigures)).all()
            checks = db.session.scalars(sa.select(LedgerCheck)).all()
        assert len(figures) == len(GROUPS)
        assert all(f.members > 0 and f.transfers > 0 for f in figures)
        assert len(checks) == len(GROUPS)
        assert all(c.checked_at is not None and c.problem_count == 0 for c in checks)


def test_the_demo_network_marketplace_lists_an_ad_of_each_group(app, client_for):
    with app.app_context():
        list(seed_demo())
        db.session.commit()
    page = client_for(None).get("/marketplace").get_data(as_text=True)
    for spec in GROUPS:
        assert spec["ads"][0][2] in page, spec["slug"]
