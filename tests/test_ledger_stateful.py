"""Random sequences of ledger operations, checked against a model after every step.

A Hypothesis state machine pays, requests, accepts, declines, withdraws, edits, reverses,
enters bulk legs and changes limits across a few accounts, and runs the scheduled money of
issue 20 (standing orders due, a month passing, the membership fee, demurrage), each run
twice. A plain-Python model predicts each outcome (which operations succeed, which limit
refuses and with what room left, which acceptances are refused) and the balances. After
every step: the database agrees with the model, ``flask ledger verify`` finds nothing wrong,
and no account is outside its limits unless a limit change or a reversal put it there.
A treasurer sets or changes the currency's levy between steps (``set_levy``): the model
predicts each levy (standing orders pay it too), its refusals and the community pot, where
fees and demurrage go as well.

``LEDGER_STATEFUL_EXAMPLES`` (default 15) and ``LEDGER_STATEFUL_STEPS`` (default 25) scale it.
"""

import os
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from timebank.extensions import db
from timebank.ledger import service as ledger
from timebank.ledger.errors import (
    BulkLegRefused,
    CannotReverse,
    CeilingExceeded,
    CreditLimitExceeded,
    LedgerError,
    LevyBeyondLimit,
    NotYourTurn,
)
from timebank.ledger.levies import set_levy
from timebank.ledger.verify import verify_ledger
from timebank.models import Account, Currency, Group, StandingOrder, Transfer
from timebank.schedules import jobs as schedule_jobs
from timebank.schedules import service as schedules
from timebank.schedules.periods import add_months

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")

NAMES = ("ann", "ben", "cat", "dan")
STAFF = ("tre", "coordinator")  # never trade here, but pay the membership fee like everyone
DEFAULT_FLOOR = -20 * 60
FLOORS = (None, 0, -30, -60, -600)  # None = the currency default (-20 h)
CEILINGS = (None, 60, 300, 1200)
LEVY_RATES = (0, 1, 200, 250, 1000)  # basis points
amounts = st.integers(min_value=1, max_value=900)
names = st.sampled_from(NAMES)


def _limit_error(model, payer, payee, amount, *, pending=True, exclude=None, levied=True):
    """The error the model expects for moving ``amount`` from payer to payee, or None; with
    ``levied``, the levies too (ledger_levy_refusal: the payer pays amount and levy from its
    room, the payee its levy from what it holds once paid)."""
    out = model.pending_out(payer, exclude) if pending else 0
    incoming = model.pending_in(payee, exclude) if pending else 0
    floor = model.floor(payer)
    if floor is not None and model.balance[payer] - out - amount < floor:
        return CreditLimitExceeded, max(0, model.balance[payer] - out - floor)
    ceiling = model.ceiling(payee)
    if ceiling is not None and model.balance[payee] + incoming + amount > ceiling:
        return CeilingExceeded, max(0, ceiling - model.balance[payee] - incoming)
    payer_levy, payee_levy = model.levies(amount) if levied else (0, 0)
    if floor is not None and model.balance[payer] - out - amount - payer_levy < floor:
        return CreditLimitExceeded, max(0, model.balance[payer] - out - floor - payer_levy)
    payee_floor = model.floor(payee)
    payee_out = model.pending_out(payee, exclude) if pending else 0
    if payee_levy and model.balance[payee] - payee_out + amount - payee_levy < payee_floor:
        return LevyBeyondLimit, None
    return None


class Model:
    """What the ledger should look like, in plain Python (minutes)."""

    def __init__(self):
        self.balance = {name: 0 for name in NAMES + STAFF}
        self.limits = {name: (None, None) for name in NAMES + STAFF}
        self.pending: dict[int, dict] = {}  # id -> payer, payee, amount, starter, kind
        self.completed: dict[int, dict] = {}  # id -> payer, payee, amount, kind
        self.reversed: set[int] = set()
        self.explained: set[str] = set()  # accounts a limit change or reversal moved out
        self.levy = (0, 0, None, None, "payer")  # basis points, fixed, minimum, maximum, side
        self.pot = 0  # the community pot, where levies go

    def floor(self, name):
        low = self.limits[name][0]
        return DEFAULT_FLOOR if low is None else low

    def ceiling(self, name):
        return self.limits[name][1]

    def pending_out(self, name, exclude=None):
        return sum(t["amount"] for i, t in self.pending.items()
                   if t["payer"] == name and i != exclude)

    def pending_in(self, name, exclude=None):
        return sum(t["amount"] for i, t in self.pending.items()
                   if t["payee"] == name and i != exclude)

    def move(self, payer, payee, amount):
        self.balance[payer] -= amount
        self.balance[payee] += amount

    def levies(self, amount) -> tuple[int, int]:
        """(payer's levy, payee's levy) on ``amount`` under the levy now: the percentage
        rounded down, plus the fixed part, floor, cap (timebank/ledger/sql/ledger_levy.sql)."""
        basis_points, fixed, minimum, maximum, side = self.levy
        levy = amount * basis_points // 10_000 + fixed
        levy = max(levy, minimum) if minimum is not None else levy
        levy = min(levy, maximum) if maximum is not None else levy
        return (levy if side in ("payer", "both") else 0,
                levy if side in ("payee", "both") else 0)

    def complete(self, payer, payee, amount) -> tuple[int, int]:
        """Move a completed transfer and its levies to the pot; return the levies."""
        self.move(payer, payee, amount)
        payer_levy, payee_levy = self.levies(amount)
        self.balance[payer] -= payer_levy
        self.balance[payee] -= payee_levy
        self.pot += payer_levy + payee_levy
        return payer_levy, payee_levy


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_random_operations_keep_every_invariant(app, make_group, make_member):
    examples = int(os.environ.get("LEDGER_STATEFUL_EXAMPLES", "15"))
    steps = int(os.environ.get("LEDGER_STATEFUL_STEPS", "25"))

    class LedgerMachine(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.group = make_group()
            self.members = {name: make_member(self.group, name=name.title()) for name in NAMES}
            self.treasurer = make_member(self.group, name="Treasurer", role="treasurer")
            self.model = Model()
            self.context = in_group(app, self.group)
            self.context.__enter__()
            self.currency = ledger.default_currency()
            self.accounts = {
                name: ledger.account_for(fresh(m), self.currency).id
                for name, m in self.members.items()
            }

        def teardown(self):
            if hasattr(self, "context"):
                db.session.rollback()
                self.context.__exit__(None, None, None)

        # --- helpers -----------------------------------------------------------------------
        def m(self, name):
            return fresh(self.members[name]) if name != "tre" else fresh(self.treasurer)

        def run(self, operation, expected_error=None):
            """Run ``operation``; commit on success, roll back on error; check the outcome."""
            try:
                result = operation()
            except LedgerError as error:
                db.session.rollback()
                assert expected_error is not None, f"unexpected refusal: {error!r}"
                kind, available = expected_error
                assert isinstance(error, kind), (error, expected_error)
                if available is not None:
                    assert error.available == available
                return None
            db.session.commit()
            assert expected_error is None, f"expected {expected_error}, it succeeded"
            return result

        def transfer(self, transfer_id):
            return db.session.get(Transfer, transfer_id)

        # --- rules -------------------------------------------------------------------------
        @rule(confirm=st.booleans())
        def set_confirmation(self, confirm):
            db.session.get(Group, self.group.id).payments_need_confirmation = confirm
            db.session.commit()

        @rule(payer=names, payee=names, amount=amounts)
        def pay(self, payer, payee, amount):
            if payer == payee:
                return
            confirm = db.session.get(Group, self.group.id).payments_need_confirmation
            expected = _limit_error(self.model, payer, payee, amount)
            result = self.run(lambda: ledger.pay(
                payer=self.m(payer), payee=self.m(payee), currency=self.currency,
                amount=amount, description="pay", starter=self.m(payer),
                require_confirmation=confirm), expected)
            if result is None:
                return
            record = {"payer": payer, "payee": payee, "amount": amount, "starter": payer,
                      "kind": "payment"}
            if confirm:
                assert result.state == "pending"
                self.model.pending[result.id] = record
            else:
                assert result.state == "completed"
                self.model.completed[result.id] = record
                record["levies"] = self.model.complete(payer, payee, amount)

        @rule(payer=names, payee=names, amount=amounts)
        def request(self, payer, payee, amount):
            if payer == payee:
                return
            expected = _limit_error(self.model, payer, payee, amount)
            result = self.run(lambda: ledger.request_payment(
                payer=self.m(payer), payee=self.m(payee), currency=self.currency,
                amount=amount, description="request", starter=self.m(payee)), expected)
            if result is not None:
                assert result.state == "pending"
                self.model.pending[result.id] = {"payer": payer, "payee": payee,
                                                 "amount": amount, "starter": payee,
                                                 "kind": "request"}

        def _acceptor(self, record):
            return record["payer"] if record["kind"] == "request" else record["payee"]

        @precondition(lambda self: self.model.pending)
        @rule(data=st.data(), right_person=st.booleans())
        def accept(self, data, right_person):
            transfer_id = data.draw(st.sampled_from(sorted(self.model.pending)))
            record = self.model.pending[transfer_id]
            by = self._acceptor(record) if right_person else record["starter"]
            if not right_person:
                self.run(lambda: ledger.accept_transfer(transfer=self.transfer(transfer_id),
                                                        by=self.m(by)), (NotYourTurn, None))
                return
            refusal = _limit_error(self.model, record["payer"], record["payee"],
                                   record["amount"], pending=False)
            result = self.run(lambda: ledger.accept_transfer(
                transfer=self.transfer(transfer_id), by=self.m(by)))
            del self.model.pending[transfer_id]
            if refusal is None:
                assert result.state == "completed"
                self.model.completed[transfer_id] = record
                record["levies"] = self.model.complete(record["payer"], record["payee"],
                                                       record["amount"])
            else:
                assert result.state == "cancelled"
                assert result.cancel_code == {
                    CreditLimitExceeded: "refused_credit_limit",
                    CeilingExceeded: "refused_ceiling",
                    LevyBeyondLimit: "refused_levy_credit_limit"}[refusal[0]]

        @precondition(lambda self: self.model.pending)
        @rule(data=st.data(), withdraw=st.booleans())
        def cancel(self, data, withdraw):
            transfer_id = data.draw(st.sampled_from(sorted(self.model.pending)))
            record = self.model.pending[transfer_id]
            if withdraw:
                result = self.run(lambda: ledger.withdraw_transfer(
                    transfer=self.transfer(transfer_id), by=self.m(record["starter"])))
            else:
                result = self.run(lambda: ledger.decline_transfer(
                    transfer=self.transfer(transfer_id), by=self.m(self._acceptor(record))))
            assert result.state == "cancelled"
            del self.model.pending[transfer_id]

        @precondition(lambda self: self.model.pending)
        @rule(data=st.data(), amount=amounts)
        def edit(self, data, amount):
            transfer_id = data.draw(st.sampled_from(sorted(self.model.pending)))
            record = self.model.pending[transfer_id]
            expected = None
            if amount > record["amount"]:
                expected = _limit_error(self.model, record["payer"], record["payee"], amount,
                                        exclude=transfer_id, levied=False)
            result = self.run(lambda: ledger.edit_transfer(
                transfer=self.transfer(transfer_id), by=self.m(record["starter"]),
                amount=amount, description="edited"), expected)
            if result is not None:
                record["amount"] = amount

        @precondition(lambda self: self.model.completed)
        @rule(data=st.data())
        def reverse(self, data):
            transfer_id = data.draw(st.sampled_from(sorted(self.model.completed)))
            record = self.model.completed[transfer_id]
            if record["kind"] == "reversal":
                self.run(lambda: ledger.reverse_transfer(
                    transfer=self.transfer(transfer_id), by=self.m("tre"), reason="r"),
                    (CannotReverse, None))
                return
            result = self.run(lambda: ledger.reverse_transfer(
                transfer=self.transfer(transfer_id), by=self.m("tre"), reason="fix"))
            if transfer_id in self.model.reversed:
                assert result.reverses_id == transfer_id  # the first reversal, again
                return
            self.model.reversed.add(transfer_id)
            self.model.completed[result.id] = {"payer": record["payee"],
                                               "payee": record["payer"],
                                               "amount": record["amount"],
                                               "kind": "reversal"}
            self.model.move(record["payee"], record["payer"], record["amount"])
            payer_levy, payee_levy = record.get("levies", (0, 0))  # given back with it
            self.model.balance[record["payer"]] += payer_levy
            self.model.balance[record["payee"]] += payee_levy
            self.model.pot -= payer_levy + payee_levy
            self.model.explained.update((record["payee"], record["payer"]))

        @rule(one=names, many=st.lists(st.tuples(names, amounts), min_size=1, max_size=3,
                                       unique_by=lambda leg: leg[0]),
              collect=st.booleans())
        def bulk(self, one, many, collect):
            legs = [(name, amount) for name, amount in many if name != one]
            if not legs:
                return
            # The model checks legs in order against running balances.
            simulated = Model()
            simulated.balance = dict(self.model.balance)
            simulated.limits = self.model.limits
            simulated.pending = self.model.pending
            simulated.levy = self.model.levy
            expected = None
            for name, amount in legs:
                payer, payee = (name, one) if collect else (one, name)
                error = _limit_error(simulated, payer, payee, amount)
                if error is not None:
                    expected = (BulkLegRefused, None)
                    break
                simulated.complete(payer, payee, amount)
            result = self.run(lambda: ledger.bulk_transfer(
                counterpart=db.session.get(Account, self.accounts[one]),
                legs=[(db.session.get(Account, self.accounts[name]), amount)
                      for name, amount in legs],
                collect=collect, description="bulk", starter=self.m("tre")), expected)
            if result is None:
                return
            assert len(result) == len(legs)
            for transfer, (name, amount) in zip(result, legs, strict=True):
                payer, payee = (name, one) if collect else (one, name)
                self.model.completed[transfer.id] = {
                    "payer": payer, "payee": payee, "amount": amount, "kind": "bulk",
                    "levies": self.model.complete(payer, payee, amount)}

        @rule(who=names, floor=st.sampled_from(FLOORS), ceiling=st.sampled_from(CEILINGS))
        def change_limits(self, who, floor, ceiling):
            self.run(lambda: ledger.set_limits(
                account=db.session.get(Account, self.accounts[who]), min_balance=floor,
                max_balance=ceiling, changed_by=self.m("tre")))
            self.model.limits[who] = (floor, ceiling)
            self.model.explained.add(who)

        # --- scheduled runs (issue 20): standing orders, membership fee, demurrage ----------
        # The simulated calendar: the first of a month, moved on by next_month. Each run is
        # made twice; the second must change nothing.
        def _schedule_state(self):
            if not hasattr(self, "orders"):
                self.day = date(2027, 1, 1)
                self.orders: dict[int, tuple] = {}  # id -> (payer, payee, amount), running
                self.periods_done: set[tuple[str, str]] = set()  # (kind, "2027-01")
            return self.day

        def _run_twice(self, job):
            job(self.day.isoformat())
            db.session.commit()
            snapshot = {name: db.session.get(Account, account_id).balance
                        for name, account_id in self.accounts.items()}
            job(self.day.isoformat())
            db.session.commit()
            db.session.expire_all()
            again = {name: db.session.get(Account, account_id).balance
                     for name, account_id in self.accounts.items()}
            assert again == snapshot, "a second run for the same period moved money"

        def _pay_scheduled(self, payer, payee, amount):
            """Model one scheduled transfer: moved unless a limit refuses it."""
            if _limit_error(self.model, payer, payee, amount) is None:
                self.model.complete(payer, payee, amount)

        @rule(payer=names, payee=names, amount=amounts)
        def standing_order_due_today(self, payer, payee, amount):
            if payer == payee:
                return
            day = self._schedule_state()
            order = schedules.create_standing_order(
                payer=self.m(payer), payee=self.m(payee), currency=self.currency,
                amount=amount, description="order", interval="month", starts_on=day,
                ends_on=None, by=self.m(payer), today=day)
            db.session.commit()
            self.orders[order.id] = (payer, payee, amount)
            self._pay_scheduled(payer, payee, amount)
            self._run_twice(schedule_jobs.run_standing_orders)

        @precondition(lambda self: getattr(self, "orders", None))
        @rule(data=st.data())
        def cancel_standing_order(self, data):
            order_id = data.draw(st.sampled_from(sorted(self.orders)))
            payer = self.orders.pop(order_id)[0]
            schedules.cancel_standing_order(order=db.session.get(StandingOrder, order_id),
                                            by=self.m(payer))
            db.session.commit()

        @rule()
        def next_month(self):
            """A month passes: every running order pays once, by id (limits permitting)."""
            self.day = add_months(self._schedule_state(), 1)
            for order_id in sorted(self.orders):
                self._pay_scheduled(*self.orders[order_id])
            self._run_twice(schedule_jobs.run_standing_orders)

        def _charge(self, name, amount):
            """Model a charge to the pot (no ceiling): refused below the payer's floor."""
            out, floor = self.model.pending_out(name), self.model.floor(name)
            if self.model.balance[name] - out - amount >= floor:
                self.model.balance[name] -= amount
                self.model.pot += amount
                return True
            return False

        @rule(fee=st.integers(min_value=1, max_value=600),
              policy=st.sampled_from(("skip", "partial")))
        def membership_fee_run(self, fee, policy):
            day = self._schedule_state()
            currency = db.session.get(Currency, self.currency.id)
            currency.fee_amount, currency.fee_policy = fee, policy
            currency.fee_interval, currency.fee_starts_on = "month", day
            db.session.commit()
            if ("fee", day.isoformat()) not in self.periods_done:
                self.periods_done.add(("fee", day.isoformat()))
                for name in NAMES + STAFF:
                    room = (self.model.balance[name] - self.model.pending_out(name)
                            - self.model.floor(name))
                    if policy == "partial" and room < fee:
                        if room > 0:
                            self._charge(name, room)
                    else:
                        self._charge(name, fee)
            self._run_twice(schedule_jobs.run_fees)

        @rule(rate=st.sampled_from((1, 150, 200, 5000, 10000)),
              threshold=st.sampled_from((0, 60, 600)))
        def demurrage_run(self, rate, threshold):
            day = self._schedule_state()
            currency = db.session.get(Currency, self.currency.id)
            currency.demurrage_rate, currency.demurrage_threshold = rate, threshold
            currency.demurrage_starts_on = day
            db.session.commit()
            if ("demurrage", day.isoformat()) not in self.periods_done:
                self.periods_done.add(("demurrage", day.isoformat()))
                for name in NAMES:
                    balance = self.model.balance[name]
                    amount = (balance - threshold) * rate // 10_000 if balance > threshold else 0
                    if amount > 0:
                        self._charge(name, amount)
            self._run_twice(schedule_jobs.run_demurrage)

        # --- levies (issue 20) ----------------------------------------------------------------
        @rule(basis_points=st.sampled_from(LEVY_RATES), fixed=st.sampled_from((0, 0, 1, 5)),
              minimum=st.sampled_from((None, 1, 3)), maximum=st.sampled_from((None, 2, 30)),
              side=st.sampled_from(("payer", "payee", "both")))
        def set_levy(self, basis_points, fixed, minimum, maximum, side):
            if minimum is not None and maximum is not None and minimum > maximum:
                return
            self.run(lambda: set_levy(
                currency=self.currency, basis_points=basis_points, fixed=fixed, minimum=minimum,
                maximum=maximum, charged_to=side, changed_by=self.m("tre")))
            self.model.levy = (basis_points, fixed, minimum, maximum, side)

        @invariant()
        def pot_holds_the_levies(self):
            if not hasattr(self, "model"):
                return
            pot = ledger.group_account(currency=self.currency)
            db.session.refresh(pot)
            assert pot.balance == self.model.pot
            db.session.rollback()  # opening the pot here is not a step

        # --- invariants --------------------------------------------------------------------
        @invariant()
        def database_matches_the_model(self):
            if not hasattr(self, "model"):
                return
            for name, account_id in self.accounts.items():
                account = db.session.get(Account, account_id)
                db.session.refresh(account)
                assert account.balance == self.model.balance[name], name
                position = ledger.position(account)
                assert position.pending_out == self.model.pending_out(name)
                assert position.pending_in == self.model.pending_in(name)

        @invariant()
        def ledger_verifies(self):
            if hasattr(self, "group"):
                assert verify_ledger(group_id=self.group.id) == []

        @invariant()
        def out_of_range_only_when_explained(self):
            if not hasattr(self, "model"):
                return
            for name in NAMES:
                balance, floor, ceiling = (self.model.balance[name], self.model.floor(name),
                                           self.model.ceiling(name))
                outside = (floor is not None and balance < floor) or (
                    ceiling is not None and balance > ceiling)
                assert not outside or name in self.model.explained, name

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
