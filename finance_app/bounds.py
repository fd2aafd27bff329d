"""What the app accepts at all: ids, offsets and dates within the ranges its columns, its
database and its date arithmetic hold. One definition, used by every route, body and parser.

A number or a date beyond these reached the database before (PostgreSQL: "integer out of
range", a 500) or the month arithmetic (year 10000: a 500, and a redirect loop on the
dashboard for everyone who could see the row).
"""
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field
from werkzeug.routing import IntegerConverter

MAX_ID = 2 ** 31 - 1       # ids are INTEGER columns: PostgreSQL's largest
MAX_OFFSET = 2 ** 63 - 1   # OFFSET is a bigint on PostgreSQL and SQLite
FIRST_DATE = date(1900, 1, 1)
FUTURE_YEARS = 10          # planned payments, not typos such as 2204 for 2024


def last_date():
    """The latest date a transaction may have: ten years from today."""
    today = date.today()
    try:
        return today.replace(year=today.year + FUTURE_YEARS)
    except ValueError:  # 29 February, in a year that has none
        return today.replace(year=today.year + FUTURE_YEARS, day=28)


def date_range_text():
    return f"between {FIRST_DATE.isoformat()} and {last_date().isoformat()}"


def in_date_range(day):
    return FIRST_DATE <= day <= last_date()


def checked_date(day):
    """`day` if a transaction may carry it; ValueError with a readable message otherwise."""
    if not in_date_range(day):
        raise ValueError(f"dates must be {date_range_text()}")
    return day


# Pydantic field types for what users send.
Day = Annotated[date, AfterValidator(checked_date)]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


def _numbers_up_to(limit):
    """A regular expression matching exactly the ASCII numbers from 0 to `limit`."""
    digits = str(limit)
    shorter = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    smaller_at = [f"{digits[:i]}[0-{int(d) - 1}][0-9]{{{len(digits) - i - 1}}}"
                  for i, d in enumerate(digits) if d != "0"]
    return "(?:" + "|".join([*shorter, *smaller_at, digits]) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ASCII numbers within the id columns' range. A larger one is
    no match, so the answer is the 404 of a row that does not exist, and the row is never
    looked up with a value the database refuses. The bound is in the pattern itself:
    Werkzeug checks a rule's methods before converting, so a value refused only on
    conversion would be a 405 for every method but the first rule's."""

    regex = _numbers_up_to(MAX_ID)


def init_bounds(app):
    """Every `<int:…>` rule, registered before or after this, takes ids in range; every
    request is checked for text and JSON the app cannot store or read (`api.py`)."""
    from .api import refuse_unreadable_input

    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_unreadable_input)
