"""Add an owner to the shared ledger: nullable user_id, FK ON DELETE CASCADE, indexes.

Existing rows keep user_id NULL (unowned) until `flask isolation backfill` assigns them.

Revision ID: 0002_owner_nullable
Revises: 0001_legacy
"""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002_owner_nullable"
down_revision = "0001_legacy"
branch_labels = None
depends_on = None

OWNED_TABLES = ("import_batches", "transactions")

# An install upgraded with data in its shared ledger keeps it for everyone until the team
# enables a cohort: the flag is defined, switched off (an undefined flag means isolation ON).
# This is the embedded backend's definition; a remote Unleash server is set up by the team.
ISOLATION_OFF_FOR_EVERYONE = {
    "name": "USE_USER_ISOLATION", "type": "release", "project": "default", "enabled": False,
    "impressionData": False, "strategies": [],
}


def upgrade():
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
            )
    op.create_index("ix_import_batches_user_id", "import_batches", ["user_id"])
    op.create_index("ix_transactions_user_id_date", "transactions", ["user_id", "date"])
    _keep_legacy_installs_on_the_shared_ledger()


def _keep_legacy_installs_on_the_shared_ledger():
    bind = op.get_bind()
    has_ledger = bind.execute(sa.text("SELECT 1 FROM transactions LIMIT 1")).first()
    defined = bind.execute(sa.text(
        "SELECT 1 FROM flag_definitions WHERE name = 'USE_USER_ISOLATION'")).first()
    if has_ledger and not defined:
        flags = sa.table("flag_definitions", sa.column("name"), sa.column("definition"),
                         sa.column("updated_at", sa.DateTime(timezone=True)))
        op.bulk_insert(flags, [{"name": "USE_USER_ISOLATION",
                                "definition": json.dumps(ISOLATION_OFF_FOR_EVERYONE),
                                "updated_at": datetime.now(timezone.utc)}])


def downgrade():
    op.drop_index("ix_transactions_user_id_date", table_name="transactions")
    op.drop_index("ix_import_batches_user_id", table_name="import_batches")
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_user_id_users", type_="foreignkey")
            batch.drop_column("user_id")
