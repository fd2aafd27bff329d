"""PostgreSQL connections that spend no round trip they can do without.

A round trip to the database costs as much as a small query; a list request used to make six
(a pre-ping, psycopg's BEGIN, the row-level-security settings, the count, the page and the
ROLLBACK). Now it makes three: the count, carrying the transaction's start and its settings
with it; the page; the ROLLBACK. Two things make that so, both on PostgreSQL only (SQLite has
no network, and is left as it was):

- **No pre-ping.** SQLAlchemy's `pool_pre_ping` sends a statement at every checkout to find a
  connection the server has closed (a restart, `pg_terminate_backend`, an idle timeout).
  Such a connection needs no statement to be found: the server sent it a termination
  message or closed it, so its socket, which nothing reads between requests, is readable.
  `_check_alive` looks (a zero-timeout poll, no round trip) and has the pool replace it. A
  connection the network silently lost is not found so; its next statement fails, and the
  pool drops it, as a pre-ping racing with the loss would.
- **A transaction starts with its first statement.** psycopg, left to itself, sends BEGIN in
  a round trip of its own before the first statement. Here the driver is in autocommit mode
  (`ENGINE_OPTIONS`), each SQLAlchemy transaction marks a BEGIN due (`begin` event), and the
  statements due — that BEGIN and whatever `send_before_next_statement` queued (the
  row-level-security settings, isolation/db_wall.py) — travel with the next statement: in
  one psycopg pipeline with it (one Sync, one round trip), or, for a statement that cannot
  join a pipeline (a server-side cursor, executemany, a string that may hold several
  statements), together in one simple query just before it. psycopg's
  `commit()` and `rollback()` act on the server's real transaction status (COMMIT or
  ROLLBACK when a transaction is open, nothing when none is), so SQLAlchemy's commit,
  rollback and reset-on-return end these transactions as they ended psycopg's own, and a
  transaction in which nothing ran costs nothing. Every SQLAlchemy transaction is still one
  database transaction: savepoints, `FOR UPDATE`, advisory locks, server-side cursors and
  `SET LOCAL` behave as before. A connection asked for an isolation level of its own
  (`execution_options(isolation_level=...)`) is psycopg's again: it sends the BEGIN (with
  that level), or none for an explicit "AUTOCOMMIT".

Code that uses the driver connection directly (COPY) must run after a statement through
SQLAlchemy in the same transaction, or call `start_transaction(connection)` first: the
driver by itself opens no transaction any more.
"""
import select

import psycopg
from psycopg import pq, sql
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

ENGINE_OPTIONS = {"isolation_level": "AUTOCOMMIT"}
BEGIN = sql.SQL("BEGIN")
_BEGIN_DUE = "finance_begin_due"  # connection.info: this transaction has sent nothing yet
_DUE = "finance_due"  # connection.info: statements to send with the next one


def engine_options(url, options):
    """The engine options for `url`: `options`, plus on PostgreSQL the driver in autocommit
    mode (`install` starts the transactions)."""
    if make_url(url).get_backend_name() != "postgresql":
        return dict(options)
    return {**options, **ENGINE_OPTIONS}


def install(engine):
    if engine.dialect.name != "postgresql":
        return
    if engine.dialect.driver != "psycopg":
        raise RuntimeError("PostgreSQL is reached through psycopg 3: a DATABASE_URL of "
                           "postgresql://… (config.database_url), not "
                           f"postgresql+{engine.dialect.driver}://…")
    event.listen(engine, "checkout", _check_alive)
    event.listen(engine, "begin", _transaction_begins)
    for name in ("commit", "rollback"):
        event.listen(engine, name, _transaction_ends)
    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_executemany", _send_due_alone)
    event.listen(engine, "do_execute_no_params", _send_due_alone)


def send_before_next_statement(connection, statement):
    """Have `statement` (a psycopg `sql.Composable` with its values as literals) run before
    the next statement on `connection`, in the same round trip when it can be."""
    connection.info.setdefault(_DUE, []).append(statement)


def start_transaction(connection):
    """Send what is due now: before using the driver connection directly (COPY), which
    passes none of SQLAlchemy's events."""
    _send_alone(connection.connection.driver_connection, _take_due(connection))


# --- liveness -----------------------------------------------------------------------------------

def _check_alive(dbapi_connection, connection_record, connection_proxy):
    """An idle pooled connection has nothing to read: anything readable is the server's
    goodbye (or its closed socket). Rarely something harmless (a notice); then the pool only
    makes a new connection it did not need."""
    pgconn = dbapi_connection.pgconn
    if (dbapi_connection.closed or pgconn.status != pq.ConnStatus.OK
            or pgconn.transaction_status != pq.TransactionStatus.IDLE):
        raise DisconnectionError("the pooled connection is closed or mid-transaction")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        raise DisconnectionError("the server closed the pooled connection")


# --- transactions -------------------------------------------------------------------------------

def _transaction_begins(conn):
    conn.info[_BEGIN_DUE] = True
    conn.info.pop(_DUE, None)


def _transaction_ends(conn):
    if not conn.invalidated:
        conn.info.pop(_BEGIN_DUE, None)
        conn.info.pop(_DUE, None)


def _take_due(conn):
    try:
        due = conn.info.pop(_DUE, [])
    except NotImplementedError:
        # The connection SQLAlchemy opens to learn the server's version has no `info`; it
        # passes no connection events either, so nothing is ever due on it.
        return []
    # psycopg starts the transaction itself on a connection given an isolation level of its
    # own (out of autocommit), and none for an explicit AUTOCOMMIT.
    if (conn.info.pop(_BEGIN_DUE, False) and conn.connection.driver_connection.autocommit
            and "isolation_level" not in conn.get_execution_options()):
        due.insert(0, BEGIN)
    return due


def _execute(cursor, statement, parameters, context):
    due = _take_due(context.root_connection)
    if not due:
        return False
    driver = cursor.connection
    # A pipeline sends by the extended protocol. psycopg sends a statement without
    # parameters by the simple one, which also takes several statements in one string: such
    # a string, if it might hold several (a ';'), keeps its protocol and goes after the due
    # statements, as does a server-side cursor's DECLARE (psycopg runs none in a pipeline).
    if isinstance(cursor, psycopg.ServerCursor) or (not parameters and ";" in statement) \
            or not psycopg.Pipeline.is_supported():
        _send_alone(driver, due)
        return False
    with driver.cursor() as ahead:
        with driver.pipeline():
            for pending in due:
                ahead.execute(pending, prepare=False)
            context.dialect.do_execute(cursor, statement, parameters, context)
    return True


def _send_due_alone(cursor, statement, *args):
    context = args[-1]
    _send_alone(cursor.connection, _take_due(context.root_connection))
    return False


def _send_alone(driver, due):
    if due:
        with driver.cursor() as ahead:
            ahead.execute(sql.SQL("; ").join(due), prepare=False)
