"""running a group: invitations, offline members, group settings, audit trail, volunteering

* ``join_policy`` gains ``invitation``. ``ALTER TYPE ... ADD VALUE`` runs in an autocommit
  block: PostgreSQL refuses to use a value added in the same transaction, and an autocommit
  block keeps this migration safe whatever runs after it. Downgrade cannot drop an enum value:
  invitation-only groups go back to ``approval`` and the value stays (harmless).
* ``users.is_offline``: a member without email, added by a coordinator.
* ``groups``: ``members_see_all_transfers``, ``balances_public``, ``logo_png`` and
  ``logo_updated_at``, ``volunteer_thanks_minutes`` (0..6000, 0 = kudos only). The payments and
  rating settings (``payments_need_confirmation``, ``rating_scale``) came with the ledger, the
  languages with their own migration; ad expiry lives in ``marketplace_settings``.
* ``invitations``: emailed, expiring, single-use; only a SHA-256 of the token is stored.
* ``audit_events``: append-only; a trigger refuses UPDATE and DELETE, except the cascade of a
  whole group's deletion (TRUNCATE, used between committing tests, is not affected).
* ``volunteer_tasks``, ``volunteer_pledges``, ``kudos_awards``.

Every tenant table has an indexed ``group_id`` and composite foreign keys that include it.

Revision ID: f6a7b8c9d0e1
Revises: 90ce6d10edda
Create Date: 2026-11-24 12:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'f6a7b8c9d0e1'
down_revision = '90ce6d10edda'
branch_labels = None
depends_on = None


AUDIT_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Deleting a whole group cascades to its trail: allowed once the group row is gone.
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit trail is append-only (% of audit event % refused)', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
"""


def _tenant_fk(table, column, target, ondelete=None):
    return sa.ForeignKeyConstraint(
        ['group_id', column], [f'{target}.group_id', f'{target}.id'],
        name=op.f(f'fk_{table}_group_id_{column}_{target}'), ondelete=ondelete,
    )


def _group_fk(table):
    return sa.ForeignKeyConstraint(
        ['group_id'], ['groups.id'], name=op.f(f'fk_{table}_group_id_groups'), ondelete='CASCADE'
    )


def upgrade():
    with op.get_context().autocommit_block():
        op.execute("ALTER TYPE join_policy ADD VALUE IF NOT EXISTS 'invitation'")

    op.add_column('users', sa.Column(
        'is_offline', sa.Boolean(), server_default=sa.false(), nullable=False))

    op.add_column('groups', sa.Column(
        'members_see_all_transfers', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('groups', sa.Column(
        'balances_public', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('groups', sa.Column('logo_png', sa.LargeBinary(), nullable=True))
    op.add_column('groups', sa.Column(
        'logo_updated_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('groups', sa.Column(
        'volunteer_thanks_minutes', sa.Integer(), server_default='0', nullable=False))
    op.create_check_constraint(
        op.f('ck_groups_volunteer_thanks_range'), 'groups',
        'volunteer_thanks_minutes BETWEEN 0 AND 6000',
    )

    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.SmallInteger(), nullable=False),
    sa.Column('message', sa.Text(), server_default='', nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_membership_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_invitations_expires_after_created')),
    sa.CheckConstraint('(accepted_at IS NULL) = (accepted_membership_id IS NULL)', name=op.f('ck_invitations_accepted_by_set')),
    _tenant_fk('invitations', 'invited_by_id', 'memberships'),
    _tenant_fk('invitations', 'accepted_membership_id', 'memberships'),
    _group_fk('invitations'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_invitations_group_id_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    op.create_index(op.f('ix_invitations_group_id'), 'invitations', ['group_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.BigInteger(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('char_length(action) > 0', name=op.f('ck_audit_events_action_present')),
    _tenant_fk('audit_events', 'actor_id', 'memberships'),
    _group_fk('audit_events'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    op.create_index(op.f('ix_audit_events_group_id'), 'audit_events', ['group_id'], unique=False)
    op.create_index('ix_audit_events_group_id_created_at', 'audit_events', ['group_id', 'created_at'], unique=False)
    op.create_index('ix_audit_events_group_id_action', 'audit_events', ['group_id', 'action'], unique=False)
    op.execute(AUDIT_APPEND_ONLY_FUNCTION)
    op.execute("""
        CREATE TRIGGER audit_events_append_only
        BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""")

    op.create_table('volunteer_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('volunteers_needed', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'cancelled', name='volunteer_task_status'), nullable=False),
    sa.Column('posted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('volunteers_needed BETWEEN 1 AND 1000', name=op.f('ck_volunteer_tasks_volunteers_range')),
    sa.CheckConstraint('char_length(title) BETWEEN 1 AND 120', name=op.f('ck_volunteer_tasks_title_length')),
    sa.CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)", name=op.f('ck_volunteer_tasks_cancelled_at_set')),
    _tenant_fk('volunteer_tasks', 'posted_by_id', 'memberships'),
    _tenant_fk('volunteer_tasks', 'cancelled_by_id', 'memberships'),
    _group_fk('volunteer_tasks'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_tasks')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_volunteer_tasks_group_id_id'))
    )
    op.create_index(op.f('ix_volunteer_tasks_group_id'), 'volunteer_tasks', ['group_id'], unique=False)
    op.create_index('ix_volunteer_tasks_group_id_starts_at', 'volunteer_tasks', ['group_id', 'starts_at'], unique=False)

    op.create_table('volunteer_pledges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pledged', 'withdrawn', 'done', name='pledge_status'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name=op.f('ck_volunteer_pledges_done_at_set')),
    _tenant_fk('volunteer_pledges', 'task_id', 'volunteer_tasks', ondelete='CASCADE'),
    _tenant_fk('volunteer_pledges', 'membership_id', 'memberships', ondelete='CASCADE'),
    _tenant_fk('volunteer_pledges', 'done_by_id', 'memberships'),
    _group_fk('volunteer_pledges'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_volunteer_pledges')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_volunteer_pledges_group_id_id')),
    sa.UniqueConstraint('task_id', 'membership_id', name=op.f('uq_volunteer_pledges_task_id_membership_id'))
    )
    op.create_index(op.f('ix_volunteer_pledges_group_id'), 'volunteer_pledges', ['group_id'], unique=False)
    op.create_index(op.f('ix_volunteer_pledges_task_id'), 'volunteer_pledges', ['task_id'], unique=False)
    op.create_index(op.f('ix_volunteer_pledges_membership_id'), 'volunteer_pledges', ['membership_id'], unique=False)

    op.create_table('kudos_awards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('pledge_id', sa.Integer(), nullable=False),
    sa.Column('kudos', sa.Integer(), nullable=False),
    sa.Column('awarded_by_id', sa.Integer(), nullable=True),
    sa.Column('thanks_transfer_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('kudos > 0', name=op.f('ck_kudos_awards_kudos_positive')),
    _tenant_fk('kudos_awards', 'membership_id', 'memberships', ondelete='CASCADE'),
    _tenant_fk('kudos_awards', 'task_id', 'volunteer_tasks', ondelete='CASCADE'),
    _tenant_fk('kudos_awards', 'pledge_id', 'volunteer_pledges', ondelete='CASCADE'),
    _tenant_fk('kudos_awards', 'awarded_by_id', 'memberships'),
    _tenant_fk('kudos_awards', 'thanks_transfer_id', 'transfers'),
    _group_fk('kudos_awards'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kudos_awards')),
    sa.UniqueConstraint('pledge_id', name=op.f('uq_kudos_awards_pledge_id'))
    )
    op.create_index(op.f('ix_kudos_awards_group_id'), 'kudos_awards', ['group_id'], unique=False)
    op.create_index(op.f('ix_kudos_awards_membership_id'), 'kudos_awards', ['membership_id'], unique=False)
    op.create_index('ix_kudos_awards_group_id_created_at', 'kudos_awards', ['group_id', 'created_at'], unique=False)


def downgrade():
    op.drop_table('kudos_awards')
    op.drop_table('volunteer_pledges')
    op.drop_table('volunteer_tasks')
    sa.Enum(name='pledge_status').drop(op.get_bind(), checkfirst=True)
    sa.Enum(name='volunteer_task_status').drop(op.get_bind(), checkfirst=True)
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    op.drop_table('audit_events')
    op.drop_table('invitations')
    op.drop_constraint(op.f('ck_groups_volunteer_thanks_range'), 'groups', type_='check')
    op.drop_column('groups', 'volunteer_thanks_minutes')
    op.drop_column('groups', 'logo_updated_at')
    op.drop_column('groups', 'logo_png')
    op.drop_column('groups', 'balances_public')
    op.drop_column('groups', 'members_see_all_transfers')
    op.drop_column('users', 'is_offline')
    # An enum value cannot be dropped: invitation-only groups fall back to approval.
    op.execute("UPDATE groups SET join_policy = 'approval' WHERE join_policy = 'invitation'")
