"""A small ledger with known trades across months, categories and a time-zone edge, for the
report tests (tests/test_reports_*.py).

Group "orchard", time zone America/Los_Angeles; the range of interest is January to March
2026 there. Every figure the tests expect is also recomputed directly from the Entry rows
(:func:`exchanged_from_entries`)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger import corrections
from timebank.ledger import service as ledger
from timebank.models import (
    Account,
    AccountKind,
    Ad,
    AdKind,
    Category,
    Entry,
    Membership,
    Transfer,
    TransferKind,
)
from timebank.reports.figures import TRADE_KINDS
from timebank.tenants import group_context

ZONE = "America/Los_Angeles"
START, END = date(2026, 1, 1), date(2026, 3, 31)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Orchard:
    group: object
    ann: Membership
    ben: Membership
    cleo: Membership
    dan: Membership


def backdate_members(app, group, joined: dict[int, datetime]) -> None:
    """Set when memberships joined (and when their accounts opened): fixtures make them now."""
    with app.app_context(), group_context(group.id):
        for membership_id, at in joined.items():
            db.session.execute(sa.update(Membership).where(Membership.id == membership_id)
                               .values(approved_at=at, created_at=at))
            db.session.execute(sa.update(Account).where(Account.membership_id == membership_id)
                               .values(created_at=at))
        db.session.commit()


def add_ad(app, group, author, kind: AdKind, category: str | None, at: datetime) -> None:
    with app.app_context(), group_context(group.id):
        category_id = None
        if category:
            category_id = db.session.scalar(sa.select(Category.id).where(Category.name == category))
            if category_id is None:
                row = Category(name=category)
                db.session.add(row)
                db.session.flush()
                category_id = row.id
        db.session.add(Ad(author_id=author.id, kind=kind, title=f"{kind} {category}",
                          category_id=category_id, created_at=at, updated_at=at,
                          expires_at=utc(2027, 1, 1)))
        db.session.commit()


def pay_at(app, payer, payee, amount: int, at: datetime) -> int:
    with app.app_context(), group_context(payer.group_id):
        payer_row = db.session.get(Membership, payer.id)
        transfer = ledger.pay(payer=payer_row, payee=db.session.get(Membership, payee.id),
                              currency=ledger.default_currency(), amount=amount,
                              description="Help", starter=payer_row, occurred_at=at)
        db.session.commit()
        return transfer.id


def reverse_at(app, group, transfer_id: int, by, at: datetime) -> None:
    with app.app_context(), group_context(group.id), \
            mock.patch.object(corrections, "utcnow", return_value=at):
        corrections.reverse_transfer(transfer=db.session.get(Transfer, transfer_id),
                                     by=db.session.get(Membership, by.id), reason="Mistake")
        db.session.commit()


def bulk_from_pot_at(app, group, payee, amount: int, by, at: datetime) -> None:
    """The group's pot pays ``payee``: a bulk entry that is not a trade."""
    with app.app_context(), group_context(group.id), \
            mock.patch.object(corrections, "utcnow", return_value=at):
        currency = ledger.default_currency()
        pot = ledger.group_account(currency=currency)
        account = ledger.account_for(db.session.get(Membership, payee.id), currency)
        corrections.bulk_transfer(counterpart=pot, legs=[(account, amount)], collect=False,
                                  description="Welcome", starter=db.session.get(Membership, by.id))
        db.session.commit()


def build_orchard(app, make_group, make_member, slug: str = "orchard") -> Orchard:
    """Build the group and its history, oldest first (so stored running balances stay in
    time order). Expected, in Los Angeles months: January 120 (2 trades), February 60 (1; the
    pot's bulk entry is not a trade), March -60 + 45 = -15 (a reversal and a trade)."""
    from tests.conftest import coordinator_of

    group = make_group(slug)
    with app.app_context():
        from timebank.models import Group

        db.session.execute(sa.update(Group).where(Group.id == group.id).values(timezone=ZONE))
        db.session.commit()
    ann, ben = make_member(group, name="Ann"), make_member(group, name="Ben")
    cleo, dan = make_member(group, name="Cleo"), make_member(group, name="Dan")
    coordinator = coordinator_of(app, group)
    old = utc(2025, 12, 1)
    backdate_members(app, group, {coordinator.id: old, ann.id: old, ben.id: old, cleo.id: old,
                                  dan.id: utc(2026, 2, 15)})
    add_ad(app, group, ben, AdKind.OFFER, "Garden", utc(2025, 12, 2))
    add_ad(app, group, ann, AdKind.WANT, "Repairs", utc(2026, 1, 10))
    add_ad(app, group, cleo, AdKind.WANT, "Garden", utc(2026, 2, 2))
    add_ad(app, group, ben, AdKind.OFFER, "Repairs", utc(2026, 2, 20))
    add_ad(app, group, cleo, AdKind.OFFER, "Garden", utc(2026, 3, 1))
    add_ad(app, group, dan, AdKind.WANT, "Garden", utc(2026, 3, 10))
    pay_at(app, ann, ben, 20, utc(2025, 12, 31, 12))  # before the range
    pay_at(app, ann, ben, 90, utc(2026, 1, 15, 12))  # January; Ben offers Garden
    pay_at(app, ben, ann, 30, utc(2026, 2, 1, 7))  # 23:00 on 31 January in Los Angeles
    mistake = pay_at(app, ann, cleo, 60, utc(2026, 2, 10, 12))  # February; Cleo offers nothing
    bulk_from_pot_at(app, group, ben, 100, coordinator, utc(2026, 2, 11, 12))  # not a trade
    reverse_at(app, group, mistake, coordinator, utc(2026, 3, 5, 12))  # March: minus 60
    pay_at(app, cleo, ben, 45, utc(2026, 4, 1, 6, 30))  # 23:30 on 31 March (PDT)
    pay_at(app, ann, ben, 15, utc(2026, 4, 1, 7, 30))  # 00:30 on 1 April: after the range
    return Orchard(group, ann, ben, cleo, dan)


def exchanged_from_entries(app, group, start: date, end: date, *, zone: str = ZONE
                           ) -> dict[date, tuple[int, int]]:
    """Recompute "exchanged per month" directly from the Entry rows, in Python: for each
    transfer, its positive entry (the payee's leg), when both legs are on members' accounts
    and the transfer is a trade or a reversal of one; days and months in ``zone``."""
    zone = ZoneInfo(zone)
    with app.app_context(), group_context(group.id):
        kinds = dict(db.session.execute(sa.select(Account.id, Account.kind)).all())
        transfers = {t.id: t for t in db.session.scalars(sa.select(Transfer))}
        legs: dict[int, list[Entry]] = {}
        for entry in db.session.scalars(sa.select(Entry)):
            legs.setdefault(entry.transfer_id, []).append(entry)
    result: dict[date, list[int]] = {}
    for transfer_id, entries in legs.items():
        transfer = transfers[transfer_id]
        if any(kinds[e.account_id] != AccountKind.MEMBER for e in entries):
            continue
        original = transfers.get(transfer.reverses_id)
        if transfer.kind == TransferKind.REVERSAL and original.kind in TRADE_KINDS:
            sign = -1
        elif transfer.kind in TRADE_KINDS:
            sign = 1
        else:
            continue
        credit = next(e for e in entries if e.amount > 0)
        local = credit.created_at.astimezone(zone).date()
        if start <= local <= end:
            totals = result.setdefault(local.replace(day=1), [0, 0])
            totals[0] += sign * credit.amount
            totals[1] += sign
    return {month: tuple(values) for month, values in result.items()}


def balances_from_entries(app, group, before: datetime) -> dict[int, int]:
    """Each member account's balance at ``before``: the sum of its entries until then."""
    with app.app_context(), group_context(group.id):
        rows = db.session.execute(
            sa.select(Account.membership_id, sa.func.coalesce(sa.func.sum(Entry.amount), 0))
            .outerjoin(Entry, sa.and_(Entry.account_id == Account.id, Entry.created_at < before))
            .where(Account.kind == AccountKind.MEMBER)
            .group_by(Account.membership_id)
        ).all()
    return {membership_id: int(total) for membership_id, total in rows}
