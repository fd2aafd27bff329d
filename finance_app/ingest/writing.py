"""Writing an import's new rows: the one step of an import that differs by database.

PostgreSQL gets them through COPY, which it parses many times faster than multi-row INSERTs
(bench/RESULTS.md). But COPY FROM refuses a table with row-level security for a role subject
to it, and requests run as such a role (isolation/db_wall.py). So the rows are copied into a
temporary staging table of the import's transaction, chunk by chunk (memory stays bounded:
the rows wait in the database), and `finish()` moves them with one INSERT … SELECT, which the
wall's INSERT policy checks like any other insert. The staging table goes with the
transaction, committed or rolled back.

SQLite gets them through the driver's executemany of one INSERT.

A row's own values (ROW_COLUMNS) go through `write`; the values every row of one import
shares (STAMP_COLUMNS: its owner, its batch, its time) are given once, to `row_writer`, and
added by the INSERT: the COPY carries only what differs from row to row.
"""
from sqlalchemy import Column, MetaData, Table, insert, literal, select

from ..models import Transaction

# Each row's own values, in the order of the tuples `write` takes. The account is a row's own:
# with no account chosen, each currency of a file goes into its own default account.
ROW_COLUMNS = ("account_id", "date", "amount", "currency", "description", "merchant",
               "category", "fingerprint")
# The values every row of one import shares, given to `row_writer` by name.
STAMP_COLUMNS = ("user_id", "import_batch_id", "created_at")


def row_writer(session, stamps):
    """The writer for `session`'s database: `write(rows)` per chunk (tuples in ROW_COLUMNS
    order), then `finish()` once, before the commit. `stamps` ({name: value} of every
    STAMP_COLUMNS name; the owner included: nothing else stamps these rows) go on every row."""
    if set(stamps) != set(STAMP_COLUMNS):
        raise ValueError(f"stamps must name exactly {STAMP_COLUMNS}, not {tuple(stamps)}")
    if session.get_bind().dialect.name == "postgresql":
        return CopyWriter(session, stamps)
    return InsertWriter(session, stamps)


class InsertWriter:
    def __init__(self, session, stamps):
        self.session, self.stamps = session, stamps

    def write(self, rows):
        # Without RETURNING, SQLAlchemy hands the rows to the driver's executemany.
        self.session.execute(insert(Transaction),
                             [{**self.stamps, **dict(zip(ROW_COLUMNS, row))} for row in rows])

    def finish(self):
        """Nothing to do: `write` inserted the rows."""


class CopyWriter:
    def __init__(self, session, stamps):
        self.session, self.stamps = session, stamps
        self.staging = None

    def write(self, rows):
        if self.staging is None:
            self.staging = _staging_table()
            # Created through SQLAlchemy, whose hooks start this transaction and set its role
            # and principal first (postgres.py, db_wall.py): the raw COPY below passes none.
            self.staging.create(self.session.connection())
        driver = self.session.connection().connection.driver_connection
        # Binary: the server parses no text (dates, amounts), the client formats none.
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {self.staging.name} ({', '.join(ROW_COLUMNS)}) FROM STDIN "
                "(FORMAT BINARY)") as copy:
            copy.set_types(_STAGING_TYPES)
            for row in rows:
                copy.write_row(row)

    def finish(self):
        if self.staging is not None:
            stamps = [literal(self.stamps[name], Transaction.__table__.c[name].type)
                      for name in STAMP_COLUMNS]
            self.session.execute(insert(Transaction).from_select(
                STAMP_COLUMNS + ROW_COLUMNS, select(*stamps, *self.staging.c)))


def _staging_table():
    """A temporary table of each row's own columns, with their types in `transactions`."""
    return Table("import_staging", MetaData(),
                 *(Column(name, Transaction.__table__.c[name].type) for name in ROW_COLUMNS),
                 prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


def _postgres_type_name(column):
    from sqlalchemy.dialects import postgresql

    return column.type.compile(dialect=postgresql.dialect()).split("(")[0].lower()


# The binary COPY's types: the staging table's, by name (`varchar`, `numeric`, `date`).
_STAGING_TYPES = [_postgres_type_name(Transaction.__table__.c[name]) for name in ROW_COLUMNS]
