"""network console: each group's figures stored (``group_figures``), refreshed by a job

The console's groups table computed members, members active, transfers and hours in 30 days as
correlated subqueries on every view: sorted by one of them, PostgreSQL computed it for every
group (343 ms a page at 10,000 groups, slower as transfers pile up). The figures now live in one
row per group, recomputed every 10 minutes by ``rq cron`` and filled here for existing groups;
each figure has an index (figure, group_id), so any sort is an index scan.

Revision ID: f4b2c3d4e5f6
Revises: f4a1b2c3d4e5
Create Date: 2026-12-06 19:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4b2c3d4e5f6'
down_revision = 'f4a1b2c3d4e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('group_figures',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('active_members', sa.Integer(), nullable=False),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_figures_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_group_figures'))
    )
    op.create_index('ix_group_figures_members', 'group_figures', ['members', 'group_id'], unique=False)
    op.create_index('ix_group_figures_active_members', 'group_figures', ['active_members', 'group_id'], unique=False)
    op.create_index('ix_group_figures_transfers', 'group_figures', ['transfers', 'group_id'], unique=False)
    op.create_index('ix_group_figures_hours', 'group_figures', ['hours', 'group_id'], unique=False)
    # The same figures as timebank.provisioning.overview.refresh_figures, for existing groups.
    op.execute("""
        INSERT INTO group_figures (group_id, members, active_members, transfers, hours, refreshed_at)
        SELECT g.id,
               (SELECT count(*) FROM memberships m
                 WHERE m.group_id = g.id AND m.status = 'active'),
               (SELECT count(DISTINCT a.membership_id) FROM entries e
                  JOIN accounts a ON a.id = e.account_id
                 WHERE e.group_id = g.id AND e.created_at >= now() - interval '30 days'
                   AND a.membership_id IS NOT NULL),
               (SELECT count(*) FROM transfers t
                 WHERE t.group_id = g.id AND t.created_at >= now() - interval '30 days'
                   AND t.state = 'completed' AND t.kind <> 'reversal'),
               (SELECT coalesce(sum(t.amount * c.hour_value / c.subunits_per_unit), 0)
                  FROM transfers t JOIN currencies c ON c.id = t.currency_id
                 WHERE t.group_id = g.id AND t.created_at >= now() - interval '30 days'
                   AND t.state = 'completed' AND t.kind <> 'reversal'),
               now()
          FROM groups g""")


def downgrade():
    op.drop_table('group_figures')
