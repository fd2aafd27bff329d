"""The transactions list's order, `date DESC, id DESC`, from an index for every viewer.

- The shared ledger has no user to start from: without an index in that order PostgreSQL
  sorted every visible row to return the first 50. Index (date, id) is read backwards
  instead, stopping once the page is full.
- An isolated viewer's page read (user_id, date) backwards and then sorted each date's rows
  by id; (user_id, date, id) gives the page in order. It replaces (user_id, date), which it
  serves as well (a prefix): one index to keep up on each write, not two.

Building them blocks writes to transactions meanwhile (seconds per million rows).

Revision ID: 0014_list_indexes
Revises: 0013_metric_samples
"""
from alembic import op

revision = "0014_list_indexes"
down_revision = "0013_metric_samples"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_transactions_date_id", "transactions", ["date", "id"])
    op.create_index("ix_transactions_user_id_date_id", "transactions", ["user_id", "date", "id"])
    op.drop_index("ix_transactions_user_id_date", table_name="transactions")


def downgrade():
    op.create_index("ix_transactions_user_id_date", "transactions", ["user_id", "date"])
    op.drop_index("ix_transactions_user_id_date_id", table_name="transactions")
    op.drop_index("ix_transactions_date_id", table_name="transactions")
