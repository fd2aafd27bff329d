"""Transactions: the one filtered query, and every read and write of a user's rows.

Every read goes through `scope()`; every write finds its row with `owned_or_404()` and then
invalidates the cache namespaces that could hold the old value.
"""
import csv
import hashlib
import io
import json
import logging
from datetime import date
from decimal import Decimal
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from ..api import Body, changes_something
from ..bounds import Day, Id, Offset
from ..extensions import db
from ..isolation import cached, invalidate_after_write, owned_or_404, scope
from ..accounts.service import default_account, get_account, own_account_or_404
from ..errors import AppError
from ..models import Transaction
from ..months import Month, bounds
from .categories import category_counts
from .money import Currency, parse_money

log = logging.getLogger(__name__)

MAX_PAGE = 500
PAGE_FIELDS = ("sort", "limit", "offset")
SORTS = {
    "date": (Transaction.date.asc(), Transaction.id.asc()),
    "-date": (Transaction.date.desc(), Transaction.id.desc()),
    "amount": (Transaction.amount.asc(), Transaction.id.asc()),
    "-amount": (Transaction.amount.desc(), Transaction.id.desc()),
    "description": (Transaction.description.asc(), Transaction.id.asc()),
    "merchant": (Transaction.merchant.asc(), Transaction.id.asc()),
}


class Filters(Body):
    """Query parameters shared by the JSON list, the web page and the CSV export."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    q: Optional[str] = Field(default=None, max_length=200)
    category: Optional[str] = Field(default=None, max_length=100)
    uncategorised: bool = False  # only rows without a category
    month: Optional[Month] = None
    start: Optional[Day] = None
    end: Optional[Day] = None
    min: Optional[Decimal] = None
    max: Optional[Decimal] = None
    batch: Optional[Id] = None  # the rows one import added
    account: Optional[Id] = None  # one account's rows
    sort: Literal[tuple(SORTS)] = "-date"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: Offset = 0

    @field_validator("q", "category", "month", "start", "end", "batch", "account",
                     mode="before")
    @classmethod
    def blank_is_absent(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("min", "max", mode="before")
    @classmethod
    def amount_bound(cls, value):
        # Blank (a form's empty Min or Max) is absent here too: one validator per field, since
        # pydantic would run this before a second "before" validator of the same field.
        value = cls.blank_is_absent(value)
        return None if value is None else parse_money(value)

    @model_validator(mode="after")
    def ordered_bounds(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError("start must be on or before end")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not be larger than max")
        if self.category and self.uncategorised:
            raise ValueError("choose a category or uncategorised, not both")
        return self

    def count_key(self):
        """The cache key of the total these filters match: every field but the page's (the
        sort and the page do not change the total, so every page shares one entry). A new
        filter field joins the key by itself. Hashed: a search text must not make keys long."""
        fields = self.model_dump(mode="json", exclude=set(PAGE_FIELDS))
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        return "count:" + hashlib.sha256(canonical.encode()).hexdigest()

    def query_args(self, **changes):
        """These filters as URL query arguments (for pagination and export links)."""
        values = self.model_dump(exclude_none=True) | changes
        return {k: str(v) for k, v in values.items() if v is not False and v not in (None, "")}


def contains_text(column, needle):
    """SQL: `column` contains `needle`, ignoring case (`needle` is lower-cased here; % and _
    in it are plain characters). A missing value contains nothing."""
    return func.lower(func.coalesce(column, "")).contains(needle.lower(), autoescape=True)


def _filtered(stmt, f):
    if f.q:
        stmt = stmt.where(or_(contains_text(Transaction.description, f.q),
                              contains_text(Transaction.merchant, f.q)))
    if f.category:
        stmt = stmt.where(Transaction.category == f.category)
    if f.uncategorised:
        stmt = stmt.where(Transaction.uncategorised())
    if f.month:
        first, last = bounds(f.month)
        stmt = stmt.where(Transaction.date >= first, Transaction.date <= last)
    if f.start:
        stmt = stmt.where(Transaction.date >= f.start)
    if f.end:
        stmt = stmt.where(Transaction.date <= f.end)
    if f.min is not None:
        stmt = stmt.where(Transaction.amount >= f.min)
    if f.max is not None:
        stmt = stmt.where(Transaction.amount <= f.max)
    if f.batch is not None:
        stmt = stmt.where(Transaction.import_batch_id == f.batch)
    if f.account:
        stmt = stmt.where(Transaction.account_id == f.account)
    return stmt


def count_transactions(f):
    """How many of the caller's visible transactions match the filters."""
    # count(*), not count(id): it reads no column, and the row-level security policies read
    # only user_id, so PostgreSQL can count the entries of an index on (user_id, …) without
    # visiting the table (an index-only scan) — work in the visible rows, not the table.
    counted = select(func.count()).select_from(Transaction)
    # Even index-only, the count reads every visible row (~0.8 s for a shared ledger of 1M
    # rows), so it is cached per namespace: every write, cohort move and account deletion
    # moves the generations it depends on, and a shared-ledger entry is rebuilt under another
    # flag definition (cache_keys.cached). Without the cache it is counted each time.
    return cached(f.count_key(), lambda: db.session.execute(scope(_filtered(counted, f))).scalar())


def transactions_page(f):
    """One page of the caller's visible transactions matching the filters (rows of LISTED)."""
    return db.session.execute(scope(
        _filtered(select(*LISTED), f).order_by(*SORTS[f.sort]).limit(f.limit).offset(f.offset)
    )).all()


def list_transactions(f):
    """One page of the caller's visible transactions and the total matching the filters.
    Filtered to one account (which must be visible: 404 otherwise), each row also carries
    the account's balance after it (`running_balances`)."""
    if f.account:
        get_account(f.account)
    total = count_transactions(f)
    return transactions_page(f), total


def running_balances(account_id, rows):
    """{row id: the account's balance after that row}, for rows of one account: its opening
    balance plus every row of the account up to and including it, in date order (the list's
    order, ties by id), whatever filters chose the rows."""
    if not rows:
        return {}
    account = get_account(account_id)
    earlier = aliased(Transaction)
    stmt = (select(Transaction.id, func.sum(earlier.amount))
            .join(earlier, and_(earlier.account_id == Transaction.account_id, or_(
                earlier.date < Transaction.date,
                and_(earlier.date == Transaction.date, earlier.id <= Transaction.id))))
            .where(Transaction.id.in_([row.id for row in rows]),
                   Transaction.account_id == account.id)
            .group_by(Transaction.id))
    return {row_id: (account.opening_balance + Decimal(total)).quantize(Decimal("0.01"))
            for row_id, total in db.session.execute(scope(stmt)).all()}


# A page's columns. Its rows come back as read-only rows with these names, not as ORM
# objects: every caller only reads them (JSON, templates, the assistant), and putting 50
# objects into the session's identity map cost more than the query.
LISTED = (Transaction.id, Transaction.date, Transaction.amount, Transaction.currency,
          Transaction.description, Transaction.merchant, Transaction.category,
          Transaction.import_batch_id, Transaction.account_id)


def iter_transactions(f, batch=1000):
    """Every transaction matching the filters (ignoring the page), streamed in batches."""
    stmt = scope(_filtered(select(Transaction), f).order_by(*SORTS[f.sort]))
    yield from db.session.execute(stmt.execution_options(yield_per=batch)).scalars()


def visible_categories():
    """The names of the viewer's visible categories, sorted (from the cached counts)."""
    return [name for name, _ in category_counts()[0]]


def get_transaction(tx_id):
    return owned_or_404(Transaction, tx_id)


def page_offset_of(tx):
    """The offset of the page of the unfiltered list (newest first, `SORTS["-date"]`) that
    shows `tx`: where the web forms send the user to see the row they saved."""
    newer = select(func.count()).select_from(Transaction).where(or_(
        Transaction.date > tx.date, and_(Transaction.date == tx.date, Transaction.id > tx.id)))
    limit = Filters().limit
    return db.session.execute(scope(newer)).scalar() // limit * limit


class TransactionIn(Body):
    date: Day
    amount: Decimal
    description: str = Field(min_length=1, max_length=500)
    merchant: Optional[str] = Field(default=None, max_length=200)
    category: Optional[str] = Field(default=None, max_length=100)
    currency: Optional[Currency] = None
    # The caller's own account; none: their default account for the row's currency.
    account_id: Optional[Id] = None

    @field_validator("amount", mode="before")
    @classmethod
    def money(cls, value):
        return parse_money(value)

    @field_validator("merchant", "category", mode="before")
    @classmethod
    def blank_is_none(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


class TransactionPatch(TransactionIn):
    date: Optional[Day] = None
    amount: Optional[Decimal] = None
    description: Optional[str] = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def something_to_change(self):
        return changes_something(self, ("date", "amount", "description"))


def create_transaction(data, default_currency):
    if data.account_id is None:
        account = default_account(data.currency or default_currency)
    else:
        account = own_account_or_404(data.account_id)
    currency = _in_currency_of(account, data.currency)
    tx = Transaction(date=data.date, amount=data.amount, description=data.description,
                     merchant=data.merchant, category=data.category, currency=currency,
                     account_id=account.id)
    db.session.add(tx)  # the owner is stamped on flush
    db.session.commit()
    invalidate_after_write([tx.user_id])
    return tx


def _in_currency_of(account, currency):
    """The currency of a row in `account`: the account's own. Another one is refused, since
    an account's balance never adds two currencies together."""
    if currency and currency.upper() != account.currency:
        raise AppError(422, "validation_error",
                       f"currency: the account “{account.name}” holds {account.currency}, "
                       f"not {currency.upper()}.", field="currency")
    return account.currency


def update_transaction(tx_id, patch):
    tx = owned_or_404(Transaction, tx_id)
    changes = {name: getattr(patch, name) for name in patch.model_fields_set}
    if "account_id" in changes:
        if changes["account_id"] is None:
            raise AppError(422, "validation_error", "account_id cannot be empty",
                           field="account_id")
        account = own_account_or_404(changes["account_id"])
        if account.user_id != tx.user_id:  # only the row's owner moves it between accounts
            raise AppError(404, "not_found", f"No account with id {account.id}.")
        changes["currency"] = _in_currency_of(account, changes.get("currency"))
    elif "currency" in changes and tx.account_id is not None:
        changes["currency"] = _in_currency_of(get_account(tx.account_id), changes["currency"])
    elif changes.get("currency"):  # a row with no owner has no account
        changes["currency"] = changes["currency"].upper()
    for name, value in changes.items():
        setattr(tx, name, value)
    db.session.commit()
    invalidate_after_write([tx.user_id])
    return tx


def delete_transaction(tx_id):
    tx = owned_or_404(Transaction, tx_id)
    owner = tx.user_id
    db.session.delete(tx)
    db.session.commit()
    invalidate_after_write([owner])


class TransactionOut(BaseModel):
    """A transaction as the API returns it (amount as a decimal string)."""

    id: int
    date: date
    amount: str
    currency: str
    description: str
    merchant: Optional[str]
    category: Optional[str]
    import_batch_id: Optional[int]
    account_id: Optional[int]
    # Only in a list filtered to one account: the account's balance after this row.
    running_balance: Optional[str] = None


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    total: int
    limit: int
    offset: int


def to_json(tx):
    """A transaction as TransactionOut describes it (tests/test_openapi.py checks the shape).
    Built directly, not through the model: a page of 50 rows validated and dumped by pydantic
    cost more than the page's query."""
    return {"id": tx.id, "date": tx.date.isoformat(), "amount": str(tx.amount),
            "currency": tx.currency, "description": tx.description, "merchant": tx.merchant,
            "category": tx.category, "import_batch_id": tx.import_batch_id,
            "account_id": tx.account_id}


EXPORT_COLUMNS = ("date", "amount", "currency", "description", "merchant", "category")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell):
    """Spreadsheets run a cell that starts with = + - @ as a formula: make it plain text."""
    return "'" + cell if cell and cell.startswith(FORMULA_STARTS) else cell


# The last line of an export that failed after its first bytes were sent (a 200 cannot turn
# into an error any more): whoever opens the file sees it is not whole. No comma: one cell.
EXPORT_INCOMPLETE = ("EXPORT INCOMPLETE: an error stopped it here and the rows above are not "
                     "all of them. Download it again.")


def export_csv(f):
    """The filtered transactions as CSV text chunks, header first, to stream.

    The query runs, and its first rows are read, before this returns: a failure there is an
    ordinary error response. A failure after that ends the text with EXPORT_INCOMPLETE and
    is logged."""
    chunks = _csv_chunks(f)
    first = next(chunks)
    return _ending_visibly(first, chunks)


def _ending_visibly(first, rest):
    yield first
    try:
        yield from rest
    except Exception:
        log.exception("CSV export failed while streaming; it ends with the incomplete line")
        yield EXPORT_INCOMPLETE + "\r\n"


def _csv_chunks(f):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for i, tx in enumerate(iter_transactions(f), 1):
        # Amounts are numbers we format ourselves; only free text can carry a formula.
        writer.writerow([tx.date.isoformat(), str(tx.amount), tx.currency,
                         neutralise(tx.description), neutralise(tx.merchant or ""),
                         neutralise(tx.category or "")])
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
