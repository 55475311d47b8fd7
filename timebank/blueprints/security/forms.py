from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from timebank.blueprints.forms import Form


class CodeForm(Form):
    code = StringField(_l("Code from your app, or a recovery code"),
                       validators=[DataRequired(), Length(max=32)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    submit = SubmitField(_l("Continue"))


class TurnOffForm(Form):
    password = PasswordField(_l("Your password"), validators=[DataRequired()])
    code = StringField(_l("Code from your app, or a recovery code"),
                       validators=[DataRequired(), Length(max=32)])
    submit = SubmitField(_l("Turn off two-factor sign-in"))


class StaffRuleForm(Form):
    staff_need_two_factor = BooleanField(
        _l("Network admins, coordinators and treasurers must use two-factor sign-in"))
    submit = SubmitField(_l("Save"))
