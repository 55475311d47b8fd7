"""Levies on transfers (issue 20), as one table: a levy rule, steps, and what they leave.

Each row starts from a fresh group (tests/test_ledger_rules.py's ``Scenario``: members
``ann``, ``ben``, ``cat``, treasurer ``tre``; hours counted in minutes, default floor -20 h).
``levy`` sets the currency's levy (basis points, fixed, minimum, maximum, charged to) through
the service; the other steps are the ledger rules' own verbs. The last step carries the
expectation (``OK``, an error class, ``(ErrorClass, available)`` or ``("cancelled", code)``);
then the balances (``pot``: the community pot) and the levy transfers written are compared,
and the ledger invariants verified. A refused step must leave nothing written.
"""

import pytest
import sqlalchemy as sa

from tests.ledger_support import deferred_constraints_hold, in_group  # noqa: F401
from tests.test_ledger_rules import OK, Scenario, step
from timebank.extensions import db
from timebank.ledger import levies
from timebank.ledger import service as ledger
from timebank.ledger.errors import (
    CannotReverse,
    CreditLimitExceeded,
    InvalidLevy,
    LedgerError,
    LevyBeyondLimit,
)
from timebank.ledger.verify import verify_ledger
from timebank.models import Entry, Transfer, TransferKind

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")

H = 60


def levy(basis_points=0, fixed=0, minimum=None, maximum=None, charged_to="payer", **kw):
    return step("levy", basis_points, fixed, minimum, maximum, charged_to, **kw)


# name, steps, balances after ({name or "pot": balance}), levies written [(payer, amount)]
LEVIES = [
    # --- who pays ---------------------------------------------------------------------------
    ("2 % on the payer", [levy(200), step("pay", "ann", "ben", H, expect=OK)],
     {"ann": -61, "ben": 60, "pot": 1}, [("ann", 1)]),
    ("2 % on the payee", [levy(200, charged_to="payee"), step("pay", "ann", "ben", H)],
     {"ann": -60, "ben": 59, "pot": 1}, [("ben", 1)]),
    ("2 % on both: each side pays it", [levy(200, charged_to="both"),
                                       step("pay", "ann", "ben", H)],
     {"ann": -61, "ben": 59, "pot": 2}, [("ann", 1), ("ben", 1)]),
    # --- what is due ------------------------------------------------------------------------
    ("a fixed amount", [levy(0, 5), step("pay", "ann", "ben", H)],
     {"ann": -65, "ben": 60, "pot": 5}, [("ann", 5)]),
    ("a percentage plus a fixed amount", [levy(1000, 2), step("pay", "ann", "ben", H)],
     {"ann": -68, "pot": 8}, [("ann", 8)]),
    ("the floor raises a small levy", [levy(100, minimum=3), step("pay", "ann", "ben", H)],
     {"ann": -63, "pot": 3}, [("ann", 3)]),
    ("the cap cuts a large levy", [levy(5000, maximum=10), step("pay", "ann", "ben", H)],
     {"ann": -70, "pot": 10}, [("ann", 10)]),
    ("a minimum alone is a levy", [levy(minimum=2), step("pay", "ann", "ben", 1)],
     {"ann": -3, "pot": 2}, [("ann", 2)]),
    # --- rounding never creates value ---------------------------------------------------------
    ("rounding down: 2 % of 49 min is 0, no levy written",
     [levy(200), step("pay", "ann", "ben", 49)], {"ann": -49, "pot": 0}, []),
    ("rounding down: 2.5 % of 119 min is 2 (2.975 exactly)",
     [levy(250), step("pay", "ann", "ben", 119)], {"ann": -121, "pot": 2}, [("ann", 2)]),
    ("rounding down: 100 % of an amount is the amount",
     [levy(10_000, charged_to="payee"), step("pay", "ann", "ben", 7)],
     {"ann": -7, "ben": 0, "pot": 7}, [("ben", 7)]),
    ("a levy set to nothing is off",
     [levy(200), levy(0), step("pay", "ann", "ben", H)], {"ann": -60, "pot": 0}, []),
    # --- limits ---------------------------------------------------------------------------
    ("refused: the payment fits the payer's floor but its levy does not",
     [step("limits", "ann", -60, None), levy(200),
      step("pay", "ann", "ben", H, expect=(CreditLimitExceeded, 59))],
     {"ann": 0, "ben": 0, "pot": 0}, []),
    ("the payment and its levy exactly fill the payer's room",
     [step("limits", "ann", -61, None), levy(200), step("pay", "ann", "ben", H)],
     {"ann": -61, "pot": 1}, [("ann", 1)]),
    ("refused: the payee cannot pay its levy within its floor",
     [step("limits", "ben", 0, None), levy(0, 10, charged_to="payee"),
      step("pay", "ann", "ben", 5, expect=LevyBeyondLimit)], {"ann": 0, "ben": 0, "pot": 0}, []),
    ("a request beyond the payer's room with its levy is refused at once",
     [step("limits", "ann", -60, None), levy(200),
      step("request", "ann", "ben", H, expect=(CreditLimitExceeded, 59))], {"pot": 0}, []),
    # --- two-step transfers -------------------------------------------------------------------
    ("a pending transfer pays the levy in force when accepted",
     [step("request", "ann", "ben", H), levy(1000), step("accept", "ann", "#0", expect=OK)],
     {"ann": -66, "ben": 60, "pot": 6}, [("ann", 6)]),
    ("a pending payment confirmed by the payee pays the levy then",
     [step("confirm_payments"), levy(200), step("pay", "ann", "ben", H),
      step("accept", "ben", "#2", expect=OK)], {"ann": -61, "ben": 60, "pot": 1}, [("ann", 1)]),
    ("a pending transfer pays no levy while pending",
     [levy(200), step("request", "ann", "ben", H, expect="pending")], {"ann": 0, "pot": 0}, []),
    ("acceptance refused by a levy set meanwhile cancels it",
     [step("limits", "ann", -60, None), step("request", "ann", "ben", H), levy(1000),
      step("accept", "ann", "#1", expect=("cancelled", "refused_credit_limit"))],
     {"ann": 0, "pot": 0}, []),
    ("acceptance refused by the payee's levy cancels it with that reason",
     [step("limits", "ben", 0, None), step("request", "ann", "ben", 5),
      levy(0, 10, charged_to="payee"),
      step("accept", "ann", "#1", expect=("cancelled", "refused_levy_credit_limit"))],
     {"ann": 0, "ben": 0, "pot": 0}, []),
    # --- reversals ----------------------------------------------------------------------------
    ("a reversal reverses the levy too",
     [levy(200, charged_to="both"), step("pay", "ann", "ben", H),
      step("reverse", "tre", "#1", expect=OK)],
     {"ann": 0, "ben": 0, "pot": 0}, [("ann", 1), ("ben", 1)]),
    ("a levy alone is never reversed",
     [levy(200), step("pay", "ann", "ben", H), step("levy_of", "#1"),
      step("reverse", "tre", "#2", expect=CannotReverse)], {"ann": -61, "pot": 1}, [("ann", 1)]),
    ("a reversal pays no levy", [levy(200), step("pay", "ann", "ben", H),
                                 step("reverse", "tre", "#1")], {"ann": 0}, [("ann", 1)]),
    # --- what is levied -------------------------------------------------------------------------
    ("an on-behalf entry is levied", [levy(200), step("on_behalf", "tre", "ann", "ben", H)],
     {"ann": -61, "pot": 1}, [("ann", 1)]),
    ("each bulk leg between members is levied",
     [levy(200), step("bulk", "tre", "ann", [("ben", H), ("cat", 2 * H)], False)],
     {"ann": -183, "ben": 60, "cat": 120, "pot": 3}, [("ann", 1), ("ann", 2)]),
    ("refused: a bulk leg whose levy breaks the floor writes no leg",
     [step("limits", "ann", -180, None), levy(200),
      step("bulk", "tre", "ann", [("ben", H), ("cat", 2 * H)], False, expect=LedgerError)],
     {"ann": 0, "ben": 0, "pot": 0}, []),
    ("a settlement with the pot pays no levy",
     [step("pay", "ann", "ben", H), levy(200), step("settle", "tre", "ben", None)],
     {"ben": 0, "pot": 60}, []),
    ("bad levy: above 100 %", [levy(10_001, expect=InvalidLevy)], {}, []),
    ("bad levy: a minimum above the maximum", [levy(0, 0, 5, 4, expect=InvalidLevy)], {}, []),
    ("bad levy: an unknown side", [levy(100, charged_to="nobody", expect=InvalidLevy)], {}, []),
]


class LevyScenario(Scenario):
    def run(self, op: str, args: tuple):
        if op == "levy":
            basis_points, fixed, minimum, maximum, charged_to = args
            return levies.set_levy(currency=self.currency(), basis_points=basis_points,
                                   fixed=fixed, minimum=minimum, maximum=maximum,
                                   charged_to=charged_to, changed_by=self.m("tre"))
        if op == "levy_of":
            return levies.levies_of(self.ref(args[0]))[0]
        return super().run(op, args)

    def pot_balance(self) -> int:
        return ledger.group_account(currency=self.currency()).balance

    def written_levies(self) -> list[tuple[str, int]]:
        names = {self.account(name).id: name for name in self.people}
        return [(names[t.payer_account_id], t.amount) for t in db.session.scalars(
            sa.select(Transfer).where(Transfer.kind == TransferKind.LEVY).order_by(Transfer.id))]


def _counts() -> tuple[int, int]:
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Entry)))


@pytest.mark.parametrize("name, steps, after, written", LEVIES, ids=[row[0] for row in LEVIES])
def test_levy_rule(app, make_group, make_member, name, steps, after, written):
    scenario = LevyScenario(app, make_group, make_member)
    with in_group(app, scenario.group):
        for number, current in enumerate(steps):
            expect = current.expect if number == len(steps) - 1 else None
            error = expect[0] if isinstance(expect, tuple) and isinstance(expect[0], type) else (
                expect if isinstance(expect, type) else None)
            if error is not None:
                before = _counts()
                with pytest.raises(error) as raised:
                    scenario.run(current.op, current.args)
                    db.session.flush()
                assert str(raised.value)  # a message a person can read
                if isinstance(expect, tuple):
                    assert raised.value.available == expect[1]
                db.session.rollback()  # what the request boundary does
                assert _counts() == before  # nothing written
                break
            result = scenario.run(current.op, current.args)
            db.session.commit()  # a savepoint inside the test transaction
            scenario.results.append(result)
            if isinstance(expect, tuple) and expect[0] == "cancelled":
                assert (result.state.value, result.cancel_code) == expect
            elif expect == "pending":
                assert result.state.value == "pending"
            elif expect == OK and isinstance(result, Transfer):
                assert result.state.value == "completed", result.cancel_code
        balances = {**scenario.balances(), "pot": scenario.pot_balance()}
        for who, balance in after.items():
            assert balances[who] == balance, (who, balances)
        assert scenario.written_levies() == written
        assert verify_ledger(group_id=scenario.group.id) == []


def test_every_levy_row_has_a_distinct_name():
    names = [row[0] for row in LEVIES]
    assert len(names) == len(set(names))


def test_a_levy_is_linked_and_shown_as_its_own_transfer(app, make_group, make_member):
    scenario = LevyScenario(app, make_group, make_member)
    with in_group(app, scenario.group):
        scenario.run("levy", (200, 0, None, None, "both"))
        paid = scenario.run("pay", ("ann", "ben", H))
        charged = levies.levies_of(paid)
        assert [(t.kind, t.levied_on_id, t.state.value) for t in charged] == [
            (TransferKind.LEVY, paid.id, "completed")] * 2
        assert {t.payee_account_id for t in charged} == {ledger.group_account(
            currency=scenario.currency()).id}
        assert levies.levies_of(charged[0]) == []  # no levy on the levy
        assert levies.levy_on(scenario.currency(), 149) == 2  # 2.98, rounded down


@pytest.mark.parametrize("amount, basis_points, fixed, minimum, maximum", [
    (1, 9_999, 0, None, None), (99, 101, 0, None, None), (12_345, 333, 1, None, 50),
    (7, 1, 0, 1, None), (60_000_000, 10_000, 0, None, None),
])
def test_rounding_never_exceeds_the_exact_rule(app, amount, basis_points, fixed, minimum,
                                               maximum):
    """The levy is the exact percentage rounded DOWN, plus the fixed part, then floor/cap."""
    from fractions import Fraction

    with app.app_context():
        got = db.session.scalar(sa.select(sa.func.ledger_levy(
            amount, basis_points, fixed, minimum, maximum)))
    exact = Fraction(amount * basis_points, 10_000) + fixed
    expected = int(exact)  # floor: every value here is positive
    expected = max(expected, minimum) if minimum is not None else expected
    expected = min(expected, maximum) if maximum is not None else expected
    assert got == expected
    assert got <= max(exact, minimum or 0)
