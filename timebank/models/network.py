"""Network-level tables: groups (the tenants) and users (one person across the network)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.extensions import db
from timebank.models.base import created_at_column


class GroupStatus(enum.StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"  # readable with a notice; every write refused
    ARCHIVED = "archived"  # closed: the site answers 410; deletable once exported


class JoinPolicy(enum.StrEnum):
    OPEN = "open"  # anyone who signs up becomes an active member
    APPROVAL = "approval"  # a coordinator approves each request
    INVITATION = "invitation"  # only people a coordinator invited by email may join


def _default_languages(context) -> list[str]:
    """A group made without a language list offers its default language only."""
    return [context.get_current_parameters().get("default_locale") or "en"]


class Group(db.Model):
    """A tenant: one timebank, LETS or mutual-credit circle, served at ``slug.BASE_DOMAIN``."""

    __tablename__ = "groups"
    __table_args__ = (
        # The network console's sorts, each a scan of its index (id breaks ties).
        sa.Index("ix_groups_lower_name_id", sa.text("lower(name)"), "id"),
        sa.Index("ix_groups_status_id", "status", "id"),
        sa.Index("ix_groups_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(63), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[GroupStatus] = mapped_column(
        sa.Enum(GroupStatus, name="group_status", values_callable=lambda e: [m.value for m in e]),
        default=GroupStatus.ACTIVE,
    )
    join_policy: Mapped[JoinPolicy] = mapped_column(
        sa.Enum(JoinPolicy, name="join_policy", values_callable=lambda e: [m.value for m in e]),
        default=JoinPolicy.APPROVAL,
    )
    default_locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # Where the group meets (town, area), shown and searched on the network's landing page.
    place: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    # ISO 3166-1 alpha-2 (GB, ES...): regional date formats and likely time zones (issue 17).
    country: Mapped[str | None] = mapped_column(sa.String(2))
    # Visitors see the group's offers and wants on its public home page.
    ads_public: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # When a network admin last suspended, reactivated or archived the group.
    status_changed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Languages the group's site offers (codes from timebank.i18n.LANGUAGES); the default
    # language is always one of them. Provisioning enables every shipped language.
    languages: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(10)),
        sa.CheckConstraint("default_locale = ANY (languages)", name="default_locale_enabled"),
        default=_default_languages,
    )
    # Ledger settings (DESIGN.md, "Ledger"): whether a payment waits for the payee to accept
    # it, and the scale a payer rates completed work on (1..rating_scale).
    payments_need_confirmation: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    rating_scale: Mapped[int] = mapped_column(
        sa.SmallInteger,
        sa.CheckConstraint("rating_scale BETWEEN 2 AND 10", name="rating_scale_range"),
        default=5,
        server_default="5",
    )
    # Group settings a coordinator controls (issue 6, timebank.settings.general): who sees
    # whose transfers and balances, the logo (a re-encoded PNG, deferred: loaded only when
    # served), and thank-you minutes the community pot pays a volunteer (0 = kudos only).
    members_see_all_transfers: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )
    balances_public: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    logo_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    logo_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    volunteer_thanks_minutes: Mapped[int] = mapped_column(
        sa.Integer,
        sa.CheckConstraint(
            "volunteer_thanks_minutes BETWEEN 0 AND 6000", name="volunteer_thanks_range"
        ),
        default=0,
        server_default="0",
    )
    # Trade with other groups (timebank.trading): opted in by a coordinator; with every group
    # that opted in, or only the partners chosen (trading_partners). The network admin's caps,
    # in network minutes, bound how much the group may owe the network and be owed by it.
    trades_with_network: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    trades_with_all_groups: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    network_owe_cap: Mapped[int | None] = mapped_column(sa.BigInteger)
    network_owed_cap: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_active(self) -> bool:
        return self.status == GroupStatus.ACTIVE

    def __repr__(self) -> str:
        return f"<Group {self.slug}>"


class User(UserMixin, db.Model):
    """One person across the whole network; joins groups through memberships."""

    __tablename__ = "users"
    __table_args__ = (sa.Index("uq_users_email_lower", sa.text("lower(email)"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    is_network_admin: Mapped[bool] = mapped_column(default=False)
    # A member without email, added by a coordinator: the email is a placeholder under the
    # reserved ``.invalid`` domain, no mail is sent, nobody can log in as them; a treasurer
    # records their trades on their behalf.
    is_offline: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = created_at_column()
    # Marketplace digest email across all the user's groups (timebank.marketplace.digest).
    digest_frequency: Mapped[str] = mapped_column(
        sa.Enum("daily", "weekly", "never", name="digest_frequency"), default="weekly"
    )
    digest_sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The digest also lists matches among other groups' network ads (issue 18).
    digest_includes_network: Mapped[bool] = mapped_column(
        default=False, server_default=sa.false()
    )

    memberships: Mapped[list[Membership]] = relationship(  # noqa: F821
        back_populates="user", viewonly=True
    )

    def __repr__(self) -> str:
        return f"<User {self.email}>"
