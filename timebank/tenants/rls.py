"""Row-level security: PostgreSQL's own fence around each group's rows.

The ORM hook of :mod:`timebank.tenants.scoping` filters the queries SQLAlchemy builds; this
fence also holds for what it cannot see (``sa.text``, ``exec_driver_sql``, a Core statement on
``Model.__table__``, the ledger's SQL functions). Every tenant-owned table has row-level security
enabled and one policy, :data:`POLICY` (installed by :func:`fence_table` in its migration): a
statement sees and writes only the rows whose ``group_id`` is the transaction's setting
``timebank.group_id``, or every row while ``timebank.all_groups`` is ``on``. With neither set a
tenant table reads as empty, and an insert into it fails.

The settings follow the tenant context (:func:`~timebank.tenants.context.current_group_id`,
:func:`~timebank.tenants.all_groups`): before each statement, if the connection's settings
differ from the context, one ``SELECT set_config(..., true)`` brings them in line (in the same
round trip as the transaction's ``BEGIN`` when it opens the transaction), so a
transaction that enters another group (a job, a CLI command, a payment between groups) is
fenced for each statement by the group it runs for. ``true`` makes them transaction-local
(``SET LOCAL``): nothing outlives the transaction, so a pooled connection never carries a group
into the next request. The session's flush is let through
(:class:`~timebank.tenants.scoping.TenantSession`): it writes only rows the session holds, often
at commit, after the context that changed them has ended.

The policy binds a role that cannot bypass it: not a superuser, not ``BYPASSRLS``, not the
tables' owner (row-level security is enabled, not forced, so migrations, which run as the
owner, see every row). In production the app logs in as such a role. Development, tests and
the embedded quick start log in as a superuser and name the role in ``DATABASE_APP_ROLE``:
every transaction then switches to it (``SET LOCAL ROLE``, in the same statement as the
settings), and :func:`grant_app_role` creates it after migrating. A connection marked with
:func:`as_owner` (migrations, test fixtures that rebuild the schema) is left as it logged in.
"""

import psycopg
from psycopg import errors, pq, sql
from sqlalchemy import Connection, Engine, event

from timebank.tenants.context import current_group_id, is_flushing, is_unscoped

POLICY = "tenant_rows"
# A scalar subquery is an InitPlan: each setting is read once per statement, not per row.
CONDITION = (
    "(SELECT current_setting('timebank.all_groups', true)) = 'on'"
    " OR group_id = (SELECT nullif(current_setting('timebank.group_id', true), '')::integer)"
)

_OWNER = "timebank_as_owner"  # execution option: leave this connection's role and settings
_ROLE = "timebank_app_role"  # engine execution option: the role transactions switch to
_APPLIED = "timebank_row_security"  # connection.info: (role, group id, all groups) in force
# A transaction's settings before its first set_config: no role switch, no group.
_FRESH = (None, None, False)
_SAVEPOINT_STATEMENTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")

_SET = ("SELECT set_config('timebank.group_id', %s, true),"
        " set_config('timebank.all_groups', %s, true)")
_SET_WITH_ROLE = _SET + ", set_config('role', %s, true)"


def fence_table(table: str) -> None:
    """Fence ``table``, a tenant-owned table (non-null ``group_id``): call it in the
    ``upgrade()`` of the migration that creates the table. ``tests/test_row_security.py``
    fails for a table that is neither fenced nor listed there as global, with a reason."""
    from alembic import op

    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({CONDITION})")


def unfence_table(table: str) -> None:
    """Undo :func:`fence_table` (a migration's ``downgrade()``)."""
    from alembic import op

    op.execute(f"DROP POLICY {POLICY} ON {table}")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")


def install_row_security(engine: Engine, app_role: str | None) -> None:
    """Keep every connection of ``engine`` fenced by the tenant context (see the module's
    docstring); ``app_role``, when set, is the role each transaction switches to."""
    if app_role:
        engine.update_execution_options(**{_ROLE: app_role})
    if not event.contains(engine, "before_cursor_execute", _before_statement):
        event.listen(engine, "before_cursor_execute", _before_statement)
        event.listen(engine, "begin", _begin)


def as_owner(connection: Connection) -> Connection:
    """Return ``connection`` (changed in place) marked to run as the role it logged in as,
    with no tenant settings: for migrations and test fixtures that rebuild the schema."""
    return connection.execution_options(**{_OWNER: True})


def align_row_security(connection: Connection) -> None:
    """Bring ``connection``'s role and settings in line with the tenant context, if they
    differ (one round trip then, none otherwise). Runs before every statement SQLAlchemy
    sends; call it before a statement sent to the driver directly (the ledger's calls)."""
    options = connection.get_execution_options()
    if options.get(_OWNER):
        return
    role = options.get(_ROLE)
    wanted = (role, current_group_id(), is_unscoped() or is_flushing())
    if connection.info.get(_APPLIED) == wanted:
        return
    group_id = "" if wanted[1] is None else str(wanted[1])
    all_groups = "on" if wanted[2] else "off"
    driver = connection.connection.driver_connection
    query, values = (_SET_WITH_ROLE, (group_id, all_groups, role)) if role else (
        _SET, (group_id, all_groups))
    if _opens_the_transaction(driver):
        _begin_with(driver, query, values)
    else:
        driver.execute(query, values)
    connection.info[_APPLIED] = wanted


def _opens_the_transaction(driver: psycopg.Connection) -> bool:
    """Whether the next statement opens a transaction that a plain ``BEGIN`` starts as
    psycopg would: not in autocommit or pipeline mode, and with no isolation level, read-only
    or deferrable setting that psycopg's own ``BEGIN`` would carry."""
    return (driver.pgconn.transaction_status == pq.TransactionStatus.IDLE
            and not driver.autocommit
            and driver.pgconn.pipeline_status == pq.PipelineStatus.OFF
            and driver.isolation_level is None
            and driver.read_only is None
            and driver.deferrable is None)


def _begin_with(driver: psycopg.Connection, query: str, values: tuple) -> None:
    """Send ``BEGIN`` and the settings in one round trip (psycopg would send its ``BEGIN``
    alone first): one simple-protocol command through libpq, the values quoted as literals.
    psycopg then finds the transaction open and sends no ``BEGIN`` of its own.

    Raises the :mod:`psycopg.errors` class of the server's SQLSTATE (``OperationalError`` when
    the connection is lost), which SQLAlchemy wraps as it wraps any driver error."""
    text = sql.SQL("BEGIN; " + query.replace("%s", "{}")).format(*map(sql.Literal, values))
    result = driver.pgconn.exec_(text.as_bytes(driver))
    if result.status == pq.ExecStatus.TUPLES_OK:
        return
    message = (result.error_message or driver.pgconn.error_message).decode(errors="replace")
    sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE)
    error = errors.lookup(sqlstate.decode()) if sqlstate else psycopg.OperationalError
    raise error(message.strip())


def _before_statement(connection, cursor, statement, parameters, context, executemany):
    if statement.startswith(_SAVEPOINT_STATEMENTS):
        if statement.startswith("ROLLBACK"):  # the savepoint's settings are back: unknown
            connection.info.pop(_APPLIED, None)
        return
    align_row_security(connection)


def _begin(connection):
    connection.info[_APPLIED] = _FRESH


GRANTS = (
    "GRANT USAGE ON SCHEMA public TO {role}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
    "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
    "GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}",
)


def grant_app_role(connection: Connection, role: str) -> None:
    """Create ``role`` if missing (no login, no superuser, cannot bypass row-level security;
    reached by ``SET ROLE`` from a superuser) and grant it the use of every table, sequence and
    function, as ``ansible/roles/postgresql/files/grants.sql`` does in production. Run by the
    migrations when ``DATABASE_APP_ROLE`` is set (development, tests, the embedded server)."""
    quoted = connection.dialect.identifier_preparer.quote(role)
    # Test runs on one server may race to create it: the loser finds it there.
    connection.exec_driver_sql(f"""
        DO $$ BEGIN
            CREATE ROLE {quoted} NOLOGIN NOSUPERUSER NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$""")
    for grant in GRANTS:
        connection.exec_driver_sql(grant.format(role=quoted))

