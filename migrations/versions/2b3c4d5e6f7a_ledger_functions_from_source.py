"""ledger: every transfer operation is a function read from timebank/ledger/sql/

Until now only a new transfer was written by a database function (``ledger_transfer``, its
source copied whole into three migrations); acceptances, edits, cancellations, reversals, bulk
entries, issuance and settlements ran in Python, with the effective limits and the room check
written a second time there. From this revision every state change of a transfer is one
function whose source is a file under ``timebank/ledger/sql/``, installed here through
alembic_utils. ``ledger_transfer`` keeps its arguments and results; its rules now come from
the shared helpers (a suspended member and a retired currency are refused the same way by every
operation: README "Ledger rules").

Later changes to a function are a migration of one line per function,
``op.replace_entity(function("ledger_accept"))``.

Revision ID: 2b3c4d5e6f7a
Revises: 1a2b3c4d5e6f
Create Date: 2026-12-06 18:30:00

"""
import importlib.util
from pathlib import Path

from alembic import op

from timebank.ledger.sql import NAMES, function

# revision identifiers, used by Alembic.
revision = '2b3c4d5e6f7a'
down_revision = '1a2b3c4d5e6f'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("SET LOCAL check_function_bodies = off")
    for name in NAMES:
        op.replace_entity(function(name))


def downgrade():
    for name in reversed(NAMES):
        if name != "ledger_transfer":
            op.execute(f"DROP FUNCTION {name}")
    path = Path(__file__).with_name("da1b2c3d4e5f_ledger_entries_are_legs.py")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    op.execute(module.LEDGER_TRANSFER)
