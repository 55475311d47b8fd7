"""the network console's sort by ledger health reads an index

Sorted by health, the console joined each group to its last ``ledger verify`` with an outer
join (groups never checked have no row) and sorted every group to show fifty: at 10,000
groups 1.4-1.7 times the unsorted page (bench/RESULTS.md, issue 14, session 13), when every
other column is a scan of its index. Now every group has its row, both columns null until
its first check; the sort reads ``ix_ledger_checks_problem_count`` in order (never checked
below sound, as before). A trigger on ``groups`` writes the row, not the app: the release
still running during a deploy (or rolled back to) creates groups too, and a group without its
row would be missing from the console.

Revision ID: e7f8a9b0c1d2
Revises: d1e2f3a4b5c6
Create Date: 2026-12-07 19:25:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e7f8a9b0c1d2'
down_revision = 'd1e2f3a4b5c6'
branch_labels = None
depends_on = None


def upgrade():
    op.alter_column('ledger_checks', 'checked_at', nullable=True)
    op.alter_column('ledger_checks', 'problem_count', nullable=True)
    op.execute(
        "INSERT INTO ledger_checks (group_id) SELECT id FROM groups"
        " ON CONFLICT (group_id) DO NOTHING"
    )
    op.create_index('ix_ledger_checks_problem_count', 'ledger_checks',
                    [sa.text('problem_count NULLS FIRST'), 'group_id'])
    op.execute("""
        CREATE FUNCTION groups_have_a_ledger_check() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO ledger_checks (group_id) VALUES (NEW.id);
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER groups_have_a_ledger_check
        AFTER INSERT ON groups
        FOR EACH ROW EXECUTE FUNCTION groups_have_a_ledger_check()
    """)


def downgrade():
    op.execute("DROP TRIGGER groups_have_a_ledger_check ON groups")
    op.execute("DROP FUNCTION groups_have_a_ledger_check()")
    op.drop_index('ix_ledger_checks_problem_count', table_name='ledger_checks')
    op.execute("DELETE FROM ledger_checks WHERE checked_at IS NULL")
    op.alter_column('ledger_checks', 'problem_count', nullable=False)
    op.alter_column('ledger_checks', 'checked_at', nullable=False)
