"""Provisioning: create a group with its default currency and first coordinator.

Rules enforced here:

* a slug is a DNS label (RFC 1035 section 2.3.1: letters, digits and inner hyphens, at most 63
  characters; lower case here), not a reserved name, and unique across the network;
* a new group gets an "Hours" currency counted in minutes (60 subunits), named in the group's
  default language, with a default credit limit of -20 hours;
* the first coordinator is a user (found by email, or created) with an active coordinator
  membership and an account.
"""

import re

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from timebank.extensions import db
from timebank.marketplace import service as marketplace
from timebank.models import Currency, CurrencyKind, Group, GroupFigures, JoinPolicy, Role, User
from timebank.people import service as people
from timebank.tenants import group_context
from timebank.user_errors import UserError

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
RESERVED_SLUGS = frozenset(
    {
        "www", "api", "admin", "new", "app", "mail", "smtp", "imap", "pop", "ftp", "static",
        "assets",
        "cdn", "network", "help", "support", "status", "docs", "blog", "dev", "test", "staging",
        "auth", "login", "account", "accounts", "dashboard", "root", "ns1", "ns2", "mx",
    }
)
DEFAULT_MIN_BALANCE = -20 * 60  # -20 hours, in minutes


class ProvisioningError(UserError):
    message = _l("The group could not be created.")


class InvalidSlug(ProvisioningError):
    field = "slug"
    message = _l(
        "Use 1 to 63 lower-case letters, digits or hyphens, not starting or ending with a hyphen."
    )


class ReservedSlug(ProvisioningError):
    field = "slug"
    message = _l("This address is reserved. Choose another one.")


class SlugTaken(ProvisioningError):
    field = "slug"
    message = _l("This address is already taken. Choose another one.")


class CoordinatorPasswordNeeded(ProvisioningError):
    field = "coordinator_password"
    message = _l("This person has no account yet: choose a first password for them.")


def check_slug(slug: str) -> str:
    """Return ``slug`` normalised to lower case, or raise why it cannot be used.

    Raises :class:`InvalidSlug`, :class:`ReservedSlug` or :class:`SlugTaken`.
    """
    slug = (slug or "").strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidSlug()
    if slug in RESERVED_SLUGS:
        raise ReservedSlug()
    if db.session.scalar(sa.select(Group.id).where(Group.slug == slug)) is not None:
        raise SlugTaken()
    return slug


def create_group(
    *,
    name: str,
    slug: str,
    default_locale: str,
    coordinator_email: str,
    coordinator_name: str,
    coordinator_password: str | None = None,
    join_policy: JoinPolicy = JoinPolicy.APPROVAL,
    timezone: str = "UTC",
    languages: list[str] | None = None,
    place: str = "",
    description: str = "",
    default_min_balance: int | None = DEFAULT_MIN_BALANCE,
) -> Group:
    """Create a group, its Hours currency and its first coordinator; return the group.

    An existing user with ``coordinator_email`` becomes the coordinator; otherwise a user is
    created with ``coordinator_password`` (required then). The group offers ``languages``
    (default: every shipped language; a coordinator narrows them later) and always its
    ``default_locale``, which must be shipped. ``place`` and ``description`` (the welcome text
    on the group's home page) are optional; ``default_min_balance`` is the Hours currency's
    default credit limit in minutes (None: no floor, as an import starts with). Raises
    :class:`ProvisioningError` subclasses or :class:`~timebank.people.errors.PeopleError`.
    """
    from flask_babel import pgettext

    from timebank.i18n import LANGUAGES, shipped

    if default_locale not in LANGUAGES:
        raise ProvisioningError()
    slug = check_slug(slug)
    group = Group(
        name=name.strip(),
        slug=slug,
        default_locale=default_locale,
        languages=shipped([*(LANGUAGES if languages is None else languages), default_locale]),
        join_policy=join_policy,
        timezone=timezone,
        place=(place or "").strip()[:120],
        description=(description or "").strip(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(group)
    except sa.exc.IntegrityError as error:  # taken between the check and now
        raise SlugTaken() from error
    db.session.add(GroupFigures(group_id=group.id))  # the console's row, zeros until refreshed

    user = people.find_user_by_email(coordinator_email)
    if user is None:
        if not coordinator_password:
            raise CoordinatorPasswordNeeded()
        user = people.register_user(
            email=coordinator_email,
            name=coordinator_name,
            password=coordinator_password,
            locale=default_locale,
        )
    with group_context(group.id):
        with force_locale(default_locale):
            currency_name = _("Hours")
            # The unit shown after amounts (1:30 h); "u" in Dutch, "س" in Arabic.
            currency_symbol = pgettext("symbol of the Hours currency, at most 8 characters", "h")
            marketplace.create_default_categories()
        db.session.add(
            Currency(
                group_id=group.id,
                code="HOUR",
                name=currency_name,
                symbol=currency_symbol[:8],
                kind=CurrencyKind.MUTUAL_CREDIT,
                subunits_per_unit=60,
                default_min_balance=default_min_balance,
            )
        )
        db.session.flush()
        membership = people.join_group(user=user, group=group, role=Role.COORDINATOR)
        if not membership.is_active:
            people.activate(membership=membership)
    return group


def make_network_admin(*, email: str, name: str, password: str) -> User:
    """Create (or promote) a network admin with this email."""
    user = people.find_user_by_email(email)
    if user is None:
        user = people.register_user(email=email, name=name, password=password)
    user.is_network_admin = True
    db.session.flush()
    return user
