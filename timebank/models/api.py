"""The public API's tables: access tokens, remembered answers to idempotent writes, and a
group's choice to publish its offers to the fediverse (issue 19).

An :class:`AccessToken` is bound to one membership (so it is worthless on another group's
host); an :class:`ApexToken` is bound to a person, for the apex's API (the network's own
resources, one's memberships), so a network admin needs no membership to use it. Only the
SHA-256 of a token's secret is stored. An :class:`ApiIdempotency` row remembers the first
answer to a creating write sent with an ``Idempotency-Key``. :class:`FederationSettings` holds
whether the group publishes over ActivityPub and the group actor's RSA key pair;
:class:`FederationFollower` is a fediverse actor following the group.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import TenantMixin, created_at_column, tenant_fk, utcnow
from timebank.models.membership import Membership
from timebank.models.network import User

SCOPES = ("read", "write")


def _scopes_known() -> sa.CheckConstraint:
    return sa.CheckConstraint("scopes <@ ARRAY['read', 'write']::varchar[] "
                              "AND cardinality(scopes) > 0", name="scopes_known")


class TokenColumns:
    """What every token row holds: the SHA-256 of its secret, scopes, expiry, revocation."""

    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)  # SHA-256, hex
    prefix: Mapped[str] = mapped_column(sa.String(16))  # shown in lists: "tb_ab12cd"
    scopes: Mapped[list[str]] = mapped_column(sa.ARRAY(sa.String(8)))
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    @property
    def is_usable(self) -> bool:
        """Neither revoked nor past its expiry."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > utcnow()


class AccessToken(TokenColumns, TenantMixin, db.Model):
    """A personal access token: ``Authorization: Bearer <token>`` acts as its membership."""

    __tablename__ = "access_tokens"
    __table_args__ = (
        tenant_fk("membership_id", "memberships", ondelete="CASCADE"),
        _scopes_known(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(index=True)

    membership: Mapped[Membership] = relationship(
        foreign_keys=[membership_id],
        primaryjoin="and_(AccessToken.membership_id == Membership.id, "
                    "AccessToken.group_id == Membership.group_id)",
        lazy="joined")


class ApexToken(TokenColumns, db.Model):
    """A person's token for the apex's API (network-wide, like users): no membership."""

    __tablename__ = "apex_tokens"
    __table_args__ = (_scopes_known(),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)

    user: Mapped[User] = relationship(lazy="joined")


class ApiIdempotency(TenantMixin, db.Model):
    """The first answer to a creating write sent with one ``Idempotency-Key`` by one member."""

    __tablename__ = "api_idempotency"
    __table_args__ = (
        tenant_fk("membership_id", "memberships", ondelete="CASCADE"),
        sa.UniqueConstraint("group_id", "membership_id", "key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column()
    key: Mapped[str] = mapped_column(sa.String(255))
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # SHA-256 of method, path, body
    status: Mapped[int | None] = mapped_column(sa.SmallInteger)
    body: Mapped[dict | None] = mapped_column(JSONB)
    location: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = created_at_column()


class FederationSettings(TenantMixin, db.Model):
    """Whether the group publishes its public offers and wants over ActivityPub (opt-in)."""

    __tablename__ = "federation_settings"
    __table_args__ = (sa.UniqueConstraint("group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    publishes_offers: Mapped[bool] = mapped_column(default=False)
    # The group actor's RSA key pair (PEM), made when the group first publishes; the public
    # half is in the actor document, the private one signs what the group sends.
    public_key_pem: Mapped[str | None] = mapped_column(sa.Text)
    private_key_pem: Mapped[str | None] = mapped_column(sa.Text)


class FederationFollower(TenantMixin, db.Model):
    """A fediverse actor that follows the group (its ``Follow`` verified and accepted)."""

    __tablename__ = "federation_followers"
    __table_args__ = (sa.UniqueConstraint("group_id", "actor_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_url: Mapped[str] = mapped_column(sa.String(500))
    inbox_url: Mapped[str] = mapped_column(sa.String(500))  # the shared inbox when it has one
    created_at: Mapped[datetime] = created_at_column()
