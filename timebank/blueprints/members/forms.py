from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional

from timebank.blueprints.forms import Form, select_choices
from timebank.models import Role


class DecisionForm(Form):
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


class RoleForm(Form):
    role = SelectField(_l("Role"), coerce=int, choices=select_choices(ROLE_CHOICES))
    submit = SubmitField(_l("Change role"))


class SuspendForm(Form):
    reason = TextAreaField(_l("Reason (sent to the member)"),
                           validators=[Optional(), Length(max=2000)], render_kw={"rows": 2})
    suspend = SubmitField(_l("Suspend"))
    reactivate = SubmitField(_l("Reactivate"))


class InviteForm(Form):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), coerce=int, choices=select_choices(ROLE_CHOICES),
                       default=int(Role.MEMBER))
    message = TextAreaField(_l("Personal message (optional)"),
                            validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
    submit = SubmitField(_l("Send invitation"))


class RevokeForm(Form):
    submit = SubmitField(_l("Revoke"))


class OfflineMemberForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    note = TextAreaField(
        _l("How to reach them (optional)"), validators=[Optional(), Length(max=2000)],
        description=_l("A phone number, an address, a neighbour who passes messages on."),
        render_kw={"rows": 2},
    )
    submit = SubmitField(_l("Add member"))


class LeaveForm(Form):
    confirm = BooleanField(_l("Yes, I want to leave this group"), validators=[DataRequired()])
    submit = SubmitField(_l("Leave the group"))


class SettleForm(Form):
    submit = SubmitField(_l("Move the balance to the group account"))
