from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField, SubmitField, TextAreaField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from timebank.blueprints.forms import Form
from timebank.models.volunteering import TASK_TITLE_MAX


class TaskForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=TASK_TITLE_MAX)])
    description = TextAreaField(_l("What is it, where, what to bring"),
                                validators=[Optional(), Length(max=10_000)],
                                render_kw={"rows": 4})
    date = DateField(_l("Date"), validators=[InputRequired()])
    time = TimeField(_l("Start time"), validators=[InputRequired()],
                     description=_l("In the group's time zone."))
    volunteers_needed = IntegerField(_l("How many volunteers"), default=1,
                                     validators=[InputRequired(), NumberRange(min=1, max=1000)])
    submit = SubmitField(_l("Post task"))


class PledgeForm(Form):
    submit = SubmitField(_l("I'll help"))


class WithdrawForm(Form):
    submit = SubmitField(_l("Withdraw my pledge"))


class DoneForm(Form):
    submit = SubmitField(_l("Mark done"))


class CancelTaskForm(Form):
    reason = StringField(_l("Reason (sent to the volunteers)"),
                         validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Cancel task"))
