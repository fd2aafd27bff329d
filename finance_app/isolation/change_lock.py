"""The change lock: every change of a flag definition is a read-modify-write under one lock
of the app's database, which every worker and host shares, so concurrent changes (two
admins, a CLI command, another host) never lose one another's update.

PostgreSQL takes a transaction-scoped advisory lock; SQLite takes its write lock with
BEGIN IMMEDIATE. Flag backends read and write inside the lock (`flags.py`), and dashboard
changes put their before state, preflight and audit record in the same transaction
(`admin/changes.py`).
"""
from contextlib import contextmanager

from sqlalchemy import text

from ..extensions import db

# The PostgreSQL advisory lock every change takes; any fixed number, the same in every process.
CHANGE_LOCK_KEY = 0x66696E5F666C6167  # "fin_flag"
_HELD = "finance_app.serialised_change"


def change_in_progress():
    return _HELD in db.session.info


@contextmanager
def serialised_change():
    """Run the block as one transaction of `db.session` holding the app-wide change lock.

    Every change of a flag definition, and every dashboard change around one (its before
    state, preflight, audit record), runs inside: reads in the block see the last committed
    change and no other change (another admin, worker or host) can interleave until this one
    commits, at the end of the block, or rolls back on an exception. Nested blocks join the
    outer one, so a change made of smaller changes is still one transaction under one lock.
    Nothing inside may commit: that would release the lock mid-change. Work that must follow
    the commit (reloading flags, dropping cached principals) goes to `after_commit`.
    Usable as a decorator too.
    """
    session = db.session
    if _HELD in session.info:
        yield
        return
    _begin_locked(session)
    callbacks = session.info[_HELD] = []
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_HELD, None)
    for callback in callbacks:
        callback()


def after_commit(callback):
    """Run `callback` once the serialised change in progress has committed (lock released)."""
    db.session.info[_HELD].append(callback)


def _begin_locked(session):
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("commit or roll back pending work before a serialised change")
    # End whatever the session read before (who is signed in, say): every read the change is
    # based on happens under the lock, in the transaction that takes it.
    session.rollback()
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # Held until the transaction ends. READ COMMITTED (the default) gives every later
        # statement a fresh snapshot, so the reads below see the previous holder's commit.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHANGE_LOCK_KEY})
    elif dialect == "sqlite":
        # pysqlite's legacy transaction control (Python 3.11; SQLAlchemy leaves it on) opens
        # no transaction for a SELECT and a deferred one only before the first write, which
        # would let two changes read the same state. BEGIN IMMEDIATE takes SQLite's write
        # lock now (waiting up to busy_timeout); pysqlite then sees a transaction open and
        # commits or rolls back this one when SQLAlchemy asks.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        raise RuntimeError(f"no change lock for the {dialect} database")
