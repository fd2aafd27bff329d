"""Cell values of bank exports: dates, amounts, currencies and text.

A date format and a decimal separator are decided per column, from every value in it, and
each cell is then read with that decision, so `03/04/2024` means the same day on every line.
Amounts become `Decimal` with two places and never pass through float.
"""
import functools
import re
from datetime import date
from decimal import Decimal

from babel.numbers import list_currencies

# --- dates -----------------------------------------------------------------------------------

MONTHS = {name: number for number, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1) for name in names}

# A time after the date (fintech exports: `2024-03-12 14:05:09`, `2024-03-12T14:05:09Z`).
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?"
                   r"\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?$")
_NUMERIC = re.compile(r"(\d{1,4})([./-])(\d{1,2})\2(\d{1,4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DAY_MONTH_NAME = re.compile(r"(\d{1,2})\.?([ -])([A-Za-z]{3,9})\.?\2(\d{4}|\d{2})")
_MONTH_NAME_DAY = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})")

DATE_FORMATS = (
    *(f"YYYY{sep}MM{sep}DD" for sep in "-/."), "YYYYMMDD",
    *(f"DD{sep}MM{sep}{year}" for sep in "/.-" for year in ("YYYY", "YY")),
    *(f"MM{sep}DD{sep}{year}" for sep in "/-" for year in ("YYYY", "YY")),
    "DD MMM YYYY", "DD-MMM-YYYY", "DD MMM YY", "DD-MMM-YY", "MMM DD, YYYY")


def _year(text):
    year = int(text)
    if len(text) == 2:  # the POSIX pivot, as strptime's %y: 69–99 → 19xx, 00–68 → 20xx
        year += 1900 if year >= 69 else 2000
    return year


def _make(year, month, day):
    """The calendar date, or None. Whether a transaction may carry it is checked per row
    (`bounds.in_date_range`), so that 1899-12-31 is refused as out of range, not as no date."""
    try:
        return date(year, month, day)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)  # statements repeat dates: several lines a day
def date_readings(text):
    """Every (format name, date) that `text` can be read as, e.g. `01/02/2024` gives both
    `DD/MM/YYYY` (1 Feb) and `MM/DD/YYYY` (2 Jan)."""
    text = text.strip()
    if ":" in text:
        text = _TIME.sub("", text)
    readings = []
    if m := _NUMERIC.fullmatch(text):
        first, sep, middle, last = m.groups()
        if len(first) == 4 and len(last) <= 2:
            readings.append((f"YYYY{sep}MM{sep}DD", _make(int(first), int(middle), int(last))))
        elif len(first) <= 2 and len(last) in (2, 4):
            yy = "Y" * len(last)
            year = _year(last)
            readings.append((f"DD{sep}MM{sep}{yy}", _make(year, int(middle), int(first))))
            if sep != ".":  # nobody writes month-first with dots
                readings.append((f"MM{sep}DD{sep}{yy}", _make(year, int(first), int(middle))))
    elif m := _COMPACT.fullmatch(text):
        readings.append(("YYYYMMDD", _make(int(m[1]), int(m[2]), int(m[3]))))
    elif m := _DAY_MONTH_NAME.fullmatch(text):
        day, sep, month, year = m.groups()
        if month.lower() in MONTHS:
            readings.append((f"DD{sep}MMM{sep}{'Y' * len(year)}",
                             _make(_year(year), MONTHS[month.lower()], int(day))))
    elif m := _MONTH_NAME_DAY.fullmatch(text):
        month, day, year = m.groups()
        if month.lower() in MONTHS:
            readings.append(("MMM DD, YYYY", _make(int(year), MONTHS[month.lower()], int(day))))
    return tuple((name, value) for name, value in readings if value is not None)


def read_date(text, date_format):
    """`text` read with `date_format`, or None when it does not fit."""
    for name, value in date_readings(text):
        if name == date_format:
            return value
    return None


def is_date(text):
    return bool(date_readings(text))


def swapped(date_format):
    """`DD/MM/YYYY` ↔ `MM/DD/YYYY`."""
    return date_format.replace("DD", "\0").replace("MM", "DD").replace("\0", "MM")


def choose_date_format(votes):
    """The format most values fit, from a Counter of format name → values that fit it.

    Returns (format, ambiguous): when day-first and month-first fit equally many values,
    day-first is chosen and `ambiguous` is True. (None, False) when no value is a date.
    """
    if not votes:
        return None, False
    best = max(votes.values())
    tied = [name for name, count in votes.items() if count == best]
    day_first = [name for name in tied if name.startswith("DD") and "MMM" not in name]
    chosen = day_first[0] if day_first else tied[0]
    # Only a day-first/month-first pair is a question for the user; a tie between formats
    # that are not each other's swap (YYYY-MM-DD and MM/DD/YYYY) goes to the one seen first,
    # and has no "other reading" to offer (swapping it would name YYYY-DD-MM).
    return chosen, swapped(chosen) != chosen and swapped(chosen) in tied


# --- amounts ---------------------------------------------------------------------------------

class AmountError(ValueError):
    """A cell that is not an amount; the message says why, for the user."""


MAX_WHOLE_DIGITS = 10  # Numeric(12, 2)
# ISO 4217 codes (Babel's list): three letters beside a number are a currency only when they
# name one, so `row 12` or `Ref 2024` is text, not 12 ROW.
CURRENCY_CODES = frozenset(list_currencies())
SYMBOLS = {"€": "EUR", "£": "GBP", "US$": "USD"}  # `$` and `¥` name several currencies
_LEADING = re.compile(r"(?:(?P<code>[A-Za-z]{3})(?![A-Za-z])|(?P<symbol>[A-Z]{0,2}\$|[€£¥])"
                      r"|(?P<sign>[-+−–])|(?P<paren>\())\s*")
_TRAILING = re.compile(r"\s*(?:(?<![A-Za-z])(?P<code>[A-Za-z]{3})|(?P<symbol>[$€£¥])"
                       r"|(?P<sign>[-+−–])|(?P<paren>\))|(?<![A-Za-z])(?P<drcr>[CcDd][Rr]))$")
_NUMBER = re.compile(r"\d(?:[\d.,'’ \u00a0\u202f]*\d)?")
_GROUP = re.compile(r"[.,'’ \u00a0\u202f]")
_PLAIN = re.compile(r"([-+]?)(\d(?:[\d.,]*\d)?)")


def split_amount(text):
    """(negative, number, currency) from a cell such as `-€1.234,56`, `(12.00)`, `12.00-`,
    `USD 5`, `12.00 DR`. `number` keeps its separators; see `to_decimal`."""
    rest = text.strip()
    if plain := _PLAIN.fullmatch(rest):  # most cells: no currency, a leading sign at most
        return plain[1] == "-", plain[2], None
    signs, parens, currency = [], 0, None
    for pattern in (_LEADING, _TRAILING):
        while rest:
            m = pattern.match(rest) if pattern is _LEADING else pattern.search(rest)
            if not m or not m.group(0):
                break
            rest = rest[:m.start()] + rest[m.end():] if pattern is _TRAILING else rest[m.end():]
            if m["code"]:
                if m["code"].upper() not in CURRENCY_CODES:
                    raise AmountError("is not a number")
                currency = currency or m["code"].upper()
            elif m["symbol"]:
                currency = currency or SYMBOLS.get(m["symbol"])
            elif m["sign"]:
                signs.append(m["sign"] != "+")
            elif m["paren"]:
                parens += 1
            else:
                signs.append(m["drcr"].upper() == "DR")
    if not _NUMBER.fullmatch(rest):
        raise AmountError("is not a number")
    if len(signs) > 1 or parens not in (0, 2) or (parens and signs):
        raise AmountError("has more than one sign")
    return bool(parens) or bool(signs and signs[0]), rest, currency


def decimal_hint(number):
    """The decimal separator `number` shows, if any: `1.234,56` → ',', `12.5` → '.',
    `1.234.567` → ','; None for `1234` and for `1,234` (grouping, or three decimals)."""
    dot, comma = number.rfind("."), number.rfind(",")
    if dot >= 0 and comma >= 0:
        return "." if dot > comma else ","
    for sep, other in ((".", ","), (",", ".")):
        if sep in number:
            if number.count(sep) > 1:
                return other
            return None if len(number) - number.index(sep) == 4 else sep
    return None


def choose_decimal(votes, delimiter):
    """The decimal separator of a column, from a Counter of `decimal_hint` results."""
    comma, dot = votes[","], votes["."]
    if comma == dot:
        # No evidence, or as much for each: `;`-delimited files come from comma countries.
        return None if not comma else ("," if delimiter == ";" else ".")
    return "," if comma > dot else "."


def to_decimal(number, decimal=None):
    """`number` (digits and separators) as a Decimal with two places.

    `decimal` is the column's decimal separator; None reads each value on its own
    (`decimal_hint`, and `1,234` as one thousand two hundred and thirty-four).
    """
    decimal = decimal or decimal_hint(number)
    if decimal and number.count(decimal) > 1:
        raise AmountError(f"has more than one decimal separator '{decimal}'")
    whole, point, fraction = number.partition(decimal) if decimal else (number, "", "")
    groups = [whole] if whole.isdigit() else _GROUP.split(whole)
    if len(groups) > 1 and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise AmountError(f"is not a number with '{decimal or '.'}' as decimal separator")
    if not all(g.isdigit() for g in groups) or (point and not fraction.isdigit()):
        raise AmountError("is not a number")
    whole = "".join(groups)
    if len(whole) > MAX_WHOLE_DIGITS and len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise AmountError(f"has more than {MAX_WHOLE_DIGITS} digits before the decimal point")
    if len(fraction) > 2:
        raise AmountError("has more than 2 decimal places")
    return Decimal(f"{whole}.{fraction:0<2}")


def amount_reader(decimal=None):
    """A function reading an amount cell as `split_amount` then `to_decimal(…, decimal)`
    would: (negative, Decimal with two places, currency written with it), None for a blank
    cell; raises AmountError. For reading a whole column with its decimal separator.

    Most cells are ASCII digits with a leading sign at most and, when the column has a
    decimal separator, two decimal places: one regular expression reads those, and they
    give the same values as the general path (`_PLAIN`, no grouping, at most
    MAX_WHOLE_DIGITS digits)."""
    fraction = rf"(?:{re.escape(decimal)}([0-9]{{2}}))?" if decimal else "()"
    common = re.compile(rf"([-+]?)([0-9]{{1,{MAX_WHOLE_DIGITS}}}){fraction}").fullmatch

    def read(text):
        if match := common(text):
            sign, whole, places = match.groups()
            return sign == "-", Decimal(f"{whole}.{places or '00'}"), None
        text = text.strip()
        if not text:
            return None
        negative, number, currency = split_amount(text)
        return negative, to_decimal(number, decimal), currency

    return read


def parse_amount(text, decimal=None):
    """A signed Decimal with two places from an amount cell; raises AmountError."""
    negative, number, _ = split_amount(text)
    value = to_decimal(number, decimal)
    return -value if negative else value


def is_amount(text):
    try:
        parse_amount(text)
    except AmountError:
        return False
    return True


# --- text ------------------------------------------------------------------------------------

def clean_text(text, limit):
    """Whitespace (embedded newlines too) collapsed to single spaces, capped at `limit`."""
    return " ".join(text.split())[:limit]


_CODE = re.compile(r"[A-Z]{3}")


def read_currency(text):
    """A 3-letter uppercase code from a currency cell (`eur`, `€` → EUR), None if empty;
    raises ValueError for anything else."""
    text = text.strip()
    if not text:
        return None
    code = SYMBOLS.get(text, text.upper())
    if not _CODE.fullmatch(code):
        raise ValueError(f"currency {text!r} is not a 3-letter code")
    return code


# A currency named by an amount column's header: "Betrag (EUR)", "Amount [€]",
# "Amount in GBP", "Umsatz EUR". Only where a header says it plainly: a bare three-letter
# header word elsewhere ("Amt", "SUM") is not taken for one.
_HEADER_CURRENCY = re.compile(r"[(\[]\s*(?P<a>[A-Za-z]{3}|[€£])\s*[)\]]"
                              r"|\b(?:in|en)\s+(?P<b>[A-Z]{3}|[€£])(?![A-Za-z])"
                              r"|\s(?P<c>[A-Z]{3}|[€£])\s*$")


def currency_in_header(name):
    """The 3-letter code a column header names (see above), or None."""
    match = _HEADER_CURRENCY.search(name or "")
    if match is None:
        return None
    text = next(group for group in match.groups() if group)
    code = SYMBOLS.get(text, text.upper())
    return code if _CODE.fullmatch(code) else None


def is_currency(text):
    return bool(_CODE.fullmatch(SYMBOLS.get(text.strip(), text.strip().upper())))
