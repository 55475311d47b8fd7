"""Two groups that trade (greenvale and barrio), for the tests of payments between groups."""

from decimal import Decimal

import sqlalchemy as sa

from tests.ledger_support import fresh, in_group
from timebank.extensions import db
from timebank.ledger import intergroup
from timebank.ledger import service as ledger
from timebank.models import Account, Currency, Group, Membership, Role
from timebank.tenants import all_groups
from timebank.trading import service as trading

H = 60


class Network:
    """Greenvale (ann, a treasurer, a coordinator) and barrio (luis, a treasurer, a
    coordinator), both in Hours (60 subunits, 1 network hour each), trading with every group,
    each clearing account bounded at 10 h both ways."""

    def __init__(self, app, make_group, make_member, *, a="greenvale", b="barrio"):
        self.app = app
        self.a = make_group(a)
        self.b = make_group(b)
        self.ann = make_member(self.a, name="Ann")
        self.ada = make_member(self.a, name="Ada")
        self.tre_a = make_member(self.a, name="Tessa", role="treasurer")
        self.luis = make_member(self.b, name="Luis")
        self.tre_b = make_member(self.b, name="Tomas", role="treasurer")
        self.results: list = []
        for group in (self.a, self.b):
            self.set_trading(group, owe=10 * H, owed=10 * H)

    def coordinator(self, group: Group) -> Membership:
        return db.session.scalar(sa.select(Membership).where(
            Membership.group_id == group.id, Membership.role == Role.COORDINATOR))

    def coordinator_email(self, group: Group) -> str:
        with self.app.app_context(), all_groups():
            return self.coordinator(group).user.email

    def set_trading(self, group, *, trades=True, with_all=True, partners=(), owe=10 * H,
                    owed=10 * H, currency_code=None):
        with in_group(self.app, group):
            currency = ledger.currency_by_code(currency_code) if currency_code else (
                ledger.default_currency())
            row = db.session.get(Group, group.id)
            trading.set_trading(
                group=row, trades_with_network=trades, trades_with_all_groups=with_all,
                partner_ids=[p.id for p in partners], bounds={currency.id: (owe, owed)},
                by=self.coordinator(group),
            )
            db.session.commit()

    def pay(self, payer=None, payee=None, amount=H, *, key=None, starter=None,
            payer_code=None, payee_code=None):
        payer, payee = payer or self.ann, payee or self.luis
        with in_group(self.app, self._group_of(payer)):
            payer_currency = (ledger.currency_by_code(payer_code) if payer_code
                              else ledger.default_currency())
            with all_groups():
                payee_currency = db.session.scalar(
                    sa.select(Currency)
                    .where(Currency.group_id == payee.group_id,
                           Currency.code == payee_code if payee_code else sa.true())
                    .order_by(Currency.id).limit(1))
                payee_row = db.session.get(Membership, payee.id)
                starter_row = db.session.get(Membership, (starter or payer).id)
            crossing = intergroup.pay_across(
                payer=fresh(payer), payee=payee_row, payer_currency=payer_currency,
                payee_currency=payee_currency, amount=amount, description="Repair",
                starter=starter_row, idempotency_key=key,
            )
            db.session.commit()
            return crossing

    def _group_of(self, membership):
        return self.a if membership.group_id == self.a.id else self.b

    def balances(self) -> dict[str, int]:
        with self.app.app_context(), all_groups():
            def member(m):
                return db.session.scalar(sa.select(sa.func.sum(Account.balance)).where(
                    Account.membership_id == m.id)) or 0

            def clearing(group):
                return db.session.scalar(sa.select(sa.func.sum(Account.balance)).where(
                    Account.group_id == group.id, Account.is_clearing)) or 0

            return {"ann": member(self.ann), "luis": member(self.luis),
                    "a": clearing(self.a), "b": clearing(self.b)}


def add_currency(app, group, code, *, subunits=60, hour_value="1", display=None):
    """Give ``group`` another currency and return it (committed)."""
    from timebank.ledger import currencies

    with in_group(app, group):
        currency = currencies.create_currency(
            code=code, name=code.title(), symbol=code[:2], subunits_per_unit=subunits,
            display_format=display, hour_value=Decimal(hour_value),
        )
        db.session.commit()
        return currency
