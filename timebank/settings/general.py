"""A group's general settings, changed by a coordinator on ``/settings``.

Rules enforced here (issue 6), each field checked before anything changes:

* the name is 1-120 characters; the time zone is an IANA name (:mod:`zoneinfo`);
* the join policy is one of :class:`~timebank.models.JoinPolicy`;
* the default credit limit and ceiling belong to the group's default currency and follow the
  ledger's rules (:func:`timebank.ledger.service.set_currency_defaults`, which records them);
* ad expiry days (1-730), the rating scale (2-10) and payment confirmation are set through
  the marketplace and ledger services that own them;
* thank-you minutes for volunteers: 0 (kudos only) to 6000;
* a logo is an image Pillow can open (PNG, JPEG, WebP or GIF, at most
  ``LOGO_MAX_BYTES``), stored re-encoded as a PNG of at most ``LOGO_MAX_SIDE`` pixels a side;
* every change is recorded in the audit trail (before and after of the fields that changed).

Functions take keyword-only arguments, raise :class:`GeneralSettingsError` subclasses (nothing
changed), and never commit.
"""

import io
from dataclasses import dataclass
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from timebank.audit.service import changes, record
from timebank.extensions import db
from timebank.models import Group, JoinPolicy, Membership, utcnow
from timebank.user_errors import UserError

LOGO_MAX_BYTES = 2 * 1024 * 1024
LOGO_MAX_PIXELS = 25_000_000
LOGO_MAX_SIDE = 512
LOGO_FORMATS = {"PNG", "JPEG", "WEBP", "GIF"}


class GeneralSettingsError(UserError):
    message = _l("These settings could not be saved.")


class NameRequired(GeneralSettingsError):
    field = "name"
    message = _l("Give the group a name (at most 120 characters).")


class UnknownTimeZone(GeneralSettingsError):
    field = "timezone"
    message = _l("Choose a time zone from the list.")


class UnknownJoinPolicy(GeneralSettingsError):
    field = "join_policy"
    message = _l("Choose how people join.")


class UnknownCountry(GeneralSettingsError):
    field = "country"
    message = _l("Choose a country from the list.")


class InvalidThanks(GeneralSettingsError):
    field = "volunteer_thanks_minutes"
    message = _l("Thank-you time is 0 to 100 hours.")


class NotAnImage(GeneralSettingsError):
    field = "logo"
    message = _l("The logo must be a PNG, JPEG, WebP or GIF image of at most 2 MB.")


def time_zones() -> list[str]:
    """Return the IANA time zone names, sorted."""
    return sorted(available_timezones())


def countries() -> set[str]:
    """Return the ISO 3166-1 alpha-2 codes a group may name: Babel's territories that tzdata
    lists with a time zone (so "ZZ", "EU" and the like are not countries)."""
    from babel import Locale

    named = Locale("en").territories
    return {code for code in _zone_table() if code in named}


def zones_of_country(country: str | None) -> list[str]:
    """Return the IANA time zones of ``country`` (ISO 3166-1 alpha-2), from tzdata's
    ``zone.tab``, most populous first as the file lists them; [] if unknown."""
    if not country:
        return []
    return _zone_table().get(country.upper(), [])


def _zone_table() -> dict[str, list[str]]:
    global _ZONES_BY_COUNTRY
    if _ZONES_BY_COUNTRY is None:
        table: dict[str, list[str]] = {}
        try:
            from importlib.resources import files

            text = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text()
        except (ImportError, FileNotFoundError, ModuleNotFoundError):
            try:
                with open("/usr/share/zoneinfo/zone.tab", encoding="utf-8") as source:
                    text = source.read()
            except OSError:
                text = ""
        zones = available_timezones()
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) >= 3 and fields[2] in zones:
                table.setdefault(fields[0], []).append(fields[2])
        _ZONES_BY_COUNTRY = table
    return _ZONES_BY_COUNTRY


_ZONES_BY_COUNTRY: dict[str, list[str]] | None = None


@dataclass
class GeneralSettings:
    """The fields of the settings page (limits in subunits of the default currency; None =
    no limit)."""

    name: str
    description: str
    timezone: str
    join_policy: str
    payments_need_confirmation: bool
    members_see_all_transfers: bool
    balances_public: bool
    default_min_balance: int | None
    default_max_balance: int | None
    ad_lifetime_days: int
    rating_scale: int
    volunteer_thanks_minutes: int
    place: str = ""
    country: str | None = None  # ISO 3166-1 alpha-2
    ads_public: bool = False


def current_settings(group: Group) -> GeneralSettings:
    """Return ``group``'s settings as the page shows them."""
    from timebank.ledger import service as ledger
    from timebank.marketplace import service as marketplace

    currency = ledger.default_currency()
    return GeneralSettings(
        name=group.name, description=group.description or "", timezone=group.timezone,
        join_policy=JoinPolicy(group.join_policy).value,
        payments_need_confirmation=group.payments_need_confirmation,
        members_see_all_transfers=group.members_see_all_transfers,
        balances_public=group.balances_public,
        default_min_balance=currency.default_min_balance if currency else None,
        default_max_balance=currency.default_max_balance if currency else None,
        ad_lifetime_days=marketplace.ad_lifetime_days(),
        rating_scale=group.rating_scale,
        volunteer_thanks_minutes=group.volunteer_thanks_minutes,
        place=group.place or "", country=group.country, ads_public=group.ads_public,
    )


def _check(new: GeneralSettings) -> GeneralSettings:
    from timebank.ledger.errors import InvalidRating
    from timebank.marketplace.errors import InvalidLifetime

    new.name = (new.name or "").strip()
    if not 1 <= len(new.name) <= 120:
        raise NameRequired()
    if new.timezone not in available_timezones():
        raise UnknownTimeZone()
    if new.join_policy not in {policy.value for policy in JoinPolicy}:
        raise UnknownJoinPolicy()
    if not isinstance(new.volunteer_thanks_minutes, int) or not (
        0 <= new.volunteer_thanks_minutes <= 6000
    ):
        raise InvalidThanks()
    if not isinstance(new.rating_scale, int) or not 2 <= new.rating_scale <= 10:
        raise InvalidRating()
    if not isinstance(new.ad_lifetime_days, int) or not 1 <= new.ad_lifetime_days <= 730:
        raise InvalidLifetime()
    new.description = (new.description or "").strip()[:5000]
    new.place = (new.place or "").strip()[:120]
    new.country = (new.country or "").strip().upper() or None
    if new.country is not None and new.country not in countries():
        raise UnknownCountry()
    return new


def update_general_settings(*, group: Group, settings: GeneralSettings,
                            by: Membership | None) -> GeneralSettings:
    """Apply ``settings`` to ``group`` ``by`` a coordinator and record what changed.

    Raises a :class:`GeneralSettingsError`, or the owning service's error for a field it
    checks (:class:`~timebank.ledger.errors.LedgerError` for limits or the rating scale,
    :class:`~timebank.marketplace.errors.MarketplaceError` for ad expiry); nothing is written
    then, because every field is checked before the first change.
    """
    from timebank.ledger import service as ledger
    from timebank.ledger import settings as ledger_settings
    from timebank.ledger.errors import InvalidLimits
    from timebank.marketplace import service as marketplace

    before = current_settings(group)
    new = _check(settings)
    low, high = new.default_min_balance, new.default_max_balance
    if low is not None and high is not None and low > high:  # the ledger's rule, checked early
        raise InvalidLimits()
    currency = ledger.default_currency()
    with db.session.begin_nested():
        group.name = new.name
        group.description = new.description
        ledger_settings.change_time_zone(group=group, timezone=new.timezone)
        group.join_policy = JoinPolicy(new.join_policy)
        group.members_see_all_transfers = bool(new.members_see_all_transfers)
        group.balances_public = bool(new.balances_public)
        group.volunteer_thanks_minutes = new.volunteer_thanks_minutes
        group.place = new.place
        group.country = new.country
        group.ads_public = bool(new.ads_public)
        ledger_settings.update_settings(
            group=group, payments_need_confirmation=new.payments_need_confirmation,
            rating_scale=new.rating_scale)
        if new.ad_lifetime_days != before.ad_lifetime_days:
            marketplace.set_ad_lifetime(days=new.ad_lifetime_days)
        if currency is not None:  # recorded by the ledger and on the trail as its own act
            ledger.set_currency_defaults(
                currency=currency, default_min_balance=new.default_min_balance,
                default_max_balance=new.default_max_balance, changed_by=by,
                reason="group settings")
        db.session.flush()
    old_values, new_values = changes(vars(before), vars(current_settings(group)))
    for key in ("default_min_balance", "default_max_balance"):
        old_values.pop(key, None)
        new_values.pop(key, None)
    if new_values:
        record(action="settings.change", object_type="group", object_id=group.id, actor=by,
               before=old_values, after=new_values)
    return current_settings(group)


def process_logo(stream) -> bytes:
    """Read an uploaded file and return it as checked PNG bytes (at most 512 px a side).

    The file name and declared content type are ignored: the bytes must open with Pillow as
    an allowed format, within the size and pixel limits. Raises :class:`NotAnImage`.
    """
    raw = stream.read(LOGO_MAX_BYTES + 1)
    if not raw or len(raw) > LOGO_MAX_BYTES:
        raise NotAnImage()
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            if probe.format not in LOGO_FORMATS or probe.width * probe.height > LOGO_MAX_PIXELS:
                raise NotAnImage()
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
            if image.mode not in ("RGB", "RGBA"):
                image = image.convert("RGBA")
            output = io.BytesIO()
            image.save(output, format="PNG", optimize=True)  # no metadata carried over
            return output.getvalue()
    except NotAnImage:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise NotAnImage() from error


def set_logo(*, group: Group, stream, by: Membership | None) -> Group:
    """Replace ``group``'s logo with the uploaded image. Raises :class:`NotAnImage`."""
    data = process_logo(stream)
    had = group.logo_updated_at is not None
    group.logo_png = data
    group.logo_updated_at = utcnow()
    db.session.flush()
    record(action="settings.change", object_type="group", object_id=group.id, actor=by,
           before={"logo": "set" if had else None}, after={"logo": f"{len(data)} bytes PNG"})
    return group


def remove_logo(*, group: Group, by: Membership | None) -> Group:
    """Remove ``group``'s logo (no-op without one)."""
    if group.logo_updated_at is None:
        return group
    group.logo_png = None
    group.logo_updated_at = None
    db.session.flush()
    record(action="settings.change", object_type="group", object_id=group.id, actor=by,
           before={"logo": "set"}, after={"logo": None})
    return group
