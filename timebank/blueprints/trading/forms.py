"""Trading forms. The bounds form has two amount fields per active currency, made when the
page is built (:func:`settings_form`)."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    widgets,
)
from wtforms.validators import DataRequired, Length

from timebank.blueprints.forms import AmountField, Form, LimitField
from timebank.blueprints.ledger.forms import LedgerForm


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SettingsForm(Form):
    trades_with_network = BooleanField(_l("Trade with other timebanks of the network"))
    trades_with_all_groups = RadioField(
        _l("Trade with"), coerce=int, default=1,
        choices=[SelectChoice(1, _l("every timebank that trades with the network")),
                 SelectChoice(0, _l("only the timebanks chosen below"))],
    )
    partners = CheckboxesField(_l("Chosen timebanks"), coerce=int, validate_choice=False)
    submit = SubmitField(_l("Save"))


def settings_form(currencies, **kwargs) -> SettingsForm:
    """A :class:`SettingsForm` with ``owe_<id>`` and ``owed_<id>`` bounds per currency."""

    class Form(SettingsForm):
        pass

    for currency in currencies:
        setattr(Form, f"owe_{currency.id}", LimitField(
            _l("%(currency)s: our members may owe other timebanks up to",
               currency=currency.name), ignore_sign=True))
        setattr(Form, f"owed_{currency.id}", LimitField(
            _l("%(currency)s: other timebanks may owe us up to", currency=currency.name),
            ignore_sign=True))
    return Form(**kwargs)


class CrossPayForm(LedgerForm):
    partner = HiddenField()  # chosen by the GET form above it (the member list follows it)
    payer = SelectField(_l("Payer (an on-behalf entry by a treasurer)"), coerce=int,
                        validate_choice=False)
    payee = SelectField(_l("Pay to"), coerce=int, validate_choice=False,
                        validators=[DataRequired()])  # 0 is "Choose a member"
    currency = SelectField(_l("Currency"), validate_choice=False)
    amount = AmountField(_l("Amount"), description=_l("For example 1:30, 1.5 or 90 min"))
    description = StringField(_l("What for"), validators=[DataRequired(), Length(max=500)])
    submit = SubmitField(_l("Pay"))


class CapsForm(Form):
    owe_cap = LimitField(_l("May owe the network at most (network hours)"), ignore_sign=True)
    owed_cap = LimitField(_l("May be owed at most (network hours)"), ignore_sign=True)
    submit = SubmitField(_l("Save caps"))
