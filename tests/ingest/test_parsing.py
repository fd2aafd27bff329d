"""The parsing layer of CSV import: bank-export fixtures, formats, mappings, limits, memory."""
import codecs
import inspect
import io
import json
import tracemalloc
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from finance_app.ingest import values
from finance_app.ingest.parsing import (
    BadMapping, FileRefused, FileTooLarge, ParsedRow, RowError, parse_upload)

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
MAX_BYTES = 10 * 1024 * 1024


def parse_file(path, mapping=None):
    with open(path, "rb") as fileobj:
        return parse_upload(fileobj, MAX_BYTES, mapping=mapping)


def parse_text(text, mapping=None, encoding="utf-8"):
    return parse_upload(io.BytesIO(text.encode(encoding)), MAX_BYTES, mapping=mapping)


def split(upload):
    items = list(upload.rows())
    return ([i for i in items if isinstance(i, ParsedRow)],
            [i for i in items if isinstance(i, RowError)])


# --- fixtures ----------------------------------------------------------------------------------

def test_every_fixture_is_described_and_there_are_enough():
    for kind in ("good", "broken"):
        on_disk = {p.name for p in (FIXTURES / kind).iterdir()}
        assert on_disk == set(EXPECTED[kind])
        assert len(on_disk) >= 10


@pytest.mark.parametrize("name", sorted(EXPECTED["good"]))
def test_good_fixture_parses(name):
    want = EXPECTED["good"][name]
    with parse_file(FIXTURES / "good" / name) as upload:
        rows, errors = split(upload)
        assert errors == []
        assert len(rows) == want["rows"] == upload.row_count
        assert rows[0].date.isoformat() == want["first_date"]
        assert rows[-1].date.isoformat() == want["last_date"]
        assert str(sum(r.amount for r in rows)) == want["sum"]
        assert rows[0].description == want["first_description"]
        assert upload.delimiter == want["delimiter"]
        assert upload.has_header == want["has_header"]
        assert upload.encoding == want["encoding"]
        ambiguity = [w for w in upload.warnings if "day-first" in w]
        assert bool(ambiguity) == want["ambiguous"]
        if "currencies" in want:
            assert sorted({r.currency for r in rows}) == want["currencies"]
        assert all(isinstance(r.amount, Decimal) and r.amount.as_tuple().exponent == -2
                   for r in rows)
        assert all(0 < len(r.description) <= 500 for r in rows)
        lines = [r.line for r in rows]
        assert lines == sorted(set(lines)) and lines[0] >= 1
        json.dumps(upload.mapping)


@pytest.mark.parametrize("name", sorted(EXPECTED["good"]))
def test_the_mapping_given_back_reads_the_same_rows(name):
    with parse_file(FIXTURES / "good" / name) as first:
        rows = list(first.rows())
        mapping = json.loads(json.dumps(first.mapping))
    with parse_file(FIXTURES / "good" / name, mapping=mapping) as again:
        assert again.mapping == mapping
        assert list(again.rows()) == rows


@pytest.mark.parametrize("name", sorted(EXPECTED["broken"]))
def test_broken_fixture_is_refused_or_names_its_bad_lines(name):
    want = EXPECTED["broken"][name]
    if want["kind"] == "refused":
        with pytest.raises(FileRefused) as refused:
            parse_file(FIXTURES / "broken" / name)
        assert want["message"].lower() in refused.value.message.lower()
        return
    with parse_file(FIXTURES / "broken" / name) as upload:
        rows, errors = split(upload)
    assert [e.line for e in errors] == want["error_lines"]
    assert len(rows) == want["good_rows"]
    assert all(e.message.endswith(".") and len(e.message) > 10 for e in errors)
    assert [e.as_dict() for e in errors][0] == {"line": errors[0].line,
                                                "message": errors[0].message}


def test_row_error_messages_say_what_is_wrong():
    with parse_file(FIXTURES / "broken" / "bad_dates.csv") as upload:
        _, errors = split(upload)
    assert errors[0] == RowError(3, "The date '2024-02-30' is not a YYYY-MM-DD date.")
    with parse_file(FIXTURES / "broken" / "ragged_rows.csv") as upload:
        _, errors = split(upload)
    assert errors[0] == RowError(3, "The line has 4 fields instead of 3.")


# --- amounts -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, decimal, expected", [
    ("1,234.56", None, "1234.56"),
    ("1.234,56", None, "1234.56"),
    ("1 234,56", None, "1234.56"),
    ("1\u00a0234,56", ",", "1234.56"),
    ("1'234.50", None, "1234.50"),
    ("-12.00", None, "-12.00"),
    ("−12.00", None, "-12.00"),
    ("(12.00)", None, "-12.00"),
    ("($1,250.00)", None, "-1250.00"),
    ("12.00-", None, "-12.00"),
    ("12,00- EUR", ",", "-12.00"),
    ("+5", None, "5.00"),
    ("5", None, "5.00"),
    ("€12.50", None, "12.50"),
    ("-€12.50", None, "-12.50"),
    ("12,50 €", None, "12.50"),
    ("$3,000.00", None, "3000.00"),
    ("-$45.10", None, "-45.10"),
    ("£1,204.12", None, "1204.12"),
    ("EUR 1.234,56", None, "1234.56"),
    ("USD -5.5", None, "-5.50"),
    ("12.00 DR", None, "-12.00"),
    ("12.00 CR", None, "12.00"),
    ("12,50", ",", "12.50"),
    ("1.234", ",", "1234.00"),
    ("1,234", None, "1234.00"),
    ("1.234.567,89", None, "1234567.89"),
    ("9999999999.99", None, "9999999999.99"),
    ("0.10", ".", "0.10"),
])
def test_amounts(text, decimal, expected):
    value = values.parse_amount(text, decimal)
    assert value == Decimal(expected) and str(value) == expected


@pytest.mark.parametrize("text, decimal, reason", [
    ("N/A", None, "not a number"),
    ("twelve", None, "not a number"),
    ("", None, "not a number"),
    ("12.345", ".", "more than 2 decimal places"),
    ("12,345", ",", "more than 2 decimal places"),
    ("12345678901.00", None, "more than 10 digits"),
    ("1.2.3", ".", "more than one decimal separator"),
    ("12,50", ".", "not a number with '.'"),
    ("--12", None, "more than one sign"),
    ("(-12.00)", None, "more than one sign"),
    ("(12.00", None, "more than one sign"),
    ("1,23,4.00", ".", "not a number"),
])
def test_amounts_that_are_refused(text, decimal, reason):
    with pytest.raises(values.AmountError, match=reason):
        values.parse_amount(text, decimal)


def test_currency_written_with_the_amount_is_kept_when_there_is_no_currency_column():
    assert values.split_amount("EUR 5")[2] == "EUR"
    assert values.split_amount("£5")[2] == "GBP"
    assert values.split_amount("$5")[2] is None  # which dollar?


def test_the_decimal_separator_is_decided_for_the_whole_column():
    upload = parse_text("Datum;Text;Betrag\n01.03.2024;Miete;1.234\n02.03.2024;Brot;2,50\n")
    rows, errors = split(upload)
    assert upload.decimal == "," and errors == []
    assert [r.amount for r in rows] == [Decimal("1234.00"), Decimal("2.50")]
    # Dots as decimals are fine in a semicolon file; a comma value then is an error.
    upload = parse_text("Date;Text;Amount\n2024-03-01;A;12.50\n2024-03-02;B;3.10\n"
                        "2024-03-03;C;4,20\n")
    rows, errors = split(upload)
    assert upload.decimal == "." and [e.line for e in errors] == [4]


def test_debit_and_credit_columns():
    upload = parse_text("Date,Description,Debit,Credit\n2024-03-01,Coffee,3.50,\n"
                        "2024-03-02,Refund,,10.00\n2024-03-03,Signed debit,-7.25,\n"
                        "2024-03-04,Both,1.00,5.00\n2024-03-05,Neither,,\n")
    rows, errors = split(upload)
    assert [r.amount for r in rows] == [Decimal("-3.50"), Decimal("10.00"), Decimal("-7.25"),
                                       Decimal("4.00")]
    assert errors == [RowError(6, "The debit and credit are both empty.")]


def test_an_af_bij_column_signs_unsigned_amounts():
    upload = parse_text("Datum\tOmschrijving\tAf Bij\tBedrag (EUR)\n"
                        "20240301\tJumbo\tAf\t12,50\n20240302\tSalaris\tBij\t2000,00\n"
                        "20240303\tRaar\tX\t1,00\n")
    rows, errors = split(upload)
    assert upload.mapping["direction"] == "Af Bij"
    assert [r.amount for r in rows] == [Decimal("-12.50"), Decimal("2000.00")]
    assert [e.line for e in errors] == [4] and "indicator 'X'" in errors[0].message


# --- dates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fmt, expected", [
    ("2024-03-12", "YYYY-MM-DD", date(2024, 3, 12)),
    ("2024-03-12 14:05:09", "YYYY-MM-DD", date(2024, 3, 12)),
    ("2024-03-12T14:05:09Z", "YYYY-MM-DD", date(2024, 3, 12)),
    ("2024/03/12", "YYYY/MM/DD", date(2024, 3, 12)),
    ("20240312", "YYYYMMDD", date(2024, 3, 12)),
    ("12/03/2024", "DD/MM/YYYY", date(2024, 3, 12)),
    ("12.03.2024", "DD.MM.YYYY", date(2024, 3, 12)),
    ("12.03.24", "DD.MM.YY", date(2024, 3, 12)),
    ("12-03-2024", "DD-MM-YYYY", date(2024, 3, 12)),
    ("3/12/2024", "MM/DD/YYYY", date(2024, 3, 12)),
    ("03/12/99", "MM/DD/YY", date(1999, 3, 12)),
    ("12 Mar 2024", "DD MMM YYYY", date(2024, 3, 12)),
    ("12-Mar-2024", "DD-MMM-YYYY", date(2024, 3, 12)),
    ("12-Mar-24", "DD-MMM-YY", date(2024, 3, 12)),
    ("Mar 12, 2024", "MMM DD, YYYY", date(2024, 3, 12)),
    ("March 12, 2024", "MMM DD, YYYY", date(2024, 3, 12)),
])
def test_dates(text, fmt, expected):
    assert fmt in values.DATE_FORMATS
    assert values.read_date(text, fmt) == expected


@pytest.mark.parametrize("text", ["31/02/2024", "2024-13-01", "yesterday", "12 Foo 2024", ""])
def test_not_dates(text):
    assert values.date_readings(text) == ()


def test_the_date_format_is_decided_from_the_whole_column():
    # Only the last line shows the dates are month-first.
    upload = parse_text("Date,Description,Amount\n01/02/2024,A,-1.00\n02/03/2024,B,-2.00\n"
                        "03/15/2024,C,-3.00\n")
    rows, errors = split(upload)
    assert upload.date_format == "MM/DD/YYYY" and upload.warnings == [] and errors == []
    assert [r.date for r in rows] == [date(2024, 1, 2), date(2024, 2, 3), date(2024, 3, 15)]


def test_a_value_that_fits_no_chosen_format_is_a_row_error():
    upload = parse_text("Date,Description,Amount\n01/02/2024,A,-1.00\n15/03/2024,B,-2.00\n"
                        "16/03/2024,C,-3.00\n03/17/2024,D,-4.00\n")
    _, errors = split(upload)
    assert upload.date_format == "DD/MM/YYYY"
    assert errors == [RowError(5, "The date '03/17/2024' is not a DD/MM/YYYY date.")]


AMBIGUOUS = "Date,Description,Amount\n01/02/2024,A,-1.00\n03/04/2024,B,-2.00\n"


def test_ambiguous_dates_are_read_day_first_with_a_warning():
    upload = parse_text(AMBIGUOUS)
    rows, _ = split(upload)
    assert upload.date_format == "DD/MM/YYYY"
    assert [r.date for r in rows] == [date(2024, 2, 1), date(2024, 4, 3)]
    [warning] = upload.warnings
    assert "'Date'" in warning and "day-first" in warning and "MM/DD/YYYY" in warning


def test_a_chosen_date_format_settles_the_ambiguity():
    upload = parse_text(AMBIGUOUS, mapping={"date_format": "MM/DD/YYYY"})
    rows, _ = split(upload)
    assert upload.warnings == [] and upload.mapping["date_format"] == "MM/DD/YYYY"
    assert [r.date for r in rows] == [date(2024, 1, 2), date(2024, 3, 4)]


# --- mapping -----------------------------------------------------------------------------------

def test_the_guessed_mapping_is_plain_json():
    with parse_file(FIXTURES / "good" / "de_sparkasse_cp1252.csv") as upload:
        assert upload.mapping == {
            "date": "Buchungstag", "amount": "Betrag", "debit": None, "credit": None,
            "direction": None, "description": "Verwendungszweck",
            "merchant": "Beguenstigter/Zahlungspflichtiger", "category": None,
            "currency": "Waehrung", "date_format": None, "decimal": None}
        assert upload.date_format == "DD.MM.YYYY" and upload.decimal == ","


def test_a_mapping_override_by_header_name():
    path = FIXTURES / "good" / "de_sparkasse_cp1252.csv"
    with parse_file(path) as guessed, parse_file(path, {"date": "Valutadatum"}) as chosen:
        booked, valued = split(guessed)[0], split(chosen)[0]
    assert chosen.mapping["date"] == "Valutadatum"
    assert [v.date for v in valued] != [b.date for b in booked]
    assert [v.amount for v in valued] == [b.amount for b in booked]


def test_a_mapping_override_by_index_without_a_header():
    path = FIXTURES / "good" / "au_commbank_ambiguous.csv"
    with parse_file(path) as guessed:
        assert guessed.mapping["amount"] == 1 and guessed.mapping["description"] == 2
    with parse_file(path, {"amount": 3}) as chosen:
        rows, _ = split(chosen)
        assert chosen.mapping["amount"] == 3
        assert all(r.amount > 0 for r in rows)  # the balance column


def test_naming_an_amount_drops_guessed_debit_and_credit():
    with parse_file(FIXTURES / "good" / "uk_nationwide_cp1252.csv", {"amount": "Balance"}) as u:
        assert (u.mapping["amount"], u.mapping["debit"], u.mapping["credit"]) == \
            ("Balance", None, None)


def test_a_mapping_naming_a_missing_column_is_refused():
    with pytest.raises(BadMapping) as refused:
        parse_file(FIXTURES / "good" / "de_commerzbank.csv", {"amount": "Booking amount"})
    assert "'Booking amount'" in refused.value.message and "Betrag" in refused.value.message
    with pytest.raises(BadMapping, match="7"):
        parse_file(FIXTURES / "good" / "au_commbank_ambiguous.csv", {"date": 7})


@pytest.mark.parametrize("mapping, message", [
    ({"amonut": "Amount"}, "Unknown mapping field"),
    ({"date_format": "D/M/Y"}, "Unknown date format"),
    ({"decimal": "'"}, "decimal separator"),
])
def test_bad_mapping_fields_are_refused(mapping, message):
    with pytest.raises(BadMapping) as refused:
        parse_text("Date,Description,Amount\n2024-03-01,A,-1.00\n", mapping=mapping)
    assert message in refused.value.message


def test_a_mapping_can_fix_a_file_without_a_recognisable_amount():
    text = "When,What,How much\n2024-03-01,Coffee,-3.50\n2024-03-02,Books,-20.00\n"
    rows, errors = split(parse_text(text, {"amount": None, "credit": "How much"}))
    assert errors == [] and [r.amount for r in rows] == [Decimal("-3.50"), Decimal("-20.00")]
    with pytest.raises(FileRefused, match="No amount column"):
        parse_text(text, {"amount": None})


def test_values_are_guessed_when_header_names_are_unknown():
    upload = parse_text("When,What,How much\n2024-03-01,Coffee at the corner,-3.50\n"
                        "2024-03-02,Books,-20.00\n")
    assert (upload.mapping["date"], upload.mapping["description"], upload.mapping["amount"]) \
        == ("When", "What", "How much")


# --- text and currencies -----------------------------------------------------------------------

def test_text_fields_are_cleaned_and_capped():
    long = "x" * 600
    upload = parse_text("Date,Description,Payee,Category,Currency,Amount\n"
                        f'2024-03-01,"{long}","{"m" * 250}","{"c" * 150}",eur,-1.00\n'
                        '2024-03-02,"two\nlines",,,€,-2.00\n'
                        "2024-03-03,,Only payee,,,-3.00\n")
    rows, errors = split(upload)
    assert errors == []
    assert (len(rows[0].description), len(rows[0].merchant), len(rows[0].category)) == \
        (500, 200, 100)
    assert [r.currency for r in rows] == ["EUR", "EUR", None]
    assert rows[1].description == "two lines" and rows[1].line == 3
    assert rows[2].description == "Only payee" and rows[2].line == 5


def test_line_numbers_count_physical_lines():
    upload = parse_text('Date,Description,Amount\r\n2024-03-01,"a\r\nb\r\nc",-1.00\r\n\r\n'
                        "2024-03-02,B\r\n2024-03-03,C,-3.00\r\n")
    assert [(i.line, type(i).__name__) for i in upload.rows()] == [
        (2, "ParsedRow"), (6, "RowError"), (7, "ParsedRow")]


def test_old_mac_line_endings():
    rows, errors = split(parse_text("Date,Description,Amount\r2024-03-01,A,-1.00\r"
                                    "2024-03-02,B,x\r"))
    assert [r.line for r in rows] == [2] and [e.line for e in errors] == [3]


def test_utf16_with_a_byte_order_mark():
    text = "Date\tDescription\tAmount\r\n2024-03-01\tCafé\t-3.50\r\n"
    upload = parse_upload(io.BytesIO(codecs.BOM_UTF16_LE + text.encode("utf-16-le")), MAX_BYTES)
    rows, _ = split(upload)
    assert upload.encoding == "utf-16" and rows[0].description == "Café"


def test_a_legacy_encoding_is_detected():
    text = "Datum;Empfänger;Verwendungszweck;Betrag\n" + "".join(
        f"0{d}.03.2024;Bäckerei Müller;Brötchen für {d} €;-{d},50\n" for d in range(1, 8))
    upload = parse_upload(io.BytesIO(text.encode("cp1252")), MAX_BYTES)
    rows, _ = split(upload)
    assert upload.encoding == "cp1252"
    assert rows[0].merchant == "Bäckerei Müller" and rows[0].description == "Brötchen für 1 €"


# --- the upload --------------------------------------------------------------------------------

def test_a_file_storage_is_accepted_and_rows_stream():
    storage = FileStorage(stream=io.BytesIO(AMBIGUOUS.encode()), filename="x.csv")
    with parse_upload(storage, MAX_BYTES) as upload:
        assert inspect.isgenerator(upload.rows())
        assert upload.preview(1) == [list(upload.rows())[0]]
        assert len(upload.preview(10)) == 2


def test_too_large_files_are_refused():
    data = AMBIGUOUS.encode()
    with pytest.raises(FileTooLarge) as refused:
        parse_upload(io.BytesIO(data), len(data) - 1)
    assert "limit" in refused.value.message
    assert FileTooLarge(10 * 1024 * 1024).message == "The file is larger than the 10 MB limit."
    parse_upload(io.BytesIO(data), len(data)).close()


def test_a_whole_file_refusal_can_list_lines():
    refused = FileRefused("Nope.", errors=[{"line": 3, "message": "x"}])
    assert refused.message == "Nope." and refused.errors == [{"line": 3, "message": "x"}]
    assert FileRefused("Nope.").errors == []


@pytest.mark.slow
def test_a_100000_row_file_parses_in_bounded_memory(tmp_path):
    rows = 100_000
    path = tmp_path / "big.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Date;Description;Amount;Currency\r\n")
        for i in range(rows):
            amount = f"{'-' if i % 3 else ''}{i % 5000:,},{i % 100:02d}".replace(",", ".", 1) \
                if i % 5000 >= 1000 else f"{'-' if i % 3 else ''}{i % 5000},{i % 100:02d}"
            out.write(f"{i % 28 + 1:02d}.{i % 12 + 1:02d}.2024;Card payment {i} SHOP "
                      f"{i % 977};{amount};EUR\r\n")
    assert path.stat().st_size > 5_000_000
    tracemalloc.start()
    try:
        with open(path, "rb") as fileobj, parse_upload(fileobj, 20 * 1024 * 1024) as upload:
            parsed = sum(isinstance(item, ParsedRow) for item in upload.rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parsed == upload.row_count == rows
    # Holding the rows would take far more than this; streaming takes a couple of MB.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# --- issue 14: the parser oddities the golden file pinned --------------------------------------

def test_a_header_named_column_whose_values_do_not_fit_is_named_with_line_and_value():
    """The message names the column the header shows, the line and the value; it never says
    "no amount column" while listing a column called Amount."""
    with pytest.raises(FileRefused) as refused:
        parse_file(FIXTURES / "broken" / "amount_column_is_text.csv")
    message = refused.value.message
    assert message.startswith("Column 'Amount' has a value that is not an amount on line 2: 'abc'")
    assert "No amount column" not in message
    assert refused.value.errors == [{"line": 2, "message": "'abc' is not an amount"}]
    with pytest.raises(FileRefused, match=r"Column 'Date' .* not a date on line 2: 'soon'"):
        parse_file(FIXTURES / "broken" / "dates_all_unreadable.csv")


def test_three_letters_that_name_no_currency_are_not_an_amount():
    assert not values.is_amount("row 12") and not values.is_amount("Ref 2024")
    assert values.split_amount("EUR 12")[2] == "EUR" and values.split_amount("12 usd")[2] == "USD"
    upload = parse_text("Date,Note,Amount\n2024-03-01,row 12,-3.50\n2024-03-02,row 13,-1.00\n")
    assert upload.mapping["description"] == "Note" and upload.mapping["amount"] == "Amount"


def test_a_tie_between_formats_that_are_not_swaps_gives_no_day_month_warning():
    from collections import Counter
    assert values.choose_date_format(Counter({"YYYY-MM-DD": 3, "MM/DD/YYYY": 3})) == \
        ("YYYY-MM-DD", False)
    assert values.choose_date_format(Counter({"DD/MM/YYYY": 2, "MM/DD/YYYY": 2})) == \
        ("DD/MM/YYYY", True)


def test_cp1252_accents_are_not_read_as_cp1250():
    text = "Datum;Verwendungszweck;Betrag\n" + "".join(
        f"0{day}.03.2024;Café Crème {word};-{day},50\n"
        for day, word in enumerate(("Kaffee", "Kuchen", "Rückerstattung", "Gebühr"), 1))
    upload = parse_text(text, encoding="cp1252")
    assert upload.encoding == "cp1252"
    assert split(upload)[0][0].description == "Café Crème Kaffee"


def test_a_named_column_whose_values_also_read_as_dates_is_named_not_called_missing():
    with pytest.raises(FileRefused) as refused:
        parse_text("Date,Description,Amount\n2024-03-01,Coffee,20240301\n"
                   "2024-03-02,Tea,20240302\n")
    assert refused.value.message.startswith("Column 'Amount' could not be told apart")
    assert "line 2: '20240301'" in refused.value.message
    assert "No amount column" not in refused.value.message
