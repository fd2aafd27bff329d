"""OFX and QFX import, the parsing layer: a bank or credit-card statement → the same rows a CSV
gives (`parsing.ParsedRow`), so preview, duplicates, confirm and undo are the CSV's own.

The file is read by ofxtools (a maintained OFX parser: OFX 1.x SGML, OFX 2.x XML, and QFX,
which is OFX 1 with Intuit's private tags). Per transaction: DTPOSTED → date, TRNAMT →
amount, NAME (or PAYEE's name) → merchant, NAME and MEMO → description, FITID → the bank's
id of the transaction, which decides duplicates alone (`duplicates.py`). The statement gives
`currency` (CURDEF) and `account_ref` (ACCTID) for the caller. No database, no Flask.
"""
import io
import warnings

from ..bounds import FIRST_DATE, date_range_text, last_date
from . import values
from .parsing import DESCRIPTION_MAX, MERCHANT_MAX, FileRefused, FileTooLarge, ParsedRow, RowError

EXTENSIONS = (".ofx", ".qfx")
NOT_OFX = "Export the statement from your bank again as OFX, QFX or CSV and upload that file."


def looks_like_ofx(head, filename=None):
    """Whether an upload is OFX/QFX: by its first bytes (an OFX 1 header, or an XML prolog
    naming OFX), or else by its extension."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:512].upper()
    if start.startswith(b"OFXHEADER") or start.startswith(b"<OFX>"):
        return True
    if start.startswith(b"<?XML") and b"<?OFX" in start:
        return True
    return (filename or "").lower().endswith(EXTENSIONS)


def parse_statement(fileobj, max_bytes):
    """Read a binary file object of at most `max_bytes` into a ParsedStatement. Raises
    FileTooLarge, or FileRefused saying what is wrong with the file."""
    data = fileobj.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(max_bytes)
    return ParsedStatement(data)


class ParsedStatement:
    """One OFX statement, answering what `parsing.ParsedUpload` answers (an OFX file has no
    columns to map: `columns` is empty and `mapping` None)."""

    kind = "ofx"
    columns = ()
    mapping = None

    def __init__(self, data):
        # ofxtools (about 9 MB) loads on the first OFX upload, not in every worker.
        from ofxtools.header import OFXHeaderError
        from ofxtools.Parser import OFXTree

        self.warnings = []
        tree = OFXTree()
        try:
            with warnings.catch_warnings():
                # Intuit's private QFX tags (INTU.BID…) are skipped, as they should be.
                warnings.simplefilter("ignore")
                tree.parse(io.BytesIO(data))
                ofx = tree.convert()
        except OFXHeaderError:
            raise FileRefused(f"This is not an OFX file: its header is missing or malformed. "
                              f"{NOT_OFX}") from None
        except Exception as exc:  # noqa: BLE001 - ofxtools raises many kinds for a bad file
            raise FileRefused(f"The OFX file cannot be read: {_reason(exc)}. {NOT_OFX}") from None
        statements = list(ofx.statements)
        if not statements:
            raise FileRefused("The OFX file holds no bank or credit card statement. " + NOT_OFX)
        if len(statements) > 1:
            raise FileRefused(f"The OFX file holds {len(statements)} statements (accounts "
                              + ", ".join(s.account.acctid for s in statements)
                              + "); export one account at a time.")
        statement = statements[0]
        self.currency = statement.curdef
        self.account_ref = statement.account.acctid
        self._transactions = list(statement.banktranlist or ())
        # The day as the bank wrote it: ofxtools gives DTPOSTED in UTC, which moves a
        # late-evening time west of Greenwich to the next day.
        self._posted = [element.findtext("DTPOSTED") or ""
                        for element in tree.getroot().iter("STMTTRN")]
        if len(self._posted) != len(self._transactions):
            raise FileRefused("The OFX file's transactions cannot be read. " + NOT_OFX)
        self.row_count = len(self._transactions)
        if not self.row_count:
            raise FileRefused("The OFX statement has no transactions.")

    def rows(self):
        """ParsedRow or RowError per transaction, in file order; `line` is the transaction's
        number in the statement."""
        last_day = last_date()
        for number, (tx, posted) in enumerate(zip(self._transactions, self._posted), start=1):
            yield _row(number, tx, posted, self.currency, last_day)

    def close(self):
        """Nothing to drop: the statement was read whole."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _row(number, tx, posted, currency, last_day):
    problems = []
    day = values.read_date(posted[:8], "YYYYMMDD")
    if day is None:
        problems.append(f"the date {posted!r} is not an OFX date")
    elif not FIRST_DATE <= day <= last_day:
        problems.append(f"the date {posted!r} ({day.isoformat()}) is not {date_range_text()}")
    amount = None
    try:  # a Decimal already: checked for size and places as a CSV cell is
        amount = values.parse_amount(format(tx.trnamt, "f"), ".")
    except values.AmountError as exc:
        problems.append(f"the amount {format(tx.trnamt, 'f')!r} {exc}")
    name = tx.name or (tx.payee.name if tx.payee is not None else None)
    texts = tuple(text for text in (name, tx.memo) if text and text.strip())
    description = values.clean_text(" ".join(dict.fromkeys(texts)), DESCRIPTION_MAX)
    if not description:
        problems.append("the transaction has neither a NAME nor a MEMO")
    if problems:
        message = "; ".join(problems)
        return RowError(number, f"{message[0].upper()}{message[1:]} (FITID {tx.fitid}).")
    return ParsedRow(number, day, amount, description,
                     merchant=values.clean_text(name, MERCHANT_MAX) if name else None,
                     currency=currency, cells=texts, fitid=tx.fitid)


def _reason(exc):
    """ofxtools' message, first line, without the Python class names it sometimes holds."""
    if isinstance(exc, ArithmeticError):  # decimal's InvalidOperation, whose text is a class
        return "a value that should be a number is not one"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace("<class '", "").replace("'>", "")[:300]
