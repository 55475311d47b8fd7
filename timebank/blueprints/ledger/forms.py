from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from timebank.blueprints.forms import AmountField


class PayForm(FlaskForm):
    payee = SelectField(_l("Pay to"), coerce=int, validators=[DataRequired()])
    amount = AmountField(
        _l("Amount"), description=_l("For example 1:30, 1.5 or 90 min")
    )
    description = StringField(
        _l("What for"), validators=[DataRequired(), Length(max=500)]
    )
    idempotency_key = HiddenField()
    submit = SubmitField(_l("Pay"))
