"""Amounts, dates and CSV cells as the export writes them and the import reads them.

Amounts of an hours currency are written ``H:MM`` (``-1:30``), exact to the minute; the import
also reads decimal hours (``1.5``, ``-0,25``) when they come to a whole number of minutes.
Other currencies are decimals of their units. Dates are ISO 8601; a date without a time zone is
read in the group's time zone.
"""

import csv
import io
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

_TIME = re.compile(r"^([+-]?)(\d{1,7}):([0-5]\d)$")
_DECIMAL = re.compile(r"^[+-]?\d{1,9}(?:[.,]\d{1,6})?$")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FormatError(ValueError):
    """A cell that cannot be read; ``str(error)`` is a reason code (``non_numeric`` ...)."""


def format_amount(amount: int, subunits_per_unit: int) -> str:
    """Return ``amount`` subunits as the export writes it (``-1:30`` or ``2.50``)."""
    sign = "-" if amount < 0 else ""
    whole, rest = divmod(abs(amount), subunits_per_unit)
    if subunits_per_unit == 60:
        return f"{sign}{whole}:{rest:02d}"
    if not rest:
        return f"{sign}{whole}"
    value = Decimal(abs(amount)) / Decimal(subunits_per_unit)
    return f"{sign}{value.normalize():f}"


def parse_amount(text: str, subunits_per_unit: int) -> int:
    """Return ``text`` in subunits (signed). Raises :class:`FormatError` ``empty``,
    ``non_numeric`` or ``precision`` (not a whole number of subunits)."""
    text = (text or "").strip().replace("\u2212", "-")
    if text.startswith("'"):  # a spreadsheet's "this is text" mark
        text = text[1:]
    if not text:
        raise FormatError("empty")
    match = _TIME.match(text)
    if match and subunits_per_unit == 60:
        sign, hours, minutes = match.groups()
        value = int(hours) * 60 + int(minutes)
        return -value if sign == "-" else value
    if not _DECIMAL.match(text):
        raise FormatError("non_numeric")
    try:
        value = Decimal(text.replace(",", ".")) * subunits_per_unit
    except InvalidOperation as error:
        raise FormatError("non_numeric") from error
    if value != value.to_integral_value():
        raise FormatError("precision")
    return int(value)


def parse_date(text: str, timezone: str) -> datetime:
    """Return an aware UTC datetime from ISO 8601 ``text`` (naive: in ``timezone``).

    Raises :class:`FormatError` ``bad_date``.
    """
    text = (text or "").strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise FormatError("bad_date") from error
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


def safe_cell(value) -> str:
    """Keep a spreadsheet from running a free-text cell as a formula (OWASP "CSV injection")."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def plain_text(cell: str) -> str:
    """Undo :func:`safe_cell` on a free-text cell read back."""
    cell = (cell or "").strip()
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def read_csv(data: bytes | str) -> tuple[list[str], list[dict[str, str]]]:
    """Return (header, rows as dicts) of CSV ``data`` (UTF-8, with or without a BOM; comma,
    semicolon or tab separated). Header names are stripped and lower-cased.

    Raises :class:`FormatError` ``encoding`` or ``empty_file``.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise FormatError("encoding") from error
    data = data.lstrip("\ufeff")
    if not data.strip():
        raise FormatError("empty_file")
    first_line = data.splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(data), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        rows.append({name: (cells[i] if i < len(cells) else "") for i, name in
                     enumerate(header)} | ({"__extra__": "1"} if len(cells) > len(header)
                                          else {}))
    return header, rows
