"""group exports stored in pieces (``group_export_chunks``), not in one ``bytea``

An export's ZIP was one ``group_exports.content`` value: the job held the whole file (and every
row it read) in memory to store it, and each download loaded it whole into a web worker
(bench/export.py: 641 MB of peak memory for a group with 220,000 transfers, 58 MB a download
of its 9.6 MB ZIP; issue 14). Now it is stored in pieces of at most 1 MiB, written and read one
at a time. Exports made before are cut into the same pieces. ``content`` stays, unused by this
release, for the release still running during the deploy (or rolled back to), which writes and
reads it: drop it a release later.

Revision ID: 9db948986fbb
Revises: e7f8a9b0c1d2
Create Date: 2026-12-07 20:45:41.959136

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9db948986fbb'
down_revision = 'e7f8a9b0c1d2'
branch_labels = None
depends_on = None

PIECE = 1 << 20  # timebank.portability.export.CHUNK_BYTES


def upgrade():
    op.create_table(
        'group_export_chunks',
        sa.Column('export_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['export_id'], ['group_exports.id'],
                                name=op.f('fk_group_export_chunks_export_id_group_exports'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('export_id', 'seq', name=op.f('pk_group_export_chunks')),
    )
    op.execute(sa.text(
        "INSERT INTO group_export_chunks (export_id, seq, data)"
        " SELECT e.id, n, substring(e.content FROM 1 + n * :piece FOR :piece)"
        "   FROM group_exports AS e,"
        "        generate_series(0, (length(e.content) - 1) / :piece) AS n"
        "  WHERE e.content IS NOT NULL AND length(e.content) > 0"
    ).bindparams(piece=PIECE))


def downgrade():
    op.execute(
        "UPDATE group_exports AS e SET content = pieces.content"
        "  FROM (SELECT export_id, string_agg(data, ''::bytea ORDER BY seq) AS content"
        "          FROM group_export_chunks GROUP BY export_id) AS pieces"
        " WHERE pieces.export_id = e.id AND e.content IS NULL"
    )
    op.drop_table('group_export_chunks')
