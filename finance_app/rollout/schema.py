"""The schema as ops code sees it, at any revision from 1 (legacy) to head.

The ORM models describe head; a legacy install has no `user_id` on its ledger yet. These
lightweight tables name only columns that exist from revision 1, plus `user_id`, which
statements may use once `has_owner_column()` says it is there.
"""
import sqlalchemy as sa
from flask import current_app

from ..extensions import db

LEGACY_REVISION = "0001_legacy"
OWNER_NULLABLE_REVISION = "0002_owner_nullable"

# The tables whose rows predate owners: revision 2 adds their nullable user_id and the
# backfill fills it. (Owned tables created later, such as import_mappings, start NOT NULL.)
BACKFILLED_TABLES = ("import_batches", "transactions")

users = sa.table(
    "users", sa.column("id", sa.Integer), sa.column("email", sa.String),
    sa.column("password_hash", sa.String), sa.column("cohort", sa.String),
    sa.column("is_admin", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)),
)
import_batches = sa.table(
    "import_batches", sa.column("id", sa.Integer), sa.column("filename", sa.String),
    sa.column("row_count", sa.Integer), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.Integer),
)
transactions = sa.table(
    "transactions", sa.column("id", sa.Integer), sa.column("date", sa.Date),
    sa.column("amount", sa.Numeric(12, 2)), sa.column("currency", sa.String),
    sa.column("description", sa.String), sa.column("merchant", sa.String),
    sa.column("category", sa.String), sa.column("import_batch_id", sa.Integer),
    sa.column("fingerprint", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("user_id", sa.Integer),
)
TABLES = {t.name: t for t in (users, import_batches, transactions)}


def engine():
    return db.engine


def table_names():
    return set(sa.inspect(engine()).get_table_names())


def has_owner_column(table_name):
    return any(c["name"] == "user_id" for c in sa.inspect(engine()).get_columns(table_name))


def current_revision():
    from alembic.runtime.migration import MigrationContext  # alembic only where used

    with engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revisions():
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    return tuple(ScriptDirectory.from_config(config).get_heads())


def database_label():
    """The database URL without its password, for messages."""
    return engine().url.render_as_string(hide_password=True)
