"""The coordinator's general settings page (``/settings``) and the group's logo (``/logo``)."""

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from timebank.blueprints.forms import Form, LimitField, select_choices
from timebank.blueprints.settings import bp
from timebank.boundary import roll_back_at_end
from timebank.extensions import db
from timebank.i18n import current_locale
from timebank.ledger import service as ledger
from timebank.ledger.amounts import format_amount
from timebank.ledger.errors import LedgerError
from timebank.marketplace.errors import MarketplaceError
from timebank.models import Group
from timebank.policy import current_membership, group_only, require
from timebank.settings import general
from timebank.settings.general import GeneralSettings, GeneralSettingsError


class GeneralSettingsForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)],
                                render_kw={"rows": 3})
    logo = FileField(_l("Logo"), description=_l("PNG, JPEG, WebP or GIF, at most 2 MB."))
    remove_logo = BooleanField(_l("Remove the logo"))
    place = StringField(_l("Place"), validators=[Optional(), Length(max=120)],
                        description=_l("A town or neighbourhood, shown to visitors."))
    country = SelectField(_l("Country"), default="",
                          description=_l("Sets the regional date format and the likely time "
                                         "zones."))
    timezone = SelectField(_l("Time zone"),
                           render_kw={"data-timezone-picker": "1",
                                      "data-search-label": _l("Search time zones"),
                                      "data-browser-label": _l("This device's time zone")})
    join_policy = RadioField(_l("How people join"), choices=[
        SelectChoice("open", _l("Open: anyone who signs up is a member at once")),
        SelectChoice("approval", _l("Approval: a coordinator approves each request")),
        SelectChoice("invitation", _l("Invitation only: a coordinator invites people by email")),
    ])
    payments_need_confirmation = BooleanField(_l("Payments wait for the payee's confirmation"))
    members_see_all_transfers = RadioField(_l("Members see"), choices=[
        SelectChoice("own", _l("only their own transfers")),
        SelectChoice("all", _l("everyone's transfers")),
    ])
    balances_public = BooleanField(_l("Members see each other's balances"))
    ads_public = BooleanField(_l("Visitors see our offers and wants on the home page"))
    default_min_balance = LimitField(
        _l("Default credit limit (how far below zero)"),
        description=_l("For members without a limit of their own. Empty: no limit."),
        ignore_sign=True,
    )
    default_max_balance = LimitField(_l("Default ceiling"),
                                     description=_l("Empty: no ceiling."))
    ad_lifetime_days = IntegerField(_l("Ads expire after (days)"),
                                    validators=[InputRequired(), NumberRange(min=1, max=730)])
    rating_scale = IntegerField(_l("Rating scale (highest mark)"),
                                validators=[InputRequired(), NumberRange(min=2, max=10)])
    volunteer_thanks = LimitField(
        _l("Thank volunteers with hours from the group account"),
        description=_l("Hours paid to a volunteer when their part is marked done. "
                       "Empty or 0: kudos only."),
    )
    submit = SubmitField(_l("Save settings"))


def country_choices() -> list[SelectChoice]:
    """"Not set" (value ""), then every country by its name in the reader's language."""
    from babel import Locale

    names = Locale.parse(current_locale()).territories
    codes = general.countries()
    rows = sorted(((code, names.get(code, code)) for code in codes), key=lambda row: row[1])
    return [SelectChoice("", _("Not set"))] + select_choices(rows)


def time_zone_choices(country: str | None) -> list[SelectChoice]:
    """The time zones, the country's first (an option group each); the page's script adds
    the browser's zone on top and a search box (``static/js/timezone_picker.js``)."""

    def options(zones: list[str], group: str | None = None) -> list[SelectChoice]:
        return [SelectChoice(zone, zone.replace("_", " "), optgroup=group) for zone in zones]

    likely = general.zones_of_country(country)
    if not likely:
        return options(general.time_zones())
    return (options(likely, str(_("Likely time zones")))
            + options(general.time_zones(), str(_("All time zones"))))


def _hours_text(subunits: int | None, per_unit: int) -> str:
    if subunits is None:
        return ""
    return format_amount(subunits, subunits_per_unit=per_unit, locale=current_locale())


@bp.route("/settings", methods=["GET", "POST"])
@require("settings.general")
def general_settings():
    """Name, logo, time zone, join policy, visibility, limits, expiry and rating settings."""
    group = db.session.get(Group, g.group.id)
    currency = ledger.default_currency()
    per_unit = currency.subunits_per_unit if currency else 60
    form = GeneralSettingsForm()
    form.country.choices = country_choices()
    form.timezone.choices = time_zone_choices(
        (request.form.get("country") if request.method == "POST" else None) or group.country)
    for field in (form.default_min_balance, form.default_max_balance):
        field.subunits_per_unit = per_unit
    if request.method == "GET":
        now = general.current_settings(group)
        form.name.data = now.name
        form.description.data = now.description
        form.timezone.data = now.timezone
        form.place.data = now.place
        form.country.data = now.country or ""
        form.ads_public.data = now.ads_public
        form.join_policy.data = now.join_policy
        form.payments_need_confirmation.data = now.payments_need_confirmation
        form.members_see_all_transfers.data = "all" if now.members_see_all_transfers else "own"
        form.balances_public.data = now.balances_public
        low = now.default_min_balance
        form.default_min_balance.data = _hours_text(None if low is None else -low, per_unit)
        form.default_max_balance.data = _hours_text(now.default_max_balance, per_unit)
        form.ad_lifetime_days.data = now.ad_lifetime_days
        form.rating_scale.data = now.rating_scale
        form.volunteer_thanks.data = _hours_text(now.volunteer_thanks_minutes or None, 60)
    if form.validate_on_submit():
        low = form.default_min_balance.subunits
        wanted = GeneralSettings(
            name=form.name.data, description=form.description.data or "",
            timezone=form.timezone.data, join_policy=form.join_policy.data,
            payments_need_confirmation=form.payments_need_confirmation.data,
            members_see_all_transfers=form.members_see_all_transfers.data == "all",
            balances_public=form.balances_public.data,
            default_min_balance=None if low is None else -low,
            default_max_balance=form.default_max_balance.subunits,
            ad_lifetime_days=form.ad_lifetime_days.data, rating_scale=form.rating_scale.data,
            volunteer_thanks_minutes=form.volunteer_thanks.subunits or 0,
            place=form.place.data or "", country=form.country.data or None,
            ads_public=form.ads_public.data,
        )
        me = current_membership()
        try:
            if form.logo.data and getattr(form.logo.data, "filename", ""):
                general.set_logo(group=group, stream=form.logo.data.stream, by=me)
            elif form.remove_logo.data:
                general.remove_logo(group=group, by=me)
            general.update_general_settings(group=group, settings=wanted, by=me)
        except (GeneralSettingsError, LedgerError, MarketplaceError) as error:
            roll_back_at_end()  # the logo, if it was saved before the error
            field = getattr(form, _field_for(error), None) or form.name
            field.errors = list(field.errors) + [str(error)]
        else:
            flash(_("The group's settings are saved."), "success")
            return redirect(url_for("settings.general_settings"))
    return render_template("settings/general.html", form=form, group=group,
                           currency=currency)


def _field_for(error: Exception) -> str:
    """The form field a service error belongs to."""
    field = getattr(error, "field", None) or "name"
    return {"min_balance": "default_min_balance", "max_balance": "default_max_balance",
            "default_min_balance": "default_min_balance", "rating": "rating_scale",
            "volunteer_thanks_minutes": "volunteer_thanks"}.get(field, field)


@bp.route("/logo")
@group_only
def logo():
    """Public: the group's logo as PNG (404 without one)."""
    group = g.group
    if group.logo_updated_at is None:
        abort(404)
    data = db.session.get(Group, group.id).logo_png
    if not data:
        abort(404)
    import io

    response = send_file(io.BytesIO(data), mimetype="image/png", max_age=3600,
                         etag=f"logo-{group.id}-{int(group.logo_updated_at.timestamp())}",
                         last_modified=group.logo_updated_at)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
