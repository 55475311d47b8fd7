"""The date range of a report (a GET form: it changes nothing, so no CSRF)."""

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import Optional

from timebank.blueprints.forms import DaysChecked, Form
from timebank.reports.figures import DateRange, last_twelve_months

MAX_YEARS = 25  # at most 25 years in one report: 300 months on the charts


class RangeForm(DaysChecked, Form):
    """Days ``start`` to ``end``, both included, in the group's time zone (UTC on the
    network); either may be left empty for the default range."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    def date_range(self, *, today: date, timezone: str) -> DateRange | None:
        """Validate and return the range, or None (the errors are on the fields). Defaults:
        to ``today`` (or the start, if later), from the first day of the twelfth month
        before the end (:func:`~timebank.reports.figures.last_twelve_months`)."""
        if not self.validate():
            return None
        start = self.start.data
        end = self.end.data or max(today, start or today)
        start = start or last_twelve_months(end, timezone).start
        if end.year - start.year > MAX_YEARS:
            self.end.errors = [*self.end.errors,
                               _("Choose at most %(years)s years.", years=MAX_YEARS)]
            return None
        return DateRange(start, end, timezone)
