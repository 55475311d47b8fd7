from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length

from timebank.blueprints.forms import Form, select_choices
from timebank.i18n import LANGUAGES
from timebank.security.passwords import StrongPassword

# Length (8-128) and common or breached passwords: timebank.security.passwords (NIST 800-63B).
PASSWORD_RULES = [DataRequired(), StrongPassword()]


class LoginForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Keep me logged in"))
    submit = SubmitField(_l("Log in"))


class SignupForm(Form):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=PASSWORD_RULES, description=_l("At least 8 characters.")
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Sign up"))


class JoinForm(Form):
    submit = SubmitField(_l("Ask to join"))


class ForgotPasswordForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(Form):
    password = PasswordField(_l("New password"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Set password"))


class ChangePasswordForm(Form):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=PASSWORD_RULES)
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class ProfileForm(Form):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    bio = TextAreaField(_l("About you and what you can offer"), validators=[Length(max=2000)])
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Group default"))] + select_choices(LANGUAGES.items()),
    )
    submit = SubmitField(_l("Save"))
