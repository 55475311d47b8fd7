"""trade between groups: clearing accounts, trading settings and partners, linked payments

* ``accounts.is_clearing``: a group account holding the group's position with the rest of the
  network in one currency (at most one per group and currency);
* ``groups.trades_with_network`` / ``trades_with_all_groups`` and the network admin's caps
  ``network_owe_cap`` / ``network_owed_cap`` (network minutes); ``trading_partners``;
* ``intergroup_payments``: the two linked transfers of one payment between groups, with the
  rounding the conversion kept (network seconds);
* the ledger functions of trade between groups (timebank/ledger/sql/ledger_intergroup_*.sql,
  ledger_trading_refusal.sql, ledger_network_seconds.sql).

Revision ID: b18a2c3d4e5f
Revises: a91c0de5f1a2
Create Date: 2026-12-06 18:40:00

"""
import sqlalchemy as sa
from alembic import op

from timebank.ledger.sql import function

# revision identifiers, used by Alembic.
revision = 'b18a2c3d4e5f'
down_revision = 'a91c0de5f1a2'
branch_labels = None
depends_on = None

FUNCTIONS = (
    "ledger_network_seconds",
    "ledger_trading_refusal",
    "ledger_intergroup_transfer",
    "ledger_intergroup_accept",
    "ledger_intergroup_cancel",
    "ledger_intergroup_reverse",
)


def upgrade():
    op.add_column('accounts', sa.Column('is_clearing', sa.Boolean(), server_default=sa.false(),
                                        nullable=False))
    op.create_check_constraint('clearing_is_group_account', 'accounts',
                               "NOT (is_clearing AND (is_issuer OR kind <> 'group'))")
    op.create_index('uq_accounts_clearing', 'accounts', ['group_id', 'currency_id'],
                    unique=True, postgresql_where=sa.text('is_clearing'))
    op.add_column('groups', sa.Column('trades_with_network', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
    op.add_column('groups', sa.Column('trades_with_all_groups', sa.Boolean(),
                                      server_default=sa.true(), nullable=False))
    op.add_column('groups', sa.Column('network_owe_cap', sa.BigInteger(), nullable=True))
    op.add_column('groups', sa.Column('network_owed_cap', sa.BigInteger(), nullable=True))
    op.create_table(
        'trading_partners',
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('partner_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('group_id <> partner_id', name=op.f('ck_trading_partners_not_self')),
        sa.ForeignKeyConstraint(['group_id'], ['groups.id'], ondelete='CASCADE',
                                name=op.f('fk_trading_partners_group_id_groups')),
        sa.ForeignKeyConstraint(['partner_id'], ['groups.id'], ondelete='CASCADE',
                                name=op.f('fk_trading_partners_partner_id_groups')),
        sa.PrimaryKeyConstraint('group_id', 'partner_id', name=op.f('pk_trading_partners')),
    )
    op.create_index(op.f('ix_trading_partners_partner_id'), 'trading_partners', ['partner_id'])
    op.create_table(
        'intergroup_payments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('payer_group_id', sa.Integer(), nullable=False),
        sa.Column('payer_transfer_id', sa.Integer(), nullable=False),
        sa.Column('payee_group_id', sa.Integer(), nullable=False),
        sa.Column('payee_transfer_id', sa.Integer(), nullable=False),
        sa.Column('rounding', sa.Numeric(30, 4), nullable=False),
        sa.Column('reverses_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('payer_group_id <> payee_group_id',
                           name=op.f('ck_intergroup_payments_two_groups')),
        sa.ForeignKeyConstraint(
            ['payer_group_id', 'payer_transfer_id'], ['transfers.group_id', 'transfers.id'],
            ondelete='CASCADE',
            name=op.f('fk_intergroup_payments_payer_group_id_payer_transfer_id_transfers')),
        sa.ForeignKeyConstraint(
            ['payee_group_id', 'payee_transfer_id'], ['transfers.group_id', 'transfers.id'],
            ondelete='CASCADE',
            name=op.f('fk_intergroup_payments_payee_group_id_payee_transfer_id_transfers')),
        sa.ForeignKeyConstraint(['reverses_id'], ['intergroup_payments.id'],
                                name=op.f('fk_intergroup_payments_reverses_id_intergroup_payments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_intergroup_payments')),
        sa.UniqueConstraint('payer_transfer_id', name='uq_intergroup_payments_payer_transfer'),
        sa.UniqueConstraint('payee_transfer_id', name='uq_intergroup_payments_payee_transfer'),
    )
    op.create_index(op.f('ix_intergroup_payments_payer_group_id'), 'intergroup_payments',
                    ['payer_group_id'])
    op.create_index(op.f('ix_intergroup_payments_payee_group_id'), 'intergroup_payments',
                    ['payee_group_id'])
    op.create_index('uq_intergroup_payments_reverses_id', 'intergroup_payments',
                    ['reverses_id'], unique=True,
                    postgresql_where=sa.text('reverses_id IS NOT NULL'))
    op.execute("SET LOCAL check_function_bodies = off")
    for name in FUNCTIONS:
        op.replace_entity(function(name))


def downgrade():
    for name in reversed(FUNCTIONS):
        op.execute(f"DROP FUNCTION {name}")
    op.drop_table('intergroup_payments')
    op.drop_table('trading_partners')
    for column in ('network_owed_cap', 'network_owe_cap', 'trades_with_all_groups',
                   'trades_with_network'):
        op.drop_column('groups', column)
    op.drop_index('uq_accounts_clearing', table_name='accounts')
    op.drop_constraint('clearing_is_group_account', 'accounts', type_='check')
    op.drop_column('accounts', 'is_clearing')
