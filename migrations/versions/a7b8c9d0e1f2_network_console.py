"""network console: group requests, network settings, audit trail, ledger checks, exports

* ``group_status`` gains ``archived``. ``ALTER TYPE ... ADD VALUE`` may run inside the migration's
  transaction on PostgreSQL 12 and later, as long as nothing in the same transaction uses the new
  value; nothing here does. Downgrade cannot drop an enum value: archived groups become
  suspended and the value stays (harmless).
* ``groups.place`` (searched on the landing page) and ``groups.status_changed_at``.
* ``network_settings``: a single row (CHECK ``id = 1``), inserted here: new groups need approval.
* ``group_requests``: "we want a timebank" and its provisioning job's status.
* ``network_audit_events``: append-only; a trigger refuses UPDATE and DELETE (TRUNCATE, used by
  the test suite between committing tests, is a different statement and still works).
* ``ledger_checks``: the last ``ledger verify`` of each group.
* ``group_exports``: ZIPs built by the export job, stored as ``bytea``.
* ``login_handoffs``: used single-use cross-host login tokens.

Revision ID: a7b8c9d0e1f2
Revises: 90ce6d10edda
Create Date: 2026-11-24 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a7b8c9d0e1f2'
down_revision = '90ce6d10edda'
branch_labels = None
depends_on = None


REQUEST_STATUS = ('unconfirmed', 'pending', 'declined', 'queued', 'running', 'done', 'failed')
EXPORT_STATUS = ('queued', 'running', 'done', 'failed')


def upgrade():
    op.execute("ALTER TYPE group_status ADD VALUE IF NOT EXISTS 'archived'")
    op.add_column('groups', sa.Column('place', sa.String(length=120), server_default='',
                                      nullable=False))
    op.add_column('groups', sa.Column('status_changed_at', sa.DateTime(timezone=True),
                                      nullable=True))

    op.create_table(
        'network_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('groups_need_approval', sa.Boolean(), server_default=sa.true(),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_network_settings_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_settings')),
    )
    op.execute("INSERT INTO network_settings (id, groups_need_approval, updated_at) "
               "VALUES (1, true, now())")

    op.create_table(
        'group_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('slug', sa.String(length=63), nullable=False),
        sa.Column('default_locale', sa.String(length=10), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('place', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('requester_id', sa.Integer(), nullable=True),
        sa.Column('requester_name', sa.String(length=120), nullable=False),
        sa.Column('requester_email', sa.String(length=254), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('requester_locale', sa.String(length=10), nullable=False),
        sa.Column('status', postgresql.ENUM(*REQUEST_STATUS, name='group_request_status'),
                  nullable=False),
        sa.Column('progress', sa.SmallInteger(), server_default='0', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('decision_message', sa.Text(), server_default='', nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('progress BETWEEN 0 AND 100',
                           name=op.f('ck_group_requests_progress_range')),
        sa.ForeignKeyConstraint(['requester_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_group_requests_requester_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_group_requests_decided_by_id_users')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='SET NULL',
                                name=op.f('fk_group_requests_group_id_groups')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_requests')),
        sa.UniqueConstraint('token', name=op.f('uq_group_requests_token')),
        sa.UniqueConstraint('group_id', name=op.f('uq_group_requests_group_id')),
    )
    op.create_index('ix_group_requests_status_created_at', 'group_requests',
                    ['status', 'created_at'])
    op.create_index('ix_group_requests_slug', 'group_requests', ['slug'])
    op.create_index(op.f('ix_group_requests_requester_id'), 'group_requests', ['requester_id'])

    op.create_table(
        'network_audit_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('actor_email', sa.String(length=254), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('target_type', sa.String(length=32), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=True),
        sa.Column('target_label', sa.String(length=254), nullable=False),
        sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}',
                  nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_network_audit_events')),
    )
    op.create_index('ix_network_audit_events_created_at', 'network_audit_events',
                    ['created_at'])
    op.create_index('ix_network_audit_events_target', 'network_audit_events',
                    ['target_type', 'target_id'])
    op.execute("""
        CREATE FUNCTION network_audit_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'network_audit_events is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$
    """)
    op.execute("""
        CREATE TRIGGER network_audit_events_append_only
        BEFORE UPDATE OR DELETE ON network_audit_events
        FOR EACH ROW EXECUTE FUNCTION network_audit_events_append_only()
    """)

    op.create_table(
        'ledger_checks',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('problem_count', sa.Integer(), nullable=False),
        sa.Column('problems', postgresql.JSONB(astext_type=sa.Text()), server_default='[]',
                  nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE',
                                name=op.f('fk_ledger_checks_group_id_groups')),
        sa.PrimaryKeyConstraint('group_id', name=op.f('pk_ledger_checks')),
    )

    op.create_table(
        'group_exports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('group_slug', sa.String(length=63), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('status', postgresql.ENUM(*EXPORT_STATUS, name='export_status'),
                  nullable=False),
        sa.Column('progress', sa.SmallInteger(), server_default='0', nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('progress BETWEEN 0 AND 100',
                           name=op.f('ck_group_exports_progress_range')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='SET NULL',
                                name=op.f('fk_group_exports_group_id_groups')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_group_exports_requested_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_exports')),
    )
    op.create_index('ix_group_exports_group_id_created_at', 'group_exports',
                    ['group_id', 'created_at'])

    op.create_table(
        'login_handoffs',
        sa.Column('token_id', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                name=op.f('fk_login_handoffs_user_id_users')),
        sa.PrimaryKeyConstraint('token_id', name=op.f('pk_login_handoffs')),
    )


def downgrade():
    op.drop_table('login_handoffs')
    op.drop_index('ix_group_exports_group_id_created_at', table_name='group_exports')
    op.drop_table('group_exports')
    op.execute("DROP TYPE export_status")
    op.drop_table('ledger_checks')
    op.execute("DROP TRIGGER network_audit_events_append_only ON network_audit_events")
    op.execute("DROP FUNCTION network_audit_events_append_only()")
    op.drop_index('ix_network_audit_events_target', table_name='network_audit_events')
    op.drop_index('ix_network_audit_events_created_at', table_name='network_audit_events')
    op.drop_table('network_audit_events')
    op.drop_index(op.f('ix_group_requests_requester_id'), table_name='group_requests')
    op.drop_index('ix_group_requests_slug', table_name='group_requests')
    op.drop_index('ix_group_requests_status_created_at', table_name='group_requests')
    op.drop_table('group_requests')
    op.execute("DROP TYPE group_request_status")
    op.drop_table('network_settings')
    op.drop_column('groups', 'status_changed_at')
    op.drop_column('groups', 'place')
    # An enum value cannot be dropped: archived groups become suspended, the value stays.
    op.execute("UPDATE groups SET status = 'suspended' WHERE status = 'archived'")
