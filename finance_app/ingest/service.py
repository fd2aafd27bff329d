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
        return {"batch_id": self.batch_id, "rows": self.rows, "imported": self.imported,
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


def remembered_mapping(columns):
    saved = db.session.execute(
        _my(select(ImportMapping.mapping), ImportMapping).where(
            ImportMapping.layout == _layout(columns))).scalar()
    return json.loads(saved) if saved else None


def _remember_mapping(columns, mapping):
    layout = _layout(columns)
    row = db.session.execute(
        _my(select(ImportMapping), ImportMapping).where(ImportMapping.layout == layout)).scalar()
    if row is None:
        db.session.add(ImportMapping(layout=layout, mapping=json.dumps(mapping)))
    else:
        row.mapping, row.updated_at = json.dumps(mapping), utcnow()


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
               progress=None):
    """Import (or, with dry_run, only check) a CSV or OFX upload. Raises AppError on refusal."""
    parsed = open_upload(fileobj, filename, mapping)
    user_id = current_principal().id
    result = ImportResult(mapping=parsed.mapping, warnings=list(parsed.warnings),
                          kind=parsed.kind, columns=list(parsed.columns),
                          currency=parsed.currency, account_ref=parsed.account_ref)
    default_currency = current_app.config["DEFAULT_CURRENCY"]
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
            # In writing.ROW_COLUMNS order.
            writer.write([
                (r.date, r.amount, r.currency or default_currency, r.description, r.merchant,
                 r.category, fp)
                for r, fp in new])
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
            _remember_mapping(parsed.columns, parsed.mapping)
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
