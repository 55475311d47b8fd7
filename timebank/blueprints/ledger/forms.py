"""Ledger forms. Every write form carries an idempotency key (a hidden field set on GET), so a
resubmitted or retried form returns the first result instead of writing twice."""

import re
import uuid

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from timebank.blueprints.forms import (
    AmountField,
    DaysChecked,
    Form,
    LimitField,
    LocaleDecimalField,
)


class LedgerForm(Form):
    """A write form with an idempotency key."""

    idempotency_key = HiddenField()

    def fill_key(self) -> None:
        """Give a fresh key to a form being shown for the first time."""
        if not self.idempotency_key.data:
            self.idempotency_key.data = uuid.uuid4().hex

    @property
    def key(self) -> str | None:
        return (self.idempotency_key.data or "").strip()[:64] or None

    def validate_currency(self, field) -> None:
        """A submitted currency must be one the form offers (an active one): a code that is
        unknown, or was retired while the form was open, never pays in another currency.
        Left out, the page's currency is used."""
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("This currency is not in use in this group."))


class PayForm(LedgerForm):
    currency = SelectField(_l("Currency"), validate_choice=False)
    payee = SelectField(_l("Pay to"), coerce=int, validators=[DataRequired()])
    amount = AmountField(
        _l("Amount"), description=_l("For example 1:30, 1.5 or 90 min")
    )
    description = StringField(
        _l("What for"), validators=[DataRequired(), Length(max=500)]
    )
    submit = SubmitField(_l("Pay"))


class RequestForm(LedgerForm):
    currency = SelectField(_l("Currency"), validate_choice=False)
    payer = SelectField(_l("Ask"), coerce=int, validators=[DataRequired()])
    amount = AmountField(_l("Amount"), description=_l("For example 1:30, 1.5 or 90 min"))
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Send request"))


class OnBehalfForm(LedgerForm):
    currency = SelectField(_l("Currency"), validate_choice=False)
    payer = SelectField(_l("Payer"), coerce=int, validators=[DataRequired()])
    payee = SelectField(_l("Payee"), coerce=int, validators=[DataRequired()])
    amount = AmountField(_l("Amount"), description=_l("For example 1:30, 1.5 or 90 min"))
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Record payment"))


class EditTransferForm(LedgerForm):
    amount = AmountField(_l("Amount"), description=_l("For example 1:30, 1.5 or 90 min"))
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Save changes"))


class DecisionForm(LedgerForm):
    """Accept, decline or withdraw a pending transfer (one button each)."""

    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])
    accept = SubmitField(_l("Accept"))
    decline = SubmitField(_l("Decline"))
    withdraw = SubmitField(_l("Withdraw"))


class ReverseForm(LedgerForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Reverse this transfer"))


class RateForm(LedgerForm):
    rating = RadioField(_l("Your rating"), coerce=int, validators=[InputRequired()])
    submit = SubmitField(_l("Rate"))


class BulkForm(LedgerForm):
    currency = SelectField(_l("Currency"), validate_choice=False)
    direction = RadioField(
        _l("Direction"),
        choices=[SelectChoice("pay", _l("One pays many")),
                 SelectChoice("collect", _l("Many pay one"))],
        default="pay",
    )
    counterpart = SelectField(_l("The one"), coerce=int, validators=[DataRequired()])
    legs = TextAreaField(
        _l("The many"),
        description=_l("One per line: the member's name, a comma, the amount. "
                       "For example: Ann Baker, 1:30"),
        validators=[DataRequired()],
        render_kw={"rows": 6},
    )
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Record all"))


class IssueForm(LedgerForm):
    payee = SelectField(_l("Issue to"), coerce=int, validators=[DataRequired()])
    amount = AmountField(_l("Amount"))
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Issue"))


class AccountLimitsForm(LedgerForm):
    min_balance = LimitField(
        _l("Credit limit (how far below zero)"),
        description=_l("Leave empty to use the currency's default."),
        ignore_sign=True,
    )
    max_balance = LimitField(
        _l("Ceiling (highest balance)"),
        description=_l("Leave empty to use the currency's default."),
    )
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Save limits"))


class CurrencyForm(LedgerForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=12)],
                       description=_l("Capital letters or digits, like HOUR or SEEDS."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    symbol = StringField(_l("Symbol"), validators=[DataRequired(), Length(max=8)])
    purpose = TextAreaField(_l("Purpose"), validators=[Optional(), Length(max=2000)],
                            render_kw={"rows": 2})
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice("mutual_credit",
                     _l("Mutual credit (balances start at zero and may go below)")),
        SelectChoice("issued", _l("Issued (a treasurer issues it; holders never go below zero)")),
    ])
    subunits_per_unit = SelectField(_l("Counted in"), coerce=int, choices=[
        SelectChoice(60, _l("minutes (60 per unit)")), SelectChoice(4, _l("quarters (4 per unit)")),
        SelectChoice(100, _l("hundredths (100 per unit)")), SelectChoice(1, _l("whole units")),
    ])
    display_format = SelectField(_l("Display"), choices=[
        SelectChoice("time", _l("as time: 1:30")), SelectChoice("decimal", _l("as a number: 1.50")),
    ])
    default_min_balance = LimitField(_l("Default credit limit (how far below zero)"),
                                     description=_l("Empty: no limit."), ignore_sign=True)
    default_max_balance = LimitField(_l("Default ceiling"), description=_l("Empty: no ceiling."))
    hour_value = LocaleDecimalField(_l("Value of one unit in network hours"), places=4, default=1,
                              validators=[InputRequired(), NumberRange(min=0.0001)])
    submit = SubmitField(_l("Save currency"))


class PercentField(StringField):
    """A percentage with at most two decimals (``2``, ``2.5``, ``2,5 %``), 0 to 100; after
    validation ``.basis_points`` holds it in hundredths of a percent (250 for 2.5 %)."""

    basis_points: int = 0
    PATTERN = re.compile(r"^(\d{1,3})(?:[.,](\d{1,2}))?$")

    def pre_validate(self, form) -> None:
        text = (self.data or "").strip().rstrip("%").strip() or "0"
        match = self.PATTERN.match(text)
        if match is None or int(match[1]) * 100 + int((match[2] or "").ljust(2, "0")) > 10_000:
            self.basis_points = 0
            raise ValidationError(_l("Enter a percentage from 0 to 100, like 2 or 2.5."))
        self.basis_points = int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))


class LevyForm(LedgerForm):
    percentage = PercentField(_l("Percentage of each transfer"),
                              description=_l("Rounded down to the smallest unit. 0: none."))
    fixed = LimitField(_l("Fixed amount per transfer"), description=_l("Empty: none."))
    minimum = LimitField(_l("Minimum levy"), description=_l("Empty: no minimum."))
    maximum = LimitField(_l("Maximum levy"), description=_l("Empty: no maximum."))
    charged_to = RadioField(_l("Paid by"), choices=[
        SelectChoice("payer", _l("the payer")), SelectChoice("payee", _l("the payee")),
        SelectChoice("both", _l("each of them (the payer and the payee each pay the levy)")),
    ], default="payer")
    submit = SubmitField(_l("Save levy"))


class CurrencyActionForm(LedgerForm):
    retire = SubmitField(_l("Retire"))
    reactivate = SubmitField(_l("Make active again"))
    delete = SubmitField(_l("Delete"))


class StatementFilterForm(DaysChecked, Form):
    """GET filters of a statement or the group's ledger (no CSRF: it changes nothing); a day
    out of bounds, or an end before the start, is an error next to its field."""

    class Meta:
        csrf = False

    currency = SelectField(_l("Currency"), validate_choice=False)
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])
    counterparty = SelectField(_l("With"), coerce=int, validate_choice=False, default=0)
    state = SelectField(_l("State"), choices=[
        SelectChoice("completed", _l("completed")), SelectChoice("pending", _l("pending")),
        SelectChoice("cancelled", _l("cancelled")),
    ], default="completed", validate_choice=False)
    kind = SelectField(_l("Kind"), validate_choice=False, default="")
