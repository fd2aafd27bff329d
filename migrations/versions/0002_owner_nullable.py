"""Add an owner to the shared ledger: nullable user_id, FK ON DELETE CASCADE, indexes.

Existing rows keep user_id NULL (unowned) until `flask isolation backfill` assigns them.

Revision ID: 0002_owner_nullable
Revises: 0001_legacy
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_owner_nullable"
down_revision = "0001_legacy"
branch_labels = None
depends_on = None

OWNED_TABLES = ("import_batches", "transactions")


def upgrade():
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
            )
    op.create_index("ix_import_batches_user_id", "import_batches", ["user_id"])
    op.create_index("ix_transactions_user_id_date", "transactions", ["user_id", "date"])


def downgrade():
    op.drop_index("ix_transactions_user_id_date", table_name="transactions")
    op.drop_index("ix_import_batches_user_id", table_name="import_batches")
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_user_id_users", type_="foreignkey")
            batch.drop_column("user_id")
