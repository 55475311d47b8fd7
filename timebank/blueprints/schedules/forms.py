"""Forms of standing orders and of a currency's membership fee and demurrage."""

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import DateField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from timebank.blueprints.forms import AmountField, Form, LimitField, LocaleDecimalField

INTERVALS = [SelectChoice("week", _l("Every week")), SelectChoice("month", _l("Every month")),
             SelectChoice("year", _l("Every year"))]


class StandingOrderForm(Form):
    payer = SelectField(_l("Payer"), coerce=int)  # shown to treasurers only
    payee = SelectField(_l("Pay to"), coerce=int, validators=[DataRequired()])
    currency = SelectField(_l("Currency"), validate_choice=False)
    amount = AmountField(_l("Amount each time"),
                         description=_l("For example 1:30, 1.5 or 90 min"))
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    interval = SelectField(_l("How often"), choices=INTERVALS, default="month")
    starts_on = DateField(_l("First payment"), validators=[DataRequired()],
                          description=_l("Later payments fall on the same day of the week, "
                                         "month or year (the month's last day when it is "
                                         "shorter)."))
    ends_on = DateField(_l("Last payment on or before (optional)"), validators=[Optional()])
    submit = SubmitField(_l("Set up standing order"))


class CancelOrderForm(Form):
    submit = SubmitField(_l("Cancel this standing order"))


def _two_decimals(form, field) -> None:
    if field.data is not None and (field.data * 100) != (field.data * 100).to_integral_value():
        raise ValidationError(_l("Use at most two decimals."))


class ChargesForm(Form):
    fee_amount = LimitField(_l("Membership fee"),
                            description=_l("Leave empty for no fee. Each active member pays "
                                           "it to the community pot."))
    fee_interval = SelectField(_l("Charged"), choices=[
        SelectChoice("month", _l("Every month")), SelectChoice("year", _l("Every year"))])
    fee_policy = RadioField(
        _l("A member who cannot pay it all within their credit limit"),
        choices=[SelectChoice("skip", _l("Skip them this time and tell them")),
                 SelectChoice("partial", _l("Take what their credit limit still allows"))],
        default="skip")
    demurrage_rate = LocaleDecimalField(
        _l("Demurrage, percent a month"), places=2,
        validators=[Optional(), NumberRange(min=Decimal("0.01"), max=Decimal(100)),
                    _two_decimals],
        description=_l("Leave empty for no demurrage. Charged on the first of each month "
                       "on the part of a balance above the threshold, rounded down."))
    demurrage_threshold = LimitField(_l("Demurrage threshold"),
                                     description=_l("Balances up to this are never charged."))
    submit = SubmitField(_l("Save"))
