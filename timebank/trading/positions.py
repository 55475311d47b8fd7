"""Where a group stands with the rest of the network: what its clearing accounts hold, what
it owes or is owed per partner group, and how that moved month by month.

Positive means the group owes the network (its members received less than they spent
elsewhere); negative, the network owes it. Values between groups are in network seconds
(3,600 to a network hour), computed by the ledger's ``ledger_network_seconds``.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db
from timebank.models import Account, AccountMonth, Currency, Group
from timebank.tenants import all_groups
from timebank.trading.service import bounds_of_account

MONTHS = 24


@dataclass(frozen=True)
class ClearingPosition:
    """One clearing account: its currency, balance (subunits), bounds (subunits, zero or
    more) and the balance's value in network seconds."""

    currency: Currency
    balance: int
    may_owe: int
    may_be_owed: int
    network_seconds: int


def clearing_positions() -> list[ClearingPosition]:
    """The current group's clearing accounts, oldest currency first (one query)."""
    rows = db.session.execute(
        sa.select(Account, Currency,
                  sa.func.ledger_network_seconds(Account.balance, Currency.hour_value,
                                                 Currency.subunits_per_unit))
        .join(Currency, Currency.id == Account.currency_id)
        .where(Account.is_clearing)
        .order_by(Currency.id)
    ).all()
    return [
        ClearingPosition(currency, account.balance, *bounds_of_account(account), int(seconds))
        for account, currency, seconds in rows
    ]


_BY_PARTNER = sa.text("""
    SELECT other, sum(seconds) FROM (
        SELECT ip.payee_group_id AS other,
               ledger_network_seconds(t.amount, c.hour_value, c.subunits_per_unit) AS seconds
          FROM intergroup_payments ip
          JOIN transfers t ON t.id = ip.payer_transfer_id AND t.state = 'completed'
          JOIN currencies c ON c.id = t.currency_id
         WHERE ip.payer_group_id = :group_id
        UNION ALL
        SELECT ip.payer_group_id,
               -ledger_network_seconds(t.amount, c.hour_value, c.subunits_per_unit)
          FROM intergroup_payments ip
          JOIN transfers t ON t.id = ip.payee_transfer_id AND t.state = 'completed'
          JOIN currencies c ON c.id = t.currency_id
         WHERE ip.payee_group_id = :group_id
    ) moves GROUP BY other
""")


def balances_by_partner(group: Group) -> list[tuple[Group, int]]:
    """``[(other group, network seconds)]`` this group owes each group it traded with
    (negative: owed by it), largest first. Reads both sides of the payments between groups:
    an explicit path past tenant scoping."""
    with all_groups():
        totals = dict(db.session.execute(_BY_PARTNER, {"group_id": group.id}).all())
        groups = {g.id: g for g in db.session.scalars(
            sa.select(Group).where(Group.id.in_(list(totals))))}
    return sorted(((groups[gid], int(total)) for gid, total in totals.items()),
                  key=lambda pair: -abs(pair[1]))


def monthly_history() -> list[dict]:
    """The current group's position with the network at the end of each of the last
    ``MONTHS`` months with movement (months in the group's time zone):
    ``[{"day": "YYYY-MM-01", "balance": seconds}]``. Read from the clearing accounts' monthly
    totals that the ledger keeps (:class:`~timebank.models.AccountMonth`), so it costs one row
    a month, however many payments between groups there were; ``ledger_network_seconds`` is
    linear, so a month's net converts as its entries would."""
    seconds = sa.func.ledger_network_seconds(
        AccountMonth.incoming - AccountMonth.outgoing, Currency.hour_value,
        Currency.subunits_per_unit)
    rows = db.session.execute(
        sa.select(AccountMonth.month, sa.func.sum(seconds))
        .join(Account, sa.and_(Account.group_id == AccountMonth.group_id,
                               Account.id == AccountMonth.account_id))
        .join(Currency, Currency.id == Account.currency_id)
        .where(Account.is_clearing)
        .group_by(AccountMonth.month).order_by(AccountMonth.month)
    ).all()
    points, running = [], 0
    for month, total in rows:
        running += total
        points.append({"day": month.isoformat(), "balance": int(running)})
    return points[-MONTHS:]
