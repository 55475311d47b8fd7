"""Standing orders, the membership fee and demurrage settings, and what a member will be charged.

Amounts are integers in subunits. Functions take keyword-only arguments, raise
:class:`~timebank.schedules.errors.ScheduleError` or
:class:`~timebank.ledger.errors.LedgerError` subclasses (nothing written) and never commit.

* A standing order is made by its payer, or by a treasurer on a member's behalf; it starts
  today or later and may end (its last payment is the last due date on or before ``ends_on``).
  It is cancelled by its payer or a treasurer; a cancelled order never runs again.
* An order is seen by its payer, its payee and whoever has ``schedules.manage`` in its group
  (treasurers and coordinators): :func:`sees_order`; everyone else is told it does not exist.
* The fee and demurrage start with the first calendar period after they are set (the first of
  next month, or of next year for a yearly fee): nobody is charged for a period already begun.
* Demurrage rounding: ``(balance - threshold) * rate // 10000``, with ``rate`` in basis points
  (1/100 of a percent): rounded down to the subunit, so it never takes more than the rate
  (and never creates value); a charge that rounds to zero is not made.
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from timebank.audit.service import record
from timebank.extensions import db
from timebank.i18n import N_, locale_for_user
from timebank.ledger import service as ledger
from timebank.ledger.amounts import format_amount
from timebank.ledger.errors import CurrencyMismatch, InactiveParty, SameAccount
from timebank.ledger.transfers import DESCRIPTION_MAX, validate_amount
from timebank.models import Account, Currency, Group, Membership, MembershipStatus, Role, utcnow
from timebank.models.notices import NoticeKind
from timebank.models.schedules import ScheduledRun, StandingOrder
from timebank.policy import can
from timebank.schedules.errors import (
    MAX_YEARS_AHEAD,
    EndBeforeStart,
    InvalidInterval,
    InvalidRate,
    NotAllowed,
    StartInPast,
    StartTooFar,
)
from timebank.schedules.periods import (
    Interval,
    add_months,
    due_date,
    next_period_start,
    period_key,
    period_start,
)

BASIS_POINTS = 10_000  # a rate of 10000 basis points is 100 %


def group_today(group: Group) -> date:
    """Return today's date in ``group``'s time zone (when its scheduled money is due)."""
    try:
        zone = ZoneInfo(group.timezone or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def _is_treasurer(membership: Membership) -> bool:
    return membership.is_active and membership.has_role(Role.TREASURER)


def create_standing_order(
    *,
    payer: Membership,
    payee: Membership,
    currency: Currency,
    amount: int,
    description: str,
    interval: str,
    starts_on: date,
    ends_on: date | None,
    by: Membership,
    today: date,
) -> StandingOrder:
    """Make ``payer`` pay ``amount`` subunits of ``currency`` to ``payee`` every ``interval``
    (``week``, ``month`` or ``year``) from ``starts_on`` (today or later in the group's time
    zone, ``today``, and at most ``MAX_YEARS_AHEAD`` years on) until ``ends_on`` (None: until
    cancelled). ``by`` is the payer or a treasurer. Returns the new order (flushed).

    Raises :class:`NotAllowed`, :class:`SameAccount`, :class:`InactiveParty`,
    :class:`CurrencyMismatch`, :class:`InvalidAmount`, :class:`InvalidInterval`,
    :class:`StartInPast`, :class:`StartTooFar` or :class:`EndBeforeStart`.
    """
    if by.id != payer.id and not _is_treasurer(by):
        raise NotAllowed()
    if payer.id == payee.id:
        raise SameAccount()
    if not (payer.is_active and payee.is_active and by.is_active):
        raise InactiveParty()
    validate_amount(amount, currency)
    if interval not in {i.value for i in Interval}:
        raise InvalidInterval()
    if starts_on < today:
        raise StartInPast()
    if starts_on > add_months(today, 12 * MAX_YEARS_AHEAD):
        raise StartTooFar()
    if ends_on is not None and ends_on < starts_on:
        raise EndBeforeStart()
    payer_account = ledger.account_for(payer, currency)
    payee_account = ledger.account_for(payee, currency)
    if payer_account is None or payee_account is None or not currency.is_active:
        raise CurrencyMismatch()
    order = StandingOrder(
        currency_id=currency.id, payer_account_id=payer_account.id,
        payee_account_id=payee_account.id, payer_membership_id=payer.id,
        payee_membership_id=payee.id, amount=amount,
        description=(description or "").strip()[:DESCRIPTION_MAX], interval=interval,
        starts_on=starts_on, ends_on=ends_on, next_index=0, next_due_on=starts_on,
        created_by_id=by.id, created_at=utcnow(),
    )
    db.session.add(order)
    db.session.flush()
    record(action="schedules.order_created", object_type="standing_order", object_id=order.id,
           actor=by, after={"payer": payer.id, "payee": payee.id, "amount": amount,
                            "currency": currency.code, "interval": interval,
                            "starts_on": starts_on, "ends_on": ends_on})
    return order


def sees_order(membership: Membership | None, order: StandingOrder) -> bool:
    """Return whether ``membership`` may see ``order`` (its page, its runs).

    The rule (one place, for the pages): the order's payer and payee, and anyone with
    ``schedules.manage`` (treasurers and coordinators, :mod:`timebank.policy`) in the order's
    group. Nobody else — another member, a member of another group, a visitor — sees it; a
    former payer or payee whose membership is no longer active does not either.
    """
    if membership is None or not membership.is_active or order.group_id != membership.group_id:
        return False
    return (membership.id in (order.payer_membership_id, order.payee_membership_id)
            or can(membership, "schedules.manage", order))


def may_cancel(membership: Membership | None, order: StandingOrder) -> bool:
    """Whether ``membership`` may cancel ``order``: its payer or a treasurer, while it runs."""
    if membership is None or not membership.is_active or not order.is_running:
        return False
    return order.payer_membership_id == membership.id or _is_treasurer(membership)


def cancel_standing_order(*, order: StandingOrder, by: Membership) -> StandingOrder:
    """Cancel ``order`` ``by`` its payer or a treasurer: it never runs again (runs already
    made stay). The order's row is locked first, so a run in progress ends before. Cancelling
    again returns it unchanged. Raises :class:`NotAllowed`."""
    order = db.session.scalar(
        sa.select(StandingOrder).where(StandingOrder.id == order.id).with_for_update()
        .execution_options(populate_existing=True))
    if order.is_cancelled:
        return order
    if by.id != order.payer_membership_id and not _is_treasurer(by):
        raise NotAllowed()
    order.cancelled_at = utcnow()
    order.cancelled_by_id = by.id
    record(action="schedules.order_cancelled", object_type="standing_order",
           object_id=order.id, actor=by, before={"cancelled_at": None},
           after={"cancelled_at": order.cancelled_at})
    return order


def _with_parties(query: sa.Select) -> sa.Select:
    """Load each order's payer, payee (with their users) and currency with it."""
    return query.options(
        selectinload(StandingOrder.payer).selectinload(Membership.user),
        selectinload(StandingOrder.payee).selectinload(Membership.user),
        selectinload(StandingOrder.currency))


def orders_of(membership: Membership) -> tuple[list[StandingOrder], list[StandingOrder]]:
    """Return ``membership``'s standing orders as (those it pays, those it receives), newest
    first."""
    rows = db.session.scalars(_with_parties(
        sa.select(StandingOrder)
        .where(sa.or_(StandingOrder.payer_membership_id == membership.id,
                      StandingOrder.payee_membership_id == membership.id))
        .order_by(StandingOrder.id.desc()))).all()
    paying = [o for o in rows if o.payer_membership_id == membership.id]
    return paying, [o for o in rows if o.payee_membership_id == membership.id]


ENDED_SUBJECTS = {
    "payer_left": N_("The standing order of %(amount)s from %(payer)s has ended"),
    "payee_left": N_("Your standing order of %(amount)s to %(payee)s has ended"),
}


def end_orders_of(membership: Membership, *, today: date) -> int:
    """End every running standing order ``membership`` pays or is paid by, because they are
    leaving the group (``people.leave_group`` calls it): see :func:`end_order`. Returns how
    many ended."""
    running = db.session.scalars(_with_parties(
        sa.select(StandingOrder).where(
            sa.or_(StandingOrder.payer_membership_id == membership.id,
                   StandingOrder.payee_membership_id == membership.id),
            StandingOrder.cancelled_at.is_(None))
        .order_by(StandingOrder.id).with_for_update(of=StandingOrder))).all()
    ended = [order for order in running if order.is_running]
    for order in ended:
        reason = "payer_left" if order.payer_membership_id == membership.id else "payee_left"
        end_order(order, reason=reason, on=today)
    return len(ended)


def end_order(order: StandingOrder, *, reason: str, on: date) -> None:
    """End ``order`` because a party left (``reason``: ``payer_left`` or ``payee_left``, on
    the group's date ``on``): cancelled by the system, the reason kept on the order
    (``last_refusal``), the party still in the group told as they chose for transfer notices
    (``mail/schedule_ended.txt``)."""
    order.cancelled_at, order.cancelled_by_id = utcnow(), None
    order.last_refusal, order.last_refused_on = reason, on
    record(action="schedules.order_ended", object_type="standing_order", object_id=order.id,
           actor=None, before={"cancelled_at": None},
           after={"cancelled_at": order.cancelled_at, "reason": reason})
    remaining = order.payee if reason == "payer_left" else order.payer
    if remaining.status != MembershipStatus.ACTIVE:
        return  # nobody left to tell (both sides gone, or the other is suspended or pending)
    _tell_ended(order, remaining=remaining, reason=reason, on=on)


def _tell_ended(order: StandingOrder, *, remaining: Membership, reason: str, on: date) -> None:
    """Tell ``remaining`` that ``order`` ended because the other party left, as they chose."""
    from timebank.notices.service import announce
    from timebank.tenants.urls import group_url

    group = db.session.get(Group, order.group_id)
    locale = locale_for_user(remaining.user, group)
    context = {
        "reason": reason, "payer": order.payer.user.name, "payee": order.payee.user.name,
        "date": on.isoformat(), "group_name": group.name,
        "amount": format_amount(order.amount, subunits_per_unit=order.currency.subunits_per_unit,
                                locale=locale, symbol=order.currency.symbol),
    }
    announce(user=remaining.user, kind=NoticeKind.TRANSFERS,
             subject_key=ENDED_SUBJECTS[reason], context=context, template="schedule_ended",
             group=group, link=group_url(group.slug, f"/standing-orders/{order.id}"))


def group_orders(*, limit: int = 200) -> list[StandingOrder]:
    """Return the group's standing orders that still run, soonest due first (treasurers)."""
    return list(db.session.scalars(_with_parties(
        sa.select(StandingOrder).where(StandingOrder.cancelled_at.is_(None))
        .order_by(StandingOrder.next_due_on, StandingOrder.id).limit(limit))))


def runs_of(order: StandingOrder, *, limit: int = 24) -> list[ScheduledRun]:
    """Return ``order``'s last runs, newest first."""
    return list(db.session.scalars(
        sa.select(ScheduledRun).where(ScheduledRun.standing_order_id == order.id)
        .order_by(ScheduledRun.id.desc()).limit(limit)))


def next_due_after(order: StandingOrder) -> date | None:
    """The due date after the next one (for display), or None past the end date (or past
    the calendar's last day, 31 December 9999, for an order set up before
    ``MAX_YEARS_AHEAD`` bounded the first payment)."""
    try:
        following = due_date(order.starts_on, Interval(order.interval), order.next_index + 1)
    except (ValueError, OverflowError):
        return None
    return None if order.ends_on is not None and following > order.ends_on else following


def set_charges(
    *,
    currency: Currency,
    fee_amount: int | None,
    fee_interval: str,
    fee_policy: str,
    demurrage_rate: int | None,
    demurrage_threshold: int,
    by: Membership,
    today: date,
) -> Currency:
    """Set ``currency``'s membership fee (``fee_amount`` subunits every ``fee_interval``,
    ``month`` or ``year``; None = no fee; ``fee_policy`` ``skip`` or ``partial``) and demurrage
    (``demurrage_rate`` basis points a month of the part of a balance above
    ``demurrage_threshold`` subunits; None = none). A fee or demurrage newly turned on (or a
    fee whose interval changes) starts with the next calendar period after ``today``.

    Raises :class:`InvalidAmount`, :class:`InvalidInterval` or :class:`InvalidRate`.
    """
    if fee_amount is not None:
        validate_amount(fee_amount, currency)
    if fee_interval not in (Interval.MONTH, Interval.YEAR) or fee_policy not in ("skip",
                                                                                "partial"):
        raise InvalidInterval()
    if demurrage_rate is not None and not 1 <= demurrage_rate <= BASIS_POINTS:
        raise InvalidRate()
    if demurrage_threshold < 0:
        raise InvalidRate()
    fields = ("fee_amount", "fee_interval", "fee_policy", "fee_starts_on", "demurrage_rate",
              "demurrage_threshold", "demurrage_starts_on")
    before = {name: getattr(currency, name) for name in fields}
    if fee_amount is None:
        currency.fee_starts_on = None
    elif currency.fee_amount is None or currency.fee_interval != fee_interval:
        currency.fee_starts_on = next_period_start(today, Interval(fee_interval))
    if demurrage_rate is None:
        currency.demurrage_starts_on = None
    elif currency.demurrage_rate is None:
        currency.demurrage_starts_on = next_period_start(today, Interval.MONTH)
    currency.fee_amount, currency.fee_interval, currency.fee_policy = (
        fee_amount, fee_interval, fee_policy)
    currency.demurrage_rate, currency.demurrage_threshold = demurrage_rate, demurrage_threshold
    after = {name: getattr(currency, name) for name in fields}
    if after != before:
        record(action="schedules.charges", object_type="currency", object_id=currency.id,
               actor=by, before=before, after=after)
    return currency


def demurrage_on(balance: int, currency: Currency) -> int:
    """Return the demurrage a month on ``balance`` (subunits) in ``currency``: the rate
    (basis points) of the part above the threshold, rounded down to the subunit; 0 when the
    currency has none or the balance is at or below the threshold."""
    if currency.demurrage_rate is None or balance <= currency.demurrage_threshold:
        return 0
    return (balance - currency.demurrage_threshold) * currency.demurrage_rate // BASIS_POINTS


@dataclass(frozen=True)
class NextCharge:
    """What demurrage will take from an account (subunits) on ``due_on``, at today's
    balance."""

    amount: int
    due_on: date


def next_demurrage(account: Account, *, today: date) -> NextCharge | None:
    """Return the next demurrage charge on ``account`` at its current balance, or None when
    its currency has no demurrage or nothing would be taken."""
    currency = account.currency
    if currency.demurrage_rate is None or currency.demurrage_starts_on is None:
        return None
    amount = demurrage_on(account.balance, currency)
    if amount <= 0:
        return None
    due_on = max(next_period_start(today, Interval.MONTH), currency.demurrage_starts_on)
    if period_start(today, Interval.MONTH) >= currency.demurrage_starts_on and not _ran(
            "demurrage", account.id, period_start(today, Interval.MONTH)):
        due_on = today  # this month's run has not reached it yet
    return NextCharge(amount=amount, due_on=due_on)


def order_run_key(order_id: int, due_on: date) -> str:
    """The run key (and transfer idempotency key) of a standing order's run due ``due_on``."""
    return f"standing_order:{order_id}:{due_on.isoformat()}"


def account_run_key(kind: str, account_id: int, period: str) -> str:
    """The run key (and transfer idempotency key) of a fee or demurrage charge on one account
    for one period (``"2026-12"``, ``"2026"``)."""
    return f"{kind}:{account_id}:{period}"


def currency_run_key(kind: str, currency_id: int, period: str) -> str:
    """The run key marking a currency's whole fee or demurrage period as done."""
    return f"{kind}:currency{currency_id}:{period}"


def _ran(kind: str, account_id: int, start: date) -> bool:
    period = period_key(start, Interval.MONTH)
    account = db.session.get(Account, account_id)
    keys = [account_run_key(kind, account_id, period),
            currency_run_key(kind, account.currency_id, period)]
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ScheduledRun)
        .where(ScheduledRun.run_key.in_(keys))) > 0
