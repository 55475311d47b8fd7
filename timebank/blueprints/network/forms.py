from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from timebank.blueprints.forms import Form, select_choices
from timebank.i18n import LANGUAGES
from timebank.provisioning.requests import TIMEZONES
from timebank.security.passwords import StrongPassword


class CreateGroupForm(Form):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Address (subdomain)"),
        validators=[DataRequired(), Length(max=63)],
        description=_l("Lower-case letters, digits and hyphens, e.g. greenvale"),
    )
    default_locale = SelectField(
        _l("Default language"), choices=select_choices(LANGUAGES.items()), default="en"
    )
    join_policy = SelectField(
        _l("Who can join"),
        choices=[SelectChoice("approval", _l("A coordinator approves each member")),
                 SelectChoice("open", _l("Anyone can join"))],
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
        validators=[Optional(), StrongPassword()],
        description=_l("Needed only if this person has no account yet."),
    )
    submit = SubmitField(_l("Create group"))


class StartTimebankForm(Form):
    """"Start a timebank" on the apex. The account fields are dropped for a logged-in user."""

    name = StringField(_l("Name of the timebank"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(
        _l("Address (subdomain)"),
        validators=[DataRequired(), Length(max=63)],
        description=_l("Lower-case letters, digits and hyphens, e.g. greenvale"),
    )
    default_locale = SelectField(
        _l("Default language"), choices=select_choices(LANGUAGES.items()), default="en"
    )
    # Choices are set per request: the likely zones first (network/signup.py); the picker
    # script adds this device's zone on top and a search box (static/js/timezone_picker.js).
    timezone = SelectField(
        _l("Time zone"), choices=[SelectChoice(zone) for zone in TIMEZONES], default="UTC",
        render_kw={"data-timezone-picker": "1",
                   "data-search-label": _l("Search time zones"),
                   "data-browser-label": _l("This device's time zone")},
    )
    place = StringField(
        _l("Place"), validators=[Optional(), Length(max=120)],
        description=_l("The town or area where your members live, e.g. Greenvale"),
    )
    description = TextAreaField(
        _l("Welcome text"), validators=[Optional(), Length(max=2000)],
        description=_l("Shown on your timebank's home page. You can change it later."),
    )
    your_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Your email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        _l("Password"), validators=[DataRequired(), StrongPassword()],
        description=_l("At least 8 characters."),
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Start my timebank"))

    def drop_account_fields(self) -> None:
        """Remove the account fields: the logged-in user asks for themself."""
        for name in ("your_name", "email", "password", "confirm"):
            delattr(self, name)


class RetryForm(Form):
    slug = StringField(
        _l("Address (subdomain)"), validators=[DataRequired(), Length(max=63)],
        description=_l("Choose another address if this one was taken."),
    )
    submit = SubmitField(_l("Try again"))


class DecisionForm(Form):
    message = TextAreaField(
        _l("Message to the requester"), validators=[Optional(), Length(max=2000)]
    )
    approve = SubmitField(_l("Approve"))
    decline = SubmitField(_l("Decline"))


class ReasonForm(Form):
    reason = StringField(_l("Reason (kept in the audit trail)"),
                         validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Confirm"))


class DeleteGroupForm(Form):
    confirm_slug = StringField(
        _l("Type the group's address to confirm"), validators=[DataRequired(), Length(max=63)]
    )
    submit = SubmitField(_l("Delete this group for ever"))


class SettingsForm(Form):
    groups_need_approval = BooleanField(_l("New timebanks need a network admin's approval"))
    submit = SubmitField(_l("Save"))


class AdminForm(Form):
    email = EmailField(_l("Email of an existing account"),
                       validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Make network admin"))


class EmptyForm(Form):
    """A form with only the CSRF token, for one-button actions."""

    target = HiddenField()
    submit = SubmitField(_l("Go"))


class ImportForm(Form):
    members_file = FileField(
        _l("Members (CSV)"),  # required unless kept from the dry run (see the view)
        description=_l("Columns: email, name, and balance (hours like 1:30 or 1.5) — or no "
                       "balance when you also give the transfers."),
    )
    transfers_file = FileField(
        _l("Transfers (CSV, optional)"),
        description=_l("Columns: date, payer_email, payee_email, amount, description."),
    )
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(max=120)])
    slug = StringField(_l("Address (subdomain)"), validators=[DataRequired(), Length(max=63)])
    default_locale = SelectField(
        _l("Default language"), choices=select_choices(LANGUAGES.items()), default="en"
    )
    coordinator_email = EmailField(
        _l("Coordinator's email (one of the members)"),
        validators=[DataRequired(), Email(), Length(max=254)],
    )
    kept = HiddenField()  # the token of the files kept from the dry run
    dry_run = SubmitField(_l("Check (dry run)"))
    submit = SubmitField(_l("Import"))
