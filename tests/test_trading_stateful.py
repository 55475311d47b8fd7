"""Random mixes of local and inter-group payments, acceptances, declines and reversals.

Two trading groups: greenvale (ann, ada; Hours, 60 subunits) and barrio (luis, lea; Horas in
hundredths, each worth 1.25 network hours, so conversions round). Barrio asks payees to confirm
payments, so payments into barrio wait; payments into greenvale complete at once. Clearing
bounds are tight (3 h each way) so refusals happen. The machine does not predict refusals; it
records what each successful operation says it moved and checks after every step that:

* every member balance equals the sum of what the successful operations moved;
* a refused operation wrote nothing (row counts unchanged);
* ``flask ledger verify`` finds nothing wrong — each group's invariants and the network's
  (clearing accounts sum to the rounding kept, in network seconds).

``TRADING_STATEFUL_EXAMPLES`` (default 8) and ``TRADING_STATEFUL_STEPS`` (default 20) scale it.
"""

import os

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from tests.trading_support import H, add_currency
from timebank.extensions import db
from timebank.ledger import intergroup, transfers
from timebank.ledger import service as ledger
from timebank.ledger.errors import LedgerError
from timebank.ledger.verify import verify_ledger
from timebank.models import Account, Currency, Group, Membership, Role, Transfer
from timebank.tenants import all_groups
from timebank.trading import service as trading

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")
GREEN, BARRIO = ("ann", "ada"), ("luis", "lea")
amounts = st.integers(min_value=1, max_value=4 * H)


def _counts() -> tuple:
    with all_groups():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(table))
                     for table in (Transfer.__table__, sa.table("entries"),
                                   sa.table("intergroup_payments")))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_local_and_intergroup_operations_keep_every_invariant(app, make_group, make_member):
    examples = int(os.environ.get("TRADING_STATEFUL_EXAMPLES", "8"))
    steps = int(os.environ.get("TRADING_STATEFUL_STEPS", "20"))

    class TradingMachine(RuleBasedStateMachine):
        @initialize()
        def setup(self):
            self.a, self.b = make_group(), make_group()
            self.people = {name: make_member(self.a, name=name.title()) for name in GREEN}
            self.people |= {name: make_member(self.b, name=name.title()) for name in BARRIO}
            self.tre_a = make_member(self.a, name="Tessa", role="treasurer")
            add_currency(app, self.b, "HORA", subunits=100, hour_value="1.25")
            with app.app_context(), all_groups():
                db.session.get(Group, self.b.id).payments_need_confirmation = True
                db.session.commit()
            for group, code in ((self.a, None), (self.b, "HORA")):
                with in_group(app, group):
                    currency = ledger.currency_by_code(code) if code else (
                        ledger.default_currency())
                    coordinator = db.session.scalar(sa.select(Membership).where(
                        Membership.role == Role.COORDINATOR))
                    trading.set_trading(
                        group=db.session.get(Group, group.id), trades_with_network=True,
                        trades_with_all_groups=True, partner_ids=[],
                        bounds={currency.id: (3 * H if code is None else 250,
                                              3 * H if code is None else 250)},
                        by=coordinator)
                    db.session.commit()
            self.expected = {name: 0 for name in self.people}
            self.pending: list[tuple] = []  # (crossing payment id, payer, a, payee, b)
            self.completed: list[tuple] = []
            self.local: list[tuple] = []  # (transfer id, payer, payee, amount)

        def group_of(self, name):
            return self.a if name in GREEN else self.b

        def currency_of(self, name) -> Currency:
            with all_groups():
                return db.session.scalar(
                    sa.select(Currency).where(
                        Currency.group_id == self.group_of(name).id,
                        Currency.code == "HORA" if name in BARRIO else sa.true())
                    .order_by(Currency.id).limit(1))

        def attempt(self, group, operation):
            """Run ``operation`` in ``group``; commit, or on a refusal check nothing was
            written and roll back. Returns the result or None."""
            with in_group(app, group):
                before = _counts()
                try:
                    result = operation()
                except LedgerError:
                    db.session.rollback()
                    assert _counts() == before, "a refused operation wrote something"
                    return None
                db.session.commit()
                return result

        @rule(payer=st.sampled_from(GREEN + BARRIO), amount=amounts, to_other=st.booleans())
        def pay(self, payer, amount, to_other):
            same = GREEN if payer in GREEN else BARRIO
            other = BARRIO if payer in GREEN else GREEN
            payee = (other if to_other else [n for n in same if n != payer])[0]
            if not to_other:
                result = self.attempt(self.group_of(payer), lambda: ledger.pay(
                    payer=fresh(self.people[payer]), payee=fresh(self.people[payee]),
                    currency=self.currency_of(payer), amount=amount, description="Local",
                    starter=fresh(self.people[payer]),
                    require_confirmation=False))
                if result is not None:
                    self.expected[payer] -= amount
                    self.expected[payee] += amount
                    self.local.append((result.id, payer, payee, amount))
                return

            def cross():
                with all_groups():
                    payee_row = db.session.get(Membership, self.people[payee].id)
                return intergroup.pay_across(
                    payer=fresh(self.people[payer]), payee=payee_row,
                    payer_currency=self.currency_of(payer),
                    payee_currency=self.currency_of(payee), amount=amount,
                    description="Across", starter=fresh(self.people[payer]))

            crossing = self.attempt(self.group_of(payer), cross)
            if crossing is None:
                return
            row = (crossing.payment.id, payer, crossing.payer_leg.amount, payee,
                   crossing.payee_leg.amount, crossing.payee_leg.id)
            if crossing.state.value == "pending":
                self.pending.append(row)
            else:
                self._apply(row, 1)
                self.completed.append(row)

        def _apply(self, row, sign):
            _, payer, a, payee, b, _ = row
            self.expected[payer] -= sign * a
            self.expected[payee] += sign * b

        @rule(data=st.data(), accept=st.booleans())
        def decide(self, data, accept):
            if not self.pending:
                return
            row = data.draw(st.sampled_from(self.pending))
            payee, leg_id = row[3], row[5]
            operation = transfers.accept_transfer if accept else transfers.decline_transfer

            def run():
                return operation(transfer=db.session.get(Transfer, leg_id),
                                 by=fresh(self.people[payee]))

            result = self.attempt(self.group_of(payee), run)
            if result is None:
                return
            self.pending.remove(row)
            if result.state.value == "completed":
                self._apply(row, 1)
                self.completed.append(row)

        @rule(data=st.data())
        def reverse(self, data):
            if not self.completed:
                return
            row = data.draw(st.sampled_from(self.completed))
            payer_side = row[1] in GREEN
            leg_id = row[5]
            with app.app_context(), all_groups():
                crossing = intergroup.crossing_of(db.session.get(Transfer, leg_id))
                leg_id = (crossing.payer_leg if payer_side else crossing.payee_leg).id
            result = self.attempt(self.a, lambda: ledger.reverse_transfer(
                transfer=db.session.get(Transfer, leg_id), by=fresh(self.tre_a),
                reason="Correction"))
            if result is not None:
                self.completed.remove(row)
                self._apply(row, -1)

        @rule(data=st.data())
        def reverse_local(self, data):
            mine = [t for t in self.local if t[1] in GREEN]
            if not mine:
                return
            transfer_id, payer, payee, amount = data.draw(st.sampled_from(mine))
            result = self.attempt(self.a, lambda: ledger.reverse_transfer(
                transfer=db.session.get(Transfer, transfer_id), by=fresh(self.tre_a),
                reason="Correction"))
            if result is not None:
                self.local.remove((transfer_id, payer, payee, amount))
                self.expected[payer] += amount
                self.expected[payee] -= amount

        @invariant()
        def balances_match(self):
            if not hasattr(self, "expected"):
                return
            with app.app_context(), all_groups():
                for name, membership in self.people.items():
                    balance = db.session.scalar(
                        sa.select(sa.func.coalesce(sa.func.sum(Account.balance), 0))
                        .where(Account.membership_id == membership.id))
                    assert balance == self.expected[name], (name, balance, self.expected)

        @invariant()
        def ledger_verifies(self):
            with app.app_context():
                problems = verify_ledger()
                assert not problems, "\n".join(map(str, problems))

    run_state_machine_as_test(
        TradingMachine,
        settings=settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
