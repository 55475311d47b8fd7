"""Form pieces shared by several blueprints."""

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import ValidationError

from timebank.i18n import current_locale
from timebank.ledger.amounts import AmountError, parse_amount

AMOUNT_MESSAGES = {
    "empty": _l("Enter an amount."),
    "negative": _l("Enter a positive amount."),
    "zero": _l("Enter an amount greater than zero."),
    "too_large": _l("This amount is too large."),
    "precision": _l("This amount is more precise than the currency allows."),
    "invalid": _l("Enter an amount like 1:30, 1.5 or 90 min."),
}


class AmountField(StringField):
    """A text field holding an amount; after validation ``.subunits`` is the integer value.

    The form sets ``subunits_per_unit`` before validating (60 for hours).
    """

    subunits_per_unit = 60
    subunits: int | None = None

    def pre_validate(self, form) -> None:
        try:
            self.subunits = parse_amount(
                self.data or "", subunits_per_unit=self.subunits_per_unit, locale=current_locale()
            )
        except AmountError as error:
            self.subunits = None
            message = AMOUNT_MESSAGES.get(str(error), AMOUNT_MESSAGES["invalid"])
            raise ValidationError(str(message)) from error
