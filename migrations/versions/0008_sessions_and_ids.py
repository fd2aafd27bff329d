"""Server-side sessions, and ids that are never given twice.

- `user_sessions`: a row per signed-in browser session (the hash of its random id), owned by
  its user (ON DELETE CASCADE). Ending a session deletes its row, so its cookie stops working.
- `users.auth_version` goes: a password change ends the other sessions themselves now.
- SQLite gives the highest id back to the next insert once its row is deleted, unless the
  table is AUTOINCREMENT: a deleted account's id went to the next sign-up. Users and every
  owned table are rebuilt with AUTOINCREMENT on SQLite (its counter starts at the highest id
  present). PostgreSQL sequences never give an id twice: nothing to do there.

The downgrade brings `auth_version` back (1 for everyone: sessions of the old release sign in
again) and drops the sessions; every other row stays.

Revision ID: 0008_sessions_and_ids
Revises: 0007_single_owner_batches
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_sessions_and_ids"
down_revision = "0007_single_owner_batches"
branch_labels = None
depends_on = None

# users and every owned table but user_sessions, which is created with AUTOINCREMENT.
IDS_NEVER_REUSED = ("users", "import_batches", "transactions", "import_mappings", "api_tokens")


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_sessions_user_id_users",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("session_hash", name="uq_user_sessions_session_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    for table in IDS_NEVER_REUSED:
        with _rebuilt_on_sqlite(table, autoincrement=True) as batch:
            if table == "users":
                batch.drop_column("auth_version")


def downgrade():
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_table("user_sessions")
    for table in IDS_NEVER_REUSED:
        with _rebuilt_on_sqlite(table, autoincrement=False) as batch:
            if table == "users":
                batch.add_column(sa.Column("auth_version", sa.Integer(), nullable=False,
                                           server_default="1"))


def _rebuilt_on_sqlite(table, autoincrement):
    """A batch for `table` that, on SQLite, copies it into a new table with (or without)
    AUTOINCREMENT; elsewhere it only runs the batch's own changes."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    return op.batch_alter_table(table, recreate="always" if sqlite else "auto",
                                table_kwargs={"sqlite_autoincrement": autoincrement})
