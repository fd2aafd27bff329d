"""CSV import into the caller's ledger: duplicates, atomicity, batches, remembered mappings.

`parsing.py` turns the file into rows; this module writes them. One pass over the rows,
in chunks: each chunk's fingerprints are checked against the importer's own rows, new rows are
written (`writing.py`: COPY on PostgreSQL), and the whole import is one transaction, so a
refused file, a crash or a bad line (unless the user chose to skip bad lines) leaves nothing
behind. An import batch is created with the first new row: a file with nothing new leaves no
(empty) batch.
"""
import hashlib
import json
from dataclasses import dataclass, field
from typing import Optional

from flask import current_app
from sqlalchemy import delete, select, text

from ..accounts.service import default_account, own_account_or_404
from ..errors import AppError
from ..extensions import db
from ..isolation import current_principal, invalidate_after_write, scope
from ..models import ImportBatch, ImportMapping, Transaction, utcnow
from ..observability import metrics
from . import parsing, writing

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
    message: Optional[str] = None  # set when there was nothing new to import

    def to_json(self):
        return {"batch_id": self.batch_id, "account_id": self.account_id, "rows": self.rows,
                "imported": self.imported,
                "duplicates": self.duplicates, "errors": self.errors,
                "error_count": self.error_count, "mapping": self.mapping,
                "warnings": self.warnings, "preview": self.preview, "message": self.message}


def fingerprint(row, seen):
    """Same date, amount and description → same fingerprint, numbered by occurrence, so two
    identical rows in one file both land, and importing the file again adds nothing.

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
        self.default_currency = parsed.header_currency or (
            chosen.currency if chosen else current_app.config["DEFAULT_CURRENCY"])
        if chosen and parsed.header_currency and parsed.header_currency != chosen.currency:
            raise _currency_mismatch(chosen, parsed.header_currency)
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


def open_upload(fileobj, mapping=None):
    """Parse the upload with the given mapping, else the one remembered for its layout."""
    max_bytes = current_app.config["MAX_CONTENT_LENGTH"]
    try:
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
    """Import (or, with dry_run, only check) a CSV upload into one of the caller's accounts
    (see `_RowAccounts`). Raises AppError on refusal — among them a currency named by the file
    (a header like `Betrag (EUR)`, a currency column, a symbol) other than the chosen
    account's."""
    parsed = open_upload(fileobj, mapping)
    user_id = current_principal().id
    accounts = _RowAccounts(parsed, chosen_account(parsed, account_id))
    result = ImportResult(mapping=parsed.mapping, warnings=list(parsed.warnings))
    batch = None
    seen, pending = {}, []
    writer = writing.row_writer(db.session)
    # Rows of one file never duplicate each other (fingerprints count occurrences), so only
    # rows that were there before the import can: none for a first import, no lookups.
    check_duplicates = db.session.execute(
        _my(select(Transaction.id), Transaction).limit(1)).first() is not None

    def flush_chunk():
        nonlocal batch
        fingerprints = [fp for _, _, fp in pending]
        existing = set(db.session.execute(
            _my(select(Transaction.fingerprint), Transaction)
            .where(Transaction.fingerprint.in_(fingerprints))).scalars()) if check_duplicates else set()
        new = [(row, account, fp) for row, account, fp in pending if fp not in existing]
        result.duplicates += len(pending) - len(new)
        writing = not dry_run and (skip_bad_lines or not result.error_count)
        if writing and new:
            if batch is None:
                batch = ImportBatch(filename=(filename or "upload.csv")[:255], row_count=0)
                db.session.add(batch)
                db.session.flush()
                result.batch_id = batch.id
            batch_id = batch.id
            # In writing.COLUMNS order. The owner is stamped here: COPY passes no ORM hook.
            writer.write([
                (user_id, account.id, r.date, r.amount, account.currency, r.description,
                 r.merchant, r.category, batch_id, fp, utcnow())
                for r, account, fp in new])
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
            account = accounts.of(item)
            result.rows += 1
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append(row_json(item))
            pending.append((item, account, fingerprint(item, seen)))
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
        _remember_mapping(parsed.columns, parsed.mapping, accounts.chosen and accounts.chosen.id)
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
    (scanning them all per chunk). Autovacuum catches up within minutes; this is now."""
    if rows_added >= BULK_ROWS and db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE transactions"))
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


def batch_json(batch):
    return {"id": batch.id, "filename": batch.filename, "imported": batch.row_count,
            "created_at": batch.created_at.isoformat()}
