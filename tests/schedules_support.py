"""Helpers shared by the schedules tests (tests/test_schedules_*.py)."""

from datetime import date

import sqlalchemy as sa

from tests.ledger_support import fresh
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.models import Account, ScheduledRun, Transfer
from timebank.schedules import service as schedules


def order(payer, payee, amount=60, *, interval="month", starts_on=date(2027, 1, 31),
          ends_on=None, by=None, today=None):
    """A standing order made through the service (inside a group context); returns it."""
    return schedules.create_standing_order(
        payer=fresh(payer), payee=fresh(payee), currency=ledger.default_currency(),
        amount=amount, description="Rent", interval=interval, starts_on=starts_on,
        ends_on=ends_on, by=fresh(by or payer), today=today or starts_on)


def balance(member) -> int:
    account = ledger.account_for(fresh(member), ledger.default_currency())
    db.session.refresh(account)
    return account.balance


def pot_balance() -> int:
    pot = ledger.group_account(currency=ledger.default_currency())
    db.session.refresh(pot)
    return pot.balance


def transfers_of_kind(kind: str) -> list[Transfer]:
    return list(db.session.scalars(
        sa.select(Transfer).where(Transfer.kind == kind).order_by(Transfer.id)))


def runs(kind: str | None = None) -> list[ScheduledRun]:
    query = sa.select(ScheduledRun).order_by(ScheduledRun.id)
    if kind:
        query = query.where(ScheduledRun.kind == kind)
    return list(db.session.scalars(query))


def account_of(member) -> Account:
    return ledger.account_for(fresh(member), ledger.default_currency())
