"""schedules: standing orders, membership fees, demurrage (money that moves by itself)

* ``transfer_kind`` gains ``standing_order``, ``fee`` and ``demurrage`` (in an autocommit
  block: PostgreSQL refuses to use a value added in the same transaction). Downgrade cannot
  drop an enum value: the values stay (transfers are never deleted, so those already written
  keep their kind).
* ``currencies``: the membership fee (``fee_amount``, ``fee_interval``, ``fee_policy``,
  ``fee_starts_on``) and demurrage (``demurrage_rate`` in basis points a month,
  ``demurrage_threshold``, ``demurrage_starts_on``).
* ``standing_orders``: a payer pays a payee every week, month or year.
* ``scheduled_runs``: one row per run and period, unique ``(group_id, run_key)``, written in
  the transaction of its transfer (``run_key`` is the transfer's idempotency key): a period
  runs exactly once however often the job runs.

The ledger's SQL functions are unchanged: a scheduled run is an ordinary ``ledger_transfer``.

Revision ID: 7a1b2c3d4e5f
Revises: f4b2c3d4e5f6
Create Date: 2026-12-06 20:49:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7a1b2c3d4e5f'
down_revision = 'f4b2c3d4e5f6'
branch_labels = None
depends_on = None

KINDS = ('standing_order', 'fee', 'demurrage')


def _fk(table, columns, target, target_columns, ondelete=None):
    name = op.f(f"fk_{table}_{'_'.join(columns)}_{target}")
    return sa.ForeignKeyConstraint(columns, [f'{target}.{c}' for c in target_columns],
                                   name=name, ondelete=ondelete)


def upgrade():
    with op.get_context().autocommit_block():
        for kind in KINDS:
            op.execute(f"ALTER TYPE transfer_kind ADD VALUE IF NOT EXISTS '{kind}'")

    op.add_column('currencies', sa.Column('fee_amount', sa.BigInteger(), nullable=True))
    op.add_column('currencies', sa.Column('fee_interval', sa.String(length=8),
                                          server_default='month', nullable=False))
    op.add_column('currencies', sa.Column('fee_policy', sa.String(length=8),
                                          server_default='skip', nullable=False))
    op.add_column('currencies', sa.Column('fee_starts_on', sa.Date(), nullable=True))
    op.add_column('currencies', sa.Column('demurrage_rate', sa.Integer(), nullable=True))
    op.add_column('currencies', sa.Column('demurrage_threshold', sa.BigInteger(),
                                          server_default='0', nullable=False))
    op.add_column('currencies', sa.Column('demurrage_starts_on', sa.Date(), nullable=True))
    op.create_check_constraint('fee_amount_positive', 'currencies',
                               'fee_amount IS NULL OR fee_amount > 0')
    op.create_check_constraint('fee_interval_known', 'currencies',
                               "fee_interval IN ('month', 'year')")
    op.create_check_constraint('fee_policy_known', 'currencies',
                               "fee_policy IN ('skip', 'partial')")
    op.create_check_constraint('demurrage_rate_range', 'currencies',
                               'demurrage_rate IS NULL OR demurrage_rate BETWEEN 1 AND 10000')
    op.create_check_constraint('demurrage_threshold_positive', 'currencies',
                               'demurrage_threshold >= 0')

    op.create_table(
        'standing_orders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('currency_id', sa.Integer(), nullable=False),
        sa.Column('payer_account_id', sa.Integer(), nullable=False),
        sa.Column('payee_account_id', sa.Integer(), nullable=False),
        sa.Column('payer_membership_id', sa.Integer(), nullable=False),
        sa.Column('payee_membership_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=False),
        sa.Column('interval', sa.String(length=8), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('next_index', sa.Integer(), nullable=False),
        sa.Column('next_due_on', sa.Date(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_refusal', sa.String(length=32), nullable=True),
        sa.Column('last_refused_on', sa.Date(), nullable=True),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("interval IN ('week', 'month', 'year')",
                           name=op.f('ck_standing_orders_interval_known')),
        sa.CheckConstraint('amount > 0', name=op.f('ck_standing_orders_amount_positive')),
        sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on',
                           name=op.f('ck_standing_orders_ends_after_start')),
        sa.CheckConstraint('payer_account_id <> payee_account_id',
                           name=op.f('ck_standing_orders_distinct_accounts')),
        _fk('standing_orders', ['group_id', 'cancelled_by_id'], 'memberships',
            ['group_id', 'id']),
        _fk('standing_orders', ['group_id', 'created_by_id'], 'memberships', ['group_id', 'id']),
        _fk('standing_orders', ['group_id', 'currency_id', 'payee_account_id'], 'accounts',
            ['group_id', 'currency_id', 'id']),
        _fk('standing_orders', ['group_id', 'currency_id', 'payer_account_id'], 'accounts',
            ['group_id', 'currency_id', 'id']),
        _fk('standing_orders', ['group_id', 'payee_membership_id'], 'memberships',
            ['group_id', 'id']),
        _fk('standing_orders', ['group_id', 'payer_membership_id'], 'memberships',
            ['group_id', 'id']),
        _fk('standing_orders', ['group_id'], 'groups', ['id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_standing_orders')),
        sa.UniqueConstraint('group_id', 'id', name=op.f('uq_standing_orders_group_id_id')),
    )
    op.create_index('ix_standing_orders_due', 'standing_orders', ['next_due_on'],
                    postgresql_where=sa.text('cancelled_at IS NULL'))
    for column in ('group_id', 'payee_account_id', 'payee_membership_id', 'payer_account_id',
                   'payer_membership_id'):
        op.create_index(op.f(f'ix_standing_orders_{column}'), 'standing_orders', [column])

    op.create_table(
        'scheduled_runs',
        sa.Column('id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('run_key', sa.String(length=64), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('currency_id', sa.Integer(), nullable=False),
        sa.Column('standing_order_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('outcome', sa.String(length=8), nullable=False),
        sa.Column('refusal', sa.String(length=32), nullable=True),
        sa.Column('transfer_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.CheckConstraint("(outcome IN ('paid', 'partial')) = (transfer_id IS NOT NULL)",
                           name=op.f('ck_scheduled_runs_paid_has_transfer')),
        sa.CheckConstraint("kind IN ('standing_order', 'fee', 'demurrage')",
                           name=op.f('ck_scheduled_runs_kind_known')),
        sa.CheckConstraint("outcome IN ('paid', 'partial', 'refused', 'done')",
                           name=op.f('ck_scheduled_runs_outcome_known')),
        _fk('scheduled_runs', ['group_id', 'account_id'], 'accounts', ['group_id', 'id']),
        _fk('scheduled_runs', ['group_id', 'standing_order_id'], 'standing_orders',
            ['group_id', 'id'], ondelete='CASCADE'),
        _fk('scheduled_runs', ['group_id', 'transfer_id'], 'transfers', ['group_id', 'id']),
        _fk('scheduled_runs', ['group_id'], 'groups', ['id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scheduled_runs')),
        sa.UniqueConstraint('group_id', 'run_key', name=op.f('uq_scheduled_runs_group_id_run_key')),
    )
    op.create_index('ix_scheduled_runs_account_id', 'scheduled_runs', ['account_id'],
                    postgresql_where=sa.text('account_id IS NOT NULL'))
    op.create_index(op.f('ix_scheduled_runs_group_id'), 'scheduled_runs', ['group_id'])
    op.create_index('ix_scheduled_runs_standing_order_id', 'scheduled_runs',
                    ['standing_order_id'],
                    postgresql_where=sa.text('standing_order_id IS NOT NULL'))


def downgrade():
    op.drop_table('scheduled_runs')
    op.drop_table('standing_orders')
    for name in ('demurrage_threshold_positive', 'demurrage_rate_range', 'fee_policy_known',
                 'fee_interval_known', 'fee_amount_positive'):
        op.drop_constraint(op.f(f'ck_currencies_{name}'), 'currencies', type_='check')
    for column in ('demurrage_starts_on', 'demurrage_threshold', 'demurrage_rate',
                   'fee_starts_on', 'fee_policy', 'fee_interval', 'fee_amount'):
        op.drop_column('currencies', column)
