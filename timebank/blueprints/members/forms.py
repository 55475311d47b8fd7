from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from timebank.i18n import current_locale
from timebank.ledger.amounts import AmountError, parse_amount
from timebank.models import Role


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


class DecisionForm(FlaskForm):
    message = TextAreaField(
        _l("Message to the person (optional)"), validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 2},
    )
    approve = SubmitField(_l("Approve"))
    decline = SubmitField(_l("Decline"))


ROLE_CHOICES = [
    (int(Role.MEMBER), _l("Member")),
    (int(Role.ORGANIZER), _l("Organizer (volunteer tasks and kudos)")),
    (int(Role.TREASURER), _l("Treasurer (limits, entries on behalf, reversals)")),
    (int(Role.COORDINATOR), _l("Coordinator (everything in the group)")),
]


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), coerce=int, choices=ROLE_CHOICES)
    submit = SubmitField(_l("Change role"))


class SuspendForm(FlaskForm):
    reason = TextAreaField(_l("Reason (sent to the member)"),
                           validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    suspend = SubmitField(_l("Suspend"))
    reactivate = SubmitField(_l("Reactivate"))


class InviteForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), coerce=int, choices=ROLE_CHOICES, default=int(Role.MEMBER))
    message = TextAreaField(_l("Personal message (optional)"),
                            validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField(_l("Send invitation"))


class RevokeForm(FlaskForm):
    submit = SubmitField(_l("Revoke"))


class OfflineMemberForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    note = TextAreaField(
        _l("How to reach them (optional)"), validators=[Optional(), Length(max=2000)],
        description=_l("A phone number, an address, a neighbour who passes messages on."),
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Add member"))


class LeaveForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I want to leave this group"), validators=[DataRequired()])
    submit = SubmitField(_l("Leave the group"))


class SettleForm(FlaskForm):
    submit = SubmitField(_l("Move the balance to the group account"))
