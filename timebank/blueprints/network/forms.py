from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional

from timebank.i18n import LANGUAGES


class CreateGroupForm(FlaskForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Address (subdomain)"),
        validators=[DataRequired(), Length(max=63)],
        description=_l("Lower-case letters, digits and hyphens, e.g. greenvale"),
    )
    default_locale = SelectField(
        _l("Default language"), choices=list(LANGUAGES.items()), default="en"
    )
    join_policy = SelectField(
        _l("Who can join"),
        choices=[("approval", _l("A coordinator approves each member")),
                 ("open", _l("Anyone can join"))],
        default="approval",
    )
    coordinator_name = StringField(
        _l("First coordinator's name"), validators=[DataRequired(), Length(max=120)]
    )
    coordinator_email = EmailField(
        _l("First coordinator's email"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    coordinator_password = PasswordField(
        _l("First coordinator's password"),
        validators=[Optional(), Length(min=8, max=200)],
        description=_l("Needed only if this person has no account yet."),
    )
    submit = SubmitField(_l("Create group"))
