"""Standing orders, the membership fee and demurrage: each rule as a table (issue 20).

Runs are called as the job calls them, with "today" given; every run goes through the
ledger's own function, so the fixture's ledger check holds after each test.
"""

from datetime import date

import pytest

from tests.conftest import coordinator_of
from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from tests.schedules_support import (
    account_of,
    balance,
    order,
    pot_balance,
    runs,
    transfers_of_kind,
)
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.models import MembershipStatus
from timebank.schedules import jobs
from timebank.schedules import service as schedules
from timebank.schedules.errors import EndBeforeStart, NotAllowed, StartInPast, StartTooFar
from timebank.schedules.periods import Interval, add_months, due_date, period_starts

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")


@pytest.mark.parametrize("start,interval,n,expected", [
    (date(2027, 1, 31), "month", 1, date(2027, 2, 28)),
    (date(2027, 1, 31), "month", 2, date(2027, 3, 31)),  # the 31st comes back
    (date(2027, 1, 31), "month", 3, date(2027, 4, 30)),
    (date(2028, 1, 31), "month", 1, date(2028, 2, 29)),  # a leap year
    (date(2027, 1, 30), "month", 1, date(2027, 2, 28)),
    (date(2027, 12, 15), "month", 1, date(2028, 1, 15)),  # across a year
    (date(2028, 2, 29), "year", 1, date(2029, 2, 28)),
    (date(2028, 2, 29), "year", 4, date(2032, 2, 29)),
    (date(2027, 1, 31), "week", 1, date(2027, 2, 7)),
    (date(2027, 12, 29), "week", 1, date(2028, 1, 5)),
    (date(2027, 1, 31), "month", 0, date(2027, 1, 31)),
])
def test_due_dates(start, interval, n, expected):
    assert due_date(start, Interval(interval), n) == expected


def test_period_starts_and_month_arithmetic():
    assert add_months(date(2027, 3, 31), -1) == date(2027, 2, 28)
    assert period_starts(date(2027, 1, 1), date(2027, 3, 5), Interval.MONTH) == [
        date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]
    assert period_starts(date(2027, 1, 1), date(2026, 12, 31), Interval.MONTH) == []
    assert period_starts(date(2027, 1, 1), date(2028, 6, 1), Interval.YEAR) == [
        date(2027, 1, 1), date(2028, 1, 1)]


@pytest.fixture
def people(make_group, make_member):
    group = make_group()
    return {"group": group,
            "ann": make_member(group, name="Ann", min_balance=-60),
            "ben": make_member(group, name="Ben"),
            "tre": make_member(group, name="Tess", role="treasurer")}


@pytest.fixture
def ctx(app, people):
    global _app
    _app = app
    with in_group(app, people["group"]):
        yield people


_app = None


def run(job, day: str) -> int:
    """Run ``job`` as the worker does, in its own app context: its mail leaves at the end."""
    db.session.flush()
    with _app.app_context():
        count = job(day)
    db.session.expire_all()
    return count


def run_orders(day: str) -> int:
    return run(jobs.run_standing_orders, day)


# (day the job runs, Ann's balance after, Ben's after, runs so far, last refusal)
REFUSED_THEN_RESUMED = [
    ("2027-01-30", 0, 0, 0, None),  # not yet due
    ("2027-01-31", -60, 60, 1, None),  # paid: Ann is at her credit limit
    ("2027-02-28", -60, 60, 2, "credit_limit"),  # refused, recorded, carries on
    ("2027-02-28", -60, 60, 2, "credit_limit"),  # the job again: nothing
]


def test_a_refused_order_is_recorded_told_and_resumed_next_period(ctx, outbox):
    standing = order(ctx["ann"], ctx["ben"], 60)
    for day, ann, ben, count, refusal in REFUSED_THEN_RESUMED:
        run_orders(day)
        assert (balance(ctx["ann"]), balance(ctx["ben"])) == (ann, ben), day
        assert len(runs("standing_order")) == count, day
        assert db.session.get(type(standing), standing.id).last_refusal == refusal, day
    refused = [m for m in outbox if "was refused" in m.subject]
    assert len(refused) == 1 and refused[0].recipients == [ctx["ann"].user.email]
    assert "credit limit" in refused[0].body
    # Ben pays Ann back; the next period pays again.
    ledger.pay(payer=fresh(ctx["ben"]), payee=fresh(ctx["ann"]),
               currency=ledger.default_currency(), amount=120, description="back",
               starter=fresh(ctx["ben"]))
    run_orders("2027-03-31")
    assert balance(ctx["ann"]) == 0 and len(transfers_of_kind("standing_order")) == 2
    outcomes = [(r.period, r.outcome, r.refusal) for r in runs("standing_order")]
    assert outcomes == [("2027-01-31", "paid", None), ("2027-02-28", "refused", "credit_limit"),
                        ("2027-03-31", "paid", None)]


@pytest.mark.parametrize("interval,starts_on,ends_on,run_on,periods", [
    ("week", date(2027, 1, 1), date(2027, 1, 15), "2027-03-01",
     ["2027-01-01", "2027-01-08", "2027-01-15"]),
    ("month", date(2027, 1, 31), date(2027, 4, 29), "2027-12-31",
     ["2027-01-31", "2027-02-28", "2027-03-31"]),  # 30 April is past the end
    ("month", date(2027, 1, 31), None, "2027-04-30",
     ["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]),  # catch-up: each once
    ("year", date(2028, 2, 29), None, "2030-03-01", ["2028-02-29", "2029-02-28",
                                                      "2030-02-28"]),
    ("year", date(2027, 6, 1), date(2027, 6, 1), "2029-01-01", ["2027-06-01"]),
])
def test_periods_end_dates_and_catch_up(ctx, interval, starts_on, ends_on, run_on, periods):
    standing = order(ctx["ben"], ctx["ann"], 1, interval=interval, starts_on=starts_on,
                     ends_on=ends_on)
    run_orders(run_on)
    run_orders(run_on)  # a second job for the same day changes nothing
    assert [r.period for r in runs("standing_order")] == periods
    assert balance(ctx["ann"]) == len(periods)
    assert [t.amount for t in transfers_of_kind("standing_order")] == [1] * len(periods)
    standing = db.session.get(type(standing), standing.id)
    assert standing.has_ended == (ends_on is not None)


def test_a_cancelled_order_never_runs_and_only_payer_or_treasurer_cancels(ctx):
    standing = order(ctx["ben"], ctx["ann"], 30)
    with pytest.raises(NotAllowed):
        schedules.cancel_standing_order(order=standing, by=fresh(ctx["ann"]))
    schedules.cancel_standing_order(order=standing, by=fresh(ctx["tre"]))
    again = schedules.cancel_standing_order(order=standing, by=fresh(ctx["ben"]))
    assert again.cancelled_by_id == ctx["tre"].id
    assert run_orders("2027-06-30") == 0 and runs() == []


# (who leaves, the reason kept on the order, who is told, words in the notice)
PARTY_LEAVES = [
    ("ben", "payer_left", "ann", "from Ben to you has ended, because Ben left"),
    ("ann", "payee_left", "ben", "to Ann has ended, because Ann left"),
]


@pytest.mark.parametrize("leaver,reason,told,words", PARTY_LEAVES)
def test_an_order_whose_party_left_is_ended_not_refused(ctx, outbox, leaver, reason, told,
                                                        words):
    standing = order(ctx["ben"], ctx["ann"], 30)
    run_orders("2027-01-31")
    fresh(ctx[leaver]).status = MembershipStatus.LEFT
    assert run_orders("2027-03-31") == 0  # two due dates passed: ended at the first
    ended = db.session.get(type(standing), standing.id)
    assert (ended.ended_because, ended.last_refused_on) == (reason, date(2027, 2, 28))
    assert ended.is_cancelled and ended.cancelled_by_id is None and not ended.is_running
    assert [(r.period, r.outcome) for r in runs("standing_order")] == [("2027-01-31", "paid")]
    notices = [m for m in outbox if "has ended" in m.subject]
    assert len(notices) == 1 and notices[0].recipients == [ctx[told].user.email]
    assert words in notices[0].body and "/standing-orders/" in notices[0].body
    assert not [m for m in outbox if "was refused" in m.subject]
    assert run_orders("2027-06-30") == 0 and len(runs("standing_order")) == 1


@pytest.mark.parametrize("leaver,reason,told,words", PARTY_LEAVES)
def test_leaving_the_group_ends_the_order_at_once(ctx, outbox, leaver, reason, told, words):
    from timebank.people.management import leave_group

    standing = order(ctx["ben"], ctx["ann"], 30)
    kept = order(ctx["tre"], ctx["ann" if leaver == "ben" else "ben"], 10)  # not theirs
    db.session.flush()
    with _app.app_context():  # as a request does: the notice leaves with the commit
        leave_group(membership=fresh(ctx[leaver]))
        db.session.commit()
    db.session.expire_all()
    ended = db.session.get(type(standing), standing.id)
    assert ended.ended_because == reason and ended.cancelled_by_id is None
    assert ended.last_refused_on == schedules.group_today(fresh(ctx["ann"]).group)
    assert db.session.get(type(kept), kept.id).is_running
    notices = [m for m in outbox if "has ended" in m.subject]
    assert len(notices) == 1 and notices[0].recipients == [ctx[told].user.email]
    assert words in notices[0].body
    assert run_orders("2027-06-30") == 6  # Tess's order only: January to June
    assert all(r.standing_order_id == kept.id for r in runs("standing_order"))


def test_a_suspended_party_is_refused_and_the_order_carries_on(ctx):
    standing = order(ctx["ben"], ctx["ann"], 30)
    fresh(ctx["ann"]).status = MembershipStatus.SUSPENDED
    run_orders("2027-01-31")
    kept = db.session.get(type(standing), standing.id)
    assert kept.is_running and kept.ended_because is None
    assert kept.last_refusal == "inactive_party"


# (who looks, whether they see Ben's order to Ann)
WHO_SEES_AN_ORDER = [
    ("ben", True),  # the payer
    ("ann", True),  # the payee
    ("tre", True),  # a treasurer: schedules.manage
    ("coo", True),  # a coordinator
    ("cat", False),  # another member
    ("gone", False),  # a member who left
    ("away", False),  # a treasurer of another group
    (None, False),  # nobody logged in
]


def test_who_sees_an_order(app, people, make_member, make_group):
    others = {"cat": make_member(people["group"], name="Cat"),
              "gone": make_member(people["group"], name="Gus", status="left", role="treasurer"),
              "away": make_member(make_group(), name="Sam", role="treasurer"),
              "coo": coordinator_of(app, people["group"])}
    with in_group(app, people["group"]):
        standing = order(people["ben"], people["ann"], 30)
        for who, sees in WHO_SEES_AN_ORDER:
            if who == "away":  # detached: this group's session cannot load it
                looking = others["away"]
            else:
                looking = None if who is None else fresh({**people, **others}[who])
            assert schedules.sees_order(looking, standing) is sees, who


@pytest.mark.parametrize("change,error", [
    ({"starts_on": date(2027, 1, 30)}, StartInPast),
    ({"starts_on": date(2037, 2, 1)}, StartTooFar),  # ten years on is the last day allowed
    ({"starts_on": date(9999, 12, 31)}, StartTooFar),  # its next due date would not exist
    ({"ends_on": date(2027, 1, 1)}, EndBeforeStart),
    ({"by": "ben"}, NotAllowed),  # someone else's money
])
def test_order_input_refusals(ctx, change, error):
    arguments = {"starts_on": date(2027, 1, 31), "today": date(2027, 1, 31)}
    arguments.update(change)
    if arguments.get("by"):
        arguments["by"] = ctx[arguments["by"]]
    with pytest.raises(error):
        order(ctx["ann"], ctx["tre"], **arguments)


def test_an_order_may_start_ten_years_from_today(ctx):
    assert order(ctx["ann"], ctx["tre"], starts_on=date(2037, 1, 31), today=date(2027, 1, 31))


def test_an_order_past_the_calendars_end_shows_no_following_date(ctx):
    """An order saved before the first payment was bounded (31 December 9999, yearly) has no
    following due date to show: None, not an error."""
    standing = order(ctx["ann"], ctx["tre"], starts_on=date(2027, 1, 31), today=date(2027, 1, 31),
                     interval="year")
    standing.starts_on = standing.next_due_on = date(9999, 12, 31)
    assert schedules.next_due_after(standing) is None


def test_a_treasurer_sets_up_an_order_for_a_member(ctx):
    standing = order(ctx["ben"], ctx["ann"], 45, by=ctx["tre"])
    assert standing.created_by_id == ctx["tre"].id and standing.payer_membership_id == \
        ctx["ben"].id
    run_orders("2027-01-31")
    assert balance(ctx["ann"]) == 45


def _set_charges(ctx, *, fee=None, policy="skip", interval="month", rate=None, threshold=0,
                 today=date(2026, 12, 15)):
    schedules.set_charges(currency=ledger.default_currency(), fee_amount=fee,
                          fee_interval=interval, fee_policy=policy, demurrage_rate=rate,
                          demurrage_threshold=threshold, by=fresh(ctx["tre"]), today=today)


# (policy, Ann's balance before (floor -60), fee, Ann's balance after, outcome)
FEES = [
    ("skip", 0, 30, -30, "paid"),
    ("skip", -40, 30, -40, "refused"),  # cannot pay it all: nothing taken, she is told
    ("partial", -40, 30, -60, "partial"),  # what her limit still allows
    ("partial", -60, 30, -60, "refused"),  # no room at all
    ("partial", 100, 30, 70, "paid"),
]


@pytest.mark.parametrize("policy,before,fee,after,outcome", FEES)
def test_fee_policies(ctx, outbox, policy, before, fee, after, outcome):
    if before:
        payer, payee = ("ann", "ben") if before < 0 else ("ben", "ann")
        ledger.pay(payer=fresh(ctx[payer]), payee=fresh(ctx[payee]),
                   currency=ledger.default_currency(), amount=abs(before), description="x",
                   starter=fresh(ctx[payer]))
    _set_charges(ctx, fee=fee, policy=policy)
    run(jobs.run_fees, "2027-01-01")
    run(jobs.run_fees, "2027-01-01")  # twice: nothing more
    assert balance(ctx["ann"]) == after
    (ann_run,) = [r for r in runs("fee") if r.account_id == account_of(ctx["ann"]).id]
    assert ann_run.outcome == outcome and ann_run.period == "2027-01"
    told = [m for m in outbox if "membership fee" in m.subject]
    assert (ctx["ann"].user.email in [m.recipients[0] for m in told]) == (outcome == "refused")


def test_fee_starts_next_period_and_catches_up_each_missed_period(ctx):
    _set_charges(ctx, fee=10)
    assert ledger.default_currency().fee_starts_on == date(2027, 1, 1)
    jobs.run_fees("2026-12-31")
    assert runs("fee") == []
    jobs.run_fees("2027-03-02")  # January, February and March, each once
    db.session.expire_all()
    # 4 members (the coordinator too) x 3 months
    assert balance(ctx["ben"]) == -30 and pot_balance() == 4 * 10 * 3
    assert len(transfers_of_kind("fee")) == 12
    assert {r.period for r in runs("fee") if r.account_id is None} == {
        "2027-01", "2027-02", "2027-03"}
    jobs.run_fees("2027-03-31")
    assert len(transfers_of_kind("fee")) == 12


def test_yearly_fee(ctx):
    _set_charges(ctx, fee=60, interval="year")
    assert ledger.default_currency().fee_starts_on == date(2027, 1, 1)
    jobs.run_fees("2027-12-31")
    jobs.run_fees("2028-01-01")
    db.session.expire_all()
    assert balance(ctx["ben"]) == -120
    assert sorted({r.period for r in runs("fee")}) == ["2027", "2028"]


# (Ann's balance, threshold, rate in basis points, charge): rounded down, never up.
DEMURRAGE = [
    (1000, 600, 200, 8),  # 2 % of 400 = 8
    (1000, 600, 150, 6),  # 1.5 % of 400 = 6
    (999, 600, 150, 5),  # 1.5 % of 399 = 5.985 -> 5
    (649, 600, 200, 0),  # 2 % of 49 = 0.98 -> nothing
    (600, 600, 10000, 0),  # at the threshold: nothing
    (1000, 0, 10000, 1000),  # 100 %: down to the threshold, never below
    (59, 0, 1, 0),
]


@pytest.mark.parametrize("held,threshold,rate,charge", DEMURRAGE)
def test_demurrage_threshold_and_rounding(ctx, held, threshold, rate, charge):
    ledger.pay(payer=fresh(ctx["tre"]), payee=fresh(ctx["ann"]),
               currency=ledger.default_currency(), amount=held, description="x",
               starter=fresh(ctx["tre"]))
    ledger.set_limits(account=account_of(ctx["tre"]), min_balance=-2000, max_balance=None)
    _set_charges(ctx, rate=rate, threshold=threshold)
    assert schedules.demurrage_on(held, ledger.default_currency()) == charge
    preview = schedules.next_demurrage(account_of(ctx["ann"]), today=date(2026, 12, 20))
    assert (preview.amount, preview.due_on) == (charge, date(2027, 1, 1)) if charge else (
        preview is None)
    jobs.run_demurrage("2027-01-01")
    jobs.run_demurrage("2027-01-15")  # same month: nothing more
    db.session.expire_all()
    assert balance(ctx["ann"]) == held - charge and pot_balance() == charge
    assert len(transfers_of_kind("demurrage")) == (1 if charge else 0)


def test_demurrage_charges_only_the_current_month(ctx):
    ledger.pay(payer=fresh(ctx["tre"]), payee=fresh(ctx["ann"]),
               currency=ledger.default_currency(), amount=1000, description="x",
               starter=fresh(ctx["tre"]))
    _set_charges(ctx, rate=1000, threshold=0)  # 10 % a month
    jobs.run_demurrage("2027-04-10")  # January to March missed: forgiven
    db.session.expire_all()
    assert balance(ctx["ann"]) == 900
    assert [r.period for r in runs("demurrage") if r.account_id] == ["2027-04"]
    preview = schedules.next_demurrage(account_of(ctx["ann"]), today=date(2027, 4, 10))
    assert (preview.amount, preview.due_on) == (90, date(2027, 5, 1))


def test_an_order_whose_payee_cannot_pay_the_levy_is_refused_not_failed(ctx, make_member):
    """Found by tests/test_ledger_stateful.py: the job raised instead of recording it."""
    from timebank.ledger import levies

    cat = make_member(ctx["group"], name="Cat", min_balance=0)
    levies.set_levy(currency=ledger.default_currency(), basis_points=0, fixed=10,
                    minimum=None, maximum=None, charged_to="payee",
                    changed_by=fresh(ctx["tre"]))
    standing = order(ctx["ann"], cat, 5)
    run_orders("2027-01-31")
    assert db.session.get(type(standing), standing.id).last_refusal == "levy"
    assert [(r.outcome, r.refusal) for r in runs("standing_order")] == [("refused", "levy")]
