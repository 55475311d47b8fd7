"""Every rule of payments between groups, as a table (issue 18).

Each row starts from two groups that trade with every group (greenvale: ann, ada, treasurer
tessa; barrio: luis, treasurer tomas), both in Hours, clearing accounts bounded at 10 h both
ways. Steps run through the services; the last one carries the expectation: ``OK``, an error
class, ``(ErrorClass, available)`` or ``("state", "completed" | "pending" | "cancelled")``.
Balances after (minutes): ann, luis and the clearing accounts ``a`` (greenvale) and ``b``.
The ledger invariants, the network's among them, are verified after every test.
"""

import pytest
import sqlalchemy as sa

from tests.ledger_support import deferred_constraints_hold, fresh, in_group  # noqa: F401
from tests.trading_support import H, Network, add_currency
from timebank.extensions import db
from timebank.ledger import currencies, intergroup, transfers
from timebank.ledger import service as ledger
from timebank.ledger.errors import (
    AmountTooSmall,
    CeilingExceeded,
    ClearingLimitExceeded,
    CreditLimitExceeded,
    InactiveCurrency,
    InactiveParty,
    LedgerError,
    NotTrading,
    NotYourTurn,
)
from timebank.models import Group, GroupStatus, IntergroupPayment, MembershipStatus, Transfer
from timebank.tenants import all_groups
from timebank.trading import service as trading
from timebank.trading.service import BoundOverCap, TradingError

pytestmark = pytest.mark.usefixtures("deferred_constraints_hold")
OK = "ok"


def run(net: Network, op: str, *args):  # noqa: C901 - one branch per verb
    app = net.app
    if op == "pay":
        return net.pay(*[getattr(net, a) if isinstance(a, str) else a for a in args[:2]],
                       *args[2:])
    if op == "pay_key":
        return net.pay(amount=args[0], key=args[1])
    if op == "pay_in":  # payer currency code, payee currency code, amount
        return net.pay(amount=args[2], payer_code=args[0], payee_code=args[1])
    if op == "on_behalf":
        return net.pay(amount=args[0], starter=net.tre_a)
    if op == "on_behalf_by":
        return net.pay(amount=args[1], starter=getattr(net, args[0]))
    if op == "trading":  # group, keyword settings
        group = getattr(net, args[0])
        settings = dict(args[1])
        settings["partners"] = [getattr(net, p) for p in settings.get("partners", ())]
        return net.set_trading(group, **settings)
    if op == "caps":
        group, owe, owed = getattr(net, args[0]), args[1], args[2]
        with app.app_context(), all_groups():
            trading.set_caps(group=db.session.get(Group, group.id), owe_cap=owe, owed_cap=owed)
            db.session.commit()
        return None
    if op == "suspend_group":
        with app.app_context(), all_groups():
            db.session.get(Group, getattr(net, args[0]).id).status = GroupStatus.SUSPENDED
            db.session.commit()
        return None
    if op == "suspend":
        member = getattr(net, args[0])
        with in_group(app, net._group_of(member)):
            fresh(member).status = MembershipStatus.SUSPENDED
            db.session.commit()
        return None
    if op == "limits":
        member, low, high = getattr(net, args[0]), args[1], args[2]
        with in_group(app, net._group_of(member)):
            account = ledger.account_for(fresh(member), ledger.default_currency())
            ledger.set_limits(account=account, min_balance=low, max_balance=high)
            db.session.commit()
        return None
    if op == "confirm_payments":
        with app.app_context(), all_groups():
            db.session.get(Group, getattr(net, args[0]).id).payments_need_confirmation = True
            db.session.commit()
        return None
    if op == "currency":  # group, code, subunits, hour value
        return add_currency(app, getattr(net, args[0]), args[1], subunits=args[2],
                            hour_value=args[3])
    if op == "retire":
        group, code = getattr(net, args[0]), args[1]
        with in_group(app, group):
            currencies.retire_currency(currency=ledger.currency_by_code(code))
            db.session.commit()
        return None
    if op in ("accept", "decline", "withdraw", "reverse"):
        who, index = getattr(net, args[0]), args[1]
        crossing = net.results[index]
        with in_group(app, net._group_of(who)):
            leg_id = (crossing.payer_leg.id if who.group_id == net.a.id
                      else crossing.payee_leg.id)
            leg = db.session.get(Transfer, leg_id)
            if op == "accept":
                transfers.accept_transfer(transfer=leg, by=fresh(who))
            elif op == "decline":
                transfers.decline_transfer(transfer=leg, by=fresh(who))
            elif op == "withdraw":
                transfers.withdraw_transfer(transfer=leg, by=fresh(who))
            else:
                ledger.reverse_transfer(transfer=leg, by=fresh(who), reason="Entered twice")
            db.session.commit()
            with all_groups():
                return intergroup.crossing_of(db.session.get(Transfer, leg_id))
    raise AssertionError(f"unknown step {op}")


def step(op, *args, expect=None):
    return (op, args, expect)


CAP_OWE = {"owe": 30}
RULES = [
    # --- the model: two linked transfers, converted, rounded down --------------------------
    ("a payment crosses: payer -> A's clearing, B's clearing -> payee",
     [step("pay", "ann", "luis", H, expect=OK)], {"ann": -H, "a": H, "b": -H, "luis": H}),
    ("conversion: 1 h into a currency worth 2 h a unit, in hundredths",
     [step("currency", "b", "BONO", 100, "2"), step("trading", "b", {"currency_code": "BONO"}),
      step("pay_in", None, "BONO", H, expect=OK)], {"ann": -H, "luis": 50}),
    ("rounding: 1:30 h into whole hours pays 1, never 2",
     [step("currency", "b", "HORA", 1, "1"), step("trading", "b", {"currency_code": "HORA"}),
      step("pay_in", None, "HORA", 90, expect=OK)], {"ann": -90, "a": 90}),
    ("rounding: too small to reach the other currency",
     [step("currency", "b", "HORA", 1, "1"), step("trading", "b", {"currency_code": "HORA"}),
      step("pay_in", None, "HORA", 30, expect=AmountTooSmall)], {"ann": 0, "a": 0}),
    # --- the four bounds --------------------------------------------------------------------
    ("the payer's credit limit",
     [step("limits", "ann", -30, None),
      step("pay", "ann", "luis", H, expect=(CreditLimitExceeded, 30))], {"ann": 0, "b": 0}),
    ("what the payer's group may owe the network",
     [step("trading", "a", {"owe": 45}),
      step("pay", "ann", "luis", H, expect=(ClearingLimitExceeded, 45))], {"a": 0}),
    ("what the payee's group may be owed",
     [step("trading", "b", {"owed": 20}),
      step("pay", "ann", "luis", H, expect=(ClearingLimitExceeded, 20))], {"b": 0}),
    ("the payee's ceiling",
     [step("limits", "luis", None, 15),
      step("pay", "ann", "luis", H, expect=(CeilingExceeded, 15))], {"luis": 0}),
    ("a bound converted: what barrio may be owed, in greenvale's minutes",
     [step("currency", "b", "BONO", 100, "2"),
      step("trading", "b", {"currency_code": "BONO", "owed": 25}),  # 0.25 BONO = 30 min
      # 31 min is worth 25.8 hundredths of BONO: rounded down, it still fits
      step("pay_in", None, "BONO", H, expect=(ClearingLimitExceeded, 31))], {"a": 0}),
    ("the network admin's cap lowers a bound already set",
     [step("caps", "a", 30, None),
      step("pay", "ann", "luis", H, expect=(ClearingLimitExceeded, 30))], {"a": 0}),
    ("a bound above the network admin's cap is refused",
     [step("caps", "a", 30, None), step("trading", "a", {"owe": H}, expect=BoundOverCap)], {}),
    # --- who trades with whom ---------------------------------------------------------------
    ("a group that has not opted in is not reachable",
     [step("trading", "b", {"trades": False}),
      step("pay", "ann", "luis", H, expect=NotTrading)], {"ann": 0}),
    ("opting out after trading stops new payments",
     [step("pay", "ann", "luis", H), step("trading", "a", {"trades": False}),
      step("pay", "ann", "luis", H, expect=NotTrading)], {"ann": -H, "luis": H}),
    ("a partner group not chosen",
     [step("trading", "a", {"with_all": False}),
      step("pay", "ann", "luis", H, expect=NotTrading)], {}),
    ("a partner group chosen by both",
     [step("trading", "a", {"with_all": False, "partners": ["b"]}),
      step("pay", "ann", "luis", H, expect=OK)], {"luis": H}),
    ("chosen by one side only",
     [step("trading", "a", {"with_all": False, "partners": ["b"]}),
      step("trading", "b", {"with_all": False}),
      step("pay", "ann", "luis", H, expect=NotTrading)], {}),
    ("a suspended group",
     [step("suspend_group", "b"), step("pay", "ann", "luis", H, expect=NotTrading)], {}),
    ("a suspended payee",
     [step("suspend", "luis"), step("pay", "ann", "luis", H, expect=InactiveParty)], {}),
    ("a retired currency",
     [step("currency", "a", "LETS", 100, "1"), step("trading", "a", {"currency_code": "LETS"}),
      step("retire", "a", "LETS"),
      step("pay_in", "LETS", None, 100, expect=InactiveCurrency)], {}),
    # --- everything local payments have -----------------------------------------------------
    ("a repeated idempotency key pays once",
     [step("pay_key", H, "k1"), step("pay_key", H, "k1", expect=OK)], {"ann": -H, "luis": H}),
    ("an on-behalf entry by the payer group's treasurer",
     [step("on_behalf", H, expect=OK)], {"ann": -H, "luis": H}),
    ("an on-behalf entry by the other group's treasurer is refused",
     [step("on_behalf_by", "tre_b", H, expect=NotYourTurn)], {}),
    ("two steps: the payee's group asks for confirmation",
     [step("confirm_payments", "b"), step("pay", "ann", "luis", H, expect=("state", "pending"))],
     {"ann": 0, "luis": 0, "a": 0, "b": 0}),
    ("two steps: the payee accepts, both legs complete",
     [step("confirm_payments", "b"), step("pay", "ann", "luis", H),
      step("accept", "luis", 1, expect=("state", "completed"))], {"ann": -H, "luis": H}),
    ("two steps: acceptance re-checks the payer group's bound",
     [step("confirm_payments", "b"), step("pay", "ann", "luis", H),
      step("trading", "a", {"owe": 0}), step("accept", "luis", 1, expect=("state", "cancelled"))],
     {"ann": 0, "luis": 0}),
    ("two steps: the payee declines, both legs cancelled",
     [step("confirm_payments", "b"), step("pay", "ann", "luis", H),
      step("decline", "luis", 1, expect=("state", "cancelled"))], {"ann": 0}),
    ("two steps: the payer withdraws, both legs cancelled",
     [step("confirm_payments", "b"), step("pay", "ann", "luis", H),
      step("withdraw", "ann", 1, expect=("state", "cancelled"))], {"luis": 0}),
    ("two steps: only the payee accepts",
     [step("confirm_payments", "b"), step("pay", "ann", "luis", H),
      step("accept", "ann", 1, expect=NotYourTurn)], {}),
    ("reversal as a pair, by the payer group's treasurer",
     [step("pay", "ann", "luis", H), step("reverse", "tre_a", 0, expect=OK)],
     {"ann": 0, "luis": 0, "a": 0, "b": 0}),
    ("reversal as a pair, by the payee group's treasurer, after rounding",
     [step("currency", "b", "HORA", 1, "1"), step("trading", "b", {"currency_code": "HORA"}),
      step("pay_in", None, "HORA", 90), step("reverse", "tre_b", 2, expect=OK)],
     {"ann": 0, "a": 0}),
]


@pytest.mark.parametrize("name, steps, after", RULES, ids=[row[0] for row in RULES])
def test_trading_rule(app, make_group, make_member, name, steps, after):
    net = Network(app, make_group, make_member)
    for number, (op, args, expect) in enumerate(steps):
        last = number == len(steps) - 1
        if last and isinstance(expect, type) and issubclass(expect, LedgerError | TradingError):
            with pytest.raises(expect):
                run(net, op, *args)
            break
        if last and isinstance(expect, tuple) and isinstance(expect[0], type):
            with pytest.raises(expect[0]) as raised:
                run(net, op, *args)
            assert raised.value.available == expect[1]
            break
        result = run(net, op, *args)
        net.results.append(result)
        if last and isinstance(expect, tuple) and expect[0] == "state":
            assert result.payer_leg.state.value == expect[1]
            assert result.payee_leg.state.value == expect[1]
    balances = net.balances()
    for key, value in after.items():
        assert balances[key] == value, (key, balances)


def test_rounding_is_kept_on_the_payment(app, make_group, make_member):
    """1:30 h into whole hours: the payee gets 1, the payment keeps 1,800 network seconds, and
    the network's clearing accounts (+90 min, -1 h) differ by exactly that."""
    net = Network(app, make_group, make_member)
    add_currency(app, net.b, "HORA", subunits=1, hour_value="1")
    net.set_trading(net.b, currency_code="HORA")
    crossing = net.pay(amount=90, payee_code="HORA")
    assert crossing.payee_leg.amount == 1
    with app.app_context(), all_groups():
        payment = db.session.get(IntergroupPayment, crossing.payment.id)
        assert payment.rounding == 1800
        total = db.session.execute(sa.text(
            "SELECT sum(ledger_network_seconds(a.balance, c.hour_value, c.subunits_per_unit))"
            " FROM accounts a JOIN currencies c ON c.id = a.currency_id WHERE a.is_clearing"
        )).scalar()
        assert total == 1800


def test_verify_narrowed_to_one_group_reads_the_checks_between_groups(app, make_group,
                                                                     make_member):
    """``flask network check-ledgers`` runs verify per group: every check, those between
    groups included, can be narrowed to one group."""
    from timebank.ledger.verify import verify_ledger

    net = Network(app, make_group, make_member)
    net.pay(amount=H)
    with app.app_context():
        assert verify_ledger(group_id=net.a.id) == []
        assert verify_ledger(group_id=net.b.id) == []
