"""marketplace: categories, ads, favourites, conversations, messages, reports, blocks, digest

Revision ID: e5f6a7b8c9d0
Revises: 90ce6d10edda
Create Date: 2026-11-23 09:00:00

Search (see timebank/marketplace/search.py):

* ``pg_trgm``, ``unaccent`` and ``btree_gin`` are created only where the server ships them
  (``pg_available_extensions``). The embedded fallback server (pgserver) ships none of them.
* ``timebank_unaccent(text)`` is an IMMUTABLE wrapper, so it may appear in generated columns and
  indexes: it calls ``unaccent`` with an explicit dictionary where the extension exists, and
  otherwise folds the common Latin accents with ``translate()``.
* ``ads.search_text`` (title and tags, lower case, accent-free) and ``ads.search_vector``
  (title A, tags B, body C, ``simple`` configuration) are stored generated columns.
* With ``pg_trgm``: a GIN trigram index on ``(group_id, search_text)``; with ``btree_gin`` the
  ``group_id`` is a key of the same GIN index, so one group's search never reads another's
  postings. The full-text GIN index likewise includes ``group_id`` when it can.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'e5f6a7b8c9d0'
down_revision = '90ce6d10edda'
branch_labels = None
depends_on = None



def _accent_folds() -> tuple[str, str]:
    """Return (accented, plain) letters of Latin-1 and Latin Extended-A for ``translate()``."""
    manual = {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i", "ß": "s",
              "æ": "a", "Æ": "A", "œ": "o", "Œ": "O", "ð": "d", "Ð": "D", "þ": "t", "Þ": "T"}
    accented, plain = [], []
    for code in range(0xC0, 0x180):
        char = chr(code)
        base = manual.get(char) or unicodedata.normalize("NFKD", char)[0]
        if base != char and base.isascii() and base.isalpha():
            accented.append(char)
            plain.append(base)
    return "".join(accented), "".join(plain)


def _available(bind, extension: str) -> bool:
    return bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": extension}
    ).scalar() is not None


def _installed(bind, extension: str) -> bool:
    return bind.execute(
        sa.text("SELECT 1 FROM pg_extension WHERE extname = :name"), {"name": extension}
    ).scalar() is not None


def _create_extensions(bind) -> dict[str, bool]:
    have = {}
    for extension in ("pg_trgm", "unaccent", "btree_gin"):
        if _available(bind, extension):
            try:  # a role that may not create it leaves the fallback in place
                with bind.begin_nested():
                    bind.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
            except sa.exc.DBAPIError:
                pass
        have[extension] = _installed(bind, extension)
    return have


def _create_functions(have: dict[str, bool]) -> None:
    if have["unaccent"]:
        # The two-argument form with a schema-qualified dictionary does not depend on
        # search_path, which is what makes declaring the wrapper IMMUTABLE safe.
        schema = op.get_bind().execute(sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'unaccent'"
        )).scalar()
        body = f"SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1)"
    else:
        accented, plain = _accent_folds()
        body = f"SELECT translate($1, '{accented}', '{plain}')"
    op.execute(
        "CREATE OR REPLACE FUNCTION timebank_unaccent(text) RETURNS text"
        f" LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $fn$ {body} $fn$"
    )
    # array_to_string is only STABLE in general (element output functions); for text[] it is
    # immutable, which generated columns need.
    op.execute(
        "CREATE OR REPLACE FUNCTION timebank_join_tags(character varying[]) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS"
        " $fn$ SELECT coalesce(array_to_string($1, ' '), '') $fn$"
    )


def upgrade():
    bind = op.get_bind()
    have = _create_extensions(bind)
    _create_functions(have)

    digest_frequency = postgresql.ENUM('daily', 'weekly', 'never', name='digest_frequency')
    digest_frequency.create(bind, checkfirst=True)
    op.add_column('users', sa.Column(
        'digest_frequency', postgresql.ENUM(name='digest_frequency', create_type=False),
        server_default='weekly', nullable=False))
    op.add_column('users', sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('marketplace_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ad_lifetime_days', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('ad_lifetime_days BETWEEN 1 AND 730', name=op.f('ck_marketplace_settings_lifetime_range')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_marketplace_settings_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_marketplace_settings')),
    sa.UniqueConstraint('group_id', name=op.f('uq_marketplace_settings_group_id'))
    )
    op.create_index(op.f('ix_marketplace_settings_group_id'), 'marketplace_settings', ['group_id'], unique=False)

    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_categories_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_categories_group_id_id')),
    sa.UniqueConstraint('group_id', 'name', name=op.f('uq_categories_group_id_name'))
    )
    op.create_index(op.f('ix_categories_group_id'), 'categories', ['group_id'], unique=False)

    op.create_table('ads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('offer', 'want', name='ad_kind'), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.String(length=40)), server_default='{}', nullable=False),
    sa.Column('goods_or_service', sa.Enum('goods', 'service', name='goods_or_service'), nullable=False),
    sa.Column('price_amount', sa.BigInteger(), nullable=True),
    sa.Column('price_currency_id', sa.Integer(), nullable=True),
    sa.Column('price_unit', sa.Enum('one_off', 'per_hour', 'per_day', name='price_unit'), nullable=True),
    sa.Column('photo_path', sa.String(length=255), nullable=True),
    sa.Column('status', sa.Enum('active', 'paused', 'expired', name='ad_status'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expiry_reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('search_text', sa.Text(), sa.Computed("lower(timebank_unaccent(title || ' ' || timebank_join_tags(tags)))", persisted=True), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR(), sa.Computed(
        "setweight(to_tsvector('simple'::regconfig, lower(timebank_unaccent(title))), 'A')"
        " || setweight(to_tsvector('simple'::regconfig, lower(timebank_unaccent(timebank_join_tags(tags)))), 'B')"
        " || setweight(to_tsvector('simple'::regconfig, lower(timebank_unaccent(body))), 'C')",
        persisted=True), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('char_length(title) BETWEEN 1 AND 120', name=op.f('ck_ads_title_length')),
    sa.CheckConstraint('(price_amount IS NULL) = (price_currency_id IS NULL) AND (price_amount IS NULL) = (price_unit IS NULL)', name=op.f('ck_ads_price_complete')),
    sa.CheckConstraint('price_amount > 0', name=op.f('ck_ads_price_positive')),
    sa.ForeignKeyConstraint(['group_id', 'author_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_ads_group_id_author_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'category_id'], ['categories.group_id', 'categories.id'], name=op.f('fk_ads_group_id_category_id_categories')),
    sa.ForeignKeyConstraint(['group_id', 'price_currency_id'], ['currencies.group_id', 'currencies.id'], name=op.f('fk_ads_group_id_price_currency_id_currencies')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_ads_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ads')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_ads_group_id_id'))
    )
    op.create_index(op.f('ix_ads_group_id'), 'ads', ['group_id'], unique=False)
    op.create_index(op.f('ix_ads_category_id'), 'ads', ['category_id'], unique=False)
    op.create_index('ix_ads_group_id_status_created_at', 'ads', ['group_id', 'status', 'created_at'], unique=False)
    op.create_index('ix_ads_group_id_author_id', 'ads', ['group_id', 'author_id'], unique=False)
    # Search indexes (not declared on the model: they depend on the extensions present).
    gin_group = "group_id, " if have["btree_gin"] else ""
    op.execute(f"CREATE INDEX ix_ads_search_vector ON ads USING gin ({gin_group}search_vector)")
    if have["pg_trgm"]:
        op.execute(
            f"CREATE INDEX ix_ads_search_text_trgm ON ads USING gin ({gin_group}search_text gin_trgm_ops)"
        )

    op.create_table('favourite_ads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('ad_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id', 'ad_id'], ['ads.group_id', 'ads.id'], name=op.f('fk_favourite_ads_group_id_ad_id_ads'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'membership_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_favourite_ads_group_id_membership_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_favourite_ads_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_favourite_ads')),
    sa.UniqueConstraint('group_id', 'membership_id', 'ad_id', name=op.f('uq_favourite_ads_group_id_membership_id_ad_id'))
    )
    op.create_index(op.f('ix_favourite_ads_group_id'), 'favourite_ads', ['group_id'], unique=False)
    op.create_index(op.f('ix_favourite_ads_ad_id'), 'favourite_ads', ['ad_id'], unique=False)

    op.create_table('favourite_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('membership_id', sa.Integer(), nullable=False),
    sa.Column('favourite_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('membership_id <> favourite_id', name=op.f('ck_favourite_members_not_self')),
    sa.ForeignKeyConstraint(['group_id', 'favourite_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_favourite_members_group_id_favourite_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'membership_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_favourite_members_group_id_membership_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_favourite_members_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_favourite_members')),
    sa.UniqueConstraint('group_id', 'membership_id', 'favourite_id', name=op.f('uq_favourite_members_group_id_membership_id_favourite_id'))
    )
    op.create_index(op.f('ix_favourite_members_group_id'), 'favourite_members', ['group_id'], unique=False)
    op.create_index(op.f('ix_favourite_members_favourite_id'), 'favourite_members', ['favourite_id'], unique=False)

    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('low_id', sa.Integer(), nullable=False),
    sa.Column('high_id', sa.Integer(), nullable=False),
    sa.Column('ad_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('low_id < high_id', name=op.f('ck_conversations_ordered_pair')),
    sa.ForeignKeyConstraint(['group_id', 'ad_id'], ['ads.group_id', 'ads.id'], name=op.f('fk_conversations_group_id_ad_id_ads')),
    sa.ForeignKeyConstraint(['group_id', 'high_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_conversations_group_id_high_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'low_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_conversations_group_id_low_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_conversations_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_conversations_group_id_id')),
    sa.UniqueConstraint('group_id', 'low_id', 'high_id', name=op.f('uq_conversations_group_id_low_id_high_id'))
    )
    op.create_index(op.f('ix_conversations_group_id'), 'conversations', ['group_id'], unique=False)
    op.create_index('ix_conversations_group_id_high_id', 'conversations', ['group_id', 'high_id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('ad_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('sender_id <> recipient_id', name=op.f('ck_messages_distinct_parties')),
    sa.CheckConstraint('char_length(body) BETWEEN 1 AND 5000', name=op.f('ck_messages_body_length')),
    sa.ForeignKeyConstraint(['group_id', 'ad_id'], ['ads.group_id', 'ads.id'], name=op.f('fk_messages_group_id_ad_id_ads')),
    sa.ForeignKeyConstraint(['group_id', 'conversation_id'], ['conversations.group_id', 'conversations.id'], name=op.f('fk_messages_group_id_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'recipient_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_messages_group_id_recipient_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'sender_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_messages_group_id_sender_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_messages_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('group_id', 'id', name=op.f('uq_messages_group_id_id'))
    )
    op.create_index(op.f('ix_messages_group_id'), 'messages', ['group_id'], unique=False)
    op.create_index('ix_messages_conversation_id_id', 'messages', ['conversation_id', 'id'], unique=False)
    op.create_index('ix_messages_recipient_id_unread', 'messages', ['recipient_id'], unique=False, postgresql_where=sa.text('read_at IS NULL'))

    op.create_table('message_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id', 'message_id'], ['messages.group_id', 'messages.id'], name=op.f('fk_message_reports_group_id_message_id_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'reporter_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_message_reports_group_id_reporter_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'resolved_by_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_message_reports_group_id_resolved_by_id_memberships')),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_message_reports_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_reports')),
    sa.UniqueConstraint('group_id', 'message_id', 'reporter_id', name=op.f('uq_message_reports_group_id_message_id_reporter_id'))
    )
    op.create_index(op.f('ix_message_reports_group_id'), 'message_reports', ['group_id'], unique=False)

    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('blocker_id', sa.Integer(), nullable=False),
    sa.Column('blocked_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('blocker_id <> blocked_id', name=op.f('ck_blocks_not_self')),
    sa.ForeignKeyConstraint(['group_id', 'blocked_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_blocks_group_id_blocked_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id', 'blocker_id'], ['memberships.group_id', 'memberships.id'], name=op.f('fk_blocks_group_id_blocker_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_blocks_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocks')),
    sa.UniqueConstraint('group_id', 'blocker_id', 'blocked_id', name=op.f('uq_blocks_group_id_blocker_id_blocked_id'))
    )
    op.create_index(op.f('ix_blocks_group_id'), 'blocks', ['group_id'], unique=False)


def downgrade():
    op.drop_table('blocks')
    op.drop_table('message_reports')
    op.drop_table('messages')
    op.drop_table('conversations')
    op.drop_table('favourite_members')
    op.drop_table('favourite_ads')
    op.drop_table('ads')
    op.drop_table('categories')
    op.drop_table('marketplace_settings')
    op.drop_column('users', 'digest_sent_at')
    op.drop_column('users', 'digest_frequency')
    for name in ("digest_frequency", "ad_kind", "ad_status", "goods_or_service", "price_unit"):
        sa.Enum(name=name).drop(op.get_bind(), checkfirst=True)
    op.execute("DROP FUNCTION IF EXISTS timebank_join_tags(character varying[])")
    op.execute("DROP FUNCTION IF EXISTS timebank_unaccent(text)")
    # The extensions stay: other databases objects may use them, and they hold no data.
