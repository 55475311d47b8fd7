"""Marketplace forms. Choices that depend on the group are filled in by the routes."""

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
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from timebank.blueprints.forms import AmountField, Form
from timebank.models.marketplace import BODY_MAX, CATEGORY_NAME_MAX, MESSAGE_MAX, TITLE_MAX


class OptionalAmountField(AmountField):
    """An amount that may be left empty (``.subunits`` is then None)."""

    def pre_validate(self, form) -> None:
        if not (self.data or "").strip():
            self.subunits = None
            return
        super().pre_validate(form)


class AdForm(Form):
    kind = RadioField(
        _l("Type of ad"),
        choices=[SelectChoice("offer", _l("Offer: I can give this")),
                 SelectChoice("want", _l("Want: I am looking for this"))],
        default="offer",
        validators=[InputRequired()],
    )
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField(
        _l("Description"),
        description=_l("Markdown works: **bold**, *italic*, lists and links."),
        validators=[Length(max=BODY_MAX)],
        render_kw={"rows": 6},
    )
    category = SelectField(_l("Category"), coerce=int, default=0)
    tags = StringField(
        _l("Tags"),
        description=_l("Separated by commas, for example: garden, tools"),
        validators=[Length(max=500)],
    )
    goods_or_service = RadioField(
        _l("Goods or service"),
        choices=[SelectChoice("service", _l("A service")), SelectChoice("goods", _l("Goods"))],
        default="service",
        validators=[InputRequired()],
    )
    price_amount = OptionalAmountField(
        _l("Price (optional)"), description=_l("For example 1:30, 1.5 or 90 min")
    )
    price_currency = SelectField(_l("Currency"), coerce=int)
    price_unit = SelectField(
        _l("Price per"),
        choices=[SelectChoice("one_off", _l("one-off")), SelectChoice("per_hour", _l("per hour")),
                 SelectChoice("per_day", _l("per day"))],
        default="one_off",
    )
    photo = FileField(
        _l("Photo (optional)"), description=_l("JPEG, PNG, WebP or GIF, at most 5 MB.")
    )
    remove_photo = BooleanField(_l("Remove the current photo"))
    network_published = BooleanField(
        _l("Publish to the network marketplace"),
        description=_l("Members of the other timebanks that trade with the network can find it"
                       " and write to you; your email address stays hidden."),
    )
    submit = SubmitField(_l("Save ad"))


class MessageForm(Form):
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=MESSAGE_MAX)],
        render_kw={"rows": 4},
    )
    submit = SubmitField(_l("Send"))


class ReportForm(Form):
    reason = StringField(_l("Why are you reporting this message?"),
                         validators=[Length(max=500)])
    submit = SubmitField(_l("Report to coordinators"))


class CategoryForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=CATEGORY_NAME_MAX)])
    submit = SubmitField(_l("Save"))


class LifetimeForm(Form):
    ad_lifetime_days = IntegerField(
        _l("Ads stay up for (days)"), validators=[InputRequired(), NumberRange(min=1, max=730)]
    )
    submit = SubmitField(_l("Save"))


class DigestForm(Form):
    digest_frequency = RadioField(
        _l("Email me new ads and possible trades from all my groups"),
        choices=[SelectChoice("daily", _l("Daily")), SelectChoice("weekly", _l("Weekly")),
                 SelectChoice("never", _l("Never"))],
        validators=[InputRequired()],
    )
    digest_includes_network = BooleanField(
        _l("Also list possible trades with ads of other timebanks (network marketplace)"))
    submit = SubmitField(_l("Save"))
