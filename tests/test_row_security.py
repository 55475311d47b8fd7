"""The database fences tenants too (issue 15, item 6; :mod:`timebank.tenants.rls`).

Every table is either fenced by row-level security or listed below as global, with a reason: a
migration that adds a table with a ``group_id`` and forgets ``fence_table`` fails here. Through
the app's own connection, raw SQL — which the ORM's scoping never sees — returns only the rows
of the group in context, none with no group, and cannot write another group's rows. The uses of
``all_groups()``, the one way past the fence, are allow-listed.
"""

import ast
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError

from tests.marketplace_support import make_ad
from timebank.extensions import db
from timebank.models import Ad
from timebank.models.base import TenantMixin
from timebank.tenants import all_groups, group_context
from timebank.tenants.rls import POLICY

# Tables that no single group owns, so no policy fences them (tenant-owned ones all are).
GLOBAL = {
    "alembic_version": "the schema's version, no data",
    "users": "one person across the network; their groups are in memberships (fenced)",
    "groups": "the network's list of groups, read before any group is known (the Host header)",
    "network_settings": "the network's own settings",
    "network_audit_events": "the network admins' trail",
    "group_requests": "requests to start a group, read on the apex before the group exists",
    "group_exports": "the network console's exports; kept (group_id nulled) after a deletion",
    "group_export_chunks": "the pieces of a group export's ZIP (global, as the export is)",
    "group_figures": "the network console's figures of each group, sorted across groups",
    "ledger_checks": "the network console's last ledger check of each group",
    "trading_partners": "a choice read by both groups: two groups trade when each chose the other",
    "intergroup_payments": "a payment between two groups, read by both (payer_/payee_group_id)",
    "network_conversations": "members of two groups talking (low_/high_group_id)",
    "network_messages": "the messages of network conversations",
    "login_sessions": "a person's logins, on any group's host",
    "login_failures": "failed logins per account, whatever the host",
    "login_handoffs": "the login hand-off between hosts",
    "two_factors": "a person's second factor, for every group",
    "notice_preferences": "a person's delivery choices, across their groups",
    "digest_notices": "a person's daily digest, across their groups",
    "apex_tokens": "a person's API token for the apex (network endpoints), no group's",
}

# Every `with all_groups():` in timebank/, per module: the one way past the fence. A new use
# is a new line here, with its reason, seen by a reviewer.
ALL_GROUPS_USES = {
    "api/people.py": (1, "one's own memberships in every group"),
    "demo.py": (1, "the seed computes the console's figures and ledger checks, as the jobs do"),
    "blueprints/network/marketplace.py": (1, "the network marketplace across groups"),
    "blueprints/trading/routes.py": (2, "the other group of a payment between groups"),
    "ledger/intergroup.py": (8, "a payment between groups writes both groups' ledgers"),
    "ledger/notify.py": (1, "the mail outbox of every group, each notice naming its group"),
    "ledger/verify.py": (1, "the ledger's invariants are the network's"),
    "mail.py": (1, "a recipient's memberships, for the language of a mail"),
    "marketplace/digest.py": (1, "the digest reads every group of one person"),
    "marketplace/jobs.py": (2, "ad expiry and reminders, every group"),
    "marketplace/matching.py": (2, "the nightly rebuild of possible trades, group by group"),
    "marketplace/network/listing.py": (5, "ads published to the network, from every group"),
    "marketplace/network/matching.py": (2, "possible trades with other groups' network ads"),
    "marketplace/network/messaging.py": (7, "conversations between members of two groups"),
    "reports/summary.py": (1, "the network admin's report reads every group's ledger"),
    "schedules/jobs.py": (1, "which groups have scheduled money due, then each in its own"),
    "provisioning/handoff.py": (1, "the login hand-off to a group one belongs to"),
    "provisioning/overview.py": (4, "the network console's figures of every group"),
    "security/two_factor.py": (1, "whether a person holds a role that requires it, anywhere"),
    "trading/positions.py": (1, "a group's position with each partner group"),
    "trading/service.py": (6, "the groups one may trade with and their members"),
}

FENCED_TABLES = sa.text("""
    SELECT c.relname AS name, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
           p.polcmd AS command, pg_get_expr(p.polqual, p.polrelid) AS condition,
           EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                    AND a.attname = 'group_id' AND a.attnotnull) AS has_group_id
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      LEFT JOIN pg_policy p ON p.polrelid = c.oid AND p.polname = :policy
     WHERE c.relkind IN ('r', 'p')""")


def test_every_table_is_fenced_or_global_with_a_reason(app):
    with app.app_context():
        tables = {row.name: row for row in db.session.execute(FENCED_TABLES, {"policy": POLICY})}
    unlisted = {name for name, row in tables.items()
                if name not in GLOBAL and not (row.enabled and row.condition)}
    assert not unlisted, (
        f"{sorted(unlisted)}: fence each in its migration (timebank.tenants.rls.fence_table) "
        "or, if no group owns it, list it in GLOBAL with the reason")
    assert set(GLOBAL) <= set(tables), f"gone, drop from GLOBAL: {set(GLOBAL) - set(tables)}"
    fenced = [row for name, row in tables.items() if name not in GLOBAL]
    assert all(row.has_group_id and not row.forced and row.command == "*" for row in fenced)
    # One condition for all: the group in context, or all groups (rls.CONDITION).
    assert len({row.condition for row in fenced}) == 1
    assert "timebank.group_id" in fenced[0].condition
    assert "timebank.all_groups" in fenced[0].condition
    assert not any(tables[name].enabled for name in GLOBAL)
    tenant_tables = {mapper.class_.__tablename__ for mapper in db.Model.registry.mappers
                     if issubclass(mapper.class_, TenantMixin)}
    assert tenant_tables <= {row.name for row in fenced}


def test_the_app_role_owns_nothing_and_cannot_bypass_the_fence(app):
    with app.app_context():
        role = db.session.execute(sa.text(
            "SELECT current_user AS name, rolsuper, rolbypassrls FROM pg_roles"
            " WHERE rolname = current_user")).one()
        owned = db.session.scalar(sa.text(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"))
    assert role.name == app.config["DATABASE_APP_ROLE"]
    assert (role.rolsuper, role.rolbypassrls, owned) == (False, False, 0)


@pytest.fixture
def two_groups(app, make_group, make_member, make_transfer):
    greenvale, barrio = make_group("greenvale"), make_group("barrio", locale="es")
    ann, amy = make_member(greenvale, name="Ann"), make_member(greenvale, name="Amy")
    luis, lola = make_member(barrio, name="Luis"), make_member(barrio, name="Lola")
    make_transfer(ann, amy, 30, "Greenvale soup")
    make_transfer(luis, lola, 45, "Barrio secreto")
    make_ad(app, ann, "Greenvale bikes")
    make_ad(app, luis, "Bicis del barrio")
    return greenvale, barrio


def _raw_reads() -> dict[str, set[int]]:
    """The groups each kind of raw statement sees in transfers and ads."""
    connection = db.session.connection()
    return {
        "text": set(db.session.scalars(sa.text("SELECT group_id FROM transfers"))),
        "driver": {row[0] for row in
                   connection.exec_driver_sql("SELECT group_id FROM ads").all()},
        "core": {row.group_id for row in db.session.execute(sa.select(Ad.__table__))},
    }


def test_raw_sql_sees_only_the_group_in_context_and_none_without(app, two_groups):
    greenvale, barrio = two_groups
    with app.app_context():
        with group_context(greenvale.id):
            assert _raw_reads() == {kind: {greenvale.id} for kind in ("text", "driver", "core")}
            # Switching groups inside one transaction moves the fence with it.
            with group_context(barrio.id):
                assert _raw_reads() == {kind: {barrio.id} for kind in ("text", "driver", "core")}
            assert _raw_reads()["text"] == {greenvale.id}
        assert _raw_reads() == {"text": set(), "driver": set(), "core": set()}
        with all_groups():
            assert _raw_reads()["text"] == {greenvale.id, barrio.id}


def test_a_greenvale_request_reads_only_greenvales_rows(app, two_groups):
    greenvale, _ = two_groups
    with app.test_request_context(base_url="http://greenvale.localhost:5000/"):
        app.preprocess_request()  # resolves the tenant from the Host header, as a request does
        assert _raw_reads() == {kind: {greenvale.id} for kind in ("text", "driver", "core")}
    with app.test_request_context(base_url="http://localhost:5000/"):  # the apex: no group
        app.preprocess_request()
        assert _raw_reads() == {"text": set(), "driver": set(), "core": set()}


def test_raw_writes_cannot_touch_another_groups_rows(app, two_groups):
    greenvale, barrio = two_groups
    with app.app_context(), group_context(greenvale.id):
        touched = db.session.execute(sa.update(Ad.__table__).values(title="Mine now")).rowcount
        assert touched == 1  # greenvale's own ad only
        with all_groups():
            assert set(db.session.scalars(sa.select(Ad.title))) == {"Mine now",
                                                                    "Bicis del barrio"}
        savepoint = db.session.begin_nested()
        with pytest.raises(ProgrammingError) as refused:
            db.session.execute(sa.text(
                "INSERT INTO categories (group_id, name) VALUES (:group_id, 'Planted')"),
                {"group_id": barrio.id})
        assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)
        assert "row-level security" in str(refused.value.orig)
        savepoint.rollback()
        savepoint = db.session.begin_nested()
        with pytest.raises(ProgrammingError):  # nor move a row of its own into another group
            db.session.execute(sa.update(Ad.__table__).values(group_id=barrio.id))
        savepoint.rollback()


def test_a_savepoint_rolled_back_leaves_the_fence_on_the_context(app, two_groups):
    greenvale, barrio = two_groups
    with app.app_context(), group_context(greenvale.id):
        assert _raw_reads()["text"] == {greenvale.id}
        savepoint = db.session.begin_nested()
        with group_context(barrio.id):
            assert _raw_reads()["text"] == {barrio.id}
            savepoint.rollback()  # brings back greenvale's settings in the database
            assert _raw_reads()["text"] == {barrio.id}
        assert _raw_reads()["text"] == {greenvale.id}


def _all_groups_uses() -> Counter:
    package = Path(__file__).resolve().parent.parent / "timebank"
    uses: Counter = Counter()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "all_groups"):
                uses[str(path.relative_to(package))] += 1
    return uses


def test_uses_of_all_groups_are_allow_listed():
    allowed = Counter({module: count for module, (count, _) in ALL_GROUPS_USES.items()})
    assert _all_groups_uses() == allowed


def test_a_transaction_with_an_isolation_level_keeps_it(committing_app, make_group):
    """The tenant settings share their round trip with ``BEGIN`` only when psycopg's own
    ``BEGIN`` would be plain: a level asked of SQLAlchemy still applies."""
    from timebank.tenants import group_context

    group = make_group()
    with committing_app.app_context(), group_context(group.id):
        connection = db.session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"})
        level = connection.execute(sa.text("SHOW transaction_isolation")).scalar()
        db.session.rollback()
    assert level == "repeatable read"
