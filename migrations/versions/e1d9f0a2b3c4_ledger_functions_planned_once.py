"""ledger: the SQL-language helpers that are not inlined become PL/pgSQL (planned once)

``ledger_write_legs``, ``ledger_party_refusal`` and ``ledger_trading_refusal`` were
SQL-language functions that PostgreSQL cannot inline (a data-modifying CTE, aggregates), so
their statements were planned again at every call, on every transfer; as PL/pgSQL their plans
are kept for the connection. Rules and results are unchanged: only the files' LANGUAGE and
wrapping changed.

Revision ID: e1d9f0a2b3c4
Revises: c27a1d5e9b3f
Create Date: 2026-12-06 19:00:00

"""
from alembic import op

from timebank.ledger.sql import function

# revision identifiers, used by Alembic.
revision = 'e1d9f0a2b3c4'
down_revision = 'c27a1d5e9b3f'
branch_labels = None
depends_on = None

FUNCTIONS = ("ledger_write_legs", "ledger_party_refusal", "ledger_trading_refusal")


def upgrade():
    op.execute("SET LOCAL check_function_bodies = off")
    for name in FUNCTIONS:
        op.replace_entity(function(name))


def downgrade():
    pass  # the PL/pgSQL bodies do exactly what the SQL ones did: nothing to undo
