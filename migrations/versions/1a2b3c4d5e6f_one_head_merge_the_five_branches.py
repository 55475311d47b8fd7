"""one head: merge the five branches

Until now the history had five heads (the console, group languages, the marketplace, running a
group and the ledger's chain), so plain ``flask db upgrade`` failed with "Multiple head
revisions" and ``flask db migrate`` refused to run. This revision joins them; it changes no
schema. A database at any of the five heads upgrades to it cleanly (``tests/test_migrations.py``).

Revision ID: 1a2b3c4d5e6f
Revises: a7b8c9d0e1f2, c3a1b2d4e5f6, da1b2c3d4e5f, e5f6a7b8c9d0, f6a7b8c9d0e1
Create Date: 2026-12-06 17:50:26

"""

# revision identifiers, used by Alembic.
revision = '1a2b3c4d5e6f'
down_revision = ('a7b8c9d0e1f2', 'c3a1b2d4e5f6', 'da1b2c3d4e5f', 'e5f6a7b8c9d0', 'f6a7b8c9d0e1')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
