"""Months as the app speaks them: "YYYY-MM" strings, and the date range each covers."""
import calendar
import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator

# ASCII digits only (`\d` would take "２０２４"). Python matches it with `fullmatch` (`$` also
# matches before a final newline); the pattern is written for JSON Schema too, whose `$` does
# not.
MONTH_PATTERN = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
# The months users may ask about: any real ledger's, with room around them for the months
# the analytics look back on (trends, the previous month), which stay representable dates.
FIRST_YEAR, LAST_YEAR = 1900, 2999
# Every month a date can be in: what the arithmetic below handles.
FIRST_MONTH_INDEX, LAST_MONTH_INDEX = date.min.year * 12, date.max.year * 12 + 11


def _split(month):
    year, mon = month.split("-")
    return int(year), int(mon)


def checked_month(value, first_year=FIRST_YEAR, last_year=LAST_YEAR):
    """`value` if it is a month a user may ask about; ValueError with a readable message
    otherwise."""
    if not (isinstance(value, str) and MONTH_PATTERN.fullmatch(value)):
        raise ValueError("month must look like YYYY-MM, e.g. 2024-11")
    if not first_year <= _split(value)[0] <= last_year:
        raise ValueError(f"month must be between {first_year}-01 and {last_year}-12")
    return value


def representable(month):
    """`month` if its date range can be computed (services accept the months they derive
    themselves, e.g. the one before 1900-01); ValueError otherwise."""
    return checked_month(month, first_year=date.min.year, last_year=date.max.year)


# A pydantic field type for months from users (query strings, URLs, tool arguments).
Month = Annotated[str, AfterValidator(checked_month)]


def month_of(day):
    return f"{day.year:04d}-{day.month:02d}"


def current_month():
    return month_of(date.today())


def shift(month, by):
    """The month `by` months after `month` (before, when negative); ValueError past the
    months a date can be in."""
    year, mon = _split(month)
    index = year * 12 + (mon - 1) + by
    if not FIRST_MONTH_INDEX <= index <= LAST_MONTH_INDEX:
        raise ValueError(f"{by:+d} months from {month} is not a representable month")
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def bounds(month):
    """(first day, last day) of `month`: rows with first <= date <= last. Both are dates of
    the month itself, so even 9999-12 has them."""
    year, mon = _split(month)
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def months_between(first, last):
    """Every month from `first` to `last`, both included, in order."""
    months = [first]
    while months[-1] < last:
        months.append(shift(months[-1], 1))
    return months
