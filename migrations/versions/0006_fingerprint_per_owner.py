"""Look up import fingerprints per owner: index (user_id, fingerprint).

Duplicate detection asks "which of these 1,000 fingerprints does this user already have?"
once per chunk of an import. With only an index on fingerprint (or on user_id, date) that
was a scan of the user's rows per chunk; with both columns it is one index probe per value.

Revision ID: 0006_fingerprint_per_owner
Revises: 0005_admin_cohorts_audit
"""
from alembic import op

revision = "0006_fingerprint_per_owner"
down_revision = "0005_admin_cohorts_audit"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_transactions_user_id_fingerprint", "transactions",
                    ["user_id", "fingerprint"])
    op.drop_index("ix_transactions_fingerprint", table_name="transactions")


def downgrade():
    op.create_index("ix_transactions_fingerprint", "transactions", ["fingerprint"])
    op.drop_index("ix_transactions_user_id_fingerprint", table_name="transactions")
