"""Hypothesis on the parsers users reach with free text: only their own clear errors ever
escape them (FileRefused / RowError for an upload, ValueError for a money or a month, a
pydantic ValidationError for a request body), and what they accept holds the app's
invariants. Derandomised (the settings profile below), so CI is stable."""
import io
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from finance_app.bounds import FIRST_DATE, last_date
from finance_app.ingest import values
from finance_app.ingest.parsing import FileRefused, ParsedRow, RowError, parse_upload
from finance_app.months import (
    FIRST_MONTH_INDEX,
    LAST_MONTH_INDEX,
    bounds,
    checked_month,
    months_between,
    representable,
    shift,
)
from finance_app.transactions.money import parse_money
from finance_app.transactions.service import Filters, TransactionIn, TransactionPatch
from tests.support.fuzz_report import CASES_PROPERTY

FUZZ = settings(derandomize=True, deadline=None, database=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MAX_BYTES = 1 << 16
LIMIT = Decimal(10) ** 10

# --- the CSV upload --------------------------------------------------------------------------

DATES = st.one_of(st.dates(), st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
                  st.dates().map(lambda d: d.strftime("%m/%d/%y")),
                  st.dates().map(lambda d: d.strftime("%d %b %Y")),
                  st.dates().map(lambda d: d.strftime("%Y%m%d"))).map(str)
AMOUNTS = st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str),
                    st.from_regex(r"[-+(]?[€$£]?\s?[0-9]{1,14}([.,' ][0-9]{1,3})*[.,]?[0-9]{0,4}"
                                  r"\)?\s?(EUR|CR|DR|-)?", fullmatch=True))
CELLS = st.one_of(DATES, AMOUNTS, st.text(max_size=30),
                  st.sampled_from(["Date", "Amount", "Description", "Betrag", "Af Bij", "Af",
                                   "Bij", "EUR", "", " ", '"', '""', "\r", "\n", ";", ","]))


@st.composite
def csv_files(draw):
    """Text shaped like a bank export (a header, rows of dates, amounts and text, any
    delimiter and quoting), encoded as banks do — or, sometimes, any bytes at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=2000))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    width = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(CELLS, min_size=width - 1, max_size=width + 1), max_size=12))
    header = draw(st.lists(CELLS, min_size=width, max_size=width))
    text = "\n".join(delimiter.join(row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def assert_is_a_good_row(row):
    assert FIRST_DATE <= row.date <= last_date()
    assert row.amount.as_tuple().exponent == -2 and abs(row.amount) < LIMIT
    assert row.description and "\x00" not in row.description
    assert row.currency is None or (len(row.currency) == 3 and row.currency.isascii())


@FUZZ
@given(data=csv_files(), mapping=st.one_of(st.none(), st.dictionaries(
    st.sampled_from(["date", "amount", "description", "date_format", "decimal", "merchant",
                     "bogus"]),
    st.one_of(st.none(), st.integers(-2, 8), st.text(max_size=12)), max_size=3)))
@example(data=b"Date,Description,Amount\n9999-12-31,far,-1.00\n", mapping=None)
@example(data=b"Date,Description,Amount\n2024-01-01,\x00,-1.00\n", mapping=None)
@example(data=b"Date;Amount;Description\n2024-01-01;" + b"9" * 5000 + b";x\n", mapping=None)
@example(data=b'Date,Description,Amount\n2024-01-01,"' + b"x" * 200_000 + b'",-1\n',
         mapping=None)
def test_any_upload_gives_rows_or_a_clear_refusal(data, mapping, record_property):
    record_property(CASES_PROPERTY, 1)
    try:
        with parse_upload(io.BytesIO(data), 1 << 20, mapping=mapping) as upload:
            for item in upload.rows():
                assert isinstance(item, (ParsedRow, RowError))
                if isinstance(item, ParsedRow):
                    assert_is_a_good_row(item)
                else:
                    assert item.line >= 1 and item.message
    except FileRefused as refused:
        assert refused.message


@FUZZ
@given(text=st.text(max_size=40))
@example(text="2024-03-12T14:05:09+0100")
@example(text="31 September 2024")
def test_any_cell_is_read_as_a_date_or_not_at_all(text, record_property):
    record_property(CASES_PROPERTY, 1)
    for name, day in values.date_readings(text):
        assert name in values.DATE_FORMATS and isinstance(day, date)
        assert values.read_date(text, name) == day


@FUZZ
@given(text=st.one_of(AMOUNTS, st.text(max_size=40)), decimal=st.sampled_from([None, ",", "."]))
@example(text="1" * 5000, decimal=None)
@example(text="1.000.000,5", decimal=",")
@example(text="(12.00)-", decimal=None)
def test_any_cell_is_an_amount_or_an_amount_error(text, decimal, record_property):
    record_property(CASES_PROPERTY, 1)
    try:
        amount = values.parse_amount(text, decimal)
    except values.AmountError as exc:
        assert str(exc)
    else:
        assert amount.as_tuple().exponent == -2 and abs(amount) < LIMIT


@FUZZ
@given(text=st.text(max_size=12))
def test_any_currency_cell_is_a_code_or_a_value_error(text, record_property):
    record_property(CASES_PROPERTY, 1)
    try:
        code = values.read_currency(text)
    except ValueError:
        return
    assert code is None or (len(code) == 3 and code.isascii() and code.isupper())


# --- money from the API ----------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                         st.text(max_size=40), st.decimals().map(str),
                         st.from_regex(r"[-+]?[0-9]{0,14}(\.[0-9]{0,4})?([eE][-+]?[0-9]{1,12})?",
                                       fullmatch=True))


@FUZZ
@given(value=JSON_SCALARS)
@example(value="1e999999999999")
@example(value="1_000")
@example(value="١٢")
@example(value="-0.00")
def test_any_money_value_is_cents_within_range_or_a_value_error(value, record_property):
    record_property(CASES_PROPERTY, 1)
    try:
        amount = parse_money(value)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(amount, Decimal) and amount.as_tuple().exponent == -2
    assert abs(amount) < LIMIT
    # What is accepted is a number as people write it: ASCII digits, no digit separators.
    assert isinstance(value, int) or (value.strip().isascii() and "_" not in value)


JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)


@FUZZ
@given(body=st.fixed_dictionaries({}, optional={
    "date": st.one_of(JSON_SCALARS, st.dates().map(str)), "amount": JSON_SCALARS,
    "description": JSON_SCALARS, "merchant": JSON_SCALARS, "category": JSON_SCALARS,
    "currency": JSON_SCALARS}), extra=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=2))
def test_any_transaction_body_validates_or_is_a_validation_error(body, extra, record_property):
    record_property(CASES_PROPERTY, 1)
    for model in (TransactionIn, TransactionPatch):
        try:
            parsed = model.model_validate(body | extra)
        except ValidationError:
            continue
        if parsed.date is not None:
            assert FIRST_DATE <= parsed.date <= last_date()
        if parsed.amount is not None:
            assert abs(parsed.amount) < LIMIT


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["q", "category", "month", "start", "end", "min",
                                              "max", "sort", "limit", "offset"]),
                             st.one_of(st.text(max_size=20), st.integers().map(str),
                                       st.dates().map(str)), max_size=5))
def test_any_filter_query_validates_or_is_a_validation_error(query, record_property):
    record_property(CASES_PROPERTY, 1)
    try:
        Filters.model_validate(query)
    except ValidationError:
        pass


# --- months ----------------------------------------------------------------------------------

@FUZZ
@given(text=st.one_of(st.text(max_size=10), st.from_regex(r"[0-9]{4}-[0-9]{2}\n?", fullmatch=True)))
def test_any_text_is_a_month_in_ascii_or_a_value_error(text, record_property):
    record_property(CASES_PROPERTY, 1)
    try:
        month = checked_month(text)
    except ValueError:
        return
    assert month == text and len(month) == 7 and month.isascii() and month[:4].isdigit()
    first, last = bounds(month)
    assert first.day == 1 and first <= last and (last.month, last.year) == (first.month,
                                                                            first.year)


MONTHS = st.integers(FIRST_MONTH_INDEX, LAST_MONTH_INDEX).map(
    lambda i: f"{i // 12:04d}-{i % 12 + 1:02d}")


@FUZZ
@given(month=MONTHS, by=st.integers(-(10 ** 6), 10 ** 6))
@example(month="9999-12", by=1)
@example(month="0001-01", by=-1)
def test_month_arithmetic_never_overflows(month, by, record_property):
    record_property(CASES_PROPERTY, 1)
    assert representable(month) == month
    bounds(month)
    try:
        moved = shift(month, by)
    except ValueError:
        return
    assert representable(moved) == moved and bounds(moved)
    assume(abs(by) < 50)
    earlier, later = sorted((month, moved))
    assert len(months_between(earlier, later)) == abs(by) + 1

