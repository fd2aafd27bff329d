"""CSV import, the parsing layer: an uploaded bank export → validated rows. No database, no Flask.

    with parse_upload(request.files["file"].stream, max_bytes, mapping=None) as upload:
        upload.encoding, upload.delimiter, upload.has_header, upload.columns, upload.row_count
        upload.mapping    # JSON-ready; send it back, edited, as `mapping` to override the guess
        upload.warnings   # for the user, e.g. dates that read both day-first and month-first
        for item in upload.rows():      # ParsedRow or RowError, in file order, streamed
            ...

The upload is copied into memory (up to 1 MB) or a temporary file while its size is counted,
and read from there several times but never held whole: once to check the encoding, once to
decide each column's date format and decimal separator from all its values, and once per
`rows()`. Whole-file problems raise FileTooLarge (→ 413) or FileRefused (→ 422);
a bad line is a RowError naming its physical line (1-based, header and preamble counted).

A mapping names a column per role — header names, or 0-based indexes when there is no header,
None for no such column:
    date, amount (signed) or debit/credit (either may be empty; amount = credit − debit),
    direction (an Af/Bij, S/H, D/C column giving the sign of an unsigned amount),
    description, merchant, category, currency
and two formats, None to decide them from the file: `date_format` (one of
`values.DATE_FORMATS`, e.g. "DD/MM/YYYY") and `decimal` ("," or ".").
A user's mapping may give only some keys; the others keep the guess.
"""
import codecs
import csv
import io
import itertools
import tempfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, fields as dataclass_fields
from datetime import date
from decimal import Decimal
from typing import Optional

import charset_normalizer

from ..bounds import FIRST_DATE, date_range_text, last_date
from . import columns as cols
from . import values

SPOOL_IN_MEMORY = 1 << 20
CHUNK = 1 << 16
SAMPLE_CHARS = 1 << 16     # decoded text the delimiter, header and mapping are guessed from
SAMPLE_ROWS = 200
EVIDENCE_BYTES = 1 << 17   # non-ASCII lines shown to the encoding detector
MAX_PREAMBLE = 30          # account-summary lines some banks put above the header
DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
DESCRIPTION_MAX, MERCHANT_MAX, CATEGORY_MAX = 500, 200, 100
FORMAT_OPTIONS = ("date_format", "decimal")
SCAN_BATCH = 4096          # cells the scan gathers before counting them
DISTINCT_VALUES = 4096     # distinct values the scan counts before reading them (memory bound)
DISTINCT_DATES = 4096      # date cells remembered, read, by a pass over the rows
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")
ZERO = Decimal("0.00")
BINARY_SIGNATURES = (
    (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive or an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0", "an Excel workbook (.xls)"), (b"\x1f\x8b", "a gzip archive"))
NOT_CSV = "Export the transactions from your bank as CSV and upload that file."


class FileRefused(Exception):
    """The whole file cannot be imported. `errors` lists lines when the reason has any."""

    def __init__(self, message, errors=None):
        super().__init__(message)
        self.message = message
        self.errors = list(errors or [])


class BadMapping(FileRefused):
    """The user's mapping does not fit the file (e.g. it names a column the file lacks)."""


class FileTooLarge(Exception):
    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.message = f"The file is larger than the {_size(max_bytes)} limit."
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    date: date
    amount: Decimal
    description: str
    merchant: Optional[str] = None
    category: Optional[str] = None
    currency: Optional[str] = None  # None: the caller applies its default
    # The record's text cells as read, whatever the mapping (duplicates.py compares them)...
    cells: tuple = field(default=(), repr=False, compare=False)
    # ...or the bank's own id of the transaction (OFX FITID), which decides alone.
    fitid: Optional[str] = field(default=None, repr=False, compare=False)


def _parsed_row_maker():
    """ParsedRow(line, date, amount, description, merchant, category, currency, cells), the
    same object, made at half the cost: the frozen dataclass's __init__ sets each field
    through object.__setattr__; this sets the slots with their descriptors. For the rows
    pass (of a CSV: no FITID)."""
    names = tuple(f.name for f in dataclass_fields(ParsedRow))
    if names != ParsedRow.__slots__ or hasattr(ParsedRow, "__post_init__"):
        raise TypeError("ParsedRow changed: update _parsed_row_maker")
    set_line, set_date, set_amount, set_description, set_merchant, set_category, \
        set_currency, set_cells, set_fitid = (getattr(ParsedRow, name).__set__ for name in names)
    new = object.__new__

    def make(line, date, amount, description, merchant, category, currency, cells):
        row = new(ParsedRow)
        set_line(row, line)
        set_date(row, date)
        set_amount(row, amount)
        set_description(row, description)
        set_merchant(row, merchant)
        set_category(row, category)
        set_currency(row, currency)
        set_cells(row, cells)
        set_fitid(row, None)
        return row

    return make


_new_parsed_row = _parsed_row_maker()


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def as_dict(self):
        return {"line": self.line, "message": self.message}


def parse_upload(fileobj, max_bytes, mapping=None):
    """Read a binary file object (a FileStorage's stream, an open file) of at most `max_bytes`
    into a ParsedUpload. Raises FileTooLarge, FileRefused (BadMapping for a bad `mapping`)."""
    spool = _spool(fileobj, max_bytes)
    try:
        return ParsedUpload(spool, mapping)
    except BaseException:
        spool.close()
        raise


class ParsedUpload:
    """A checked upload: what was decided about it, and its rows on demand.

    Attributes: `encoding` (a Python codec name), `delimiter`, `has_header`, `columns`
    (header names, or "Column 1"… without a header), `mapping` (see the module docstring),
    `date_format` and `decimal` (as decided), `row_count` (non-blank data lines, good or
    bad) and `warnings` (sentences for the user). Iterate one `rows()` at a time; `close()`
    (or a `with` block) drops the temporary copy early.

    What an OFX statement (`ofx.ParsedStatement`) also answers: `kind` ("csv"), `currency`
    (the one an amount header names, else None) and `account_ref` (None: a CSV names no
    account).
    """

    kind = "csv"
    account_ref = None

    def __init__(self, spool, mapping=None):
        self._spool = spool
        self.warnings = []
        self.encoding = _detect_encoding(spool)
        with self._text() as text:
            sample = text.read(SAMPLE_CHARS)
            complete = not text.read(1)
        if not sample.strip():
            raise FileRefused("The file is empty.")
        self.delimiter = _sniff_delimiter(sample, complete)
        self._csv = {"delimiter": self.delimiter, "quotechar": '"', "skipinitialspace": True}
        records = [r for r in _read_records(sample, self._csv, complete) if _filled(r[1])]
        start, width = _skip_preamble(records)
        if start:
            self.warnings.append(f"The first {start} line(s) above the table (an account "
                                 "summary?) were skipped.")
        first_line, first = records[start]
        below = records[start + 1:start + 1 + SAMPLE_ROWS]
        rest = [fields for _, fields in below]
        rest_lines = [line for line, _ in below]
        self.has_header = _looks_like_header(first, rest, sample)
        if self.has_header:
            sampled, lines = rest, rest_lines
            named = max((i + 1 for i, name in enumerate(first) if name.strip()), default=0)
            self.columns = _column_names(first[:_used_width(len(first), sampled, named)])
            self._first_data_line = first_line + 1
            # Columns up to the last named one must be there; extra fields must be empty.
            self._required = named
        else:
            sampled, lines = [first, *rest[:-1]], [first_line, *rest_lines[:-1]]
            width = _used_width(width, sampled)
            self.columns = [f"Column {i}" for i in range(1, width + 1)]
            self._first_data_line = first_line
            self._required = width
            self.warnings.append("The file has no header row; its columns were guessed from "
                                 "their values.")
        self._roles, formats = self._choose_mapping(sampled, lines, mapping or {})
        self.row_count, date_votes, decimal_votes = self._scan(formats["date_format"] is None)
        if not self.row_count:
            raise FileRefused("The file has a header row but no transactions." if self.has_header
                              else "The file has no transactions.")
        self.date_format = formats["date_format"] or self._decide_date_format(date_votes)
        self.decimal = formats["decimal"] or values.choose_decimal(decimal_votes, self.delimiter)
        self._amount_roles = [role for role in ("amount", "credit", "debit")
                              if self._roles[role] is not None]
        self.mapping = {role: self._name(col) for role, col in self._roles.items()}
        self.mapping.update(formats)
        # "Betrag (EUR)": the currency of every amount a row does not say otherwise.
        amount_headers = [self.mapping[role] for role in self._amount_roles] \
            if self.has_header else []
        self.header_currency = next(filter(None, map(values.currency_in_header,
                                                     amount_headers)), None)

    @property
    def currency(self):
        return self.header_currency

    # --- reading --------------------------------------------------------------------------

    @contextmanager
    def _text(self):
        self._spool.seek(0)
        text = io.TextIOWrapper(self._spool, encoding=self.encoding, newline="")
        try:
            yield text
        finally:
            text.detach()

    def _records(self):
        """(line, fields) for every non-blank line below the header, streamed."""
        first_data_line = self._first_data_line
        with self._text() as text:
            reader = csv.reader(text, **self._csv)
            previous = 0
            try:
                for fields in reader:
                    line, previous = previous + 1, reader.line_num
                    # Most lines start with a character that is not whitespace: filled.
                    if line >= first_data_line and fields and (
                            (fields[0] and not fields[0][0].isspace()) or _filled(fields)):
                        yield line, fields
            except csv.Error as exc:
                line = previous + 1
                raise FileRefused(f"Line {line} cannot be read as CSV: {exc}.",
                                  [{"line": line, "message": f"cannot be read as CSV: {exc}"}]
                                  ) from None

    def _shape_error(self, fields):
        """Why a line does not fit the table (fields missing or too many), or None."""
        if len(fields) == len(self.columns):
            return None
        if len(fields) < self._required or any(f.strip() for f in fields[len(self.columns):]):
            unclosed = " (a quote is probably not closed)" if any("\n" in f for f in fields) else ""
            return f"The line has {len(fields)} fields instead of {len(self.columns)}{unclosed}."
        return None

    # --- decisions ------------------------------------------------------------------------

    def _name(self, col):
        if col is None:
            return None
        return self.columns[col] if self.has_header else col

    def _refuse_missing(self, roles, what, sampled, lines, otherwise):
        """Refuse the file for lacking a column for `roles`. When the header names such a
        column but its values did not fit, say so with the first value that does not, and
        its line: "No amount column… The columns are: Date, Description, Amount" would
        contradict the header the user sees."""
        col = cols.named_column(self.columns, roles) if self.has_header else None
        if col is not None:
            fits = {"a date": values.is_date, "an amount": values.is_amount,
                    "a description": lambda text: not (values.is_date(text)
                                                       or values.is_amount(text))}[what]
            name = self.columns[col]
            filled = [(line, _cell(fields, col)) for line, fields in zip(lines, sampled)
                      if _cell(fields, col)]
            for line, cell in filled:
                if not fits(cell):
                    raise FileRefused(
                        f"Column '{name}' has a value that is not {what} on line {line}: "
                        f"{cell!r}. Choose another column for it, or fix the file.",
                        [{"line": line, "message": f"{cell!r} is not {what}"}])
            if not filled:
                raise FileRefused(f"Column '{name}' is empty on every line, so it cannot be "
                                  f"{what}.")
            # Every value fits, yet the column was not taken: its values read as another
            # kind too (20240301 is a date and a number), or another role took it.
            line, cell = filled[0]
            raise FileRefused(
                f"Column '{name}' could not be told apart from other columns (line {line}: "
                f"{cell!r}). Send a mapping that names the column for each role.")
        raise FileRefused(otherwise)

    def _choose_mapping(self, sampled, lines, wanted):
        unknown = sorted(set(wanted) - set(cols.ROLES) - set(FORMAT_OPTIONS), key=str)
        if unknown:
            raise BadMapping(f"Unknown mapping field(s): {', '.join(map(str, unknown))}. Use: "
                             + ", ".join(cols.ROLES + FORMAT_OPTIONS) + ".")
        formats = {key: wanted.get(key) or None for key in FORMAT_OPTIONS}
        if formats["date_format"] not in (None, *values.DATE_FORMATS):
            raise BadMapping(f"Unknown date format {formats['date_format']!r}; use one of: "
                             + ", ".join(values.DATE_FORMATS) + ".")
        if formats["decimal"] not in (None, ",", "."):
            raise BadMapping("The decimal separator must be ',' or '.'.")
        guessed = cols.guess(self.columns if self.has_header else None,
                             cols.profile(sampled, len(self.columns)))
        roles = {key: value for key, value in wanted.items() if key in cols.ROLES}
        try:
            mapping = cols.override(guessed, roles, self.columns)
        except cols.MappingProblem as exc:
            raise BadMapping(str(exc)) from None
        listed = "The columns are: " + ", ".join(self.columns) + "."
        if mapping["date"] is None:
            self._refuse_missing(("date",), "a date", sampled, lines,
                                 f"No date column was found. {listed}")
        if all(mapping[role] is None for role in ("amount", "debit", "credit")):
            self._refuse_missing(("amount", "debit", "credit"), "an amount", sampled, lines,
                                 "No amount column (nor debit and credit columns) was found. "
                                 + listed)
        if mapping["description"] is None:
            self._refuse_missing(("description",), "a description", sampled, lines,
                                 f"No description column was found. {listed}")
        if mapping["amount"] is not None:
            mapping["debit"] = mapping["credit"] = None
        else:
            mapping["direction"] = None
        return mapping, formats

    def _scan(self, vote_dates):
        """One pass over every line: count them, and vote on the date format and the
        decimal separator with every value of the columns concerned.

        Each value is read once per distinct value, not once per line: dates repeat
        (several lines a day), and amounts are counted by shape, their digits all made 0
        (which digits they are changes neither how a cell splits into sign, number and
        currency nor the separator it shows). The cells are gathered SCAN_BATCH lines at a
        time and counted by Counter; the counts are read, and emptied, whenever they hold
        more than DISTINCT_VALUES values, so memory stays bounded. The votes are those of
        reading every value in file order, in the same order (a tie goes to the format
        seen first)."""
        width = len(self.columns)
        date_col = self._roles["date"] if vote_dates else None
        amount_cols = [col for role, col in self._roles.items()
                       if role in ("amount", "debit", "credit") and col is not None]
        date_votes, decimal_votes = Counter(), Counter()
        date_cells, amount_cells = [], []
        dates, shapes = Counter(), Counter()

        def count_cells(final=False):
            dates.update(date_cells)
            # One translate for the batch: cells hold no NUL (the file would be refused).
            shapes.update("\0".join(amount_cells).translate(_DIGITS_AS_ZERO).split("\0")
                          if amount_cells else ())
            date_cells.clear()
            amount_cells.clear()
            if final or len(dates) > DISTINCT_VALUES:
                for text, n in dates.items():
                    for name, _ in values.date_readings(text):
                        date_votes[name] += n
                dates.clear()
            if final or len(shapes) > DISTINCT_VALUES:
                for shape, n in shapes.items():
                    try:
                        _, number, _ = values.split_amount(shape)
                    except values.AmountError:
                        continue
                    decimal_votes[values.decimal_hint(number)] += n
                shapes.clear()

        count = 0
        for _, fields in self._records():
            count += 1
            if len(fields) != width:
                if self._shape_error(fields):
                    continue
                fields = _padded(fields, width)
            if date_col is not None:
                date_cells.append(fields[date_col])
            for col in amount_cols:
                amount_cells.append(fields[col])
            if len(amount_cells) >= SCAN_BATCH:
                count_cells()
        count_cells(final=True)
        return count, date_votes, decimal_votes

    def _decide_date_format(self, votes):
        chosen, ambiguous = values.choose_date_format(votes)
        column = self.columns[self._roles["date"]]
        if chosen is None:
            raise FileRefused(f"No value in the date column '{column}' is a date in a known "
                              "format (such as 2024-03-31, 31.03.2024, 03/31/2024 or 31 Mar 2024).")
        if ambiguous:
            other = values.swapped(chosen)
            self.warnings.append(
                f"The dates in column '{column}' read both day-first ({chosen}) and month-first "
                f"({other}); they were read day-first. If they are month-first, choose the "
                f"date format {other}.")
        return chosen

    # --- rows -----------------------------------------------------------------------------

    def rows(self):
        """ParsedRow or RowError for each non-blank line below the header, in file order."""
        parse = self._row_parser()
        for line, fields in self._records():
            yield parse(line, fields)

    def preview(self, n=20):
        """The first `n` items of `rows()`."""
        rows = self.rows()
        try:
            return list(itertools.islice(rows, n))
        finally:
            rows.close()

    def _row_parser(self):
        """A function (line, fields) → ParsedRow or RowError for this upload, with what is
        the same for every line decided once: the columns, the formats, the accepted dates."""
        width, shape_error = len(self.columns), self._shape_error
        roles, date_format, header_currency = self._roles, self.date_format, self.header_currency
        date_col, description_col, direction_col = (
            roles["date"], roles["description"], roles["direction"])
        merchant_col, category_col, currency_col = (
            roles["merchant"], roles["category"], roles["currency"])
        amount_cols = [(role, roles[role], role == "debit") for role in self._amount_roles]
        no_amount = ("the amount is empty" if roles["amount"] is not None
                     else "the debit and credit are both empty")
        read_amount = values.amount_reader(self.decimal)
        last_day = last_date()  # once per pass, not per line
        dates = {}  # date cell → (date or None, problem or None): statements repeat dates
        new_row = _new_parsed_row

        def read_date(text):
            text = text.strip()
            day = values.read_date(text, date_format)
            if day is None:
                return None, (f"the date {text!r} is not a {date_format} date" if text
                              else "the date is empty")
            if not FIRST_DATE <= day <= last_day:
                return day, (f"the date {text!r} ({day.isoformat()}) is not "
                             f"{date_range_text()}")
            return day, None

        def amount(fields):
            """(signed amount, currency written with it, None), or (None, None, problem)."""
            total, currency, found = ZERO, None, False
            for role, col, debit in amount_cols:
                try:
                    read = read_amount(fields[col])
                except values.AmountError as exc:
                    return None, None, f"the {role} {fields[col].strip()!r} {exc}"
                if read is None:
                    continue
                negative, value, written = read
                if role == "amount" and direction_col is not None:
                    word = fields[direction_col].strip()
                    if word.lower() not in cols.DIRECTION_WORDS:
                        return None, None, (f"the debit/credit indicator {word!r} is not one of "
                                            + "/".join(sorted(cols.DIRECTION_WORDS)))
                    negative = cols.DIRECTION_WORDS[word.lower()]
                total += -value if negative or debit else value
                currency, found = currency or written, True
            if not found:
                return None, None, no_amount
            return total, currency, None

        def parse(line, fields):
            if len(fields) != width:
                shape = shape_error(fields)
                if shape:
                    return RowError(line, shape)
                fields = _padded(fields, width)
            text = fields[date_col]
            if (known := dates.get(text)) is None:
                if len(dates) >= DISTINCT_DATES:
                    dates.clear()
                known = dates[text] = read_date(text)
            day, date_problem = known
            value, currency, amount_problem = amount(fields)
            merchant = (" ".join(fields[merchant_col].split())[:MERCHANT_MAX] or None
                        if merchant_col is not None else None)
            description = " ".join(fields[description_col].split())[:DESCRIPTION_MAX]
            if not description and merchant:
                description = " ".join(fields[merchant_col].split())[:DESCRIPTION_MAX]
            currency_problem = None
            currency = currency or header_currency
            if currency_col is not None:
                try:
                    currency = values.read_currency(fields[currency_col]) or currency
                except ValueError as exc:
                    currency_problem = f"the {exc}"
            if date_problem or amount_problem or not description or currency_problem:
                problems = [p for p in (date_problem, amount_problem,
                                        None if description else "the description is empty",
                                        currency_problem) if p]
                message = "; ".join(problems)
                return RowError(line, message[0].upper() + message[1:] + ".")
            category = (" ".join(fields[category_col].split())[:CATEGORY_MAX] or None
                        if category_col is not None else None)
            return new_row(line, day, value, description, merchant, category, currency,
                           tuple(fields))

        return parse

    # --- lifetime -------------------------------------------------------------------------

    def close(self):
        self._spool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- the file as a whole -----------------------------------------------------------------------

def _size(n):
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:g} {unit}"
    return f"{n} bytes"


def _spool(fileobj, max_bytes):
    """The upload copied into memory up to SPOOL_IN_MEMORY bytes, else into a temporary
    file. (As tempfile.SpooledTemporaryFile, but the result is the io module's own file
    object: a text reader over it checks `closed` on every line, and SpooledTemporaryFile
    answers that in Python.)"""
    spool = io.BytesIO()
    size = 0
    try:
        while chunk := fileobj.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FileTooLarge(max_bytes)
            if size > SPOOL_IN_MEMORY and isinstance(spool, io.BytesIO):
                in_memory, spool = spool, tempfile.TemporaryFile()
                spool.write(in_memory.getvalue())
                in_memory.close()
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    return spool


def _chunks(spool):
    spool.seek(0)
    return iter(lambda: spool.read(CHUNK), b"")


def _decodes(spool, encoding):
    """Whether the whole file decodes strictly; refuses it outright if it holds NUL characters."""
    decoder = codecs.getincrementaldecoder(encoding)()
    wide = encoding == "utf-16"  # where a NUL byte is half of an ordinary character
    try:
        for chunk in itertools.chain(_chunks(spool), [None]):
            if (not wide and chunk and b"\0" in chunk) or \
                    "\0" in decoder.decode(chunk or b"", final=chunk is None):
                raise FileRefused("The file contains NUL bytes, so it is binary, not a CSV text "
                                  "file (a CSV saved as UTF-16 must be saved as UTF-8). " + NOT_CSV)
    except UnicodeDecodeError:
        return False
    return True


def _detect_encoding(spool):
    """UTF-8 (with or without BOM), UTF-16 with a BOM, or what charset-normalizer finds."""
    head = next(_chunks(spool), b"")
    if not head:
        raise FileRefused("The file is empty.")
    for signature, what in BINARY_SIGNATURES:
        if head.startswith(signature):
            raise FileRefused(f"This is {what}, not a CSV file. {NOT_CSV}")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8"
    if not _decodes(spool, encoding):
        if encoding != "utf-8":
            raise FileRefused(f"The file says it is {encoding.upper()} but is not. {NOT_CSV}")
        encoding = _detect_legacy_encoding(spool)
    text = head.decode(encoding, errors="ignore")
    control = sum(1 for c in text if (c < " " and c not in "\t\n\r\f") or "\x7f" <= c <= "\x9f")
    if control > len(text) / 50:
        raise FileRefused(f"The file is mostly not text, so it is not a CSV file. {NOT_CSV}")
    return encoding


def _detect_legacy_encoding(spool):
    evidence = bytearray()
    for chunk in _chunks(spool):
        if not chunk.isascii():
            evidence += b"\n".join(line for line in chunk.splitlines() if not line.isascii())
            evidence += b"\n"
        if len(evidence) >= EVIDENCE_BYTES:
            break
    evidence = bytes(evidence[:EVIDENCE_BYTES])
    matches = charset_normalizer.from_bytes(evidence)
    best = matches.best()
    if best is None:
        raise FileRefused("The file's text encoding could not be recognised (it is neither "
                          f"UTF-8 nor a known legacy encoding). {NOT_CSV}")
    encoding = codecs.lookup(best.encoding).name
    # Western text often reads as well in several code pages: German "Crème" is as coherent
    # in cp1250 ("Crčme") as in cp1252, and the detector's tie goes to cp1250. When cp1252
    # reads the text as well as the best guess (or identically), say cp1252, the code page
    # such files are written in.
    if encoding != "cp1252" and (
            evidence.decode("cp1252", "replace") == str(best)
            or any("cp1252" in match.could_be_from_charset and match.chaos <= best.chaos
                   and match.coherence >= best.coherence for match in matches)):
        encoding = "cp1252"
    if not _decodes(spool, encoding):
        raise FileRefused(f"The file mixes text encodings and cannot be read. {NOT_CSV}")
    return encoding


# --- table shape -------------------------------------------------------------------------------

def _filled(fields):
    return not "".join(fields).isspace() and any(fields)


def _padded(fields, width):
    """`fields` with missing trailing fields as empty ones: a line that fits the table
    (see `_shape_error`) may end before its last, optional, columns."""
    return fields + [""] * (width - len(fields)) if len(fields) < width else fields


def _cell(fields, col):
    """The stripped cell, "" for no column or a missing trailing field."""
    return fields[col].strip() if col is not None and col < len(fields) else ""


def _read_records(text, csv_format, complete=True):
    """(line, fields) for each record of a text sample; a possibly cut last one is dropped."""
    reader = csv.reader(io.StringIO(text, newline=""), **csv_format)
    records, previous = [], 0
    try:
        for fields in reader:
            records.append((previous + 1, fields))
            previous = reader.line_num
    except csv.Error:
        complete = False
    if not complete and len(records) > 1:
        records.pop()
    return records


def _sniff_delimiter(sample, complete):
    """The delimiter that splits the sample into the most consistent rows of ≥ 2 fields —
    csv.Sniffer's choice when it is as good as any — or FileRefused."""
    try:
        sniffed = csv.Sniffer().sniff(sample[:SAMPLE_CHARS // 4], delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = None

    def score(delimiter):
        fmt = {"delimiter": delimiter, "quotechar": '"', "skipinitialspace": True}
        widths = Counter(len(f) for _, f in _read_records(sample, fmt, complete) if _filled(f))
        width, rows = widths.most_common(1)[0] if widths else (0, 0)
        consistency = round(rows / sum(widths.values()), 1) if width > 1 else 0
        return consistency, width, delimiter == sniffed

    best = max(DELIMITERS, key=score)
    if not score(best)[0]:
        raise FileRefused("No columns were found: the file is not a table separated by commas, "
                          f"semicolons or tabs. {NOT_CSV}")
    return best


def _skip_preamble(records):
    """(records above the table to skip, the table's width): the lines before the first one
    as wide as most (wider only by empty fields), or one narrower when the rows all end with
    a delimiter and it does not."""
    width = Counter(len(f) for _, f in records).most_common(1)[0][0]
    first = next((i for i, (_, f) in enumerate(records)
                  if len(f) >= width and not _filled(f[width:])), 0)
    if first > MAX_PREAMBLE:
        return 0, width
    trailing = all(not f[-1].strip() for _, f in records[first:] if len(f) == width)
    if first and trailing and len(records[first - 1][1]) == width - 1:
        first -= 1
    return first, width


def _used_width(width, rows, at_least=0):
    """`width` less the trailing columns that are empty in every sampled row (left by
    lines that end with a delimiter)."""
    while width > at_least and not any(_cell(row, width - 1) for row in rows):
        width -= 1
    return width


def _looks_like_header(first, rest, sample):
    """Whether the first table row is a header: it breaks the type of a column of dates or
    numbers below it, or (with no such column) it holds known header names."""
    typed = False
    for cell, p in zip(first, cols.profile(rest, len(first))):
        cell = cell.strip()
        if not p.filled or not cell:
            continue
        if p.share(p.dates) >= 0.8:
            typed = True
            if not values.is_date(cell):
                return True
        elif p.share(p.numbers) >= 0.8:
            typed = True
            if not values.is_amount(cell):
                return True
    if typed:
        return False
    if any(cols.known_header(cell) for cell in first if cell.strip()):
        return True
    try:
        return csv.Sniffer().has_header(sample)
    except csv.Error:
        return False


def _column_names(header):
    """Header cells cleaned, blanks named "Column N", repeats numbered, so names are unique."""
    names, seen = [], Counter()
    for index, cell in enumerate(header, start=1):
        name = " ".join(cell.split()) or f"Column {index}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names
