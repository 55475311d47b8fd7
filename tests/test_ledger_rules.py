"""Every ledger rule of issue 4, as one table: a scenario of steps and what the last one gives.

Each row starts from a fresh group with members ``ann``, ``ben`` and ``cat`` (balance 0,
currency default floor -20 h, no ceiling) and a treasurer ``tre``; amounts are minutes. A step
is run through the ledger service; a step without an expectation must succeed. The last step
carries the expectation: ``OK``, an error class, ``(ErrorClass, available)``, or
``("cancelled", code)``. After the scenario the ledger invariants are verified for the group,
and the deferred database triggers are fired.
"""

from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa

from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from timebank.extensions import db
from timebank.ledger import corrections, currencies, limits, transfers
from timebank.ledger import service as ledger
from timebank.ledger.errors import (
    AlreadyRated,
    BulkInvalid,
    BulkLegRefused,
    CannotReverse,
    CeilingExceeded,
    CreditLimitExceeded,
    CurrencyMismatch,
    InactiveCurrency,
    InactiveParty,
    InvalidAmount,
    InvalidLimits,
    InvalidRating,
    IssuedCurrencyFloor,
    KeyReused,
    LedgerError,
    NotPending,
    NotRateable,
    NotYourTurn,
    ReasonRequired,
    ReversalWouldOverdraw,
    SameAccount,
)
from timebank.ledger.verify import verify_ledger
from timebank.models import CurrencyKind, Group, Membership, MembershipStatus, Transfer

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")

OK = "ok"
H = 60  # one hour in minutes


@dataclass
class Step:
    op: str
    args: tuple
    expect: object = None  # None: must succeed (not the scenario's subject)
    then: dict = field(default_factory=dict)  # balances expected after the scenario


def step(op, *args, expect=None):
    return Step(op, args, expect)


# name, steps (the last one carries the expectation), balances after (optional)
RULES = [
    # --- limits (seed rules first) ---------------------------------------------------------
    ("seed: balance 0, credit limit 0.5 h, pay 1.0 h -> refused",
     [step("limits", "ann", -30, None),
      step("pay", "ann", "ben", 60, expect=(CreditLimitExceeded, 30))], {"ann": 0, "ben": 0}),
    ("seed: credit limit -40 h, pay 50 h -> refused",
     [step("limits", "ann", -40 * H, None),
      step("pay", "ann", "ben", 50 * H, expect=(CreditLimitExceeded, 40 * H))], {"ann": 0}),
    ("seed: limit lowered under a balance -> paying further out refused",
     [step("pay", "ann", "ben", 5 * H), step("limits", "ann", -2 * H, None),
      step("pay", "ann", "cat", 1, expect=(CreditLimitExceeded, 0))], {"ann": -5 * H}),
    ("seed: limit lowered under a balance -> moving back allowed",
     [step("pay", "ann", "ben", 5 * H), step("limits", "ann", -2 * H, None),
      step("pay", "ben", "ann", H, expect=OK)], {"ann": -4 * H, "ben": 4 * H}),
    ("pay exactly up to the credit limit",
     [step("limits", "ann", -30, None), step("pay", "ann", "ben", 30, expect=OK)],
     {"ann": -30, "ben": 30}),
    ("ceiling: payee would go above it, naming what it can still receive",
     [step("limits", "ben", None, 60),
      step("pay", "ann", "ben", 90, expect=(CeilingExceeded, 60))], {"ben": 0}),
    ("ceiling lowered under a balance: the payee may still pay out",
     [step("pay", "ann", "ben", 2 * H), step("limits", "ben", None, H),
      step("pay", "ben", "cat", 30, expect=OK)], {"ben": 90}),
    ("ceiling lowered under a balance: receiving more is refused",
     [step("pay", "ann", "ben", 2 * H), step("limits", "ben", None, H),
      step("pay", "cat", "ben", 1, expect=(CeilingExceeded, 0))], {"ben": 2 * H}),
    ("floor above ceiling is refused",
     [step("limits", "ann", 10, 5, expect=InvalidLimits)], {}),
    ("limit changes are recorded, old -> new",
     [step("limits", "ann", -30, None), step("limits", "ann", -90, 600),
      step("limit_history", "ann", expect=[(-30, None, -90, 600), (None, None, -30, None)])], {}),
    # --- amounts and parties ---------------------------------------------------------------
    ("zero amount", [step("pay", "ann", "ben", 0, expect=InvalidAmount)], {}),
    ("negative amount", [step("pay", "ann", "ben", -5, expect=InvalidAmount)], {}),
    ("fractional amount", [step("pay", "ann", "ben", 1.5, expect=InvalidAmount)], {}),
    ("boolean amount", [step("pay", "ann", "ben", True, expect=InvalidAmount)], {}),
    ("more than a million hours",
     [step("pay", "ann", "ben", 1_000_001 * H, expect=InvalidAmount)], {}),
    ("paying yourself", [step("pay", "ann", "ann", 10, expect=SameAccount)], {}),
    ("paying a suspended member",
     [step("suspend", "ben"), step("pay", "ann", "ben", 10, expect=InactiveParty)], {}),
    ("idempotency key: a retry returns the first transfer, paid once",
     [step("pay_key", "ann", "ben", 45, "key-1"),
      step("pay_key", "ann", "ben", 45, "key-1", expect="#0")], {"ann": -45, "ben": 45}),
    ("idempotency key: another person's key is refused, not replayed",
     [step("pay_key", "ann", "ben", 45, "key-1"),
      step("pay_key", "cat", "ben", 45, "key-1", expect=KeyReused)], {"cat": 0}),
    # --- two-step transfers ----------------------------------------------------------------
    ("payment needing confirmation waits, then completes on the payee's accept",
     [step("confirm_payments"), step("pay", "ann", "ben", 60),
      step("accept", "ben", "#1", expect=OK)], {"ann": -60, "ben": 60}),
    ("a pending payment moves no balance",
     [step("confirm_payments"), step("pay", "ann", "ben", 60, expect="pending")],
     {"ann": 0, "ben": 0}),
    ("pending outgoing counts against what the payer can still spend",
     [step("confirm_payments"), step("limits", "ann", -60, None), step("pay", "ann", "ben", 40),
      step("pay", "ann", "cat", 30, expect=(CreditLimitExceeded, 20))], {"ann": 0}),
    ("pending incoming counts against what the payee can still earn",
     [step("confirm_payments"), step("limits", "cat", None, 60), step("pay", "ann", "cat", 40),
      step("pay", "ben", "cat", 30, expect=(CeilingExceeded, 20))], {"cat": 0}),
    ("a request beyond the payer's room is refused",
     [step("limits", "ann", -60, None),
      step("request", "ann", "ben", 90, expect=(CreditLimitExceeded, 60))], {}),
    ("request (invoice) completes when the payer approves",
     [step("request", "ann", "ben", 60), step("accept", "ann", "#0", expect=OK)],
     {"ann": -60, "ben": 60}),
    ("the payee of a request cannot approve it",
     [step("request", "ann", "ben", 60), step("accept", "ben", "#0", expect=NotYourTurn)], {}),
    ("a request is started by its payee only",
     [step("request_by", "cat", "ann", "ben", 60, expect=NotYourTurn)], {}),
    ("the payer of a payment cannot accept it",
     [step("confirm_payments"), step("pay", "ann", "ben", 60),
      step("accept", "ann", "#1", expect=NotYourTurn)], {}),
    ("acceptance re-checks limits and cancels with the reason",
     [step("confirm_payments"), step("pay", "ann", "ben", 60),
      step("limits", "ann", -30, None),
      step("accept", "ben", "#1", expect=("cancelled", "refused_credit_limit"))],
     {"ann": 0, "ben": 0}),
    ("acceptance re-checks the payee's ceiling too",
     [step("confirm_payments"), step("pay", "ann", "ben", 60),
      step("limits", "ben", None, 30),
      step("accept", "ben", "#1", expect=("cancelled", "refused_ceiling"))], {"ben": 0}),
    ("accepting twice returns the completed transfer",
     [step("request", "ann", "ben", 60), step("accept", "ann", "#0"),
      step("accept", "ann", "#0", expect=OK)], {"ann": -60}),
    ("the starter edits amount and description while pending",
     [step("request", "ann", "ben", 60), step("edit", "ben", "#0", 30),
      step("accept", "ann", "#0", expect=OK)], {"ann": -30, "ben": 30}),
    ("only the starter edits",
     [step("request", "ann", "ben", 60), step("edit", "ann", "#0", 30, expect=NotYourTurn)],
     {}),
    ("an edit that grows beyond the room is refused",
     [step("limits", "ann", -60, None), step("request", "ann", "ben", 60),
      step("edit", "ben", "#1", 61, expect=(CreditLimitExceeded, 60))], {}),
    ("the starter withdraws while pending",
     [step("request", "ann", "ben", 60),
      step("withdraw", "ben", "#0", expect=("cancelled", "withdrawn"))], {"ann": 0}),
    ("the other side cannot withdraw",
     [step("request", "ann", "ben", 60), step("withdraw", "ann", "#0", expect=NotYourTurn)],
     {}),
    ("the other side declines",
     [step("request", "ann", "ben", 60),
      step("decline", "ann", "#0", expect=("cancelled", "declined"))], {"ann": 0}),
    ("accepting a withdrawn transfer",
     [step("request", "ann", "ben", 60), step("withdraw", "ben", "#0"),
      step("accept", "ann", "#0", expect=NotPending)], {}),
    ("editing a completed transfer",
     [step("pay", "ann", "ben", 60), step("edit", "ann", "#0", 30, expect=NotPending)], {}),
    ("a withdrawn transfer frees the room it held",
     [step("confirm_payments"), step("limits", "ann", -60, None), step("pay", "ann", "ben", 60),
      step("withdraw", "ann", "#2"), step("pay", "ann", "cat", 60, expect="pending")], {}),
    # --- on-behalf, reversal, bulk ---------------------------------------------------------
    ("a treasurer records a payment on behalf of members",
     [step("on_behalf", "tre", "ann", "ben", 60, expect=OK)], {"ann": -60, "ben": 60}),
    ("on-behalf entries respect limits",
     [step("limits", "ann", -30, None),
      step("on_behalf", "tre", "ann", "ben", 60, expect=(CreditLimitExceeded, 30))], {}),
    ("a member cannot record on behalf of others",
     [step("on_behalf", "cat", "ann", "ben", 60, expect=NotYourTurn)], {}),
    ("a treasurer reverses a transfer with a reason",
     [step("pay", "ann", "ben", 60), step("reverse", "tre", "#0", expect=OK)],
     {"ann": 0, "ben": 0}),
    ("limits do not block a reversal",
     [step("pay", "ann", "ben", 60), step("pay", "ben", "cat", 60),
      step("limits", "ben", 0, None), step("reverse", "tre", "#0", expect=OK)],
     {"ann": 0, "ben": -60, "cat": 60}),
    ("reversing twice returns the first reversal",
     [step("pay", "ann", "ben", 60), step("reverse", "tre", "#0"),
      step("reverse", "tre", "#0", expect="#1")], {"ann": 0}),
    ("a reversal is not reversed",
     [step("pay", "ann", "ben", 60), step("reverse", "tre", "#0"),
      step("reverse", "tre", "#1", expect=CannotReverse)], {}),
    ("a pending transfer is not reversed",
     [step("request", "ann", "ben", 60), step("reverse", "tre", "#0", expect=CannotReverse)],
     {}),
    ("a member cannot reverse",
     [step("pay", "ann", "ben", 60), step("reverse", "ann", "#0", expect=NotYourTurn)], {}),
    ("a reversal needs a reason",
     [step("pay", "ann", "ben", 60), step("reverse_no_reason", "tre", "#0",
                                          expect=ReasonRequired)], {}),
    ("bulk one-to-many writes every leg",
     [step("bulk", "tre", "ann", [("ben", 30), ("cat", 45)], False, expect=OK)],
     {"ann": -75, "ben": 30, "cat": 45}),
    ("bulk many-to-one (a membership fee) writes every leg",
     [step("bulk", "tre", "cat", [("ann", 30), ("ben", 30)], True, expect=OK)],
     {"ann": -30, "ben": -30, "cat": 60}),
    ("bulk: one leg over the limit -> nothing written",
     [step("limits", "ann", -40, None),
      step("bulk", "tre", "ann", [("ben", 30), ("cat", 30)], False, expect=BulkLegRefused)],
     {"ann": 0, "ben": 0, "cat": 0}),
    ("bulk: a leg listed twice", [step("bulk", "tre", "ann", [("ben", 30), ("ben", 30)], False,
                                       expect=BulkInvalid)], {}),
    ("bulk by a member", [step("bulk", "cat", "ann", [("ben", 30)], False,
                               expect=NotYourTurn)], {}),
    # --- ratings ---------------------------------------------------------------------------
    ("the payer rates completed work", [step("pay", "ann", "ben", 60),
                                        step("rate", "ann", "#0", 4, expect=OK)], {}),
    ("the payee cannot rate", [step("pay", "ann", "ben", 60),
                               step("rate", "ben", "#0", 4, expect=NotRateable)], {}),
    ("a rating off the scale", [step("pay", "ann", "ben", 60),
                                step("rate", "ann", "#0", 6, expect=InvalidRating)], {}),
    ("rating twice", [step("pay", "ann", "ben", 60), step("rate", "ann", "#0", 4),
                      step("rate", "ann", "#0", 2, expect=AlreadyRated)], {}),
    # --- currencies ------------------------------------------------------------------------
    ("a retired currency takes no transfers",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT), step("retire", "LETS"),
      step("pay_in", "LETS", "ann", "ben", 100, expect=InactiveCurrency)], {}),
    ("issued currency: a holder is floored at zero",
     [step("currency", "TOK", CurrencyKind.ISSUED), step("issue", "tre", "TOK", "ann", 100),
      step("pay_in", "TOK", "ann", "ben", 101, expect=(CreditLimitExceeded, 100))], {}),
    ("issued currency: holders pay what they hold",
     [step("currency", "TOK", CurrencyKind.ISSUED), step("issue", "tre", "TOK", "ann", 100),
      step("pay_in", "TOK", "ann", "ben", 100, expect=OK)], {}),
    ("issued currency: only a treasurer issues",
     [step("currency", "TOK", CurrencyKind.ISSUED),
      step("issue", "ann", "TOK", "ann", 100, expect=NotYourTurn)], {}),
    ("issued currency: a negative floor for a holder is refused",
     [step("currency", "TOK", CurrencyKind.ISSUED),
      step("limits_in", "TOK", "ann", -10, None, expect=IssuedCurrencyFloor)], {}),
    ("issued currency: a reversal never takes a holder below zero",
     [step("currency", "TOK", CurrencyKind.ISSUED), step("issue", "tre", "TOK", "ann", 100),
      step("pay_in", "TOK", "ann", "ben", 100),
      step("reverse", "tre", "#1", expect=ReversalWouldOverdraw)], {}),
    ("issued currency: a reversal of an unspent issuance",
     [step("currency", "TOK", CurrencyKind.ISSUED), step("issue", "tre", "TOK", "ann", 100),
      step("reverse", "tre", "#1", expect=OK)], {}),
    ("paying in a currency the payee has no account in",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT), step("drop_account", "ben", "LETS"),
      step("pay_in", "LETS", "ann", "ben", 10, expect=CurrencyMismatch)], {}),
    # --- one rule for suspended members and retired currencies, through every operation ---
    # A suspended member is party to no new or completed transfer, except a reversal or a
    # treasurer's settlement; a retired currency takes no new transfers and completes no
    # pending ones (README "Ledger rules").
    ("suspended: paying from a suspended member",
     [step("suspend", "ann"), step("pay", "ann", "ben", 10, expect=InactiveParty)], {}),
    ("suspended: requesting from a suspended member",
     [step("suspend", "ann"), step("request", "ann", "ben", 10, expect=InactiveParty)], {}),
    ("suspended: an on-behalf entry for a suspended member",
     [step("suspend", "ben"),
      step("on_behalf", "tre", "ann", "ben", 10, expect=InactiveParty)], {}),
    ("suspended: accepting a transfer whose other side was suspended",
     [step("confirm_payments"), step("pay", "ann", "ben", 60), step("suspend", "ann"),
      step("accept", "ben", "#1", expect=InactiveParty)], {"ann": 0, "ben": 0}),
    ("suspended: a bulk entry with a suspended member's leg",
     [step("suspend", "cat"),
      step("bulk", "tre", "ann", [("ben", 30), ("cat", 30)], False, expect=BulkLegRefused)],
     {"ann": 0, "ben": 0, "cat": 0}),
    ("suspended: issuing to a suspended holder",
     [step("currency", "TOK", CurrencyKind.ISSUED), step("suspend", "ann"),
      step("issue", "tre", "TOK", "ann", 100, expect=InactiveParty)], {}),
    ("suspended: a reversal still reaches a suspended member",
     [step("pay", "ann", "ben", 60), step("suspend", "ben"),
      step("reverse", "tre", "#0", expect=OK)], {"ann": 0, "ben": 0}),
    ("suspended: a treasurer settles a suspended member's balance",
     [step("pay", "ann", "ben", 60), step("suspend", "ben"),
      step("settle", "tre", "ben", None, expect=OK)], {"ann": -60, "ben": 0}),
    ("retired: requesting in a retired currency",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT), step("retire", "LETS"),
      step("request_in", "LETS", "ann", "ben", 10, expect=InactiveCurrency)], {}),
    ("retired: retiring cancels the currency's pending transfers",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT),
      step("request_in", "LETS", "ann", "ben", 10), step("retire", "LETS"),
      step("reload", "#1", expect=("cancelled", "refused_inactive_currency"))], {}),
    ("retired: accepting in a currency retired meanwhile cancels it",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT),
      step("request_in", "LETS", "ann", "ben", 10), step("retire_flag", "LETS"),
      step("accept", "ann", "#1", expect=("cancelled", "refused_inactive_currency"))], {}),
    ("retired: a bulk entry in a retired currency",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT), step("retire", "LETS"),
      step("bulk_in", "LETS", "tre", "ann", [("ben", 30)], False, expect=InactiveCurrency)],
     {}),
    ("retired: issuing a retired currency",
     [step("currency", "TOK", CurrencyKind.ISSUED), step("retire", "TOK"),
      step("issue", "tre", "TOK", "ann", 100, expect=InactiveCurrency)], {}),
    ("retired: reversing in a retired currency",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT),
      step("pay_in", "LETS", "ann", "ben", 100), step("retire", "LETS"),
      step("reverse", "tre", "#1", expect=InactiveCurrency)], {}),
    ("retired: settling a balance in a retired currency",
     [step("currency", "LETS", CurrencyKind.MUTUAL_CREDIT),
      step("pay_in", "LETS", "ann", "ben", 100), step("retire", "LETS"),
      step("settle", "tre", "ben", "LETS", expect=InactiveCurrency)], {}),
]


class Scenario:
    """Runs steps against a fresh group through the ledger service."""

    def __init__(self, app, make_group, make_member):
        self.app = app
        self.group = make_group()
        self.people = {
            name: make_member(self.group, name=name.title()) for name in ("ann", "ben", "cat")
        }
        self.people["tre"] = make_member(self.group, name="Tre", role="treasurer")
        self.results: list[object] = []

    def m(self, name: str) -> Membership:
        return fresh(self.people[name])

    def currency(self, code: str | None = None):
        return ledger.currency_by_code(code) if code else ledger.default_currency()

    def account(self, name: str, code: str | None = None):
        return ledger.account_for(self.m(name), self.currency(code))

    def ref(self, token: str) -> Transfer:
        return db.session.get(Transfer, self.results[int(token[1:])].id)

    def run(self, op: str, args: tuple):  # noqa: C901 - a dispatcher, one branch per verb
        m, ref = self.m, self.ref
        if op == "limits":
            who, low, high = args
            return limits.set_limits(account=self.account(who), min_balance=low,
                                     max_balance=high, changed_by=m("tre"))
        if op == "limits_in":
            code, who, low, high = args
            return limits.set_limits(account=self.account(who, code), min_balance=low,
                                     max_balance=high, changed_by=m("tre"))
        if op == "limit_history":
            return [(c.old_min_balance, c.old_max_balance, c.new_min_balance, c.new_max_balance)
                    for c in limits.limit_history(self.account(args[0]))]
        if op == "confirm_payments":
            db.session.get(Group, self.group.id).payments_need_confirmation = True
            return None
        if op == "suspend":
            m(args[0]).status = MembershipStatus.SUSPENDED
            db.session.flush()
            return None
        if op in ("pay", "pay_key", "pay_in"):
            code = args[0] if op == "pay_in" else None
            payer, payee, amount = args[1:4] if op == "pay_in" else args[:3]
            group = db.session.get(Group, self.group.id)
            return transfers.pay(
                payer=m(payer), payee=m(payee), currency=self.currency(code), amount=amount,
                description="Work", starter=m(payer),
                idempotency_key=args[3] if op == "pay_key" else None,
                require_confirmation=group.payments_need_confirmation,
            )
        if op in ("request", "request_by"):
            starter = args[0] if op == "request_by" else args[1]
            payer, payee, amount = args[-3:]
            return transfers.request_payment(
                payer=m(payer), payee=m(payee), currency=self.currency(), amount=amount,
                description="Invoice", starter=m(starter),
            )
        if op == "accept":
            return transfers.accept_transfer(transfer=ref(args[1]), by=m(args[0]))
        if op == "decline":
            return transfers.decline_transfer(transfer=ref(args[1]), by=m(args[0]),
                                              reason="Not now")
        if op == "withdraw":
            return transfers.withdraw_transfer(transfer=ref(args[1]), by=m(args[0]))
        if op == "edit":
            return transfers.edit_transfer(transfer=ref(args[1]), by=m(args[0]),
                                           amount=args[2], description="Edited")
        if op == "on_behalf":
            starter, payer, payee, amount = args
            return transfers.record_on_behalf(
                payer=m(payer), payee=m(payee), currency=self.currency(), amount=amount,
                description="Paper slip", starter=m(starter),
            )
        if op in ("reverse", "reverse_no_reason"):
            return corrections.reverse_transfer(
                transfer=ref(args[1]), by=m(args[0]),
                reason="" if op == "reverse_no_reason" else "Entered twice",
            )
        if op == "bulk":
            starter, counterpart, legs, collect = args
            return corrections.bulk_transfer(
                counterpart=self.account(counterpart),
                legs=[(self.account(name), amount) for name, amount in legs],
                collect=collect, description="Workshop", starter=m(starter),
            )
        if op == "rate":
            return corrections.rate_transfer(transfer=ref(args[1]), by=m(args[0]),
                                             rating=args[2])
        if op == "currency":
            code, kind = args
            return currencies.create_currency(
                code=code, name=code.title(), symbol="¤", kind=kind, subunits_per_unit=100,
            )
        if op == "retire":
            return currencies.retire_currency(currency=self.currency(args[0]))
        if op == "issue":
            starter, code, payee, amount = args
            return corrections.issue(
                currency=self.currency(code), payee_account=self.account(payee, code),
                amount=amount, description="Vouchers", starter=m(starter),
            )
        if op == "request_in":
            code, payer, payee, amount = args
            return transfers.request_payment(
                payer=m(payer), payee=m(payee), currency=self.currency(code), amount=amount,
                description="Invoice", starter=m(payee),
            )
        if op == "retire_flag":  # retired by another transaction, past the service
            self.currency(args[0]).is_active = False
            db.session.flush()
            return None
        if op == "reload":
            return ref(args[0])
        if op == "bulk_in":
            code, starter, counterpart, legs, collect = args
            return corrections.bulk_transfer(
                counterpart=self.account(counterpart, code),
                legs=[(self.account(name, code), amount) for name, amount in legs],
                collect=collect, description="Workshop", starter=m(starter),
            )
        if op == "settle":
            starter, who, code = args
            account = self.account(who, code)
            return corrections.settle_account(
                account=account, pot=ledger.group_account(currency=account.currency),
                by=m(starter), description="Leaving",
            )
        if op == "drop_account":
            account = self.account(args[0], args[1])
            db.session.delete(account)
            db.session.flush()
            return None
        raise AssertionError(f"unknown step {op}")

    def balances(self) -> dict[str, int]:
        return {name: self.account(name).balance for name in self.people}


@pytest.mark.parametrize("name, steps, after", RULES, ids=[row[0] for row in RULES])
def test_rule(app, make_group, make_member, name, steps, after):
    scenario = Scenario(app, make_group, make_member)
    with in_group(app, scenario.group):
        for number, current in enumerate(steps):
            last = number == len(steps) - 1
            expect = current.expect if last else None
            if isinstance(expect, type) and issubclass(expect, LedgerError):
                with pytest.raises(expect):
                    scenario.run(current.op, current.args)
                db.session.rollback()  # what the request boundary does on an error
                break
            if isinstance(expect, tuple) and isinstance(expect[0], type):
                with pytest.raises(expect[0]) as raised:
                    scenario.run(current.op, current.args)
                assert raised.value.available == expect[1]
                assert str(raised.value)  # renders a message naming the side
                db.session.rollback()
                break
            result = scenario.run(current.op, current.args)
            db.session.commit()  # a savepoint inside the test transaction
            scenario.results.append(result)
            if not last or expect in (None, OK):
                if last and isinstance(result, Transfer):
                    assert result.state.value == "completed", result.cancel_code
                continue
            if expect == "pending":
                assert result.state.value == "pending"
            elif isinstance(expect, str) and expect.startswith("#"):
                assert result.id == scenario.results[int(expect[1:])].id
            elif isinstance(expect, tuple) and expect[0] == "cancelled":
                assert (result.state.value, result.cancel_code) == expect
            else:
                assert result == expect
        balances = scenario.balances()
        for who, balance in after.items():
            assert balances[who] == balance, (who, balances)
        assert verify_ledger(group_id=scenario.group.id) == []


def test_every_rule_row_has_a_distinct_name():
    names = [row[0] for row in RULES]
    assert len(names) == len(set(names))


def test_failed_operation_writes_nothing(app, make_group, make_member):
    scenario = Scenario(app, make_group, make_member)
    with in_group(app, scenario.group):
        limits.set_limits(account=scenario.account("ann"), min_balance=-30, max_balance=None)
        db.session.commit()
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Transfer))
        with pytest.raises(CreditLimitExceeded):
            transfers.pay(payer=scenario.m("ann"), payee=scenario.m("ben"),
                          currency=scenario.currency(), amount=60, description="x",
                          starter=scenario.m("ann"))
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Transfer)) == count
