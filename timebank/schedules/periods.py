"""Calendar arithmetic of scheduled money: when a standing order, a fee or demurrage is due.

Pure functions on :class:`datetime.date` (no database, no time zone: the caller decides what
"today" is, in the group's time zone).

* A standing order's n-th due date (n = 0, 1, 2, ...) is counted from its start date, never
  from the previous due date, so a month end is kept: an order starting on 31 January is due
  on 28 (or 29) February, 31 March, 30 April, ...; one starting on 29 February is due on
  28 February in the years that have no 29th. Weekly: every 7 days from the start.
* A fee or demurrage period is a calendar month (``"2026-12"``) or year (``"2026"``), due on
  its first day.
"""

import calendar
from datetime import date, timedelta
from enum import StrEnum


class Interval(StrEnum):
    """How often a standing order (or a fee) is due."""

    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def add_months(start: date, months: int) -> date:
    """Return ``start`` moved by ``months`` calendar months, its day kept or, when the target
    month is shorter, the target month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def due_date(starts_on: date, interval: Interval, n: int) -> date:
    """Return the ``n``-th (0-based) due date of something due every ``interval`` from
    ``starts_on``."""
    if interval == Interval.WEEK:
        return starts_on + timedelta(weeks=n)
    if interval == Interval.MONTH:
        return add_months(starts_on, n)
    return add_months(starts_on, 12 * n)


def period_start(day: date, interval: Interval) -> date:
    """Return the first day of the calendar month (or year) holding ``day``."""
    if interval == Interval.YEAR:
        return date(day.year, 1, 1)
    return date(day.year, day.month, 1)


def next_period_start(day: date, interval: Interval) -> date:
    """Return the first day of the calendar month (or year) after the one holding ``day``."""
    return due_date(period_start(day, interval), interval, 1)


def period_key(start: date, interval: Interval) -> str:
    """Name the calendar period beginning on ``start``: ``"2026-12"`` or ``"2026"``."""
    return f"{start.year}" if interval == Interval.YEAR else f"{start.year}-{start.month:02d}"


def period_starts(first: date, today: date, interval: Interval) -> list[date]:
    """Return the first days of the calendar periods due from ``first``'s period to
    ``today``'s, oldest first (empty when ``first`` is after ``today``)."""
    starts, current = [], period_start(first, interval)
    while current <= today:
        starts.append(current)
        current = due_date(current, interval, 1)
    return starts
