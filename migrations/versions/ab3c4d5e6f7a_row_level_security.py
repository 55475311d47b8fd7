"""row-level security: every tenant-owned table fenced by the transaction's group

Each table with a non-null ``group_id`` owned by one group gets row-level security and the
policy ``tenant_rows`` (``timebank.tenants.rls.fence_table``): a statement sees and writes only
the rows of the group in the setting ``timebank.group_id``, or every row while
``timebank.all_groups`` is ``on``; with neither, none. The tenancy layer sets both per
transaction. Security is enabled, not forced: the owner (these migrations) sees every row; the
app connects as a role that owns nothing.

The deferred check that a completed transfer has both legs runs at commit, when the settings
are the last statement's (a payment between groups ends in the payer's group): it runs as the
owner (``SECURITY DEFINER``, with a fixed ``search_path``), so it sees every transfer it checks.

Revision ID: ab3c4d5e6f7a
Revises: 8b2c3d4e5f6a
Create Date: 2026-12-06 21:00:00

"""
from alembic import op

from timebank.tenants.rls import fence_table, unfence_table

# revision identifiers, used by Alembic.
revision = 'ab3c4d5e6f7a'
down_revision = '8b2c3d4e5f6a'
branch_labels = None
depends_on = None

TENANT_TABLES = (
    "access_tokens", "accounts", "ad_matches", "ads", "api_idempotency", "audit_events",
    "blocks", "categories", "conversations", "currencies", "entries", "favourite_ads",
    "favourite_members", "federation_settings", "invitations", "kudos_awards", "limit_changes",
    "marketplace_settings", "memberships", "message_reports", "messages", "transfer_notices",
    "transfers", "volunteer_pledges", "volunteer_tasks",
    # Issue 20's and 19's tables, created by the migrations before this one.
    "federation_followers", "scheduled_runs", "standing_orders",
)


def upgrade():
    for table in TENANT_TABLES:
        fence_table(table)
    op.execute("ALTER FUNCTION ledger_transfer_has_both_legs()"
               " SECURITY DEFINER SET search_path = public, pg_temp")


def downgrade():
    op.execute("ALTER FUNCTION ledger_transfer_has_both_legs() SECURITY INVOKER RESET ALL")
    for table in TENANT_TABLES:
        unfence_table(table)
