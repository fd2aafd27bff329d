"""CSV and OFX/QFX import into the caller's ledger: duplicates, atomicity, batches,
remembered mappings.

`parsing.py` (CSV) or `ofx.py` (OFX, QFX) turns the file into rows; this module writes them.
One pass over the rows, in chunks: each chunk is checked against the importer's own rows
(`duplicates.py`), new rows are written (`writing.py`: COPY on PostgreSQL), and the whole
import is one transaction, so a refused file, a crash or a bad line (unless the user chose
to skip bad lines) leaves nothing behind. An import batch is created with the first new row:
a file with nothing new leaves no (empty) batch.
"""
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Optional

from flask import current_app, url_for
from sqlalchemy import delete, select, text

from ..accounts.service import default_account, own_account_or_404
from ..errors import AppError
from ..extensions import db
from ..isolation import current_principal, invalidate_after_write, scope, unscoped
from ..models import ImportBatch, ImportMapping, Transaction, utcnow
from ..money_display import format_money
from ..observability import metrics
from ..rules.service import categoriser, describe
from . import ofx, parsing, writing
from .duplicates import DuplicateFinder, fitid_fingerprint

CHUNK_ROWS = 1000
PREVIEW_ROWS = 20
MAX_LISTED_ERRORS = 500


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    batch_id: Optional[int] = None
    account_id: Optional[int] = None
    rows: int = 0
    imported: int = 0
    duplicates: int = 0
    errors: list = field(default_factory=list)
    error_count: int = 0
    mapping: Optional[dict] = None
    warnings: list = field(default_factory=list)
    preview: list = field(default_factory=list)
    by_rules: int = 0  # rows without a category of their own that a rule categorised
    message: Optional[str] = None  # set when there was nothing new to import
    kind: str = "csv"  # or "ofx" (OFX and QFX)
    columns: list = field(default_factory=list)  # the CSV's columns, for a mapping
    currency: Optional[str] = None  # the file's own: an OFX CURDEF, a CSV amount header's
    account_ref: Optional[str] = None  # the account the file names (OFX ACCTID)
    # The rows the import adds (a dry run: would add): their first and last dates and their
    # total per currency (never added across currencies).
    first_date: Optional[date] = None
    last_date: Optional[date] = None
    totals: Counter = field(default_factory=Counter)

    @property
    def new(self):
        """Rows that are neither bad nor already in the ledger."""
        return self.rows - self.duplicates

    def to_json(self):
        return {"batch_id": self.batch_id, "account_id": self.account_id, "rows": self.rows,
                "imported": self.imported,
                "duplicates": self.duplicates, "errors": self.errors,
                "error_count": self.error_count, "mapping": self.mapping,
                "warnings": self.warnings, "preview": self.preview, "message": self.message,
                "kind": self.kind, "columns": self.columns, "currency": self.currency,
                "account_ref": self.account_ref,
                "first_date": self.first_date and self.first_date.isoformat(),
                "last_date": self.last_date and self.last_date.isoformat(),
                "totals": {currency: str(total) for currency, total in sorted(self.totals.items())},
                "transactions_url": _rows_url(self.batch_id), "by_rules": self.by_rules}

    def summary_text(self):
        """The dates and totals in words, for pages: "2024-03-01 to 2024-03-31, total
        −€12.50 and $3.00" (in the request's locale; empty when no row is added)."""
        if self.first_date is None:
            return ""
        dates = (self.first_date.isoformat() if self.first_date == self.last_date
                 else f"{self.first_date.isoformat()} to {self.last_date.isoformat()}")
        totals = " and ".join(format_money(total, currency)
                              for currency, total in sorted(self.totals.items()))
        return f"{dates}, total {totals}"

    def add_to_summary(self, rows, default_currency):
        """Count `rows` (ParsedRows) into the dates and totals."""
        totals, first, last = self.totals, self.first_date, self.last_date
        for row in rows:
            totals[row.currency or default_currency] += row.amount
            day = row.date
            if first is None or day < first:
                first = day
            if last is None or day > last:
                last = day
        self.first_date, self.last_date = first, last


def fingerprint(row, seen):
    """Same date, amount and description → same fingerprint, numbered by occurrence: the
    identity of a CSV row as mapped, stored with it. (Duplicates are no longer decided by it
    but by `duplicates.py`, whatever the mapping; an OFX row stores its FITID's instead.)

    The fingerprint is sha256("date|amount|description|occurrence"). `seen` (a dict the
    caller keeps for one file) counts occurrences under the first 16 bytes of a row's first
    fingerprint, which is computed anyway: one hash for a row seen for the first time."""
    base = (f"{row.date.isoformat()}|{row.amount!s}|"
            f"{' '.join(row.description.casefold().split())}|")
    first = _sha256(f"{base}1".encode()).digest()
    key = first[:16]
    seen[key] = occurrence = seen.get(key, 0) + 1
    if occurrence == 1:
        return first.hex()
    return _sha256(f"{base}{occurrence}".encode()).hexdigest()


_sha256 = hashlib.sha256


def row_json(row):
    return {"line": row.line, "date": row.date.isoformat(), "amount": str(row.amount),
            "description": row.description, "merchant": row.merchant,
            "category": row.category, "currency": row.currency}


def _layout(columns):
    return hashlib.sha256("\x1f".join(c.strip().casefold() for c in columns).encode()).hexdigest()


def _my(stmt, model):
    """Import state is personal whatever the flag: the importer's own rows only."""
    return scope(stmt.where(model.user_id == current_principal().id))


def _remembered(columns):
    return db.session.execute(
        _my(select(ImportMapping), ImportMapping).where(
            ImportMapping.layout == _layout(columns))).scalar()


def remembered_mapping(columns):
    saved = _remembered(columns)
    return json.loads(saved.mapping) if saved else None


def remembered_account_id(columns):
    """The account this file layout's rows went into last time, if any."""
    saved = _remembered(columns)
    return saved.account_id if saved else None


def _remember_mapping(columns, mapping, account_id):
    row = _remembered(columns)
    if row is None:
        db.session.add(ImportMapping(layout=_layout(columns), mapping=json.dumps(mapping),
                                     account_id=account_id))
    else:
        row.mapping, row.account_id, row.updated_at = json.dumps(mapping), account_id, utcnow()


def chosen_account(parsed, account_id=None):
    """The account an upload's rows go into, if chosen: the one named (the caller's own,
    else 404); else the one its file layout went into last time, while it is still theirs.
    None: each row goes into the caller's default account for its currency."""
    if account_id is not None:
        return own_account_or_404(account_id)
    remembered = remembered_account_id(parsed.columns)
    if remembered is not None:
        try:
            return own_account_or_404(remembered)
        except AppError:
            pass
    return None


class _RowAccounts:
    """Which account each row of an upload goes into. A chosen account takes every row, and
    a row in another currency (its currency column or symbol; the header's, as in
    `Betrag (EUR)`, counts for every row) refuses the whole file. With none chosen, each
    row goes into the caller's default account for its currency (made if need be), so a
    multi-currency export (Revolut) never adds two currencies together either."""

    def __init__(self, parsed, chosen):
        self.chosen = chosen
        # The file's own currency: a CSV amount header's ("Betrag (EUR)"), an OFX CURDEF.
        self.default_currency = parsed.currency or (
            chosen.currency if chosen else current_app.config["DEFAULT_CURRENCY"])
        if chosen and parsed.currency and parsed.currency != chosen.currency:
            raise _currency_mismatch(chosen, parsed.currency)
        self.defaults = {}
        self.first = chosen

    def of(self, row):
        currency = row.currency or self.default_currency
        if self.chosen:
            if currency != self.chosen.currency:
                raise _currency_mismatch(self.chosen, currency, row.line)
            return self.chosen
        if currency not in self.defaults:
            self.defaults[currency] = default_account(currency)
            self.first = self.first or self.defaults[currency]
        return self.defaults[currency]


def _currency_mismatch(account, currency, line=None):
    where = f"Line {line} is" if line else "The file's amounts are"
    return AppError(
        422, "currency_mismatch",
        f"{where} in {currency}, but the account “{account.name}” holds {account.currency}. "
        f"Nothing was imported: choose or create an account in {currency}.",
        currency=currency, account_currency=account.currency)


def _row_values(row, account, fp):
    """A parsed row as the writer takes it (writing.ROW_COLUMNS order), in `account`, whose
    currency is the row's (`_RowAccounts.of` refused any other)."""
    return (account.id, row.date, row.amount, account.currency, row.description, row.merchant,
            row.category, fp)


def open_upload(fileobj, filename=None, mapping=None):
    """Parse the upload: an OFX/QFX statement (by content, else extension), or a CSV with the
    given mapping, else the one remembered for its layout."""
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    head = fileobj.read(1024)
    fileobj.seek(0)
    try:
        if ofx.looks_like_ofx(head, filename):
            if mapping:
                raise parsing.BadMapping("An OFX or QFX file has no columns to map: send it "
                                         "without a mapping.")
            return ofx.parse_statement(fileobj, max_bytes)
        parsed = parsing.parse_upload(fileobj, max_bytes, mapping=mapping)
        if mapping is None:
            remembered = remembered_mapping(parsed.columns)
            if remembered and remembered != parsed.mapping:
                fileobj.seek(0)
                parsed = parsing.parse_upload(fileobj, max_bytes, mapping=remembered)
    except parsing.FileTooLarge:
        raise AppError(413, "payload_too_large",
                       f"The file is larger than {max_bytes // (1024 * 1024)} MB.") from None
    except parsing.FileRefused as exc:
        raise AppError(422, "file_refused", exc.message, errors=exc.errors) from None
    return parsed


def run_import(fileobj, filename, mapping=None, dry_run=False, skip_bad_lines=False,
               progress=None, account_id=None):
    """Import (or, with dry_run, only check) a CSV or OFX upload into the caller's accounts
    (see `_RowAccounts`). Raises AppError on refusal — among them a currency named by the file
    (a header like `Betrag (EUR)`, a currency column, a symbol, an OFX CURDEF) other than the
    chosen account's."""
    parsed = open_upload(fileobj, filename, mapping)
    user_id = current_principal().id
    accounts = _RowAccounts(parsed, chosen_account(parsed, account_id))
    result = ImportResult(mapping=parsed.mapping, warnings=list(parsed.warnings),
                          kind=parsed.kind, columns=list(parsed.columns),
                          currency=parsed.currency, account_ref=parsed.account_ref)
    default_currency = accounts.default_currency
    batch = writer = None
    seen, pending = {}, []
    duplicates = DuplicateFinder(_my)
    # The importer's rules give rows without a category theirs, before anything is written.
    apply_rules = categoriser()
    # Rows of one file never duplicate each other (duplicates.py skips this import's own), so only
    # rows that were there before the import can: none for a first import, no lookups.
    check_duplicates = db.session.execute(
        _my(select(Transaction.id), Transaction).limit(1)).first() is not None

    def flush_chunk():
        nonlocal batch, writer
        new = duplicates.new_rows(pending, result.batch_id) if check_duplicates else list(pending)
        result.duplicates += len(pending) - len(new)
        result.add_to_summary((row for row, _ in new), default_currency)
        will_write = not dry_run and (skip_bad_lines or not result.error_count)
        if will_write and new:
            if batch is None:
                batch = ImportBatch(filename=(filename or f"upload.{parsed.kind}")[:255],
                                    row_count=0)
                db.session.add(batch)
                db.session.flush()
                result.batch_id = batch.id
                # The owner is stamped here: COPY passes no ORM hook.
                writer = writing.row_writer(db.session, {
                    "user_id": user_id, "import_batch_id": batch.id, "created_at": utcnow()})
            writer.write([_row_values(row, accounts.of(row), fp) for row, fp in new])
        result.imported += len(new)
        pending.clear()
        if progress:
            progress(result.rows + result.error_count)

    row_error = parsing.RowError
    try:
        for item in parsed.rows():
            if isinstance(item, row_error):
                result.error_count += 1
                if len(result.errors) < MAX_LISTED_ERRORS:
                    result.errors.append({"line": item.line, "message": item.message})
                continue
            accounts.of(item)  # refuses a row in another currency than the chosen account's
            result.rows += 1
            item, rule = apply_rules(item)
            if rule is not None:
                result.by_rules += 1
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append(row_json(item) | {"rule": describe(rule) if rule else None})
            pending.append((item, fingerprint(item, seen) if item.fitid is None
                            else fitid_fingerprint(parsed.account_ref, item.fitid)))
            if len(pending) >= CHUNK_ROWS:
                flush_chunk()
        flush_chunk()
        result.account_id = accounts.first and accounts.first.id
        if result.error_count and not skip_bad_lines and not dry_run:
            raise AppError(
                422, "invalid_rows",
                f"{result.error_count} line(s) cannot be imported, so nothing was imported. "
                "Fix them, or choose to skip the bad lines.",
                errors=result.errors, error_count=result.error_count, mapping=result.mapping)
        if dry_run:
            db.session.rollback()
            if result.error_count and not skip_bad_lines:
                result.imported = 0
            return result
        if batch is None:
            result.message = (f"Nothing new: all {result.rows} row(s) are already in your "
                              "ledger." if result.rows else "Nothing new: no row to import.")
        else:
            writer.finish()
            batch.row_count = result.imported
        if parsed.mapping is not None:
            _remember_mapping(parsed.columns, parsed.mapping,
                              accounts.chosen and accounts.chosen.id)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    # Bad lines get this far only when the user chose to skip them.
    metrics.import_committed(result.imported, result.duplicates, skipped=result.error_count)
    if batch is not None:
        invalidate_after_write([user_id])
        _refresh_planner_statistics(result.imported)
    return result


BULK_ROWS = 10_000


def _refresh_planner_statistics(rows_added):
    """After a bulk load PostgreSQL's statistics still describe the table before it, and the
    next import's duplicate lookups would be planned as if this user had a handful of rows
    (scanning them all per chunk). Autovacuum catches up within minutes; this is now, for
    the two columns those lookups filter on (the whole table's took twice as long).

    As the login role, which owns the table: the wall's role may not ANALYZE it (PostgreSQL
    skips the table with only a warning). ANALYZE returns no row to anyone."""
    if rows_added >= BULK_ROWS and db.session.get_bind().dialect.name == "postgresql":
        with unscoped("import: planner statistics of transactions", quiet=True):
            db.session.execute(text("ANALYZE transactions (user_id, fingerprint)"))
            db.session.commit()


def list_batches():
    return db.session.execute(
        _my(select(ImportBatch), ImportBatch).order_by(ImportBatch.created_at.desc()).limit(100)
    ).scalars().all()


def undo_batch(batch_id):
    """Delete one of the caller's import batches and exactly the rows it imported.

    Personal on every ledger, like the batch list: another user's batch is a 404 even on
    the shared ledger (never 403: no existence oracle). A batch holds only its owner's rows
    (migration 0007's foreign key), so nobody else's row can go with it.
    """
    batch = db.session.execute(
        _my(select(ImportBatch), ImportBatch).where(ImportBatch.id == batch_id)).scalar()
    if batch is None:
        raise AppError(404, "not_found", f"No import batch with id {batch_id}.")
    deleted = db.session.execute(
        _my(delete(Transaction), Transaction).where(Transaction.import_batch_id == batch.id)
    ).rowcount
    db.session.delete(batch)
    db.session.commit()
    invalidate_after_write()
    return deleted


def _rows_url(batch_id):
    """Where the rows an import added are listed (None: it added none)."""
    return None if batch_id is None else url_for("transactions_api.api_list", batch=batch_id)


def batch_json(batch):
    return {"id": batch.id, "filename": batch.filename, "imported": batch.row_count,
            "created_at": batch.created_at.isoformat(), "transactions_url": _rows_url(batch.id)}
