"""Writing an import's new rows: the one step of an import that differs by database.

PostgreSQL gets them through COPY, which it parses many times faster than multi-row INSERTs
(bench/RESULTS.md). But COPY FROM refuses a table with row-level security for a role subject
to it, and requests run as such a role (isolation/db_wall.py). So the rows are copied into a
temporary staging table of the import's transaction, chunk by chunk (memory stays bounded:
the rows wait in the database), and `finish()` moves them with one INSERT … SELECT, which the
wall's INSERT policy checks like any other insert. The staging table goes with the
transaction, committed or rolled back.

SQLite gets them through the driver's executemany of one INSERT.
"""
from sqlalchemy import Column, MetaData, Table, insert, select

from ..models import Transaction

# What an import writes, in the order of each row's tuple; `id` is the table's own.
COLUMNS = ("user_id", "account_id", "date", "amount", "currency", "description", "merchant",
           "category", "import_batch_id", "fingerprint", "created_at")


def row_writer(session):
    """The writer for `session`'s database: `write(rows)` per chunk (tuples in COLUMNS order,
    owner included: nothing stamps these rows), then `finish()` once, before the commit."""
    if session.get_bind().dialect.name == "postgresql":
        return CopyWriter(session)
    return InsertWriter(session)


class InsertWriter:
    def __init__(self, session):
        self.session = session

    def write(self, rows):
        # Without RETURNING, SQLAlchemy hands the rows to the driver's executemany.
        self.session.execute(insert(Transaction), [dict(zip(COLUMNS, row)) for row in rows])

    def finish(self):
        """Nothing to do: `write` inserted the rows."""


class CopyWriter:
    def __init__(self, session):
        self.session = session
        self.staging = None

    def write(self, rows):
        if self.staging is None:
            self.staging = _staging_table()
            # Created through SQLAlchemy, whose hooks start this transaction and set its role
            # and principal first (postgres.py, db_wall.py): the raw COPY below passes none.
            self.staging.create(self.session.connection())
        driver = self.session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(
                f"COPY {self.staging.name} ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def finish(self):
        if self.staging is not None:
            self.session.execute(insert(Transaction).from_select(COLUMNS, select(self.staging)))


def _staging_table():
    """A temporary table of the written columns with their types in `transactions`."""
    return Table("import_staging", MetaData(),
                 *(Column(name, Transaction.__table__.c[name].type) for name in COLUMNS),
                 prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
