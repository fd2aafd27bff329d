"""`flask demo legacy-db`: a legacy install to practise the rollout on.

The schema at revision 1 (no owners anywhere), the demo users, and one shared ledger of
realistic unowned rows: the demo users' salaries, rent and card purchases going back year by
year, the most recent two years of each user in import batches named after their CSV files.
A ledger bigger than ten years of that starts again at the present with the amounts varied,
like a household with more cards. Written in chunks, one transaction each: COPY on
PostgreSQL, executemany elsewhere.
"""
import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from ..demo import DEMO_PASSWORD, DEMO_USERS, generate_transactions
from ..ingest.service import fingerprint
from ..models import utcnow
from ..postgres import start_transaction
from . import schema

MAX_ROWS = 1_000_000
DEFAULT_ROWS = 20_000
CHUNK_ROWS = 10_000
HISTORY_YEARS = 10
BATCHED_YEARS = 2  # the most recent years of each user came in through CSV imports
FIXED_CATEGORIES = ("Salary", "Rent")

LEDGER_COLUMNS = ("date", "amount", "currency", "description", "merchant", "category",
                  "import_batch_id", "fingerprint", "created_at")


class NotEmpty(RuntimeError):
    """The database already has tables: a legacy install is only built in an empty one."""


@dataclass(frozen=True)
class LegacyInstall:
    users: int
    transactions: int
    import_batches: list  # (id, filename, row_count)
    revision: str


def refuse_unless_empty():
    existing = schema.table_names()
    if existing:
        raise NotEmpty(
            f"{schema.database_label()} already has tables ({', '.join(sorted(existing))}); "
            "`flask demo legacy-db` only builds a legacy install in an empty database. "
            "Point DATABASE_URL at a new database (or delete this one) and run it again.")


def make_legacy_install(rows, hash_password, on_progress=lambda n: None, today=None):
    """Build the legacy install in the app's (empty) database; `on_progress(n)` after each
    chunk of n rows commits."""
    if not 1 <= rows <= MAX_ROWS:
        raise ValueError(f"rows must be between 1 and {MAX_ROWS:,}")
    refuse_unless_empty()
    from flask_migrate import upgrade  # here: a serving worker never loads alembic

    upgrade(revision=schema.LEGACY_REVISION)
    today = today or date.today()
    engine = schema.engine()
    with engine.begin() as conn:
        _insert_users(conn, hash_password)
        batch_ids = _insert_batches(conn, today)

    chunk, written = [], 0
    for row in ledger_rows(rows, today, batch_ids):
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            written += _write_chunk(engine, chunk)
            on_progress(len(chunk))
            chunk = []
    if chunk:
        written += _write_chunk(engine, chunk)
        on_progress(len(chunk))

    with engine.begin() as conn:
        batches = _finish_batches(conn)
    return LegacyInstall(users=len(DEMO_USERS), transactions=written, import_batches=batches,
                         revision=schema.current_revision())


def ledger_rows(rows, today, batch_ids):
    """`rows` ledger rows (dicts of LEDGER_COLUMNS), newest year first."""
    history = _DemoHistory(today)
    created_at = utcnow()
    produced = 0
    for lap in itertools.count():
        for year in range(HISTORY_YEARS):
            for demo, generated in history.year(year):
                batch_id = batch_ids.get((demo.email, year)) if lap == 0 else None
                vary = random.Random(f"{demo.email}:{lap}:{year}") if (lap or year) else None
                seen = {}
                for template in generated:
                    row = dict(template, import_batch_id=batch_id, created_at=created_at)
                    if vary and row["category"] not in FIXED_CATEGORIES:
                        # The same person's habits, not the same receipts every year.
                        factor = Decimal(str(round(vary.uniform(0.8, 1.2), 3)))
                        row["amount"] = (row["amount"] * factor).quantize(Decimal("0.01"))
                    row["fingerprint"] = fingerprint(SimpleNamespace(**row), seen)
                    yield row
                    produced += 1
                    if produced == rows:
                        return


class _DemoHistory:
    """The demo users' transactions year by year back from `today`; each year is generated
    once, on first use, and shared by every lap."""

    def __init__(self, today):
        self._years, self._end = [], today

    def year(self, index):
        while len(self._years) <= index:
            generated = [(demo, generate_transactions(demo, end=self._end, months=12))
                         for demo in DEMO_USERS]
            # The year before ends on the day before this one starts: no overlap.
            first_day = min((g[0]["date"] for _, g in generated if g), default=self._end)
            self._end = first_day - timedelta(days=1)
            self._years.append(generated)
        return self._years[index]


def _insert_users(conn, hash_password):
    conn.execute(sa.insert(schema.users), [
        dict(email=demo.email, password_hash=hash_password(DEMO_PASSWORD), cohort=demo.cohort,
             is_admin=demo.is_admin, created_at=utcnow())
        for demo in DEMO_USERS
    ])


def _insert_batches(conn, today):
    """The import batches, keyed by (email, year index); empty ones are removed at the end."""
    batch_ids = {}
    for year in range(BATCHED_YEARS):
        for demo in DEMO_USERS:
            name = demo.email.split("@")[0]
            filename = f"{name}-checking-{today.year - year}.csv"
            batch_ids[(demo.email, year)] = conn.execute(
                sa.insert(schema.import_batches).values(
                    filename=filename, row_count=0, created_at=utcnow())
                .returning(schema.import_batches.c.id)
            ).scalar_one()
    return batch_ids


def _write_chunk(engine, rows):
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # COPY is several times faster than any INSERT for bulk loads. It goes to the
            # driver directly: the transaction is started first.
            start_transaction(conn)
            columns = ", ".join(LEDGER_COLUMNS)
            cursor = conn.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY transactions ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(tuple(row[c] for c in LEDGER_COLUMNS))
        else:
            conn.execute(sa.insert(schema.transactions), [
                {c: row[c] for c in LEDGER_COLUMNS} for row in rows])
    return len(rows)


def _finish_batches(conn):
    """Record each batch's row count; drop the batches a small ledger did not reach."""
    batches, ledger = schema.import_batches, schema.transactions
    conn.execute(sa.update(batches).values(row_count=(
        sa.select(sa.func.count()).select_from(ledger)
        .where(ledger.c.import_batch_id == batches.c.id).scalar_subquery())))
    conn.execute(sa.delete(batches).where(batches.c.row_count == 0))
    return [tuple(row) for row in conn.execute(
        sa.select(batches.c.id, batches.c.filename, batches.c.row_count).order_by(batches.c.id))]
