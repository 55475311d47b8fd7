"""group languages: the languages a group's site offers, its default always among them

* ``groups.languages``: an array of locale codes (``en``, ``pt_BR``...), not null;
* existing groups get every language shipped when this migration was written (before it, every
  group offered all of them), plus their default if it is not one of those;
* CHECK ``default_locale = ANY (languages)``: the default language is always enabled.

Revision ID: c3a1b2d4e5f6
Revises: 90ce6d10edda
Create Date: 2026-11-23 12:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c3a1b2d4e5f6'
down_revision = '90ce6d10edda'
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration must not change when the app ships a new language.
SHIPPED = ['en', 'es', 'ca', 'fr', 'de', 'it', 'pt_BR', 'nl', 'ar']


def upgrade():
    op.add_column(
        'groups', sa.Column('languages', postgresql.ARRAY(sa.String(length=10)), nullable=True)
    )
    groups = sa.table('groups', sa.column('languages', postgresql.ARRAY(sa.String(length=10))))
    op.execute(groups.update().values(languages=SHIPPED))
    op.execute(
        "UPDATE groups SET languages = array_append(languages, default_locale) "
        "WHERE NOT (default_locale = ANY (languages))"
    )
    op.alter_column('groups', 'languages', nullable=False)
    op.create_check_constraint(
        op.f('ck_groups_default_locale_enabled'), 'groups', 'default_locale = ANY (languages)'
    )


def downgrade():
    op.drop_constraint(op.f('ck_groups_default_locale_enabled'), 'groups', type_='check')
    op.drop_column('groups', 'languages')
