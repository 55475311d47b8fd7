"""The scheduled runs: standing orders, the membership fee and demurrage, each exactly once per
period (``rq cron`` runs :func:`run_scheduled` every hour, :mod:`timebank.schedules.cron`).

**Exactly once.** Each run of one thing for one period is one database transaction that
first inserts its :class:`~timebank.models.ScheduledRun` row — unique ``(group_id, run_key)``,
``INSERT … ON CONFLICT DO NOTHING`` — then writes the transfer through the ledger's own
function (``ledger_transfer``, whose idempotency key is the same ``run_key``) and the outcome.
A second job for the same period finds the row (or waits on the first job's uncommitted row,
then finds it) and does nothing; a worker killed mid-run never commits, so its run is made by
the next job. A standing order's row is also locked (``FOR UPDATE``) while one of its periods
runs, and moves to its next due date in the same transaction.

**Limits apply.** A refusal (credit limit, ceiling, an inactive member or currency) moves
nothing; it is recorded on the run (and, for a standing order, on the order: ``last_refusal``),
the payer is told as they chose for transfer notices (``mail/schedule_refused.txt``), and the
order or fee carries on next period.

**A party left.** A member who leaves the group (``people.leave_group``) ends the standing
orders they pay or are paid by at once (:func:`~timebank.schedules.service.end_orders_of`): the
order is cancelled by the system with the reason (``payer_left`` / ``payee_left``) kept in
``last_refusal``, and the party still in the group is told as they chose for transfer notices
(``mail/schedule_ended.txt``). An order whose party's membership ended some other way is ended
the same way on the first due date the job meets after it, with no run recorded. (A suspension
is temporary: a suspended party's run is refused and the order carries on.)

**When the job was down** for several periods (catch-up rule):

* a standing order runs each missed due date once, oldest first (each its own transfer and
  transaction): what was promised for each week or month is paid, limits permitting;
* the membership fee charges each missed period once, oldest first, to the members active
  when the job runs;
* demurrage charges only the current month: it is a share of today's balance, and charging
  missed months on today's balance would take for balances nobody held then; missed months
  are forgiven.

**Fee policy** (``currencies.fee_policy``) for a member who cannot pay the whole fee within
their credit limit: ``skip`` takes nothing and tells them; ``partial`` takes what their limit
still allows (pending payments counted; nothing if no room) and tells them of a shortfall
only when nothing could be taken. Letting a balance go below its credit limit is not offered:
the ledger never lets a transfer take a payer below its floor.

**Rounding.** Demurrage is ``(balance - threshold) * rate // 10000`` (rate in basis points):
rounded down to the subunit, never creating value; a charge rounding to 0 is not made.
Dates are the group's own (its time zone); "today" may be given (ISO date) for tests.
"""

import logging
from datetime import date

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import insert

from timebank.boundary import run_in_transaction
from timebank.extensions import db
from timebank.i18n import N_, locale_for_user
from timebank.ledger import service as ledger
from timebank.ledger.accounts import lock_accounts
from timebank.ledger.amounts import format_amount
from timebank.ledger.errors import (
    CeilingExceeded,
    CreditLimitExceeded,
    CurrencyMismatch,
    InactiveCurrency,
    InactiveParty,
    InvalidAmount,
    LevyBeyondLimit,
    SameAccount,
)
from timebank.models import (
    Account,
    AccountKind,
    Currency,
    Group,
    GroupStatus,
    Membership,
    MembershipStatus,
    TransferKind,
    utcnow,
)
from timebank.models.notices import NoticeKind
from timebank.models.schedules import ScheduledRun, StandingOrder
from timebank.schedules.periods import Interval, due_date, period_key, period_start, period_starts
from timebank.schedules.service import (
    account_run_key,
    currency_run_key,
    demurrage_on,
    end_order,
    group_today,
    order_run_key,
)
from timebank.tenants import all_groups, current_group_id, group_context

log = logging.getLogger(__name__)

# A ledger refusal -> the code kept on the run and the order (shown translated).
REFUSALS = {
    CreditLimitExceeded: "credit_limit",
    CeilingExceeded: "ceiling",
    InactiveParty: "inactive_party",
    SameAccount: "inactive_party",
    InactiveCurrency: "inactive_currency",
    CurrencyMismatch: "inactive_currency",
    InvalidAmount: "invalid_amount",
    LevyBeyondLimit: "levy",
}
SUBJECTS = {
    "standing_order": N_("Your standing order of %(amount)s to %(payee)s was refused"),
    "fee": N_("Your membership fee of %(amount)s could not be charged"),
    "demurrage": N_("Demurrage of %(amount)s could not be charged"),
}
def run_scheduled(today: str | None = None) -> dict[str, int]:
    """Job (rq cron, hourly): run every standing order, fee and demurrage now due in every
    active group. Returns how many runs each made (refusals included)."""
    return {"standing_orders": run_standing_orders(today), "fees": run_fees(today),
            "demurrage": run_demurrage(today)}


def _groups_with(group_ids: sa.Select) -> list[Group]:
    """The active groups whose ids ``group_ids`` selects (a network-wide read)."""
    with all_groups():
        groups = db.session.scalars(
            sa.select(Group).where(Group.id.in_(group_ids), Group.status == GroupStatus.ACTIVE)
            .order_by(Group.id)).all()
        for group in groups:
            db.session.expunge(group)  # kept readable across the steps' commits
    return list(groups)


def _day(today: str | None, group: Group) -> date:
    return date.fromisoformat(today) if today else group_today(group)


def _claim(*, kind: str, key: str, period: str, currency_id: int, account_id: int | None,
           standing_order_id: int | None = None) -> int | None:
    """Insert the run's row (outcome to be written); None when this run already exists."""
    statement = insert(ScheduledRun).values(
        group_id=current_group_id(), kind=kind, run_key=key, period=period,
        currency_id=currency_id, account_id=account_id, standing_order_id=standing_order_id,
        amount=0, outcome="refused", created_at=utcnow(),
    ).on_conflict_do_nothing(constraint="uq_scheduled_runs_group_id_run_key")
    return db.session.execute(statement.returning(ScheduledRun.id)).scalar()


def _finish(run_id: int, *, outcome: str, amount: int = 0, transfer_id: int | None = None,
            refusal: str | None = None) -> None:
    db.session.execute(
        sa.update(ScheduledRun).where(ScheduledRun.id == run_id)
        .values(outcome=outcome, amount=amount, transfer_id=transfer_id, refusal=refusal))


def _move(*, run_id: int, payer: Account, payee: Account, amount: int, description: str,
          starter: Membership | None, kind: TransferKind, key: str,
          outcome: str = "paid") -> str | None:
    """Write the run's transfer through the ledger and its outcome; return the refusal code
    (nothing moved) or None."""
    try:
        transfer = ledger.transfer_between(
            payer_account=payer, payee_account=payee, amount=amount, description=description,
            starter=starter, kind=kind, idempotency_key=key)
    except tuple(REFUSALS) as error:
        refusal = REFUSALS[type(error)]
        _finish(run_id, outcome="refused", refusal=refusal)
        return refusal
    _finish(run_id, outcome=outcome, amount=amount, transfer_id=transfer.id)
    return None


def _tell_refused(*, kind: str, membership: Membership, amount: int, currency: Currency,
                  payee: str, refusal: str, link_path: str, period: str) -> None:
    """Tell ``membership`` (the payer) that a scheduled run was refused, as they chose."""
    from timebank.notices.service import announce
    from timebank.tenants.urls import group_url

    group = db.session.get(Group, membership.group_id)
    locale = locale_for_user(membership.user, group)
    context = {
        "kind": kind, "refusal": refusal, "payee": payee, "period": period,
        "group_name": group.name,
        "amount": format_amount(amount, subunits_per_unit=currency.subunits_per_unit,
                                locale=locale, symbol=currency.symbol),
    }
    announce(user=membership.user, kind=NoticeKind.TRANSFERS, subject_key=SUBJECTS[kind],
             context=context, template="schedule_refused", group=group,
             link=group_url(group.slug, link_path))


# --- standing orders ----------------------------------------------------------------------
def run_standing_orders(today: str | None = None) -> int:
    """Job: run every standing order due on or before today (each group's own date), each
    missed due date once, oldest first. Returns how many periods ran."""
    ran = 0
    due = sa.select(StandingOrder.group_id).where(StandingOrder.cancelled_at.is_(None))
    for group in _groups_with(due):
        with group_context(group.id):
            day = _day(today, group)
            order_ids = db.session.scalars(
                sa.select(StandingOrder.id)
                .where(StandingOrder.cancelled_at.is_(None), StandingOrder.next_due_on <= day)
                .order_by(StandingOrder.id)).all()
            for order_id in order_ids:
                while run_in_transaction(run_order_period, order_id, day.isoformat()):
                    ran += 1
    return ran


def _party_who_left(order: StandingOrder) -> str | None:
    """``payer_left`` or ``payee_left`` when that side's membership has ended, else None."""
    if order.payer.status == MembershipStatus.LEFT:
        return "payer_left"
    if order.payee.status == MembershipStatus.LEFT:
        return "payee_left"
    return None


def run_order_period(order_id: int, day: str) -> bool:
    """Step (one transaction): run standing order ``order_id``'s next due date if it is on or
    before ``day``; False when nothing was due, or when the order was ended instead because
    its payer or payee left the group (module docstring, "A party left")."""
    order = db.session.scalar(
        sa.select(StandingOrder).where(StandingOrder.id == order_id).with_for_update()
        .execution_options(populate_existing=True))
    if order is None or not order.is_running or order.next_due_on > date.fromisoformat(day):
        return False
    due_on = order.next_due_on
    reason = _party_who_left(order)
    if reason is not None:  # left without people.leave_group ending it (an older release)
        end_order(order, reason=reason, on=due_on)
        return False
    order.next_index += 1
    order.next_due_on = due_date(order.starts_on, Interval(order.interval), order.next_index)
    key = order_run_key(order.id, due_on)
    run_id = _claim(kind="standing_order", key=key, period=due_on.isoformat(),
                    currency_id=order.currency_id, account_id=order.payer_account_id,
                    standing_order_id=order.id)
    if run_id is None:
        return True  # this due date already ran
    payer = db.session.get(Account, order.payer_account_id)
    payee = db.session.get(Account, order.payee_account_id)
    refusal = _move(run_id=run_id, payer=payer, payee=payee, amount=order.amount,
                    description=order.description, starter=order.payer,
                    kind=TransferKind.STANDING_ORDER, key=key)
    if refusal is not None:
        order.last_refusal, order.last_refused_on = refusal, due_on
        _tell_refused(kind="standing_order", membership=order.payer, amount=order.amount,
                      currency=order.currency, payee=order.payee.user.name, refusal=refusal,
                      link_path=f"/standing-orders/{order.id}", period=due_on.isoformat())
    return True


# --- membership fee and demurrage ---------------------------------------------------------
def _member_account_ids(currency_id: int, *, above: int | None = None) -> list[int]:
    """Ids of the active members' accounts in the currency (balance above ``above`` if
    given), ascending."""
    query = (
        sa.select(Account.id)
        .join(Membership, sa.and_(Membership.id == Account.membership_id,
                                  Membership.group_id == Account.group_id))
        .where(Account.currency_id == currency_id, Account.kind == AccountKind.MEMBER,
               Membership.status == MembershipStatus.ACTIVE)
        .order_by(Account.id))
    if above is not None:
        query = query.where(Account.balance > above)
    return list(db.session.scalars(query))


def _periods_done(kind: str, currency_id: int) -> set[str]:
    prefix = currency_run_key(kind, currency_id, "")
    return set(db.session.scalars(
        sa.select(ScheduledRun.period).where(ScheduledRun.run_key.startswith(prefix))))


def close_period(kind: str, currency_id: int, period: str) -> None:
    """Step: mark a currency's ``kind`` period done (later runs skip it)."""
    _claim(kind=kind, key=currency_run_key(kind, currency_id, period), period=period,
           currency_id=currency_id, account_id=None)
    db.session.execute(
        sa.update(ScheduledRun)
        .where(ScheduledRun.run_key == currency_run_key(kind, currency_id, period))
        .values(outcome="done"))


def _pot_and_locked(currency: Currency, account_id: int) -> tuple[Account, Account]:
    """Lock the account and the community pot in the global order; return both, fresh."""
    group = db.session.get(Group, currency.group_id)
    pot = ledger.group_account(currency=currency, locale=group.default_locale)
    locked = lock_accounts([account_id, pot.id])
    return locked[account_id], locked[pot.id]


def _charge_description(kind: str, period: str, currency: Currency) -> str:
    """The transfer's description, in the group's language (stored text)."""
    group = db.session.get(Group, currency.group_id)
    with force_locale(group.default_locale):
        if kind == "fee":
            return _("Membership fee %(period)s", period=period)
        return _("Demurrage %(period)s", period=period)


def run_fees(today: str | None = None) -> int:
    """Job: charge every currency's membership fee for each period due and not yet done,
    oldest first, to each active member. Returns how many members' charges ran."""
    ran = 0
    with_fee = sa.select(Currency.group_id).where(Currency.fee_amount.is_not(None),
                                                  Currency.is_active)
    for group in _groups_with(with_fee):
        with group_context(group.id):
            day = _day(today, group)
            currencies = db.session.scalars(
                sa.select(Currency).where(Currency.fee_amount.is_not(None), Currency.is_active,
                                          Currency.fee_starts_on <= day)
                .order_by(Currency.id)).all()
            for currency in currencies:
                interval, currency_id = Interval(currency.fee_interval), currency.id
                done = _periods_done("fee", currency_id)
                for start in period_starts(currency.fee_starts_on, day, interval):
                    period = period_key(start, interval)
                    if period in done:
                        continue
                    for account_id in _member_account_ids(currency_id):
                        ran += run_in_transaction(charge_fee, currency_id, account_id, period)
                    run_in_transaction(close_period, "fee", currency_id, period)
    return ran


def charge_fee(currency_id: int, account_id: int, period: str) -> bool:
    """Step: charge the fee of ``period`` to account ``account_id`` once; False if it was
    charged (or refused) before or the fee is off."""
    currency = db.session.get(Currency, currency_id, populate_existing=True)
    if currency.fee_amount is None:
        return False
    key = account_run_key("fee", account_id, period)
    run_id = _claim(kind="fee", key=key, period=period, currency_id=currency_id,
                    account_id=account_id)
    if run_id is None:
        return False
    account, pot = _pot_and_locked(currency, account_id)
    amount, outcome = currency.fee_amount, "paid"
    if currency.fee_policy == "partial":
        room = ledger.position(account).can_still_spend
        if room is not None and room < amount:
            amount, outcome = max(room, 0), "partial"
    refusal = "credit_limit" if amount <= 0 else _move(
        run_id=run_id, payer=account, payee=pot, amount=amount,
        description=_charge_description("fee", period, currency), starter=None,
        kind=TransferKind.FEE, key=key, outcome=outcome)
    if refusal is not None:
        _finish(run_id, outcome="refused", refusal=refusal)
        _tell_refused(kind="fee", membership=account.membership, amount=currency.fee_amount,
                      currency=currency, payee=pot.display_name, refusal=refusal,
                      link_path="/dashboard", period=period)
    return True


def run_demurrage(today: str | None = None) -> int:
    """Job: charge demurrage for the current month (each group's own date) on every active
    member's balance above the threshold, once; missed months are not charged. Returns how
    many members' charges ran."""
    ran = 0
    with_rate = sa.select(Currency.group_id).where(Currency.demurrage_rate.is_not(None),
                                                   Currency.is_active)
    for group in _groups_with(with_rate):
        with group_context(group.id):
            day = _day(today, group)
            start = period_start(day, Interval.MONTH)
            period = period_key(start, Interval.MONTH)
            currencies = db.session.scalars(
                sa.select(Currency).where(Currency.demurrage_rate.is_not(None),
                                          Currency.is_active,
                                          Currency.demurrage_starts_on <= start)
                .order_by(Currency.id)).all()
            for currency in currencies:
                currency_id = currency.id
                if period in _periods_done("demurrage", currency_id):
                    continue
                for account_id in _member_account_ids(currency_id,
                                                      above=currency.demurrage_threshold):
                    ran += run_in_transaction(charge_demurrage, currency_id, account_id, period)
                run_in_transaction(close_period, "demurrage", currency_id, period)
    return ran


def charge_demurrage(currency_id: int, account_id: int, period: str) -> bool:
    """Step: charge ``period``'s demurrage on account ``account_id`` once, on its balance
    now (under its lock); False if charged before or demurrage is off."""
    currency = db.session.get(Currency, currency_id, populate_existing=True)
    if currency.demurrage_rate is None:
        return False
    key = account_run_key("demurrage", account_id, period)
    run_id = _claim(kind="demurrage", key=key, period=period, currency_id=currency_id,
                    account_id=account_id)
    if run_id is None:
        return False
    account, pot = _pot_and_locked(currency, account_id)
    amount = demurrage_on(account.balance, currency)
    if amount <= 0:
        _finish(run_id, outcome="done")  # the balance fell to the threshold meanwhile
        return True
    refusal = _move(run_id=run_id, payer=account, payee=pot, amount=amount,
                    description=_charge_description("demurrage", period, currency),
                    starter=None, kind=TransferKind.DEMURRAGE, key=key)
    if refusal is not None:
        _tell_refused(kind="demurrage", membership=account.membership, amount=amount,
                      currency=currency, payee=pot.display_name, refusal=refusal,
                      link_path="/dashboard", period=period)
    return True
