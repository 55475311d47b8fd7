"""The ledger's rules as PostgreSQL functions: one readable file per function in this folder.

Every state change of a transfer is one function here (the approach of pgledger: a ledger as
database functions), called by the Python services in :mod:`timebank.ledger` through
:func:`timebank.ledger.functions.call`. The services ask the policy who may act, call the
function, and turn its refusal into a typed error; no rule is written twice.

Operations: ``ledger_transfer`` (pay, request, on-behalf, issue, import), ``ledger_accept``,
``ledger_cancel`` (withdraw, decline, a refusal), ``ledger_edit``, ``ledger_reverse``,
``ledger_bulk``, ``ledger_settle``, and between groups ``ledger_intergroup_transfer``,
``_accept``, ``_cancel`` and ``_reverse`` (with ``ledger_trading_refusal`` and
``ledger_network_seconds``). Shared rules: ``ledger_floor`` and ``ledger_ceiling`` (the limits
in force), ``ledger_positions`` (balance, pending amounts, room left), ``ledger_limit_refusal``
(the room check), ``ledger_party_refusal`` (active members, active currency), ``ledger_twin``
(idempotency), ``ledger_lock_accounts`` (the lock order) and the writers ``ledger_post`` and
``ledger_write_legs`` (which also keeps each account's monthly totals, ``account_months``;
``ledger_rebuild_months`` rebuilds a group's when its time zone changes). Levies on transfers:
``ledger_levy`` (the rounding rule), ``ledger_levies`` (what is due, and to which pot),
``ledger_levy_refusal`` (the limits with the levies) and ``ledger_post_levies``, called by
``ledger_transfer``, ``ledger_accept`` and ``ledger_bulk``; ``ledger_reverse`` reverses a
transfer's levies with it. ``flask ledger verify`` uses the same ``ledger_floor`` and
``ledger_ceiling``.

Migrations put them in place as replaceable objects (alembic_utils): changing a function is a
short migration, ``op.replace_entity(function("ledger_accept"))``, reviewed beside the diff of
its file. A migration installs the files as they are when it runs, with
``check_function_bodies`` off, so an early migration never fails on a column a later one adds;
``tests/test_ledger_functions.py`` fails when a deployed function differs from its file.
"""

from functools import cache
from pathlib import Path

from alembic_utils.pg_function import PGFunction

FOLDER = Path(__file__).parent

# Dependency order: a function after the ones it calls (SQL-language bodies are checked).
NAMES = (
    "ledger_floor",
    "ledger_ceiling",
    "ledger_positions",
    "ledger_limit_refusal",
    "ledger_party_refusal",
    "ledger_lock_accounts",
    "ledger_twin",
    "ledger_write_legs",
    "ledger_rebuild_months",
    "ledger_post",
    # levies (timebank/ledger/levies.py)
    "ledger_levy",
    "ledger_levies",
    "ledger_levy_refusal",
    "ledger_post_levies",
    "ledger_transfer",
    "ledger_cancel",
    "ledger_accept",
    "ledger_edit",
    "ledger_reverse",
    "ledger_bulk",
    "ledger_settle",
    # between groups (timebank/ledger/intergroup.py)
    "ledger_network_seconds",
    "ledger_trading_refusal",
    "ledger_intergroup_transfer",
    "ledger_intergroup_accept",
    "ledger_intergroup_cancel",
    "ledger_intergroup_reverse",
)


def source(name: str) -> str:
    """Return the ``CREATE OR REPLACE FUNCTION`` statement of ``name`` from its file, without
    the leading comment lines (which explain it to readers, not to the database)."""
    lines = (FOLDER / f"{name}.sql").read_text().splitlines()
    while lines and (not lines[0].strip() or lines[0].startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip().rstrip(";")


@cache
def function(name: str) -> PGFunction:
    """Return ``name`` as an alembic_utils replaceable entity, for a migration's
    ``op.replace_entity`` / ``op.drop_entity``."""
    return PGFunction.from_sql(source(name))


def functions() -> list[PGFunction]:
    """Every ledger function, in dependency order."""
    return [function(name) for name in NAMES]
