"""ledger: database guarantees, recorded limit changes, currencies, two-step transfers

* CHECK constraints on currencies, accounts and transfers (amounts, limits in order, states and
  their timestamps, reversal links, ratings, issued currencies floored at zero);
* a DEFERRABLE INITIALLY DEFERRED constraint trigger: at commit, a completed transfer's entries
  sum to zero over at least two lines, and a pending or cancelled transfer has none;
* entries are immutable (no UPDATE, no DELETE) and so are completed or cancelled transfers
  (only the payer's rating may be added); rows go only when their whole group is deleted;
* ``limit_changes`` (who changed which limit when, old -> new);
* currency purpose, display format and value against one network hour; issuer accounts;
  transfer rating and bulk batch key; group ledger settings.

Revision ID: d4e5f6a7b8c9
Revises: 90ce6d10edda
Create Date: 2026-11-23 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4e5f6a7b8c9'
down_revision = '90ce6d10edda'
branch_labels = None
depends_on = None


BALANCED_FUNCTION = """
CREATE FUNCTION ledger_check_transfer_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    checked_id integer;
    checked_state transfer_state;
    total numeric;
    lines integer;
BEGIN
    IF TG_TABLE_NAME = 'entries' THEN
        checked_id := NEW.transfer_id;
    ELSE
        checked_id := NEW.id;
    END IF;
    SELECT state INTO checked_state FROM transfers WHERE id = checked_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT COALESCE(SUM(amount), 0), COUNT(*) INTO total, lines
      FROM entries WHERE transfer_id = checked_id;
    IF checked_state = 'completed' AND (total <> 0 OR lines < 2) THEN
        RAISE EXCEPTION 'completed transfer % is unbalanced: % entries sum to %',
            checked_id, lines, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_balanced';
    END IF;
    IF checked_state <> 'completed' AND lines > 0 THEN
        RAISE EXCEPTION '% transfer % has % entries', checked_state, checked_id, lines
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_balanced';
    END IF;
    RETURN NULL;
END
$$;
"""

ENTRIES_IMMUTABLE_FUNCTION = """
CREATE FUNCTION ledger_entries_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Deleting a whole group cascades to its ledger: allowed once the group row is gone.
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledger entries are immutable (% of entry % refused)', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Correct a completed transfer with a reversal.';
END
$$;
"""

TRANSFERS_IMMUTABLE_FUNCTION = """
CREATE FUNCTION ledger_transfers_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM groups WHERE id = OLD.group_id) THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'transfers are never deleted (transfer %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.state = 'pending' THEN
        RETURN NEW;
    END IF;
    -- Completed and cancelled transfers are final; the payer may add a rating once.
    IF (NEW.id, NEW.group_id, NEW.currency_id, NEW.payer_account_id, NEW.payee_account_id,
        NEW.amount, NEW.description, NEW.state, NEW.kind, NEW.starter_id, NEW.completer_id,
        NEW.reverses_id, NEW.idempotency_key, NEW.batch_key, NEW.cancel_code,
        NEW.cancel_reason, NEW.cancelled_by_id,
        NEW.created_at, NEW.completed_at, NEW.cancelled_at)
       IS DISTINCT FROM
       (OLD.id, OLD.group_id, OLD.currency_id, OLD.payer_account_id, OLD.payee_account_id,
        OLD.amount, OLD.description, OLD.state, OLD.kind, OLD.starter_id, OLD.completer_id,
        OLD.reverses_id, OLD.idempotency_key, OLD.batch_key, OLD.cancel_code,
        OLD.cancel_reason, OLD.cancelled_by_id,
        OLD.created_at, OLD.completed_at, OLD.cancelled_at)
       OR (OLD.rating IS NOT NULL AND NEW.rating IS DISTINCT FROM OLD.rating) THEN
        RAISE EXCEPTION '% transfer % is final and cannot be changed', OLD.state, OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Correct a completed transfer with a reversal.';
    END IF;
    RETURN NEW;
END
$$;
"""


def upgrade():
    # --- groups: ledger settings ------------------------------------------------------------
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payments_need_confirmation', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('rating_scale', sa.SmallInteger(),
                                      server_default='5', nullable=False))
        batch_op.create_check_constraint(op.f('ck_groups_rating_scale_range'),
                                         'rating_scale BETWEEN 2 AND 10')

    # --- currencies ---------------------------------------------------------------------------
    with op.batch_alter_table('currencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('display_format', sa.String(length=16),
                                      server_default='time', nullable=False))
        batch_op.add_column(sa.Column('hour_value', sa.Numeric(12, 4), server_default='1',
                                      nullable=False))
    op.execute("UPDATE currencies SET display_format = 'decimal' WHERE subunits_per_unit <> 60")
    op.execute("UPDATE currencies SET default_min_balance = 0"
               " WHERE kind = 'issued' AND (default_min_balance IS NULL"
               " OR default_min_balance < 0)")
    with op.batch_alter_table('currencies', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_currencies_code_format'),
                                         "code ~ '^[A-Z0-9]{1,12}$'")
        batch_op.create_check_constraint(
            op.f('ck_currencies_display_format_valid'),
            "display_format IN ('time', 'decimal')"
            " AND (display_format <> 'time' OR subunits_per_unit = 60)")
        batch_op.create_check_constraint(op.f('ck_currencies_hour_value_positive'),
                                         'hour_value > 0')
        batch_op.create_check_constraint(
            op.f('ck_currencies_default_limits_ordered'),
            'default_min_balance IS NULL OR default_max_balance IS NULL'
            ' OR default_min_balance <= default_max_balance')
        batch_op.create_check_constraint(
            op.f('ck_currencies_issued_floor_at_zero'),
            "kind <> 'issued' OR (default_min_balance IS NOT NULL AND default_min_balance >= 0)")

    # --- accounts -----------------------------------------------------------------------------
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_issuer', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_accounts_limits_ordered'),
            'min_balance IS NULL OR max_balance IS NULL OR min_balance <= max_balance')
        batch_op.create_check_constraint(op.f('ck_accounts_issuer_is_group_account'),
                                         "NOT is_issuer OR kind = 'group'")
        batch_op.create_index('uq_accounts_issuer_currency_id', ['currency_id'], unique=True,
                              postgresql_where=sa.text('is_issuer'))

    # --- transfers ----------------------------------------------------------------------------
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('batch_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('cancel_code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rating', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE transfers SET cancel_code = 'withdrawn' WHERE state = 'cancelled'")
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_transfers_completed_at_matches'),
                                         "(state = 'completed') = (completed_at IS NOT NULL)")
        batch_op.create_check_constraint(op.f('ck_transfers_cancelled_at_matches'),
                                         "(state = 'cancelled') = (cancelled_at IS NOT NULL)")
        batch_op.create_check_constraint(op.f('ck_transfers_cancel_reason_when_cancelled'),
                                         "cancel_reason IS NULL OR state = 'cancelled'")
        batch_op.create_check_constraint(op.f('ck_transfers_cancel_code_matches'),
                                         "(state = 'cancelled') = (cancel_code IS NOT NULL)")
        batch_op.create_foreign_key(
            op.f('fk_transfers_group_id_cancelled_by_id_memberships'), 'memberships',
            ['group_id', 'cancelled_by_id'], ['group_id', 'id'])
        batch_op.create_check_constraint(op.f('ck_transfers_reversal_links_original'),
                                         "(kind = 'reversal') = (reverses_id IS NOT NULL)")
        batch_op.create_check_constraint(op.f('ck_transfers_not_self_reversal'),
                                         'reverses_id IS NULL OR reverses_id <> id')
        batch_op.create_check_constraint(
            op.f('ck_transfers_rating_range'),
            "rating IS NULL OR (rating BETWEEN 1 AND 10 AND state = 'completed')")
        batch_op.create_check_constraint(
            op.f('ck_transfers_only_payments_and_requests_wait'),
            "kind NOT IN ('reversal', 'on_behalf', 'bulk', 'issuance') OR state <> 'pending'")
        batch_op.create_index('ix_transfers_batch_key', ['batch_key'], unique=False)
        batch_op.create_index('uq_transfers_reverses_id', ['reverses_id'], unique=True,
                              postgresql_where=sa.text('reverses_id IS NOT NULL'))
        batch_op.create_index('ix_transfers_pending_payer', ['payer_account_id'], unique=False,
                              postgresql_where=sa.text("state = 'pending'"))
        batch_op.create_index('ix_transfers_pending_payee', ['payee_account_id'], unique=False,
                              postgresql_where=sa.text("state = 'pending'"))

    # --- limit_changes ------------------------------------------------------------------------
    op.create_table('limit_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('currency_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.Column('old_min_balance', sa.BigInteger(), nullable=True),
    sa.Column('old_max_balance', sa.BigInteger(), nullable=True),
    sa.Column('new_min_balance', sa.BigInteger(), nullable=True),
    sa.Column('new_max_balance', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('new_min_balance IS NULL OR new_max_balance IS NULL OR new_min_balance <= new_max_balance', name=op.f('ck_limit_changes_new_limits_ordered')),
    sa.ForeignKeyConstraint(['group_id', 'account_id'], ['accounts.group_id', 'accounts.id'], name=op.f('fk_limit_changes_group_id_account_id_accounts')),
    sa.ForeignKeyConstraint(['group_id', 'changed_by_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_limit_changes_group_id_changed_by_id_memberships')),
    sa.ForeignKeyConstraint(['group_id', 'currency_id'], ['currencies.group_id', 'currencies.id'], name=op.f('fk_limit_changes_group_id_currency_id_currencies')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_limit_changes_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_limit_changes'))
    )
    with op.batch_alter_table('limit_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_limit_changes_group_id'), ['group_id'], unique=False)
        batch_op.create_index('ix_limit_changes_account_id_created_at',
                              ['account_id', 'created_at'], unique=False)
        batch_op.create_index('ix_limit_changes_currency_id_created_at',
                              ['currency_id', 'created_at'], unique=False)

    # --- triggers -----------------------------------------------------------------------------
    op.execute(BALANCED_FUNCTION)
    op.execute("""
        CREATE CONSTRAINT TRIGGER ledger_entries_balanced
        AFTER INSERT ON entries
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_transfer_balanced()""")
    op.execute("""
        CREATE CONSTRAINT TRIGGER ledger_transfers_balanced
        AFTER INSERT OR UPDATE OF state ON transfers
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION ledger_check_transfer_balanced()""")
    op.execute(ENTRIES_IMMUTABLE_FUNCTION)
    op.execute("""
        CREATE TRIGGER ledger_entries_immutable
        BEFORE UPDATE OR DELETE ON entries
        FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()""")
    op.execute(TRANSFERS_IMMUTABLE_FUNCTION)
    op.execute("""
        CREATE TRIGGER ledger_transfers_immutable
        BEFORE UPDATE OR DELETE ON transfers
        FOR EACH ROW EXECUTE FUNCTION ledger_transfers_immutable()""")


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS ledger_transfers_immutable ON transfers")
    op.execute("DROP FUNCTION IF EXISTS ledger_transfers_immutable()")
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_immutable ON entries")
    op.execute("DROP FUNCTION IF EXISTS ledger_entries_immutable()")
    op.execute("DROP TRIGGER IF EXISTS ledger_transfers_balanced ON transfers")
    op.execute("DROP TRIGGER IF EXISTS ledger_entries_balanced ON entries")
    op.execute("DROP FUNCTION IF EXISTS ledger_check_transfer_balanced()")

    with op.batch_alter_table('limit_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_limit_changes_currency_id_created_at')
        batch_op.drop_index('ix_limit_changes_account_id_created_at')
        batch_op.drop_index(batch_op.f('ix_limit_changes_group_id'))
    op.drop_table('limit_changes')

    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_transfers_pending_payee')
        batch_op.drop_index('ix_transfers_pending_payer')
        batch_op.drop_index('uq_transfers_reverses_id')
        batch_op.drop_index('ix_transfers_batch_key')
        for name in ('only_payments_and_requests_wait', 'rating_range', 'not_self_reversal',
                     'reversal_links_original', 'cancel_code_matches',
                     'cancel_reason_when_cancelled',
                     'cancelled_at_matches', 'completed_at_matches'):
            batch_op.drop_constraint(op.f(f'ck_transfers_{name}'), type_='check')
        batch_op.drop_constraint(op.f('fk_transfers_group_id_cancelled_by_id_memberships'),
                                 type_='foreignkey')
        batch_op.drop_column('cancelled_by_id')
        batch_op.drop_column('cancel_code')
        batch_op.drop_column('rated_at')
        batch_op.drop_column('rating')
        batch_op.drop_column('batch_key')

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_accounts_issuer_currency_id')
        batch_op.drop_constraint(op.f('ck_accounts_issuer_is_group_account'), type_='check')
        batch_op.drop_constraint(op.f('ck_accounts_limits_ordered'), type_='check')
        batch_op.drop_column('is_issuer')

    with op.batch_alter_table('currencies', schema=None) as batch_op:
        for name in ('issued_floor_at_zero', 'default_limits_ordered', 'hour_value_positive',
                     'display_format_valid', 'code_format'):
            batch_op.drop_constraint(op.f(f'ck_currencies_{name}'), type_='check')
        batch_op.drop_column('hour_value')
        batch_op.drop_column('display_format')
        batch_op.drop_column('purpose')

    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_groups_rating_scale_range'), type_='check')
        batch_op.drop_column('rating_scale')
        batch_op.drop_column('payments_need_confirmation')
