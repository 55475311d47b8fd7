"""The date range of a report (a GET form: it changes nothing, so no CSRF)."""

from datetime import date

from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField
from wtforms.validators import Optional, ValidationError

from timebank.blueprints.forms import Form
from timebank.reports.figures import DateRange, last_twelve_months

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2199, 12, 31)
MAX_YEARS = 25  # at most 25 years in one report: 300 months on the charts


class RangeForm(Form):
    """Days ``start`` to ``end``, both included, in the group's time zone (UTC on the
    network); either may be left empty for the default range."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])

    @staticmethod
    def _within_bounds(field) -> None:
        if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
            raise ValidationError(_("Choose a day between %(first)s and %(last)s.",
                                    first=format_date(FIRST_DAY), last=format_date(LAST_DAY)))

    def validate_start(self, field) -> None:
        self._within_bounds(field)

    def validate_end(self, field) -> None:
        self._within_bounds(field)
        start = self.start.data
        if field.data is None or start is None or self.start.errors:
            return
        if field.data < start:
            raise ValidationError(_("The end must not be before the start."))

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
