"""A seeded demo network: two groups in two languages, coordinators, members, a few weeks of trade.

Idempotent: if the demo groups exist, it only prints the URLs and logins again.
"""

import random
from collections.abc import Iterator
from datetime import timedelta

import sqlalchemy as sa

from timebank.extensions import db
from timebank.ledger import intergroup
from timebank.ledger import service as ledger
from timebank.marketplace import service as marketplace
from timebank.models import AdKind, Group, JoinPolicy, Membership, Role, utcnow
from timebank.people import service as people
from timebank.provisioning.lifecycle import record_ledger_checks
from timebank.provisioning.overview import refresh_figures
from timebank.provisioning.service import create_group, make_network_admin
from timebank.tenants import all_groups, group_context
from timebank.tenants.urls import group_url, network_url
from timebank.trading import service as trading

PASSWORD = "timebank-demo"
ADMIN_EMAIL = "admin@example.org"
GROUPS = [
    {
        "slug": "greenvale",
        "name": "Greenvale Timebank",
        "locale": "en",
        "coordinator": ("Cora Green", "cora@greenvale.example.org"),
        "members": [
            ("Ann Baker", "ann@greenvale.example.org"),
            ("Ben Carter", "ben@greenvale.example.org"),
            ("Chloe Diaz", "chloe@greenvale.example.org"),
            ("Dan Evans", "dan@greenvale.example.org"),
        ],
        "work": ["Gardening", "Bike repair", "Dog walking", "Maths tutoring", "Cooking lesson"],
        # (member index, kind, title): wants and offers that pair up as possible trades
        "ads": [
            (1, "offer", "Bike repair and tune-ups"),
            (2, "want", "Someone to fix my bike brakes"),
            (3, "offer", "Organic vegetables from my garden"),
            (4, "want", "Fresh vegetables for the week"),
        ],
    },
    {
        "slug": "barrio",
        "name": "Banco de Tiempo del Barrio",
        "locale": "es",
        "coordinator": ("Carmen Ruiz", "carmen@barrio.example.org"),
        "members": [
            ("Lucía Pérez", "lucia@barrio.example.org"),
            ("Mateo García", "mateo@barrio.example.org"),
            ("Sofía López", "sofia@barrio.example.org"),
        ],
        "work": ["Clases de guitarra", "Arreglo de ropa", "Cuidado de plantas", "Mudanza"],
        "ads": [
            (1, "want", "Clases de guitarra para principiantes"),
            (2, "offer", "Clases de guitarra española"),
            (3, "offer", "Arreglo de ropa y costura"),
        ],
    },
]


def seed_demo() -> Iterator[str]:
    """Create the demo network if missing and yield lines to print (URLs, logins); the
    command's transaction commits it. The network console's figures and ledger checks are
    computed at the end, as the scheduled jobs would (the quick start runs no scheduler)."""
    exists = db.session.scalar(sa.select(Group.id).where(Group.slug == GROUPS[0]["slug"]))
    if exists is None:
        rng = random.Random(42)
        make_network_admin(email=ADMIN_EMAIL, name="Network Admin", password=PASSWORD)
        for spec in GROUPS:
            _seed_group(spec, rng)
        _seed_trading()
        _seed_standing_order()
        db.session.flush()
        with all_groups():
            refresh_figures()
            record_ledger_checks()
    yield f"Network:  {network_url('/')}   (admin: {ADMIN_EMAIL} / {PASSWORD})"
    for spec in GROUPS:
        logins = ", ".join(email for _, email in [spec["coordinator"], *spec["members"]])
        yield f"{spec['name']}: {group_url(spec['slug'])}"
        yield f"    logins (password {PASSWORD}): {logins}"


def _seed_trading() -> None:
    """Open both demo groups to each other (20 h each way) and make one payment across:
    Ann (greenvale) pays Lucía (barrio) for a bike repair."""
    groups = {g.slug: g for g in db.session.scalars(
        sa.select(Group).where(Group.slug.in_([spec["slug"] for spec in GROUPS])))}
    for group in groups.values():
        with group_context(group.id):
            coordinator = db.session.scalar(
                sa.select(Membership).where(Membership.role == Role.COORDINATOR))
            currency = ledger.default_currency()
            trading.set_trading(group=group, trades_with_network=True,
                                trades_with_all_groups=True, partner_ids=[],
                                bounds={currency.id: (20 * 60, 20 * 60)}, by=coordinator,
                                locale=group.default_locale)
    greenvale, barrio = groups["greenvale"], groups["barrio"]
    with group_context(barrio.id):
        lucia = people.membership_of(people.find_user_by_email("lucia@barrio.example.org"),
                                     barrio)
    with group_context(greenvale.id):
        ann = people.membership_of(people.find_user_by_email("ann@greenvale.example.org"),
                                   greenvale)
        intergroup.pay_across(
            payer=ann, payee=lucia, payer_currency=ledger.default_currency(),
            payee_currency=trading.receiving_currency(barrio), amount=90,
            description="Bike repair", starter=ann)


def _seed_standing_order() -> None:
    """Ann (greenvale) pays Ben 0:30 h every month for her allotment share, from today: the
    first run is made by the scheduled job (``rq cron``), and shows on /standing-orders."""
    from timebank.schedules import service as schedules

    greenvale = db.session.scalar(sa.select(Group).where(Group.slug == GROUPS[0]["slug"]))
    with group_context(greenvale.id):
        ann, ben = (people.membership_of(people.find_user_by_email(email), greenvale)
                    for email in ("ann@greenvale.example.org", "ben@greenvale.example.org"))
        today = schedules.group_today(greenvale)
        schedules.create_standing_order(
            payer=ann, payee=ben, currency=ledger.default_currency(), amount=30,
            description="Allotment share", interval="month", starts_on=today, ends_on=None,
            by=ann, today=today)


def _seed_group(spec: dict, rng: random.Random) -> None:
    name, email = spec["coordinator"]
    group = create_group(
        name=spec["name"], slug=spec["slug"], default_locale=spec["locale"],
        coordinator_email=email, coordinator_name=name, coordinator_password=PASSWORD,
        join_policy=JoinPolicy.APPROVAL,
    )
    with group_context(group.id):
        members = [people.membership_of(people.find_user_by_email(email), group)]
        for member_name, member_email in spec["members"]:
            user = people.register_user(
                email=member_email, name=member_name, password=PASSWORD, locale=spec["locale"]
            )
            membership = people.join_group(user=user, group=group, role=Role.MEMBER)
            people.approve(membership=membership)
            members.append(membership)
        currency = ledger.default_currency()
        start = utcnow() - timedelta(days=28)
        for day in range(28):
            if rng.random() < 0.4:
                continue
            payer, payee = rng.sample(members, 2)
            amount = rng.choice([30, 45, 60, 90, 120, 180])
            description = rng.choice(spec["work"])
            when = start + timedelta(days=day, hours=rng.randint(8, 19))
            # Entries are immutable once written (a database trigger): date them as they go in.
            ledger.pay(
                payer=payer, payee=payee, currency=currency, amount=amount,
                description=description, starter=payer, occurred_at=when,
            )
        for n, (index, kind, title) in enumerate(spec["ads"]):
            # Each group's first ad is on the network marketplace too (both groups trade).
            marketplace.create_ad(author=members[index], kind=AdKind(kind), title=title,
                                  network_published=n == 0)
