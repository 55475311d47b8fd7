"""Test fixtures: real PostgreSQL (and Redis when REDIS_URL is set), migrated once per run.

* ``DATABASE_URL`` set (CI): tests use that database; its ``public`` schema is rebuilt by
  running the Alembic migrations. Unset: an embedded PostgreSQL (pgserver) under ``instance/``.
* Each test runs inside one outer transaction that is rolled back at the end; the app's own
  commits become savepoints. After every test the ledger invariants are verified.
* Concurrency tests (marker ``concurrency``) commit for real: use the ``committing_app``
  fixture, which truncates the tables afterwards.
* Under ``pytest -n N`` (pytest-xdist) each worker gets its own database (``<name>_gw0``, …)
  and its own Redis database number (the given one plus the worker's index), so workers never
  see each other's rows or jobs.
"""

import fcntl
import html
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from timebank import create_app
from timebank.config import INSTANCE_PATH, TestConfig
from timebank.extensions import db, limiter
from timebank.ledger.verify import verify_ledger
from timebank.mail import OUTBOX
from timebank.models import Group, JoinPolicy, Membership, MembershipStatus, Role, User
from timebank.people import service as people
from timebank.provisioning.service import create_group
from timebank.tenants import all_groups, group_context
from timebank.tenants import cache as group_cache
from timebank.tenants.rls import as_owner
from timebank.tenants.scoping import TenantSession

WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", ... under pytest -n N


def _isolate_worker() -> None:
    """Point this xdist worker's ``DATABASE_URL`` and ``REDIS_URL`` at its own database and
    Redis database number (also for the subprocesses tests start), creating the database."""
    index = int(WORKER.removeprefix("gw"))
    if url := os.environ.get("DATABASE_URL"):
        shared = make_url(url)
        name = f"{shared.database}_{WORKER}"
        admin = sa.create_engine(shared, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        admin.dispose()
        os.environ["DATABASE_URL"] = shared.set(database=name).render_as_string(
            hide_password=False)
    if url := os.environ.get("REDIS_URL"):
        from redis import Redis

        base, _, number = url.rpartition("/")
        own = f"{base}/{(int(number or 0) + index) % 16}"
        Redis.from_url(own).flushdb()  # a dedicated test database: no jobs left from a last run
        os.environ["REDIS_URL"] = own


if WORKER:
    _isolate_worker()

PASSWORD = "correct horse battery"
BASE_DOMAIN = "localhost:5000"


def _test_database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    import pgserver

    INSTANCE_PATH.mkdir(parents=True, exist_ok=True)  # a fresh checkout has no instance/ yet
    # xdist workers start together: one at a time creates (or joins) the embedded server.
    with open(INSTANCE_PATH / "pgserver.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = pgserver.get_server(INSTANCE_PATH / "pgdata", cleanup_mode=None)
    name = f"timebank_test_{WORKER}" if WORKER else "timebank_test"
    if "1 row" not in server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';"):
        server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


class _BoundSession(TenantSession):
    """Flask-SQLAlchemy's session ignores ``bind``; in tests every session uses our connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": os.environ.get("REDIS_URL"),
            "BASE_DOMAIN": BASE_DOMAIN,
        }
    )
    with app.app_context():
        with db.engine.connect() as connection, as_owner(connection).begin():
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _transaction(request, app: Flask) -> Iterator[None]:
    """Run the test in one rolled-back transaction; check the ledger before rolling back."""
    OUTBOX.clear()
    group_cache.clear()  # the groups a test made are rolled back with it
    # The Limiter object is shared: any app a test builds with production settings turns it on
    # (with Redis counters that outlive the run); the suite's app runs with it off.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    if "committing_app" in request.fixturenames:
        yield
        return
    original = db.session
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    db.session = db._make_scoped_session(
        {
            "bind": connection,
            "join_transaction_mode": "create_savepoint",
            "class_": _BoundSession,
            # Factories hand detached rows to tests; keep their loaded attributes readable.
            "expire_on_commit": False,
        }
    )
    try:
        yield
        # Fire the deferred constraint triggers now: the rollback would otherwise skip them.
        connection.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
        with app.app_context():
            problems = verify_ledger()
            assert not problems, "ledger invariants broken:\n" + "\n".join(map(str, problems))
    finally:
        with app.app_context():
            db.session.remove()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def committing_app(app: Flask) -> Iterator[Flask]:
    """The app with real commits; every table is truncated afterwards."""
    yield app
    with app.app_context():
        db.session.remove()
        problems = verify_ledger()
        db.session.remove()  # end verify's read transaction: TRUNCATE would wait for its locks
        tables = ", ".join(t.name for t in db.metadata.sorted_tables)
        with db.engine.connect() as connection, as_owner(connection).begin():
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        assert not problems, "ledger invariants broken:\n" + "\n".join(map(str, problems))


@pytest.fixture
def real_queue(committing_app, monkeypatch):
    """Jobs go to the real Redis queue (not run in-process); the queue starts and ends empty.
    For tests that start real ``rq worker`` processes (they need ``REDIS_URL``)."""
    from timebank.tasks import queue

    monkeypatch.setitem(committing_app.config, "JOBS_SYNC", False)
    rq_queue = queue(committing_app)
    rq_queue.empty()
    yield rq_queue
    rq_queue.empty()


def host_for(slug: str | None) -> str:
    return f"{slug}.{BASE_DOMAIN}" if slug else BASE_DOMAIN


class HostClient(FlaskClient):
    """A test client pinned to one host, like a browser tab on one subdomain."""

    base_url = f"http://{BASE_DOMAIN}"

    def open(self, *args, **kwargs):
        if not (args and not isinstance(args[0], str)):
            kwargs.setdefault("base_url", self.base_url)
        return super().open(*args, **kwargs)


@pytest.fixture
def client_for(app: Flask):
    """``client_for("greenvale")`` returns a test client on that group's subdomain
    (``None`` for the apex). Each call is a separate browser with its own cookies."""

    def make(slug: str | None = None) -> FlaskClient:
        client = HostClient(app, app.response_class, use_cookies=True)
        client.base_url = f"http://{host_for(slug)}"
        return client

    return make


@pytest.fixture
def make_group(app: Flask):
    """Create a group (committed to the test transaction) and return its id-bearing row."""
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, *, locale: str = "en", join_policy: str = "approval",
             coordinator_email: str | None = None) -> Group:
        number = next(counter)
        slug = slug or f"group{number}"
        with app.app_context():
            group = create_group(
                name=f"{slug.title()} Timebank", slug=slug, default_locale=locale,
                join_policy=JoinPolicy(join_policy),
                coordinator_email=coordinator_email or f"coordinator@{slug}.example.org",
                coordinator_name=f"Coordinator {slug.title()}",
                coordinator_password=PASSWORD,
            )
            db.session.commit()
            db.session.refresh(group)  # under committing_app a commit expires it: reload first
            db.session.expunge(group)
        return group

    return make


@pytest.fixture
def make_member(app: Flask):
    """``make_member(group, name="Ann", role="treasurer", min_balance=-600)`` adds an active
    member (or ``status="pending"``) and returns the membership (detached, attributes loaded).
    ``min_balance`` is in subunits (minutes)."""
    counter = iter(range(1, 10_000))

    def make(group: Group, *, name: str | None = None, email: str | None = None,
             role: str = "member", status: str = "active",
             min_balance: int | None = None, max_balance: int | None = None) -> Membership:
        number = next(counter)
        name = name or f"Member {number}"
        email = email or re.sub(r"\W+", ".", name.lower()) + f".{number}@{group.slug}.example.org"
        with app.app_context(), group_context(group.id):
            user = people.find_user_by_email(email) or people.register_user(
                email=email, name=name, password=PASSWORD
            )
            membership = Membership(user_id=user.id, group_id=group.id, user=user,
                                    role=Role[role.upper()], status=MembershipStatus.PENDING)
            db.session.add(membership)
            db.session.flush()
            if status == "active":
                people.activate(membership=membership)
                if min_balance is not None or max_balance is not None:
                    from timebank.ledger import service as ledger

                    account = ledger.account_for(membership, ledger.default_currency())
                    ledger.set_limits(account=account, min_balance=min_balance,
                                      max_balance=max_balance)
            else:
                membership.status = MembershipStatus(status)
            db.session.commit()
            membership.user  # load before detaching
            db.session.expunge_all()
        return membership

    return make


def walk_pager(client: FlaskClient, url: str, item: str) -> list[list[str]]:
    """Follow a list paged by key (``templates/ledger/_pager.html``) from ``url`` through its
    "Older" links (``rel="next"``) to the last page, and return what ``item`` (a regex with one
    group) finds on each page, in order. Holds the pager to its shape on the way: no "Newer"
    on the first page, "Newer" on every later one, and "Newer" from the last page shows the
    page before it again."""

    def read(address: str) -> tuple[list[str], dict[str, str]]:
        page = client.get(address).get_data(as_text=True)
        links = re.findall(r'rel="(prev|next)" href="([^"]+)"', page)
        return re.findall(item, page), {rel: html.unescape(href) for rel, href in links}

    items, links = read(url)
    assert "prev" not in links, links
    pages = [items]
    while "next" in links:
        items, links = read(links["next"])
        assert "prev" in links, links
        pages.append(items)
    if len(pages) > 1:
        assert read(links["prev"])[0] == pages[-2]
    return pages


def coordinator_of(app: Flask, group: Group) -> Membership:
    with app.app_context(), group_context(group.id):
        membership = db.session.scalar(
            sa.select(Membership).where(Membership.role == Role.COORDINATOR)
        )
        membership.user
        db.session.expunge_all()
        return membership


@pytest.fixture
def login():
    """``login(client, email)`` logs in through the real form and asserts it worked."""

    def do(client: FlaskClient, email: str, password: str = PASSWORD) -> FlaskClient:
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return client

    return do


@pytest.fixture
def outbox() -> list:
    """Messages captured by the mail job during this test."""
    return OUTBOX


@pytest.fixture
def count_queries(app: Flask):
    """``with count_queries() as counter: ...`` then ``counter.count``: SQL statements run."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        class Counter:
            count = 0
            statements: list[str] = []

        counter = Counter()

        def before(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
                counter.count += 1
                counter.statements.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)

    return counting


def ledger_state(app: Flask, group: Group) -> dict:
    """Return ``{member name: balance}`` for the group's default currency (for assertions)."""
    from timebank.models import Account

    with app.app_context(), group_context(group.id):
        rows = db.session.execute(
            sa.select(User.name, Account.balance)
            .join(Membership, Membership.id == Account.membership_id)
            .join(User, User.id == Membership.user_id)
        ).all()
    return {name: balance for name, balance in rows}


@pytest.fixture
def make_transfer(app: Flask):
    """``make_transfer(payer, payee, 90, "Gardening")`` pays through the ledger service (as the
    payer, in the payer's group) and returns the transfer id. Amounts are in subunits."""

    def make(payer: Membership, payee: Membership, amount: int = 60,
             description: str = "Help") -> int:
        from timebank.ledger import service as ledger

        with app.app_context(), group_context(payer.group_id):
            payer_row = db.session.get(Membership, payer.id)
            payee_row = db.session.get(Membership, payee.id)
            transfer = ledger.pay(
                payer=payer_row, payee=payee_row, currency=ledger.default_currency(),
                amount=amount, description=description, starter=payer_row,
            )
            db.session.commit()
            return transfer.id

    return make


@pytest.fixture
def make_network_admin(app: Flask):
    """``make_network_admin(email)`` creates a network admin (password ``PASSWORD``)."""

    def make(email: str = "admin@example.org") -> User:
        from timebank.provisioning.service import make_network_admin as promote

        with app.app_context():
            user = promote(email=email, name="Network Admin", password=PASSWORD)
            db.session.commit()
            db.session.expunge(user)
        return user

    return make


@contextmanager
def as_superuser(app: Flask) -> Iterator[None]:
    """Run the block's statements in the test's transaction as the superuser the tests log in
    as, not the app's role: past row-level security, with ``session_replication_role`` (a test
    that corrupts the ledger on purpose). Call inside an app context."""
    db.session.execute(sa.text("RESET ROLE"))
    try:
        yield
    finally:
        db.session.execute(sa.text("SELECT set_config('role', :role, true)"),
                           {"role": app.config["DATABASE_APP_ROLE"]})


def row_counts(app: Flask) -> dict[str, int]:
    """Return the number of rows in each table that a write could touch, across all groups."""
    tables = ("groups", "users", "memberships", "currencies", "accounts", "transfers", "entries")
    with app.app_context(), all_groups():
        return {
            table: db.session.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in tables
        }
