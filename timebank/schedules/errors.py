"""Typed refusals of the schedules service (nothing written; shown next to ``field``)."""

from flask_babel import lazy_gettext as _l

from timebank.user_errors import UserError


class ScheduleError(UserError):
    """Base class: the standing order or setting was refused."""

    message = _l("This standing order is not possible.")


class StartInPast(ScheduleError):
    field = "starts_on"
    message = _l("Choose today or a later day.")


MAX_YEARS_AHEAD = 10  # a standing order's first payment is at most this far from today


class StartTooFar(ScheduleError):
    field = "starts_on"
    message = _l("Choose a day at most %(years)s years from today.", years=MAX_YEARS_AHEAD)


class EndBeforeStart(ScheduleError):
    field = "ends_on"
    message = _l("The end date must be on or after the first payment.")


class InvalidInterval(ScheduleError):
    field = "interval"
    message = _l("Choose every week, every month or every year.")


class NotAllowed(ScheduleError):
    message = _l("You cannot change this standing order.")


class InvalidRate(ScheduleError):
    field = "demurrage_rate"
    message = _l("Enter a percentage between 0.01 and 100.")
