from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import ValidationError

from timebank.i18n import current_locale
from timebank.ledger.amounts import AmountError, parse_amount


class LimitField(StringField):
    """An optional limit in units (``20``, ``20:30``), stored as ``.subunits`` (None = default).

    With ``ignore_sign`` a leading minus is dropped (a credit limit of ``-20`` and ``20`` both
    mean "20 below zero"); otherwise a negative number is refused.
    """

    subunits_per_unit = 60
    subunits: int | None = None

    def __init__(self, *args, ignore_sign: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ignore_sign = ignore_sign

    def pre_validate(self, form) -> None:
        text = (self.data or "").strip()
        self.subunits = None
        if not text:
            return
        if self.ignore_sign:
            text = text.lstrip("-−")
        try:
            self.subunits = parse_amount(
                text, subunits_per_unit=self.subunits_per_unit, locale=current_locale()
            )
        except AmountError as error:
            if str(error) != "zero":
                raise ValidationError(_l("Enter a number of hours, like 20 or 7:30.")) from error
            self.subunits = 0


class LimitsForm(FlaskForm):
    min_balance = LimitField(
        _l("Credit limit (how far below zero)"),
        description=_l("Leave empty to use the currency's default."),
        ignore_sign=True,
    )
    max_balance = LimitField(
        _l("Ceiling (highest balance)"),
        description=_l("Leave empty to use the currency's default."),
    )
    submit = SubmitField(_l("Save limits"))


class DecisionForm(FlaskForm):
    approve = SubmitField(_l("Approve"))
    decline = SubmitField(_l("Decline"))
